//! Checks the length claims of Yjs v1 binary data (updates, state vectors, awareness updates)
//! before yrs decodes it, so bytes from a server, a peer or storage cannot hurt the module:
//! yrs reserves memory for a count before reading what it counts (7 bytes could grow the Wasm
//! memory to 3.6 GB), on wasm32 a buffer length near 4 GiB wraps its bounds check (a panic,
//! which kills the module), and values nested thousands deep overflow the stack.
//!
//! The walk mirrors yrs' decoders. A claim larger than the bytes left is refused (every counted
//! item takes at least a byte, so valid data never does); data malformed in any other way is
//! left to yrs, which refuses it without allocating for it.

use std::collections::HashSet;
use std::ops::Range;

/// How deeply values may nest inside an update (yreplica's own writes nest at most 128).
pub const MAX_NESTING: usize = 1000;

/// Why the data was refused.
pub(crate) type Refusal = String;

/// What an accepted update holds that needs care when it is applied.
#[derive(Debug, Default, Clone, Copy)]
pub struct Shape {
    /// Formatting marks (text content), which yrs mishandles where a map entry would be.
    pub(crate) has_format: bool,
}

/// Checks a Yjs v1 update.
pub fn check_update(data: &[u8]) -> Result<Shape, Refusal> {
    check_update_visiting(data, &mut |_| {}).map(|(shape, _)| shape)
}

/// The layout of an update as the walk meets it, for callers that cut updates apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// A client's blocks follow from byte `at`; the first starts at `clock`.
    Client {
        client: u64,
        clock: u64,
        count: u32,
        at: usize,
    },
    /// One block: where its bytes are, its first clock, how many clocks it takes, and
    /// whether it is a Skip (a gap the sender does not have either).
    Block {
        bytes: Range<usize>,
        clock: u64,
        len: u32,
        skip: bool,
    },
    /// The delete set starts at byte `at`.
    DeleteSet { at: usize },
}

/// Checks a Yjs v1 update, showing `visit` its layout; the flag says whether the walk got to
/// the end (data malformed in a way left to yrs stops it early).
pub(crate) fn check_update_visiting(
    data: &[u8],
    visit: &mut dyn FnMut(Seen),
) -> Result<(Shape, bool), Refusal> {
    let mut walk = Walk::new(data);
    let walked = walk.update(visit);
    let complete = walked.is_ok();
    settle(walked).map(|()| (walk.shape, complete))
}

/// Checks a Yjs v1 state vector.
pub(crate) fn check_state_vector(data: &[u8]) -> Result<(), Refusal> {
    let mut walk = Walk::new(data);
    settle(
        walk.var_u32()
            .and_then(|len| walk.claim(len as usize, "state vector entries")),
    )
}

/// Checks an awareness update (y-protocols).
pub(crate) fn check_awareness(data: &[u8]) -> Result<(), Refusal> {
    let mut walk = Walk::new(data);
    settle((|| {
        let len = walk.var_u64()? as usize;
        walk.claim(len, "awareness entries")?;
        for _ in 0..len {
            walk.client()?;
            walk.var_u32()?; // clock
            walk.buf("awareness state")?;
        }
        Ok(())
    })())
}

/// `Stop::Malformed` ends the walk without a verdict: yrs will refuse the data itself.
enum Stop {
    Refused(Refusal),
    Malformed,
}

fn settle(walked: Result<(), Stop>) -> Result<(), Refusal> {
    match walked {
        Err(Stop::Refused(why)) => Err(why),
        _ => Ok(()),
    }
}

struct Walk<'a> {
    data: &'a [u8],
    pos: usize,
    shape: Shape,
}

