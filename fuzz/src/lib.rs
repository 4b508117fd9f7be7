//! The fuzzing harnesses, one function per target. The cargo-fuzz binaries in
//! `fuzz_targets/` call them, and `tests/fuzz_regressions.rs` includes this file to replay the
//! saved inputs on stable Rust, so a found bug stays a test after its fix.
//!
//! Each harness panics only when an oracle fails (a panic inside the library is a finding too):
//! bad input must give an error, never a crash, and what is accepted must read back intact.

use std::collections::HashSet;

use serde_json::Value;
use yreplica::config::SyncConfig;
use yreplica::replica::value::fields_from_json;
use yreplica::replica::{merge_updates, take_merged, Replica};
use yreplica::sync::presence::Presence;
use yreplica::sync::protocol::{self, Dialect, Incoming};
use yreplica::sync::{Output, Status, SyncEngine};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;

/// One harness: runs one input, panicking if a check fails.
pub type Harness = fn(&[u8]);

/// Every target by name: the name is also the folder of its saved inputs.
pub const TARGETS: &[(&str, Harness)] = &[
    ("frame_ywebsocket", frame_ywebsocket),
    ("frame_hocuspocus", frame_hocuspocus),
    ("storage_records", storage_records),
    ("json_values", json_values),
    ("sync_engine", sync_engine),
];

/// Secrets the engine is configured with; no error it reports may contain them.
const TOKEN: &str = "SECRET-TOKEN-4f1c";
const PARAM_SECRET: &str = "SECRET-PARAM-9b2e";

// ---- frames --------------------------------------------------------------------------------

/// A y-websocket frame as a server would send it: decoded, and what decodes is taken in.
pub fn frame_ywebsocket(data: &[u8]) {
    let decoded = Dialect::YWebsocket.decode(data);
    let messages = protocol::decode_frame(data);
    assert_eq!(
        decoded.is_ok(),
        messages.is_ok(),
        "the two decoders disagree"
    );
    if let Ok(messages) = messages {
        for message in messages {
            // yrs writes a custom message's type as a byte, not a var int; none is ever sent
            if !matches!(message, Message::Custom(..)) {
                reencodes_to_itself(message);
            }
        }
    }
    if let Ok(incoming) = decoded {
        take_in(&incoming);
    }
}

/// A Hocuspocus frame (document name, then a message) as a server would send it.
pub fn frame_hocuspocus(data: &[u8]) {
    let dialect = Dialect::Hocuspocus {
        document: "room".into(),
        token: TOKEN.into(),
    };
    if let Ok(incoming) = dialect.decode(data) {
        take_in(&incoming);
    }
}

/// A decoded message, encoded again, decodes to the same message.
fn reencodes_to_itself(message: Message) {
    let bytes = message.encode_v1();
    let again = protocol::decode_frame(&bytes).expect("a re-encoded message decodes");
    assert_eq!(again, vec![message], "a message changed when encoded again");
}

/// Does with decoded messages what the engine does: answers SyncStep1 with a diff, applies
/// updates, takes in awareness states; then every read must give valid JSON.
fn take_in(incoming: &[Incoming]) {
    let mut replica = seeded_replica();
    let mut stored = vec![replica.encode_state()]; // what storage held before
    let mut irregular = false;
    replica.capture_for_storage();
    let mut presence = Presence::default();
    for message in incoming {
        match message {
            Incoming::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = replica.diff_since(sv);
                let applied = Replica::new().apply_update(&diff);
                // (after an irregular update yrs can encode a placeholder range of negative
                // length, which its own decoder, and our checks, refuse)
                assert!(
                    irregular || applied.is_ok(),
                    "a diff we encoded does not apply: {applied:?}"
                );
            }
            Incoming::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                irregular |= apply_irregular(&mut replica, update);
                take_stored(&mut replica, &mut stored);
            }
            Incoming::Awareness(update) => {
                // (over its budget the states are dropped: the engine then leaves the link)
                let _ = presence.apply(update, 0);
                parse(&presence.peers_json(), "the presence list");
            }
            _ => {}
        }
    }
    reads_back(&mut replica);
    stored_copy_matches(&mut replica, &stored, irregular);
}

