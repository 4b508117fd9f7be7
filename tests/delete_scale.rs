//! Deleting many records costs time in proportion to their number, for records written by
//! `insert_many` and deleted by `delete_many`. Each test times deleting 10,000 and 160,000 of
//! them and allows the larger up to 40 times the cost of the smaller: 16 would be
//! proportional, and with each record's map and fields written together (yrs' `MapPrelim`,
//! and `insert_many` before) it was over 100, as yrs 0.28.1 then shifts every later block
//! once per deleted record (see `tests/yrs_upstream.rs`); `insert_many` now writes records
//! by groups (`RECORDS_PER_RUN`), a shift per group. That shifting is a fast memory move, so
//! it only dominates from some 30,000 records on, hence the sizes, and a debug build's slower
//! everything else hides it: the tests run in release builds only. Best of a few runs, so a
//! busy machine does not fail them. `cargo test --release --test delete_scale --
//! --nocapture` prints the times.
//!
//! Deleting them one transaction per record stays quadratic (each record's fields are a run
//! of their own then): the JS facade gathers the deletes made inside `transact()` into one
//! `delete_many`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use yreplica::replica::{Fields, Replica, Values};
use yrs::Any;

fn record(i: usize) -> Fields {
    vec![
        (
            Arc::from("title"),
            Any::from(format!("Task number {i} with some words")),
        ),
        (Arc::from("done"), Any::Bool(i % 3 == 0)),
        (Arc::from("prio"), Any::from((i % 5) as f64)),
        (
            Arc::from("tags"),
            Any::from(vec![Any::from(format!("tag{}", i % 7))]),
        ),
        (Arc::from("createdAt"), Any::from(1.7e12 + i as f64)),
        (Arc::from("owner"), Any::from(format!("user-{}", i % 97))),
    ]
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("rec-{i:07}")).collect()
}

/// A replica holding `n` records written by one `insert_many`, keeping its updates as the JS
/// facade does, with an index on one field.
fn filled(n: usize) -> Replica {
    let mut r = Replica::with_client_id(7);
    r.capture_local_updates();
    r.capture_for_storage();
    r.add_indexes("todos", &["owner".to_string()])
        .expect("an index");
    let records = ids(n).into_iter().zip((0..n).map(record)).collect();
    r.insert_many("todos", records).expect("inserted");
    r.forget_changes();
    r.take_local_updates();
    while r.take_storage_update().is_some() {}
    r
}

/// Times `delete` on a fresh replica of `n` records, checking it left the collection empty and
/// reported every record deleted (`delete` returns how many changes it was told of).
fn timed_local(n: usize, delete: impl Fn(&mut Replica, &[String]) -> usize) -> Duration {
    let mut r = filled(n);
    let ids = ids(n);
    let start = Instant::now();
    let changes = delete(&mut r, &ids);
    let updates = r.take_local_updates();
    while r.take_storage_update().is_some() {}
    let took = start.elapsed();
    assert_eq!(changes, n);
    assert!(!updates.is_empty());
    assert_eq!(r.count("todos", &Default::default()).expect("counted"), 0);
    took
}

/// One timing at a time: the tests of this file would otherwise share the two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `time` for 10,000 records (best of 5) and 160,000 (best of 2).
fn assert_proportional(what: &str, time: impl Fn(usize) -> Duration) {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let best = |runs, n| (0..runs).map(|_| time(n)).min().unwrap_or_default();
    let small = best(5, 10_000);
    let large = best(2, 160_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    println!("{what}: 10,000 in {small:?}, 160,000 in {large:?} ({ratio:.1} times)");
    assert!(
        ratio < 40.0,
        "{what}: 160,000 deletes took {ratio:.1} times as long as 10,000 ({large:?} against {small:?})"
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "timed: run with --release")]
fn delete_many_grows_in_proportion() {
    assert_proportional("delete_many", |n| {
        timed_local(n, |r, ids| {
            let deleted = r.delete_many("todos", ids).expect("deleted");
            assert!(deleted.iter().all(|d| *d));
            r.take_changes_with(Values::Omit).changes.len()
        })
    });
}

#[test]
#[cfg_attr(debug_assertions, ignore = "timed: run with --release")]
fn a_peer_applies_a_delete_many_in_proportion() {
    // The peer holds the same blocks, so the update deletes one run there too.
    assert_proportional("a peer applying delete_many's update", |n| {
        let mut writer = filled(n);
        let mut peer = Replica::with_client_id(8);
        peer.apply_update(&writer.encode_state())
            .expect("the state");
        peer.take_changes_with(Values::Omit);
        writer.delete_many("todos", &ids(n)).expect("deleted");
        let [update] = <[Vec<u8>; 1]>::try_from(writer.take_local_updates()).expect("one update");
        let start = Instant::now();
        peer.apply_update(&update).expect("the deletes");
        let changes = peer.take_changes_with(Values::Omit);
        let took = start.elapsed();
        assert_eq!(changes.changes.len(), n);
        assert_eq!(
            peer.count("todos", &Default::default()).expect("counted"),
            0
        );
        took
    });
}
