//! Bugs in yrs 0.28.1 (its latest release), reduced to plain yrs calls for an upstream
//! report.
//!
//! Two memory bugs, with the same bytes through a replica, which must take them without harm
//! (see `replica::arrival` and `replica::claims`). The plain-yrs tests read freed memory,
//! which a normal build may not notice; they are ignored and meant for AddressSanitizer:
//!
//! ```sh
//! RUSTFLAGS=-Zsanitizer=address cargo +nightly test --target x86_64-unknown-linux-gnu \
//!   --test yrs_upstream -- --ignored
//! ```
//!
//! And a cost: deleting records in one transaction takes time growing with the square of
//! their number (`yrs_deleting_records_grows_in_proportion`, ignored: it fails, and takes
//! seconds).

use yreplica::replica::Replica;
use yrs::encoding::write::Write;
use yrs::types::map::MapEvent;
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, In, Map, MapPrelim, MapRef, Observable, Transact, Update};

/// One block: a string item with no origins in the root text `root`.
fn text_block(out: &mut Vec<u8>, root: &str, text: &str) {
    out.write_u8(4); // an item with string content, no origins, no parent key
    out.write_var(1u32); // parent by name
    out.write_string(root);
    out.write_string(text);
}

/// One block: `root[key] = 1` with no origins.
fn map_block(out: &mut Vec<u8>, root: &str, key: &str) {
    out.write_u8(0x28); // an item with a parent key, content: values
    out.write_var(1u32);
    out.write_string(root);
    out.write_string(key);
    out.write_var(1u32); // one value
    out.write_u8(125); // an integer
    out.write_u8(1);
}

type Block<'a> = &'a dyn Fn(&mut Vec<u8>);

