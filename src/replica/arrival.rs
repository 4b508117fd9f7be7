//! Updates in causal order: the part of an update yrs can integrate now, and the part that
//! must wait for what it builds on.
//!
//! yrs 0.28 integrates a block that arrives ahead of its predecessors by recording the hole as
//! a "skip" in the document. Once the document holds such a skip, trimming a later update
//! whose block straddles the skip's edge (`BlockSet::exclude`) splits that block and frees the
//! piece another block still points to: a use-after-free, which on Wasm kills the module
//! (reduced to plain yrs in tests/yrs_upstream.rs). The skips themselves come from honest
//! peers too (a broadcast that overtakes the sync answer, a Yjs server's full state that
//! includes its own held-back updates as gaps); the straddling block takes crafted data. So yrs is handed only blocks that
//! continue what the document has; the rest waits here, as Yjs itself keeps pending updates,
//! and is tried again when the document's clocks move. yrs' own pending update (blocks whose
//! dependencies are missing) is taken out after each update for the same reason: yrs would
//! retry it unchecked.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Range;

use yrs::block::ClientID;
use yrs::encoding::write::Write;
use yrs::updates::encoder::Encode;
use yrs::{StateVector, TransactionMut, WriteTxn};

use super::claims::{self, Refusal, Seen, Shape};

/// Held updates beyond this many bytes (with [`ENTRY_OVERHEAD`] each) or this many entries
/// push out the oldest: data that never connects to the document must not grow memory without
/// end (a server's next sync answer resends it), nor make each retry scan a long queue.
pub const MAX_HELD_BYTES: usize = 32 << 20;
pub const MAX_HELD_ENTRIES: usize = 4096;
/// What an entry costs beyond its bytes (its vectors and queue slot), counted toward the bound.
pub const ENTRY_OVERHEAD: usize = 64;

/// An update that waits, and the clocks that would let part of it in: it is tried again once
/// the document reaches `clock` for any listed client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub update: Vec<u8>,
    pub wake: Vec<(u64, u32)>,
}

/// An update cut in two: what continues the document, and what has to wait.
#[derive(Debug)]
pub struct Split<'a> {
    pub(crate) shape: Shape,
    pub ready: Cow<'a, [u8]>,
    pub held: Option<Held>,
}

/// yrs' client id for a raw one (it keeps the low 53 bits, as Yjs clients use).
fn client_id(client: u64) -> ClientID {
    ClientID::new(client & ((1 << 53) - 1))
}

/// Checks `data` (see [`claims`]) and cuts each client's blocks where they stop continuing the
/// document's clock (`known`): at the first block that starts past it, or at a Skip that
/// reaches past it.
pub fn split<'a>(data: &'a [u8], known: &StateVector) -> Result<Split<'a>, Refusal> {
    let mut sections: Vec<Section> = Vec::new();
    let mut delete_set_at = data.len();
    let (shape, complete) = claims::check_update_visiting(data, &mut |seen| match seen {
        Seen::Client {
            client,
            clock,
            count,
            at,
        } => sections.push(Section::new(client, clock, count, at, known)),
        Seen::Block {
            bytes,
            clock,
            len,
            skip,
        } => {
            if let Some(section) = sections.last_mut() {
                section.see(bytes, clock, len, skip);
            }
        }
        Seen::DeleteSet { at } => delete_set_at = at,
    })?;
    // Malformed data is left whole: yrs refuses it before integrating anything.
    if !complete || sections.iter().all(|s| s.cut.is_none()) {
        return Ok(Split {
            shape,
            ready: Cow::Borrowed(data),
            held: None,
        });
    }
    Ok(Split {
        shape,
        ready: Cow::Owned(ready_update(data, &sections, delete_set_at)),
        held: held_update(data, &sections),
    })
}

/// One client's blocks in an update, and where they stop continuing the document.
struct Section {
    client: u64,
    clock: u64,
    count: u32,
    at: usize,
    end: usize,
    /// The document's clock for this client, moved on by each block that continues it.
    known: u64,
    ready: u32,
    ready_end: usize,
    cut: Option<Cut>,
    seen: u32,
}

/// Where the blocks that wait begin: byte, clock, and index among the client's blocks.
struct Cut {
    at: usize,
    clock: u64,
    first: u32,
}

impl Section {
    fn new(client: u64, clock: u64, count: u32, at: usize, known: &StateVector) -> Self {
        Section {
            client,
            clock,
            count,
            at,
            end: at,
            known: u64::from(known.get(&client_id(client))),
            ready: 0,
            ready_end: at,
            cut: None,
            seen: 0,
        }
    }