/// A replica holding a few records, so diffs and updates meet real content.
fn seeded_replica() -> Replica {
    let mut replica = Replica::with_client_id(1);
    for (id, json) in [
        ("a", r#"{"n":1}"#),
        ("b", r#"{"s":"x","l":[1,{"k":null}]}"#),
    ] {
        let fields = fields_from_json(json, String::new).expect("seed fields");
        replica.insert("todos", id, fields).expect("seed insert");
    }
    replica
}

// ---- storage records -----------------------------------------------------------------------

/// Local storage as loading sees it: records (each a Yjs update, as stored) are applied one by
/// one, a bad one skipped; what was loaded then persists and compacts without loss.
///
/// Input: records, each a 2-byte little-endian length and that many bytes.
pub fn storage_records(data: &[u8]) {
    let records = split_records(data);
    let mut replica = Replica::new();
    for record in &records {
        let _ = replica.apply_update(record); // persistence.load skips and reports a bad one
    }
    reads_back(&mut replica);

    // Merging the records (the storage queue, compaction of a queue) never loses any.
    let merged = merge_updates(records.clone());
    assert!(
        !merged.is_empty() || records.is_empty(),
        "merging lost every update"
    );
    let mut queue = records.clone();
    let mut taken = 0;
    while take_merged(&mut queue).is_some() {
        taken += 1;
        assert!(
            taken <= records.len(),
            "take_merged never empties its queue"
        );
    }

    // Every record, applied with storage capture on (remote updates while running), must come
    // back out of the storage queue and load into the same content.
    let mut live = Replica::new();
    live.capture_for_storage();
    let mut stored = Vec::new();
    let mut irregular = false;
    for record in &records {
        irregular |= apply_irregular(&mut live, record);
        take_stored(&mut live, &mut stored);
    }
    stored_copy_matches(&mut live, &stored, irregular);
}

fn split_records(data: &[u8]) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let end = (2 + len).min(rest.len());
        records.push(rest[2..end].to_vec());
        rest = &rest[end..];
    }
    records
}

/// Takes what a storage tick would write after one update: every update arrives in its own
/// tick here, so none is merged with another. (Merging two updates that give different items
/// one id, which only a hostile peer sends, keeps one of them; the compaction below is exact.)
fn take_stored(replica: &mut Replica, stored: &mut Vec<Vec<u8>>) {
    while let Some(update) = replica.take_storage_update() {
        stored.push(update);
    }
}

/// Applies an update; true if it was irregular: refused after changing the document (only a
/// hostile peer sends such an update, an item whose parent is not a type, say), or out of
/// order (a client's blocks start past what the replica has of that client, or leave a gap).
fn apply_irregular(replica: &mut Replica, update: &[u8]) -> bool {
    use yrs::updates::decoder::Decode;
    // (decoded only once checked: unchecked bytes could reserve gigabytes or recurse deeply)
    let checked = yreplica::replica::claims::check_update(update).is_ok();
    let out_of_order = checked
        && yrs::Update::decode_v1(update).is_ok_and(|u| {
            let have = replica.state_vector_now();
            let starts_past = u
                .state_vector_lower()
                .iter()
                .any(|(c, &clock)| clock > have.get(c));
            let gap = u
                .insertions(true)
                .iter()
                .any(|(_, ranges)| ranges.len() > 1);
            starts_past || gap
        });
    let before = replica.encode_state();
    let refused_halfway = replica.apply_update(update).is_err() && replica.encode_state() != before;
    out_of_order || refused_halfway
}