/// A v1 update of client sections `(client, clock, block)`, with no deletions.
fn update(sections: &[(u64, u32, Block)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.write_var(sections.len());
    for (client, clock, block) in sections {
        out.write_var(1u32);
        out.write_var(*client);
        out.write_var(*clock);
        block(&mut out);
    }
    out.write_var(0u32);
    out
}

/// A block ahead of its client's clock leaves a skip in the store; trimming a later block that
/// straddles the skip's end splits it, and the kept piece points to the freed one.
fn skip_then_straddling_item() -> Vec<Vec<u8>> {
    vec![
        update(&[(7, 0, &|u| text_block(u, "t", "a"))]),
        update(&[(7, 3, &|u| text_block(u, "u", "z"))]), // ahead: yrs records a skip [1, 3)
        update(&[(7, 0, &|u| text_block(u, "t", "hello"))]), // 7:0..5, trimmed by [0,1), [3,4)
    ]
}

/// One client listed twice: yrs appends the second list to the first unordered, integrates
/// 7:0 a second time and frees the live block (the map event then reads it).
fn client_listed_twice() -> Vec<Vec<u8>> {
    vec![
        update(&[(7, 0, &|u| map_block(u, "m", "a"))]),
        update(&[
            (7, 1, &|u| map_block(u, "m", "b")),
            (7, 0, &|u| map_block(u, "m", "a")),
        ]),
    ]
}

fn apply_plain(doc: &Doc, updates: &[Vec<u8>]) {
    for bytes in updates {
        let mut txn = doc.transact_mut();
        let _ = txn.apply_update(Update::decode_v1(bytes).expect("decodes"));
    }
}

#[test]
#[ignore = "reads freed memory inside yrs 0.28.1: run under AddressSanitizer (see the top)"]
fn yrs_skip_then_straddling_item_reads_freed_memory() {
    apply_plain(&Doc::new(), &skip_then_straddling_item());
}

#[test]
#[ignore = "reads freed memory inside yrs 0.28.1: run under AddressSanitizer (see the top)"]
fn yrs_client_listed_twice_frees_a_live_block() {
    let doc = Doc::new();
    let map = doc.get_or_insert_map("m");
    map.observe("keys", |txn, event: &MapEvent| {
        let _ = event.keys(txn).len();
    });
    apply_plain(&doc, &client_listed_twice());
}

#[test]
fn a_replica_takes_the_same_updates_without_reaching_the_bugs() {
    let mut r = Replica::new();
    let [a, ahead, straddling] =
        <[Vec<u8>; 3]>::try_from(skip_then_straddling_item()).expect("three");
    r.apply_update(&a).expect("7:0");
    r.apply_update(&ahead).expect("7:3 is held");
    assert_eq!(r.held_updates().0, 1, "7:3 waits for 7:1..3");
    // 7:0..5 continues the document: it goes to yrs, and 7:3 is then known (a different item
    // under the same id, as only a hostile peer sends), so the held one is dropped on retry
    r.apply_update(&straddling).expect("7:0..5");
    assert_eq!(r.held_updates(), (0, 0));
    let mut copy = Replica::new();
    let _ = copy.apply_update(&r.encode_state());

    let mut r = Replica::new();
    r.insert("m", "own", Default::default())
        .expect("a write before");
    let [first, twice] = <[Vec<u8>; 2]>::try_from(client_listed_twice()).expect("two");
    r.apply_update(&first).expect("the first list");
    let refused = r.apply_update(&twice).expect_err("a client listed twice");
    assert!(
        refused.to_string().contains("second list of blocks"),
        "{refused}"
    );
    r.insert("m", "after", Default::default())
        .expect("a write after");
}

/// A root map of `n` records, each a nested map of 6 fields written with `MapPrelim` (as Yjs'
/// `map.set(id, new Y.Map(entries))` does), then every record removed in one transaction.
/// Returns how long the removals and the commit took.
fn delete_every_record(n: usize) -> std::time::Duration {
    let doc = Doc::with_client_id(1);
    let map: MapRef = doc.get_or_insert_map("todos");
    {
        let mut txn = doc.transact_mut();
        for i in 0..n {
            let fields: MapPrelim = ["a", "b", "c", "d", "e", "f"]
                .into_iter()
                .map(|k| (k.to_string(), In::Any(Any::from(format!("{k}{i}")))))
                .collect();
            map.insert(&mut txn, format!("r{i}"), fields);
        }
    }
    let start = std::time::Instant::now();
    let mut txn = doc.transact_mut();
    for i in 0..n {
        map.remove(&mut txn, &format!("r{i}"));
    }
    txn.commit();
    start.elapsed()
}

/// The commit merges the blocks the transaction deleted
/// (`<IdSet as DeleteSet>::try_squash_with`, src/id_set.rs) with
/// `ClientBlockList::squash_left_range_compaction` (src/block_store.rs), which removes each
/// run of merged blocks from the client's block vector with its own `Vec::drain`: every
/// drain shifts all the blocks after the run. A deleted record's fields are collected into
/// GC blocks that merge into one; its own item stays (its parent, the root map, lives) and
/// separates that run from the next record's. So n deleted records are n drains, each
/// moving the blocks of every later record (two each by then, as the drains go from the
/// last run back): n² block moves (160,000 records: 2.6 × 10¹⁰ moves of 24 bytes, seconds
/// natively, minutes in Wasm). Compacting once after finding all
/// the runs (one pass keeping the blocks not merged away) would make it linear; the commit's
/// other merges (`ClientBlockList::squash_left`, for `merge_blocks` and the insert set) drain
/// the same way. Yjs does the same (`tryMergeDeleteSet` splices the struct array per merge).
///
/// yreplica's `insert_many` writes records by groups, each group's maps before their fields,
/// so the fields of a group deleted together are one run (tests/delete_scale.rs); records
/// written one by one cannot avoid it.
#[test]
#[ignore = "fails with yrs 0.28.1 (deleting is quadratic), and takes seconds: run with --release"]
fn yrs_deleting_records_grows_in_proportion() {
    let small = (0..3)
        .map(|_| delete_every_record(5_000))
        .min()
        .unwrap_or_default();
    let large = delete_every_record(80_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    println!("5,000 records in {small:?}, 80,000 in {large:?}: {ratio:.1} times");
    // 16 times the records: proportional would be 16 times; yrs 0.28.1 takes about 80
    assert!(ratio < 40.0, "{ratio:.1} times for 16 times the records");
}