impl<'a> Walk<'a> {
    fn new(data: &'a [u8]) -> Self {
        Walk {
            data,
            pos: 0,
            shape: Shape::default(),
        }
    }

    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    /// A count or length must fit in the bytes left.
    fn claim(&self, claimed: usize, what: &str) -> Result<(), Stop> {
        if claimed > self.left() {
            return Err(Stop::Refused(format!(
                "{claimed} {what} claimed at byte {} with only {} bytes left",
                self.pos,
                self.left()
            )));
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, Stop> {
        let byte = *self.data.get(self.pos).ok_or(Stop::Malformed)?;
        self.pos += 1;
        Ok(byte)
    }

    fn skip(&mut self, len: usize) -> Result<(), Stop> {
        if len > self.left() {
            return Err(Stop::Malformed);
        }
        self.pos += len;
        Ok(())
    }

    /// An unsigned var int, computed exactly as yrs does (shifts wrap, at most 11 bytes).
    fn var_u64(&mut self) -> Result<u64, Stop> {
        let (mut num, mut shift) = (0u64, 0u32);
        loop {
            let byte = self.u8()?;
            num |= u64::wrapping_shl(u64::from(byte & 0x7f), shift);
            shift += 7;
            if byte < 0x80 {
                return Ok(num);
            }
            if shift > 70 {
                return Err(Stop::Malformed);
            }
        }
    }

    fn var_u32(&mut self) -> Result<u32, Stop> {
        let (mut num, mut shift) = (0u32, 0u32);
        loop {
            let byte = self.u8()?;
            num |= u32::wrapping_shl(u32::from(byte & 0x7f), shift);
            shift += 7;
            if byte < 0x80 {
                return Ok(num);
            }
            if shift > 70 {
                return Err(Stop::Malformed);
            }
        }
    }

    /// A signed var int (lib0): only its length matters here. yrs shifts by 69 on an 11th
    /// byte, an overflow (a panic where overflow checks are on).
    fn var_i64(&mut self) -> Result<(), Stop> {
        let start = self.pos;
        for _ in 0..10 {
            if self.u8()? < 0x80 {
                return Ok(());
            }
        }
        Err(Stop::Refused(format!(
            "a signed integer longer than 10 bytes at byte {start}"
        )))
    }

    /// A client id: Yjs clients use at most 53 bits (a JavaScript number), and yrs asserts it.
    fn client(&mut self) -> Result<u64, Stop> {
        let start = self.pos;
        let client = self.var_u64()?;
        if client >= 1 << 53 {
            return Err(Stop::Refused(format!(
                "client id {client} at byte {start} is past 2^53"
            )));
        }
        Ok(client)
    }

    /// A length-prefixed UTF-8 string (yrs refuses others when it reads them).
    fn text(&mut self, what: &str) -> Result<&'a str, Stop> {
        let bytes = self.buf(what)?;
        std::str::from_utf8(bytes).map_err(|_| Stop::Malformed)
    }

    /// A length-prefixed buffer or string.
    fn buf(&mut self, what: &str) -> Result<&'a [u8], Stop> {
        let len = self.var_u32()? as usize;
        self.claim(len, what)?;
        let start = self.pos;
        self.skip(len)?;
        Ok(&self.data[start..self.pos])
    }

    fn id(&mut self) -> Result<(), Stop> {
        self.client()?;
        self.var_u32()?;
        Ok(())
    }

    /// Blocks, client by client (yrs' `Update::decode`), then the delete set.
    fn update(&mut self, visit: &mut dyn FnMut(Seen)) -> Result<(), Stop> {
        const SKIP: u8 = 10;
        let clients = self.var_u32()? as usize;
        self.claim(clients, "clients")?;
        let mut seen = HashSet::with_capacity(clients);
        for _ in 0..clients {
            let count = self.var_u32()?;
            self.claim(count as usize, "blocks")?;
            let at = self.pos;
            let client = self.client()?;
            // yrs appends a second section of one client to the first without ordering them,
            // then integrates blocks it already has a second time, freeing live ones
            if !seen.insert(client) {
                return Err(Stop::Refused(format!(
                    "client {client} has a second list of blocks at byte {at}"
                )));
            }
            let mut clock = u64::from(self.var_u32()?);
            visit(Seen::Client {
                client,
                clock,
                count,
                at: self.pos,
            });
            for _ in 0..count {
                let start = self.pos;
                let skip = self.data.get(start) == Some(&SKIP);
                let len = self.block()?;
                visit(Seen::Block {
                    bytes: start..self.pos,
                    clock,
                    len,
                    skip,
                });
                clock += u64::from(len);
                self.clock_fits(clock, client)?;
            }
        }
        visit(Seen::DeleteSet { at: self.pos });
        self.delete_set()
    }

    /// Clocks are u32 in yrs, and some of its arithmetic casts them to i32: past 2^31 a
    /// block is placed at a wrong offset and its block lookups index out of bounds (a
    /// panic). No client makes two billion changes.
    fn clock_fits(&self, end: u64, client: u64) -> Result<(), Stop> {
        if end > i32::MAX as u64 {
            return Err(Stop::Refused(format!(
                "clocks of client {client} pass 2^31 at byte {}",
                self.pos
            )));
        }
        Ok(())
    }