/// What storage holds (`stored`: what it held before, then each tick's update) and a
/// compaction's full state both reload into a replica with the same records, unless
///
/// - updates are pending (waiting for ones they depend on): yrs shows a block whose own
///   client's earlier blocks are missing (Yjs holds it back) until it is merged with a pending
///   update from that client; both converge once the missing ones arrive. And a pending block
///   is only checked when a reload integrates it: a hostile one can make that reload fail;
/// - an update was `irregular` (see [`apply_irregular`]): yrs fills gaps with placeholder
///   ranges, and whether it accepts an item can then depend on the order blocks arrive in
///   (a parent inside a placeholder is not checked), so a stored state may not reload whole.
///   Reloading it must still not panic.
fn stored_copy_matches(replica: &mut Replica, stored: &[Vec<u8>], irregular: bool) {
    let expected = snapshot(replica);
    let mut from_log = Replica::new();
    let mut loaded = true;
    for update in stored {
        loaded &= from_log.apply_update(update).is_ok();
    }
    let mut compacted = Replica::new();
    loaded &= compacted.apply_update(&replica.encode_state()).is_ok();
    if irregular || has_pending(replica) {
        return; // (a pending block is checked only when a reload integrates it)
    }
    assert!(loaded, "what was stored does not load again");
    // numbers compared as JavaScript sees them: yrs encodes big integers as floats
    let expected = Value::Array(expected);
    let reloaded = Value::Array(snapshot(&mut from_log));
    assert_same(
        &reloaded,
        &expected,
        "the stored updates reload differently",
    );
    let reloaded = Value::Array(snapshot(&mut compacted));
    assert_same(
        &reloaded,
        &expected,
        "the compacted state reloads differently",
    );
}

fn has_pending(replica: &Replica) -> bool {
    use yrs::{ReadTxn, Transact};
    replica.doc().transact().has_missing_updates()
}

/// Every collection's records, as the facade would read them: `[name, records]` pairs.
fn snapshot(replica: &mut Replica) -> Vec<Value> {
    replica
        .collections()
        .into_iter()
        .map(|name| {
            let json = replica.all(&name).expect("reading a collection");
            let records = parse(&json, "a collection");
            Value::Array(vec![Value::String(name), records])
        })
        .collect()
}

/// JSON text the library produced, parsed. serde_json stops at 128 levels, which valid values
/// from other Yjs apps may exceed, and refuses numbers past f64 (`1e999`, valid JSON that
/// `JSON.parse` reads as Infinity, as a peer's presence state may hold): those parse as markers.
fn parse(json: &str, what: &str) -> Value {
    match serde_json::from_str(json) {
        Ok(value) => value,
        Err(e) if e.to_string().contains("recursion limit") => Value::String("<deep>".into()),
        Err(e) if e.to_string().contains("number out of range") => Value::String("<huge>".into()),
        Err(e) => panic!("{what} is not JSON ({e}): {json}"),
    }
}

/// Every read the facade makes gives valid JSON.
fn reads_back(replica: &mut Replica) {
    for change in replica.take_changes().changes {
        if let Some(value) = change.value {
            parse(&value, "a change");
        }
    }
    for name in replica.collections() {
        let json = replica.all(&name).expect("reading a collection");
        let records = parse(&json, "a collection");
        for record in records.as_array().map_or(&[][..], |r| r.as_slice()) {
            let id = record["id"].as_str().expect("every record has a string id");
            let one = replica
                .get(&name, id)
                .expect("get")
                .expect("a listed record exists");
            assert_eq!(parse(&one, "a record"), *record);
        }
    }
}

// ---- JSON values ---------------------------------------------------------------------------

