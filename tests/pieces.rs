//! Cutting large updates into pieces that, applied in order, make the same document.

mod common;

use common::fields;
use serde_json::json;
use yreplica::replica::pieces::split_update;
use yreplica::replica::Replica;

/// A replica of `n` records written in one update, with some updated and deleted later.
fn writer(client: u64, prefix: &str, n: usize) -> Replica {
    let mut r = Replica::with_client_id(client);
    let records = (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                fields(json!({"title": format!("record {i} of {prefix}"), "n": i, "tags": ["a", i % 3]})),
            )
        })
        .collect();
    r.insert_many("todos", records).unwrap();
    r
}

/// The records (field order aside) and the state vector.
fn state(r: &mut Replica) -> (serde_json::Value, Vec<u8>) {
    let all = serde_json::from_str(&r.all("todos").unwrap()).unwrap();
    (all, r.state_vector())
}

fn apply_all(pieces: &[Vec<u8>]) -> Replica {
    let mut r = Replica::with_client_id(99);
    for piece in pieces {
        r.apply_update(piece).unwrap();
    }
    r
}

#[test]
fn a_small_update_is_one_piece() {
    let r = writer(1, "a", 3);
    let update = r.encode_state();
    assert_eq!(split_update(&update, 1 << 20), vec![update]);
}

#[test]
fn pieces_of_one_client_stay_under_the_bound_and_make_the_same_document() {
    let mut r = writer(1, "a", 2000);
    for i in (0..2000).step_by(7) {
        r.update("todos", &format!("a{i}"), fields(json!({"n": -1})), &[])
            .unwrap();
    }
    for i in (0..2000).step_by(11) {
        r.delete("todos", &format!("a{i}")).unwrap();
    }
    let update = r.encode_state();
    let pieces = split_update(&update, 8 * 1024);
    assert!(pieces.len() > 10, "{} pieces", pieces.len());
    assert!(pieces.iter().all(|p| p.len() <= 8 * 1024));
    let mut copy = apply_all(&pieces);
    assert_eq!(state(&mut copy), state(&mut r));
    assert_eq!(copy.held_updates().0, 0, "in order, nothing waits");
}

#[test]
fn pieces_of_several_clients_arrive_in_any_order() {
    let mut a = writer(1, "a", 300);
    let mut b = writer(2, "b", 300);
    b.apply_update(&a.encode_state()).unwrap();
    for i in 0..300 {
        b.update("todos", &format!("a{i}"), fields(json!({"by": "b"})), &[])
            .unwrap();
    }
    a.apply_update(&b.encode_state()).unwrap();
    for i in (0..300).step_by(3) {
        a.delete("todos", &format!("b{i}")).unwrap();
    }
    b.apply_update(&a.encode_state()).unwrap();
    let update = b.encode_state();
    let pieces = split_update(&update, 4 * 1024);
    assert!(pieces.len() > 4);
    let mut in_order = apply_all(&pieces);
    assert_eq!(state(&mut in_order), state(&mut b));
    let reversed: Vec<Vec<u8>> = pieces.iter().rev().cloned().collect();
    let mut backwards = apply_all(&reversed);
    assert_eq!(state(&mut backwards), state(&mut b));
}

#[test]
fn a_skip_inside_a_run_is_kept_and_one_at_a_cut_is_dropped() {
    let mut w = Replica::with_client_id(5);
    let mut updates = Vec::new();
    w.capture_local_updates();
    for i in 0..40 {
        w.insert(
            "todos",
            &format!("t{i}"),
            fields(json!({"text": "x".repeat(200)})),
        )
        .unwrap();
        updates.extend(w.take_local_updates());
    }
    // As a Yjs server that lacks one update sends its state: a Skip over its clocks.
    let without_one: Vec<&[u8]> = updates
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 20)
        .map(|(_, u)| u.as_slice())
        .collect();
    let merged = yrs::merge_updates_v1(without_one).unwrap();
    let mut whole = Replica::with_client_id(98);
    whole.apply_update(&merged).unwrap();
    for max in [300, 1000, 2500] {
        let mut pieced = apply_all(&split_update(&merged, max));
        assert_eq!(
            state(&mut pieced),
            state(&mut whole),
            "pieces of {max} bytes"
        );
        // the missing update still completes it
        pieced.apply_update(&updates[20]).unwrap();
        whole.apply_update(&updates[20]).unwrap();
        assert_eq!(state(&mut pieced), state(&mut whole));
        let mut fresh = Replica::with_client_id(98);
        fresh.apply_update(&merged).unwrap();
        whole = fresh;
    }
}

