//! Replays what the fuzzers found (tests/fuzz-inputs/<target>/*) and their seeds
//! (fuzz/corpus/<target>/seed-*) through the same harnesses as the cargo-fuzz targets, on
//! stable Rust: each must end without a panic and pass the harness' checks.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    inputs_in(&[
        (root.join("tests/fuzz-inputs").join(target), ""),
        (root.join("fuzz/corpus").join(target), "seed-"),
    ])
}

fn inputs_in(dirs: &[(PathBuf, &str)]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (dir, prefix) in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_file() && name.starts_with(prefix) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs every input of `target`, then fails naming each input that panicked.
fn replay(target: &str) {
    replay_files(target, inputs(target));
}

fn replay_files(target: &str, files: Vec<PathBuf>) {
    let (_, run) = harness::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    assert!(!files.is_empty(), "no inputs for {target}");
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = fs::read(path).expect("reading an input");
            panic::catch_unwind(|| run(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail: {failed:#?}"
    );
}

#[test]
fn y_websocket_frames() {
    replay("frame_ywebsocket");
}

#[test]
fn hocuspocus_frames() {
    replay("frame_hocuspocus");
}

#[test]
fn stored_records() {
    replay("storage_records");
}

#[test]
fn json_values() {
    replay("json_values");
}

#[test]
fn sync_engine_scripts() {
    replay("sync_engine");
}

/// Inputs that hit bugs inside yrs 0.28.1 before updates were put in causal order on our side
/// (`replica::arrival`): a use-after-free when held-back updates were retried, and a
/// placeholder range whose length underflowed (a panic with overflow checks, as in this debug
/// build). AddressSanitizer shows the difference: `cargo +nightly fuzz run -O storage_records
/// <file>` (from fuzz/).
#[test]
fn yrs_bugs_are_not_reached() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-inputs/yrs-bugs-avoided");
    for target in [
        "frame_ywebsocket",
        "frame_hocuspocus",
        "storage_records",
        "sync_engine",
    ] {
        replay_files(target, inputs_in(&[(root.join(target), "")]));
    }
}

// ---- what native fuzzing cannot show by itself --------------------------------------------
// On wasm32 a length near 4 GiB wraps yrs' bounds check (a panic: the module dies), a count
// with nothing behind it grows the Wasm memory by gigabytes, and deep nesting overflows the
// 1 MiB Wasm stack. On x86-64 these pass unnoticed, so the checks that stop them are tested
// directly.

use yreplica::replica::claims::MAX_NESTING;
use yreplica::replica::value::MAX_SHARED_NESTING;
use yreplica::replica::Replica;
use yreplica::sync::protocol;

fn var(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n > 127 {
        out.push((n as u8 & 127) | 128);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

fn refused(update: &[u8]) -> String {
    Replica::new()
        .apply_update(update)
        .expect_err("the update is refused")
        .to_string()
}

/// Runs `test` on a big stack: debug builds use far more stack per level than release Wasm.
fn on_big_stack(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(test)
        .expect("a thread")
        .join()
        .expect("the test passes");
}

#[test]
fn a_length_near_4_gib_is_refused_before_yrs_reads_it() {
    // one client, one block: an `any` item whose parent name claims 2^32 - 1 bytes
    let update = [1, 1, 5, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff, 0x0f];
    assert!(refused(&update).contains("parent name bytes claimed"));
    let frame = [0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]; // SyncStep2 of 2^32 - 1 bytes
    let error = protocol::decode_frame(&frame).unwrap_err();
    assert!(error.0.contains("only 0 bytes left"), "{error}");
    let awareness = [1, 7, 1, 1, 0, 0xff, 0xff, 0xff, 0x0f]; // a state of 2^28 bytes
    assert!(protocol::decode_frame(&awareness).is_err());
}

#[test]
fn counts_with_nothing_behind_them_are_refused() {
    // 80 million blocks in 7 bytes: yrs would reserve 1.9 GB of Wasm memory for them
    let mut update = vec![1];
    update.extend(var(80_000_000));
    update.extend([5, 0]);
    assert!(refused(&update).contains("80000000 blocks claimed"));
    let state_vector = [0xff, 0xff, 0xff, 0x7a];
    assert!(Replica::new().encode_diff(&state_vector).is_err());
    assert!(protocol::state_vector(&state_vector).is_err());
}

/// A record `r` in collection `c` whose field `f` holds arrays nested `depth` deep.
fn deep_record(depth: usize) -> Vec<u8> {
    let mut update = vec![1, 2, 5, 0];
    update.extend([0x27, 1, 1, b'c', 1, b'r', 1]); // the record: a Y.Map
    update.extend([0x28, 0, 5, 0, 1, b'f', 1]); // its field: one `any` value
    for _ in 0..depth {
        update.extend([117, 1]);
    }
    update.extend([126, 0]);
    update
}

#[test]
fn values_nested_deeper_than_the_limit_are_refused() {
    on_big_stack(|| {
        let mut replica = Replica::new();
        replica
            .apply_update(&deep_record(MAX_NESTING - 1))
            .expect("nesting up to the limit applies");
        let json = replica.get("c", "r").unwrap().expect("the record");
        assert!(json.contains(&"[".repeat(MAX_NESTING - 1)));
        assert!(refused(&deep_record(MAX_NESTING)).contains("nested deeper"));
    });
}

#[test]
fn shared_maps_nested_deeper_than_the_limit_read_as_null() {
    use yrs::{Map, MapPrelim, Transact, WriteTxn};
    on_big_stack(|| {
        let source = yrs::Doc::new();
        {
            let mut txn = source.transact_mut();
            let record = txn
                .get_or_insert_map("c")
                .insert(&mut txn, "r", MapPrelim::default());
            let mut map = record;
            for _ in 0..MAX_SHARED_NESTING + 50 {
                map = map.insert(&mut txn, "f", MapPrelim::default());
            }
        }
        let mut replica = Replica::new();
        replica
            .apply_update(&{
                use yrs::ReadTxn;
                source
                    .transact()
                    .encode_state_as_update_v1(&Default::default())
            })
            .expect("applies");
        let json = replica.get("c", "r").unwrap().expect("the record");
        // the field's map and those under it are read down to the limit; below that, null
        let maps_read = json.matches(r#""f":{"#).count();
        assert_eq!(maps_read, MAX_SHARED_NESTING);
        assert!(json.contains(r#""f":null}"#));
    });
}

#[test]
fn legacy_json_content_is_refused() {
    // an item of JSON content (Yjs' ContentJSON): yrs reads one string more than was written
    let update = [1, 1, 5, 0, 0x22, 1, 1, b'c', 1, b'k', 1, 1, b'1', 0];
    assert!(refused(&update).contains("legacy JSON content"));
}

/// Found by json_values: without serde_json's `float_roundtrip` feature, about one double in ten
/// with all 17 digits in use (such as `Math.random()`) is stored one unit in the last place off.
#[test]
fn numbers_from_the_app_keep_every_bit() {
    use yreplica::replica::value::fields_from_json;
    use yrs::any::Number;
    use yrs::Any;
    for x in [
        0.9856906946328695,
        182633.65176568934,
        1.0715660391465826e-75,
    ] {
        // the shortest text that reads back as x, as JSON.stringify writes it
        let text = format!(r#"{{"v":{}}}"#, serde_json::to_string(&x).unwrap());
        let fields = fields_from_json(&text, String::new).expect("JSON");
        assert_eq!(fields[0].1, Any::Number(Number::Float(x)), "{text}");
    }
}

/// Found by json_values: JSON.stringify writes numbers below 1e21 in full, so 1e19 arrives as
/// "10000000000000000000", beyond i64, which yrs' JSON reader refused ("not valid JSON").
#[test]
fn integers_beyond_i64_are_read_as_javascript_numbers() {
    use yreplica::replica::value::fields_from_json;
    use yrs::any::Number;
    use yrs::Any;
    let fields = fields_from_json(r#"{"v":10000000000000000000}"#, String::new).expect("JSON");
    assert_eq!(fields[0].1, Any::Number(Number::Float(1e19)));
}

/// Found by the hostile-server test: an empty frame (what the driver passes on for a text
/// frame) decoded to no message in the Hocuspocus dialect, so it only counted as liveness.
#[test]
fn an_empty_frame_is_an_error_in_both_dialects() {
    let hocuspocus = protocol::Dialect::Hocuspocus {
        document: "d".into(),
        token: String::new(),
    };
    assert!(hocuspocus.decode(&[]).is_err());
    assert!(protocol::Dialect::YWebsocket.decode(&[]).is_err());
}

/// Found by frame_ywebsocket: a root type named "" (any Yjs app can make one) failed every
/// update from then on ("a collection name must be a non-empty string"), so sync never
/// recovered and every load from storage reported a corrupt record.
#[test]
fn a_root_named_empty_is_not_a_collection_and_breaks_nothing() {
    use yrs::{Map, Transact, WriteTxn};
    let other_app = yrs::Doc::with_client_id(7);
    {
        let mut txn = other_app.transact_mut();
        txn.get_or_insert_map("").insert(&mut txn, "k", 1);
    }
    let update = {
        use yrs::ReadTxn;
        other_app
            .transact()
            .encode_state_as_update_v1(&Default::default())
    };
    let mut replica = Replica::new();
    replica.apply_update(&update).expect("applies");
    assert!(replica.collections().is_empty());
    replica.apply_update(&update).expect("and again");
}

/// Found by sync_engine and frame_ywebsocket: a client's clocks past 2^31 went wrong in yrs
/// (u32 clocks, some arithmetic in i32), whose block lookups then indexed out of bounds or
/// unwrapped nothing (a panic: the module dies).
#[test]
fn clocks_past_2_pow_31_are_refused() {
    // one client from clock 2^31 - 2: an item of 5 string characters
    let mut update = vec![1, 1, 5];
    update.extend(var(i32::MAX as u64 - 1));
    update.extend([0x24, 1, 1, b'c', 1, b'k', 5]);
    update.extend(b"hello");
    update.push(0);
    assert!(refused(&update).contains("pass 2^31"));
    // a GC range from 2^32 - 32855 (ending below 2^32)
    let mut gc = vec![1, 1, 1];
    gc.extend(var(4_294_934_441));
    gc.extend([0, 128, 1, 0]);
    assert!(refused(&gc).contains("pass 2^31"));
    // a deleted range past 2^31
    let mut deletes = vec![0, 1, 5, 1];
    deletes.extend(var(i32::MAX as u64 - 1));
    deletes.push(5);
    assert!(refused(&deletes).contains("pass 2^31"));
}