/// App JSON into a record and back: what parses as an object reads back equal (numbers
/// compared as JS would see them); anything else is an error, never a panic.
pub fn json_values(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // JS strings reach the core as UTF-8
    };
    let expected: Option<Value> = serde_json::from_str(text).ok();
    let fields = fields_from_json(text, || "fuzz".into());
    let Some(Value::Object(mut object)) = expected else {
        assert!(
            fields.is_err(),
            "non-object or invalid JSON was accepted: {text:?}"
        );
        return;
    };
    let fields = fields.expect("a JSON object is accepted as fields");
    let id_ok = object.get("id").is_none_or(|id| id == "r");
    let mut replica = Replica::with_client_id(1);
    let inserted = replica.insert("c", "r", fields.clone());
    if !id_ok {
        assert!(inserted.is_err(), "a record's id field was changed");
        return;
    }
    inserted.expect("inserting a valid record");
    object.insert("id".into(), Value::String("r".into()));
    let expected = Value::Object(object);
    let read = |replica: &mut Replica, id: &str| -> Value {
        let json = replica
            .get("c", id)
            .expect("get")
            .expect("the record exists");
        parse(&json, "a record")
    };
    assert_same(&read(&mut replica, "r"), &expected, "insert");

    // Writing the same fields again changes nothing; so does a round trip through Yjs bytes.
    replica
        .update("c", "r", fields.clone(), &[])
        .expect("updating with the same fields");
    assert_same(&read(&mut replica, "r"), &expected, "update");
    let mut copy = Replica::new();
    copy.apply_update(&replica.encode_state())
        .expect("the state applies to another replica");
    assert_same(&read(&mut copy, "r"), &expected, "sync");
    replica
        .replace("c", "r", fields)
        .expect("replacing with the same fields");
    assert_same(&read(&mut replica, "r"), &expected, "replace");
}