    fn see(&mut self, bytes: Range<usize>, clock: u64, len: u32, skip: bool) {
        let index = self.seen;
        self.seen += 1;
        self.end = bytes.end;
        if self.cut.is_some() {
            return;
        }
        let end = clock + u64::from(len);
        if clock > self.known || (skip && end > self.known) {
            // A gap: a Skip is left out (the clocks after it wait for its range to arrive).
            self.cut = Some(if skip {
                Cut {
                    at: bytes.end,
                    clock: end,
                    first: index + 1,
                }
            } else {
                Cut {
                    at: bytes.start,
                    clock,
                    first: index,
                }
            });
            return;
        }
        self.known = self.known.max(end);
        self.ready += 1;
        self.ready_end = bytes.end;
    }

    fn held_count(&self) -> u32 {
        self.cut
            .as_ref()
            .map_or(0, |cut| self.count.saturating_sub(cut.first))
    }
}

/// The blocks that continue the document, with the whole delete set (yrs keeps deletions of
/// clocks it lacks aside and applies them when they arrive).
fn ready_update(data: &[u8], sections: &[Section], delete_set_at: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let ready: Vec<&Section> = sections.iter().filter(|s| s.ready > 0).collect();
    out.write_var(ready.len());
    for section in ready {
        out.write_var(section.ready);
        out.write_var(section.client);
        out.write_var(section.clock);
        out.extend_from_slice(&data[section.at..section.ready_end]);
    }
    out.extend_from_slice(&data[delete_set_at..]);
    out
}

/// The blocks that wait, as an update of their own with no deletions.
fn held_update(data: &[u8], sections: &[Section]) -> Option<Held> {
    let waiting: Vec<(&Section, &Cut)> = sections
        .iter()
        .filter(|s| s.held_count() > 0)
        .filter_map(|s| s.cut.as_ref().map(|cut| (s, cut)))
        .collect();
    if waiting.is_empty() {
        return None;
    }
    let mut update = Vec::new();
    update.write_var(waiting.len());
    let mut wake = Vec::with_capacity(waiting.len());
    for (section, cut) in waiting {
        update.write_var(section.held_count());
        update.write_var(section.client);
        update.write_var(cut.clock);
        update.extend_from_slice(&data[cut.at..section.end]);
        // claims refused any clock past 2^31, so it fits
        wake.push((section.client, u32::try_from(cut.clock).unwrap_or(u32::MAX)));
    }
    update.write_var(0u32); // no deletions
    Some(Held { update, wake })
}

/// Takes yrs' pending update (blocks whose dependencies are missing) out of the document, so
/// it is retried through [`split`] instead of by yrs.
pub(crate) fn take_yrs_pending(txn: &mut TransactionMut) -> Option<Held> {
    let pending = txn.store_mut().pending_update_mut()?;
    if pending.update.is_empty() {
        return None;
    }
    let update = std::mem::take(&mut pending.update).encode_v1();
    let missing = std::mem::take(&mut pending.missing);
    // yrs retries once a missing client's clock passes the one noted
    let wake = missing
        .iter()
        .map(|(client, clock)| (client.get(), clock.saturating_add(1)))
        .collect();
    Some(Held { update, wake })
}

/// The updates waiting for what they build on, oldest first.
#[derive(Debug, Default)]
pub struct HeldUpdates {
    entries: VecDeque<Held>,
    bytes: usize,
    dropped: u64,
    holds: u64,
}

impl HeldUpdates {
    /// Holds an update, unless the same bytes already wait (a server resends its sync answer
    /// on every reconnect).
    pub fn hold(&mut self, held: Held) {
        self.holds += 1;
        if self.entries.iter().any(|e| e.update == held.update) {
            return;
        }
        self.bytes += cost(&held);
        self.entries.push_back(held);
        while (self.bytes > MAX_HELD_BYTES || self.entries.len() > MAX_HELD_ENTRIES)
            && self.entries.len() > 1
        {
            if let Some(oldest) = self.entries.pop_front() {
                self.bytes -= cost(&oldest);
                self.dropped += 1;
            }
        }
    }

    /// Removes and returns the first held update that the document's clocks now let in.
    pub fn take_wakeable(&mut self, state: &StateVector) -> Option<Vec<u8>> {
        let index = self.entries.iter().position(|held| {
            held.wake
                .iter()
                .any(|&(client, clock)| state.get(&client_id(client)) >= clock)
        })?;
        let held = self.entries.remove(index)?;
        self.bytes -= cost(&held);
        Some(held.update)
    }

    pub(crate) fn updates(&self) -> impl Iterator<Item = &[u8]> {
        self.entries.iter().map(|held| held.update.as_slice())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What the held updates take, counted as the bound counts it.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many updates were ever held (to tell whether an update left something waiting).
    pub(crate) fn holds(&self) -> u64 {
        self.holds
    }

    /// How many held updates were pushed out by [`MAX_HELD_BYTES`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

fn cost(held: &Held) -> usize {
    held.update.len() + ENTRY_OVERHEAD + held.wake.len() * std::mem::size_of::<(u64, u32)>()
}
