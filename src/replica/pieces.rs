//! Cutting a large Yjs v1 update into smaller updates that, applied in order, make the same
//! document: servers and peers cap the size of one message (`ws` refuses more than 100 MiB by
//! default), while an imported state or a large batch has no such bound.
//!
//! Each client's blocks are cut at block boundaries (a block's bytes do not depend on where its
//! client's run starts, only the run's first clock is written), and the delete set goes with the
//! last piece. A receiver may get a piece whose blocks refer to blocks of another client in a
//! later piece: Yjs keeps such blocks pending, yreplica holds them (see `arrival`), until the
//! piece they need arrives.

use std::ops::Range;

use yrs::encoding::write::Write;

use super::claims::{self, Seen};

/// Pieces of `update`, each at most `max_bytes` long where blocks allow (a single block, or a
/// delete set, larger than that makes a piece of its own). Data the check refuses or cannot
/// walk to the end is returned whole: the receiver refuses it the same way.
pub fn split_update(update: &[u8], max_bytes: usize) -> Vec<Vec<u8>> {
    if update.len() <= max_bytes {
        return vec![update.to_vec()];
    }
    let mut layout = Layout::default();
    match claims::check_update_visiting(update, &mut |seen| layout.see(seen)) {
        Ok((_, true)) => layout.pieces(update, max_bytes),
        _ => vec![update.to_vec()],
    }
}

/// A run of one client's blocks: its first clock and the bytes of its blocks.
#[derive(Debug, Clone)]
struct Run {
    client: u64,
    clock: u64,
    count: u32,
    bytes: Range<usize>,
    /// A run of one Skip block: a gap the sender lacks too.
    skip: bool,
}

#[derive(Debug, Default)]
struct Layout {
    /// Every block, as a run of one, in update order.
    blocks: Vec<Run>,
    client: u64,
    delete_set_at: usize,
}

impl Layout {
    fn see(&mut self, seen: Seen) {
        match seen {
            Seen::Client { client, .. } => self.client = client,
            Seen::Block {
                bytes, clock, skip, ..
            } => self.blocks.push(Run {
                client: self.client,
                clock,
                count: 1,
                bytes,
                skip,
            }),
            Seen::DeleteSet { at } => self.delete_set_at = at,
        }
    }

    fn pieces(self, update: &[u8], max_bytes: usize) -> Vec<Vec<u8>> {
        // Headroom for the run headers (count, client, clock: up to 20 bytes each).
        const RUN_HEADER: usize = 20;
        let mut pieces = Vec::new();
        let mut runs: Vec<Run> = Vec::new();
        let mut size = 0;
        for block in self.blocks {
            let bytes = block.bytes.len();
            if size + bytes + RUN_HEADER > max_bytes && !runs.is_empty() {
                pieces.push(encode(update, &runs, &[0]));
                runs.clear();
                size = 0;
            }
            match runs.last_mut() {
                // The block continues the last run (blocks come client by client, so a piece
                // holds one run per client, as an update must).
                Some(run) if run.client == block.client => {
                    run.count += 1;
                    run.bytes.end = block.bytes.end;
                    size += bytes;
                }
                // A Skip carries nothing: a run may start after it, at the next clock.
                _ if block.skip => {}
                _ => {
                    size += bytes + RUN_HEADER;
                    runs.push(block);
                }
            }
        }
        let deletes = &update[self.delete_set_at..];
        if !runs.is_empty() && size + deletes.len() > max_bytes {
            pieces.push(encode(update, &runs, &[0]));
            runs.clear();
        }
        pieces.push(encode(update, &runs, deletes));
        pieces
    }
}

/// An update holding `runs` (one per client at most: a piece never holds two runs of one
/// client, since blocks arrive client by client) and the given delete set bytes.
fn encode(update: &[u8], runs: &[Run], deletes: &[u8]) -> Vec<u8> {
    let size: usize = runs.iter().map(|r| r.bytes.len() + 20).sum::<usize>() + deletes.len() + 5;
    let mut out = Vec::with_capacity(size);
    out.write_var(runs.len());
    for run in runs {
        out.write_var(run.count);
        out.write_var(run.client);
        out.write_var(run.clock);
        out.extend_from_slice(&update[run.bytes.clone()]);
    }
    out.extend_from_slice(deletes);
    out
}