/// Equality as JavaScript would see the values after `JSON.parse`: numbers are doubles.
fn assert_same(got: &Value, want: &Value, what: &str) {
    assert!(same(got, want), "{what}: read back {got} for {want}");
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            // One unit in the last place apart: serde_json without `float_roundtrip` (as in
            // `cargo test`) reads some numbers that far off. The library's own reading is
            // checked exactly by numbers_from_the_app_keep_every_bit in tests/.
            (Some(x), Some(y)) => x == y || (x.to_bits() as i64).abs_diff(y.to_bits() as i64) <= 1,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

// ---- the sync engine -----------------------------------------------------------------------

/// Reads the fuzzer's bytes as choices; zeros once they run out.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    fn bytes(&mut self) -> Vec<u8> {
        let len = (self.byte() as usize).min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken.to_vec()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.byte() as usize % items.len()])
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The engine driven as the wasm driver drives it, by a script of socket events, frames (raw
/// or well-formed around fuzzed payloads), timers and app calls. Checked after every step:
/// no secret in an error, sends only on open sockets, never stuck without a timer.
pub fn sync_engine(data: &[u8]) {
    let mut choices = Choices(data);
    let first = choices.byte();
    let hocuspocus = first % 2 == 1;
    // one to three servers in the replication set, the write concern up to as many
    let servers = 1 + (first / 2) % 3;
    let write_concern = 1 + (first / 6) % servers;
    let config = SyncConfig {
        servers: f64::from(servers),
        write_concern: yreplica::config::WriteConcern::Count(f64::from(write_concern)),
        endpoints: (1..=3).map(|i| format!("ws://127.0.0.1:{i}/yjs")).collect(),
        protocol: if hocuspocus {
            "hocuspocus"
        } else {
            "y-websocket"
        }
        .into(),
        token: hocuspocus.then(|| TOKEN.to_string()),
        params: [("auth".to_string(), PARAM_SECRET.to_string())].into(),
        // small enough that fuzzed frames reach every limit
        max_frame_bytes: 4096.0,
        max_message_bytes: Some(200.0),
        max_backlog_bytes: 600.0,
        sync_timeout_ms: 5_000.0,
        ..SyncConfig::default()
    };
    let dialect = if hocuspocus {
        Dialect::Hocuspocus {
            document: "room".into(),
            token: TOKEN.into(),
        }
    } else {
        Dialect::YWebsocket
    };
    let mut replica = seeded_replica();
    replica.capture_local_updates();
    let _ = replica.take_local_updates();
    let mut engine = SyncEngine::new(&config, "room", 7);
    let mut world = World::default();
    let mut now = 1_000u64;
    engine.start(now);
    world.drain(&mut engine);

    let mut steps = 0;
    while !choices.is_empty() && steps < 300 {
        steps += 1;
        match choices.byte() % 12 {
            0 | 1 => {
                if let Some(conn) = choices.pick(&world.connecting()) {
                    trace(|| format!("open {conn}"));
                    world.opened.insert(conn);
                    engine.handle_open(conn, now, &replica);
                }
            }
            2..=5 => {
                // sockets deliver nothing before 'open'; after a close, the engine ignores them
                if let Some(conn) = choices.pick(&world.ever_opened()) {
                    let frame = server_frame(&mut choices, &dialect);
                    trace(|| format!("frame on {conn}: {frame:?}"));
                    // as the driver takes a frame: admitted by size and kind first, then
                    // handled now, or left waiting for a later turn (bounded per connection;
                    // decided by the length, so earlier findings replay their choices unchanged)
                    let head = |n: usize| frame[..n.min(frame.len())].to_vec();
                    if engine.admit_frame(conn, frame.len(), head, now) {
                        if frame.len() % 3 == 0 {
                            let waiting = world.waiting.entry(conn).or_default();
                            if engine.handle_frame_queued(conn, frame.len(), *waiting, now) {
                                *waiting += frame.len();
                                world.inbox.push_back((conn, frame));
                            }
                        } else {
                            world.take_waiting(&mut engine, &mut replica, now);
                            engine.handle_frame(conn, &frame, now, &mut replica);
                        }
                    }
                }
            }
            6 => {
                if let Some(conn) = choices.pick(&world.live()) {
                    trace(|| format!("closed {conn}"));
                    world.closed.insert(conn);
                    engine.handle_closed(conn, now);
                }
            }
            7 | 8 => {
                world.take_waiting(&mut engine, &mut replica, now);
                now += u64::from(choices.u16());
                trace(|| format!("timeout at {now}"));
                engine.handle_timeout(now, &replica);
            }
            9 => {
                let id = format!("w{}", choices.byte());
                let fields = fields_from_json(r#"{"v":1}"#, String::new).expect("fields");
                let _ = replica.upsert("todos", &id, fields);
                for update in replica.take_local_updates() {
                    engine.local_update(update, now, &replica);
                }
            }
            10 => match choices.byte() % 4 {
                0 => {
                    let concern = (choices.byte() % 4 != 0).then(|| u32::from(1 + first % servers));
                    engine.flush(u64::from(choices.byte()), 5_000, concern, now, &replica)
                }
                1 => engine.failover(now),
                2 => {
                    let url = format!("ws://127.0.0.1:{}/yjs", choices.byte() % 4);
                    let _ = engine.switch_to(&url, now);
                }
                _ => engine.unpin(now),
            },
            _ => {
                let json = match choices.byte() % 3 {
                    0 => None,
                    1 => Some(r#"{"name":"fuzz"}"#.to_string()),
                    _ => Some(String::from_utf8_lossy(&choices.bytes()).into_owned()),
                };
                engine.set_presence(json, 1, now);
            }
        }
        world.drain(&mut engine);
        let status = engine.status().clone();
        check_status(&status);
        assert!(
            engine.poll_timeout().is_some(),
            "stuck: no timer while {status:?}"
        );
        parse(&engine.presence_json(), "the presence list");
    }
    reads_back(&mut replica);
}

/// With YREPLICA_FUZZ_TRACE set, prints the engine's inputs and outputs (to read a finding).
fn trace(line: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("YREPLICA_FUZZ_TRACE").is_some()) {
        eprintln!("{}", line());
    }
}

/// A frame a server might send: raw bytes, or well-formed messages around fuzzed payloads.
fn server_frame(choices: &mut Choices, dialect: &Dialect) -> Vec<u8> {
    let message = match choices.byte() % 8 {
        0 => return choices.bytes(),
        1 => protocol::sync_step1(&Default::default()),
        2 => protocol::sync_step2(choices.bytes()),
        3 => protocol::update(choices.bytes()),
        4 => protocol::sync_step2(server_update(choices.byte())),
        5 => {
            let mut m = vec![1]; // awareness
            yrs::encoding::write::Write::write_buf(&mut m, choices.bytes());
            m
        }
        6 => vec![2, 0, 4, b'n', b'o', b'p', b'e'], // permission denied
        _ => match dialect {
            Dialect::Hocuspocus { .. } => vec![8, choices.byte() % 2], // SyncStatus
            Dialect::YWebsocket => vec![3],                            // awareness query
        },
    };
    dialect.frame(message)
}

/// A valid update from another writer, so frames can carry real data too.
fn server_update(n: u8) -> Vec<u8> {
    let mut other = Replica::with_client_id(1_000 + u64::from(n % 3));
    let fields = fields_from_json(r#"{"from":"server"}"#, String::new).expect("fields");
    other
        .insert("todos", &format!("s{n}"), fields)
        .expect("insert");
    other.encode_state()
}

fn check_status(status: &Status) {
    let online = status.connection.as_str() == "online";
    assert!(
        !online || status.endpoint.is_some(),
        "online without an endpoint"
    );
}

/// What the driver knows of the sockets the engine asked for, and the frames it keeps waiting.
#[derive(Default)]
struct World {
    connected: Vec<u64>,
    opened: HashSet<u64>,
    closed: HashSet<u64>,
    inbox: std::collections::VecDeque<(u64, Vec<u8>)>,
    waiting: std::collections::HashMap<u64, usize>,
}

impl World {
    /// A new turn: the waiting frames are handled, in order.
    fn take_waiting(&mut self, engine: &mut SyncEngine, replica: &mut Replica, now: u64) {
        while let Some((conn, frame)) = self.inbox.pop_front() {
            if let Some(waiting) = self.waiting.get_mut(&conn) {
                *waiting -= frame.len();
            }
            engine.handle_frame(conn, &frame, now, replica);
            self.drain(engine);
        }
    }

    fn connecting(&self) -> Vec<u64> {
        self.live()
            .into_iter()
            .filter(|c| !self.opened.contains(c))
            .collect()
    }
    fn ever_opened(&self) -> Vec<u64> {
        let mut opened: Vec<u64> = self.opened.iter().copied().collect();
        opened.sort_unstable();
        opened
    }
    fn live(&self) -> Vec<u64> {
        self.connected
            .iter()
            .copied()
            .filter(|c| !self.closed.contains(c))
            .collect()
    }

    /// Takes the engine's outputs, checking each.
    fn drain(&mut self, engine: &mut SyncEngine) {
        while let Some(output) = engine.poll_output() {
            trace(|| format!("  -> {output:?}"));
            match output {
                Output::Connect { conn, url } => {
                    assert!(
                        !self.connected.contains(&conn),
                        "a connection id was reused"
                    );
                    self.connected.push(conn);
                    assert!(url.starts_with("ws://127.0.0.1:"), "odd url {url}");
                }
                Output::Send { conn, .. } => {
                    assert!(
                        self.opened.contains(&conn) && !self.closed.contains(&conn),
                        "sent on connection {conn}, which is not open"
                    );
                }
                Output::Close { conn } => {
                    self.closed.insert(conn);
                    // what a dropped connection left waiting goes with it
                    self.inbox.retain(|(c, _)| *c != conn);
                    self.waiting.remove(&conn);
                }
                Output::Error { code, message } => {
                    assert!(!message.is_empty(), "an empty {code} error");
                    assert!(
                        !message.contains(TOKEN) && !message.contains(PARAM_SECRET),
                        "a secret leaked into a {code} error: {message}"
                    );
                    assert!(
                        message.contains("ws://127.0.0.1:"),
                        "a {code} error does not name its endpoint: {message}"
                    );
                }
                _ => {}
            }
        }
    }
}