#[test]
fn malformed_data_is_returned_whole() {
    let bad = vec![0xffu8; 5000];
    assert_eq!(split_update(&bad, 100), vec![bad]);
}

#[test]
fn storage_takes_a_large_batch_in_groups_it_does_not_merge_whole() {
    use yreplica::replica::MERGE_UP_TO;
    let mut r = Replica::with_client_id(1);
    r.capture_for_storage();
    // many small writes in one tick are merged; the pieces of a large write are not
    for i in 0..50 {
        r.insert("todos", &format!("s{i}"), fields(json!({"n": i})))
            .unwrap();
    }
    for chunk in 0..6 {
        let records = (0..2000)
            .map(|i| {
                (
                    format!("c{chunk}-{i}"),
                    fields(json!({"text": "x".repeat(200)})),
                )
            })
            .collect();
        r.insert_many("todos", records).unwrap();
    }
    let mut taken = Vec::new();
    while let Some(update) = r.take_storage_update() {
        taken.push(update);
    }
    assert!(taken.len() >= 3, "{} updates", taken.len());
    assert!(
        taken.iter().all(|u| u.len() <= MERGE_UP_TO),
        "each under the bound"
    );
    let mut copy = apply_all(&taken);
    assert_eq!(state(&mut copy), state(&mut r));
}

/// Write `i` of a mixed run on records `a0..a49` of [`writer`]: an update, a removed field,
/// an insert, or a delete of the insert before.
fn mixed_write(r: &mut Replica, i: usize) {
    let id = format!("a{}", i % 50);
    match i % 4 {
        0 => r.update("todos", &id, fields(json!({"n": i})), &[]),
        1 => r.update("todos", &id, fields(json!({})), &["tags".to_string()]),
        2 => r
            .insert("todos", &format!("new{i}"), fields(json!({"i": i})))
            .map(|_| true),
        _ => r.delete("todos", &format!("new{}", i - 1)),
    }
    .unwrap();
}

/// Another client writes and `r` receives its whole state (overlapping what it had before).
fn remote_write(other: &mut Replica, r: &mut Replica, i: usize) {
    other
        .update("todos", "b1", fields(json!({"by": i})), &[])
        .unwrap();
    r.apply_update(&other.encode_state()).unwrap();
}

#[test]
fn merging_many_updates_keeps_every_one() {
    use yreplica::replica::merge_updates;
    // yrs merges updates in rounds of a few (merging thousands at once costs their square):
    // every count up to a few rounds' sizes, each update one write, some from another client
    // (whose updates overlap one another)
    let mut r = writer(1, "a", 50);
    let mut other = writer(2, "b", 3);
    let base = r.encode_state();
    r.capture_for_storage();
    let mut updates = Vec::new();
    for i in 0..800 {
        mixed_write(&mut r, i);
        if i % 50 == 25 {
            remote_write(&mut other, &mut r, i);
        }
        updates.extend(std::iter::from_fn(|| r.take_storage_update()));
    }
    let counts = (1..=80).chain([511, 512, 513, updates.len()]);
    for k in counts {
        let merged = merge_updates(updates[..k].to_vec());
        assert_eq!(merged.len(), 1, "{k} updates merge into one");
        let mut one_by_one = apply_all(&[std::slice::from_ref(&base), &updates[..k]].concat());
        let mut at_once = apply_all(&[base.clone(), merged[0].clone()]);
        assert_eq!(state(&mut at_once), state(&mut one_by_one), "{k} updates");
    }
}

#[test]
fn many_small_writes_merge_into_one_update_that_keeps_every_one() {
    use yreplica::replica::Values;
    // the same through storage: local writes, a batch (merged at its end) and another
    // client's updates, taken as one update
    for count in [2, 9, 65, 513, 3000] {
        let mut r = writer(1, "a", 50);
        let mut other = writer(2, "b", 3);
        let before = r.encode_state();
        r.capture_for_storage();
        for i in 0..count {
            mixed_write(&mut r, i);
            if i % 100 == 50 {
                remote_write(&mut other, &mut r, i);
            }
        }
        r.begin_batch();
        for i in count..2 * count {
            mixed_write(&mut r, i);
        }
        r.end_batch(Values::Omit);
        let taken: Vec<Vec<u8>> = std::iter::from_fn(|| r.take_storage_update()).collect();
        assert_eq!(taken.len(), 1, "{count} writes: one merged update");
        let mut copy = apply_all(&[before, taken[0].clone()]);
        assert_eq!(state(&mut copy), state(&mut r), "{count} writes");
        assert_eq!(copy.held_updates(), (0, 0), "{count} writes: nothing waits");
    }
}