    /// Ranges of deleted clocks, client by client (yrs' `IdSet::decode`).
    fn delete_set(&mut self) -> Result<(), Stop> {
        let clients = self.var_u32()? as usize;
        self.claim(clients, "delete set clients")?;
        for _ in 0..clients {
            let client = self.client()?;
            let ranges = self.var_u32()? as usize;
            self.claim(ranges, "deleted ranges")?;
            for _ in 0..ranges {
                let clock = u64::from(self.var_u32()?);
                let len = u64::from(self.var_u32()?);
                self.clock_fits(clock + len, client)?;
            }
        }
        Ok(())
    }

    /// One block; returns how many clocks it takes (0 for an item yrs drops as empty).
    fn block(&mut self) -> Result<u32, Stop> {
        const HAS_ORIGIN: u8 = 0x80;
        const HAS_RIGHT_ORIGIN: u8 = 0x40;
        const HAS_PARENT_SUB: u8 = 0x20;
        let info = self.u8()?;
        if info == 0 || info == 10 {
            // GC or Skip: a length of clocks; none is malformed (yrs would not place it)
            return match self.var_u32()? {
                0 => Err(Stop::Malformed),
                len => Ok(len),
            };
        }
        if info & HAS_ORIGIN != 0 {
            self.id()?;
        }
        if info & HAS_RIGHT_ORIGIN != 0 {
            self.id()?;
        }
        if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
            if self.var_u32()? == 1 {
                self.text("parent name bytes")?;
            } else {
                self.id()?;
            }
            if info & HAS_PARENT_SUB != 0 {
                self.text("key bytes")?;
            }
        }
        self.content(info & 0x0f)
    }

    /// An item's content; returns its length in clocks.
    fn content(&mut self, kind: u8) -> Result<u32, Stop> {
        match kind {
            1 => self.var_u32(), // deleted
            // Legacy JSON content (Yjs writes `any` content instead since 2020): yrs reads
            // one string more than Yjs writes, so it would misread the rest of the update,
            // and its own encoding of it does not decode again.
            2 => Err(Stop::Refused(format!(
                "legacy JSON content at byte {}, which yrs cannot read",
                self.pos
            ))),
            3 => self.buf("binary bytes").map(|_| 1),
            4 => {
                // a string takes one clock per UTF-16 unit
                let text = self.text("string bytes")?;
                Ok(text.chars().map(|c| c.len_utf16() as u32).sum())
            }
            5 => self.buf("embed bytes").map(|_| 1),
            6 => {
                self.shape.has_format = true;
                self.text("format key bytes")?;
                self.buf("format value bytes").map(|_| 1)
            }
            7 => match self.u8()? {
                3 => self.text("XML element name bytes").map(|_| 1),
                0..=6 | 9 | 15 => Ok(1),
                _ => Err(Stop::Malformed), // weak links are not built in: yrs refuses them
            },
            8 => {
                let len = self.var_u32()?;
                self.claim(len as usize, "values")?;
                for _ in 0..len {
                    self.any(0)?;
                }
                Ok(len)
            }
            9 => {
                self.text("subdocument guid bytes")?;
                self.any(0).map(|()| 1)
            }
            _ => Err(Stop::Malformed),
        }
    }

    /// A lib0 `any` value (yrs' `Any::decode`, which recurses).
    fn any(&mut self, depth: usize) -> Result<(), Stop> {
        if depth >= MAX_NESTING {
            return Err(Stop::Refused(format!(
                "values nested deeper than {MAX_NESTING} levels at byte {}",
                self.pos
            )));
        }
        match self.u8()? {
            120 | 121 | 126 | 127 => Ok(()),
            125 => self.var_i64(),
            124 => self.skip(4),
            122 | 123 => self.skip(8),
            119 => self.text("string bytes").map(drop),
            116 => self.buf("binary bytes").map(drop),
            118 => {
                let len = self.var_u64()? as usize;
                self.claim(len, "object entries")?;
                for _ in 0..len {
                    self.text("key bytes")?;
                    self.any(depth + 1)?;
                }
                Ok(())
            }
            117 => {
                let len = self.var_u64()? as usize;
                self.claim(len, "array items")?;
                for _ in 0..len {
                    self.any(depth + 1)?;
                }
                Ok(())
            }
            _ => Err(Stop::Malformed),
        }
    }
}
