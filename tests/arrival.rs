//! Updates that arrive ahead of what they build on wait outside yrs (see `replica::arrival`),
//! and come in once their predecessors do.

use serde_json::json;
use yreplica::replica::arrival::{
    split, Held, HeldUpdates, ENTRY_OVERHEAD, MAX_HELD_BYTES, MAX_HELD_ENTRIES,
};
use yreplica::replica::Replica;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, Options, ReadTxn, StateVector, Transact, Update};

/// A plain yrs document of one client whose changes each come out as their own update.
struct Writer {
    doc: Doc,
}

impl Writer {
    fn new(client: u64) -> Self {
        let doc = Doc::with_options(Options {
            client_id: yrs::block::ClientID::new(client),
            ..Options::default()
        });
        Writer { doc }
    }

    /// Sets `todos[id] = value` (a plain value, as another Yjs app may write it).
    fn set(&mut self, id: &str, value: i64) -> Vec<u8> {
        let before = self.doc.transact().state_vector();
        let map = self.doc.get_or_insert_map("todos");
        map.insert(&mut self.doc.transact_mut(), id, value);
        self.doc.transact().encode_diff_v1(&before)
    }

    fn delete(&mut self, id: &str) -> Vec<u8> {
        let before = self.doc.transact().state_vector();
        let map = self.doc.get_or_insert_map("todos");
        map.remove(&mut self.doc.transact_mut(), id);
        self.doc.transact().encode_diff_v1(&before)
    }
}

fn ids(replica: &Replica) -> serde_json::Value {
    any_json(replica.collection_to_json("todos"))
}

fn any_json(any: Option<yrs::Any>) -> serde_json::Value {
    let mut text = String::new();
    match any {
        Some(any) => any.to_json(&mut text),
        None => text.push_str("{}"),
    }
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn an_update_in_order_is_passed_on_whole() {
    let mut w = Writer::new(1);
    let update = w.set("a", 1);
    let split = split(&update, &StateVector::default()).unwrap();
    assert_eq!(&*split.ready, update.as_slice());
    assert!(split.held.is_none());
}

#[test]
fn an_update_ahead_of_its_predecessor_waits_and_comes_in_after_it() {
    let mut w = Writer::new(1);
    let first = w.set("a", 1);
    let second = w.set("b", 2);
    let mut r = Replica::new();
    r.apply_update(&second).unwrap();
    assert_eq!(
        ids(&r),
        json!({}),
        "nothing of a later update shows before the earlier one"
    );
    assert_eq!(r.held_updates().0, 1);
    r.apply_update(&first).unwrap();
    assert_eq!(ids(&r), json!({"a": 1, "b": 2}));
    assert_eq!(r.held_updates(), (0, 0));
}

#[test]
fn shuffled_updates_of_several_clients_end_in_the_writers_state() {
    let mut writers = [Writer::new(1), Writer::new(2), Writer::new(3)];
    let mut all = Vec::new();
    for round in 0..20i64 {
        for (n, w) in writers.iter_mut().enumerate() {
            let id = format!("k{}", (round as usize * 7 + n) % 9);
            all.push(if round % 5 == 4 {
                w.delete(&id)
            } else {
                w.set(&id, round)
            });
        }
    }
    // the reference: every update applied in order by plain yrs
    let reference = Doc::new();
    for update in &all {
        let mut txn = reference.transact_mut();
        txn.apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }
    let expected = {
        let txn = reference.transact();
        any_json(
            txn.get_map("todos")
                .map(|m| yrs::types::ToJson::to_json(&m, &txn)),
        )
    };
    // deterministic shuffles: reversed, and interleaved from both ends
    let reversed: Vec<_> = all.iter().rev().cloned().collect();
    let mut interleaved = Vec::new();
    let (mut lo, mut hi) = (0, all.len());
    while lo < hi {
        hi -= 1;
        interleaved.push(all[hi].clone());
        if lo < hi {
            interleaved.push(all[lo].clone());
            lo += 1;
        }
    }
    for order in [reversed, interleaved] {
        let mut r = Replica::new();
        for update in &order {
            r.apply_update(update).unwrap();
        }
        assert_eq!(ids(&r), expected);
        assert_eq!(r.held_updates(), (0, 0), "nothing left waiting");
    }
}

#[test]
fn a_merged_update_with_a_gap_applies_what_it_can_and_holds_the_rest() {
    let mut a = Writer::new(1);
    let mut b = Writer::new(2);
    let a1 = a.set("a1", 1);
    let a2 = a.set("a2", 2);
    let a3 = a.set("a3", 3);
    let b1 = b.set("b1", 1);
    // as a Yjs server holding a3 without a2 sends it: a Skip block over a2's clocks
    let merged = yrs::merge_updates_v1([a1.as_slice(), a3.as_slice(), b1.as_slice()]).unwrap();
    let mut r = Replica::new();
    r.apply_update(&merged).unwrap();
    assert_eq!(ids(&r), json!({"a1": 1, "b1": 1}));
    assert_eq!(r.held_updates().0, 1);
    // what is held is still part of the state the replica shares, as Yjs shares its pending
    let mut copy = Replica::new();
    copy.apply_update(&r.encode_state()).unwrap();
    assert_eq!(copy.held_updates().0, 1);
    r.apply_update(&a2).unwrap();
    assert_eq!(ids(&r), json!({"a1": 1, "a2": 2, "a3": 3, "b1": 1}));
    assert_eq!(r.held_updates(), (0, 0));
}

#[test]
fn a_skip_over_clocks_already_known_does_not_hold_anything() {
    let mut a = Writer::new(1);
    let a1 = a.set("a1", 1);
    let a2 = a.set("a2", 2);
    let a3 = a.set("a3", 3);
    let merged = yrs::merge_updates_v1([a1.as_slice(), a3.as_slice()]).unwrap();
    let mut r = Replica::new();
    r.apply_update(&a1).unwrap();
    r.apply_update(&a2).unwrap();
    r.apply_update(&merged).unwrap();
    assert_eq!(ids(&r), json!({"a1": 1, "a2": 2, "a3": 3}));
    assert_eq!(r.held_updates(), (0, 0));
}

/// Client 1 sets x then y (a1, a2); client 2, having seen a1, deletes x.
fn x_y_and_a_deletion_of_x() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut a = Writer::new(1);
    let a1 = a.set("x", 1);
    let a2 = a.set("y", 2);
    let mut b = Writer::new(2);
    b.doc
        .transact_mut()
        .apply_update(Update::decode_v1(&a1).unwrap())
        .unwrap();
    (a1, a2, b.delete("x"))
}

#[test]
fn deletions_travel_with_the_part_that_applies() {
    let (a1, a2, b_delete) = x_y_and_a_deletion_of_x();
    // a2 waits for a1; b's deletion of x also needs a1, which yrs keeps aside itself
    let merged = yrs::merge_updates_v1([a2.as_slice(), b_delete.as_slice()]).unwrap();
    let mut r = Replica::new();
    r.apply_update(&merged).unwrap();
    r.apply_update(&a1).unwrap();
    assert_eq!(ids(&r), json!({"y": 2}));
    assert_eq!(r.held_updates(), (0, 0));
}

#[test]
fn held_updates_are_bounded_oldest_out() {
    let mut held = HeldUpdates::default();
    let big = MAX_HELD_BYTES / 2 + 1;
    for n in 0..3u32 {
        held.hold(Held {
            update: vec![n as u8; big],
            wake: vec![(1, n + 1)],
        });
    }
    assert_eq!(held.len(), 1, "only the newest fits");
    assert_eq!(held.dropped(), 2);
    assert_eq!(held.bytes(), big + ENTRY_OVERHEAD + 16);
    let mut state = StateVector::default();
    assert!(
        held.take_wakeable(&state).is_none(),
        "client 1 is at clock 0"
    );
    state.set_max(yrs::block::ClientID::new(1), 3);
    assert_eq!(held.take_wakeable(&state).map(|u| u[0]), Some(2));
    assert!(held.is_empty());
}

#[test]
fn malformed_updates_are_left_to_yrs_to_refuse() {
    let mut w = Writer::new(1);
    let update = w.set("a", 1);
    let truncated = &update[..update.len() - 1]; // the delete set is missing
    let split = split(truncated, &StateVector::default()).unwrap();
    assert_eq!(&*split.ready, truncated);
    let mut r = Replica::new();
    assert!(r.apply_update(truncated).is_err());
    // and the replica still works
    r.apply_update(&update).unwrap();
    assert_eq!(ids(&r), json!({"a": 1}));
}

#[test]
fn updates_from_storage_that_broke_yrs_load_without_harm() {
    // Found by fuzzing: records that made yrs 0.28.1 read freed memory (see
    // tests/fuzz-inputs/yrs-bugs-avoided); here they are applied in the order stored.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-inputs/yrs-bugs-avoided/wasm-trap");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the wasm-trap inputs")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let mut r = Replica::new();
        let mut at = 0;
        while at + 2 <= data.len() {
            let len = usize::from(u16::from_le_bytes([data[at], data[at + 1]]));
            let record = &data[at + 2..(at + 2 + len).min(data.len())];
            at += 2 + len;
            let _ = r.apply_update(record);
        }
        let state = r.encode_state();
        let mut copy = Replica::new();
        let _ = copy.apply_update(&state);
    }
}

#[test]
fn storage_keeps_updates_that_wait_and_skips_ones_that_change_nothing() {
    // b_delete deletes a1's item, which r has not seen yet
    let (a1, a2, b_delete) = x_y_and_a_deletion_of_x();
    let mut r = Replica::new();
    r.capture_for_storage();
    r.apply_update(&a2).unwrap(); // held: it builds on a1
    assert_eq!(r.take_storage_update(), Some(a2.clone()));
    // b's update holds only a deletion of clocks r lacks: yrs keeps it aside, storage keeps it
    let mut deletion_only = Vec::new();
    {
        use yrs::updates::encoder::Encode;
        let update = Update::decode_v1(&b_delete).unwrap();
        deletion_only.push(0u8); // no blocks
        deletion_only.extend(update.delete_set().encode_v1());
    }
    r.apply_update(&deletion_only).unwrap();
    assert_eq!(r.take_storage_update(), Some(deletion_only.clone()));
    // an empty update changes nothing and waits for nothing: nothing to store
    r.apply_update(&[0, 0]).unwrap();
    r.apply_update(&a1).unwrap();
    let stored = r.take_storage_update().expect("a1");
    assert_eq!(stored, a1, "only a1 since the last take");
    // what was stored reloads into the same state
    let mut reloaded = Replica::new();
    for update in [&a2, &deletion_only, &a1] {
        reloaded.apply_update(update).unwrap();
    }
    assert_eq!(ids(&reloaded), json!({"y": 2}));
    assert_eq!(ids(&r), json!({"y": 2}));
}

#[test]
fn held_updates_are_bounded_in_number_and_not_held_twice() {
    let mut held = HeldUpdates::default();
    for n in 0..(MAX_HELD_ENTRIES as u32 + 10) {
        held.hold(Held {
            update: n.to_le_bytes().to_vec(),
            wake: vec![(1, n + 1)],
        });
    }
    assert_eq!(held.len(), MAX_HELD_ENTRIES);
    assert_eq!(held.dropped(), 10);
    let again = Held {
        update: 20u32.to_le_bytes().to_vec(),
        wake: vec![(1, 21)],
    };
    held.hold(again);
    assert_eq!(held.len(), MAX_HELD_ENTRIES, "the same bytes wait once");
    assert_eq!(held.dropped(), 10);
}

/// One block per section, each setting `todos[key] = 1` (a plain value), as separate client
/// sections of one update: what a hostile peer can write.
fn sections(parts: &[(u64, u32, &str)]) -> Vec<u8> {
    use yrs::encoding::write::Write;
    let mut out = Vec::new();
    out.write_var(parts.len());
    for &(client, clock, key) in parts {
        out.write_var(1u32); // one block
        out.write_var(client);
        out.write_var(clock);
        out.push(0x28); // an item with a parent key, content: values
        out.write_var(1u32); // parent by name
        out.write_string("todos");
        out.write_string(key);
        out.write_var(1u32); // one value
        out.push(125); // an integer
        out.push(1);
    }
    out.write_var(0u32); // no deletions
    out
}

#[test]
fn a_client_with_two_lists_of_blocks_is_refused() {
    // yrs appended the second list to the first unordered, then integrated 7:0 a second time
    // and freed the live block (found in review, shown with valgrind)
    let mut r = Replica::new();
    r.apply_update(&sections(&[(7, 0, "a")])).unwrap();
    assert_eq!(ids(&r), json!({"a": 1}));
    for twice in [
        sections(&[(7, 1, "b"), (7, 0, "a")]),
        sections(&[(7, 1, "b"), (7 | (1 << 53), 0, "a")]),
    ] {
        let error = r.apply_update(&twice).unwrap_err().to_string();
        assert!(
            error.contains("second list of blocks") || error.contains("past 2^53"),
            "{error}"
        );
    }
    assert_eq!(ids(&r), json!({"a": 1}), "nothing of them applied");
    r.apply_update(&sections(&[(7, 1, "b")])).unwrap();
    assert_eq!(ids(&r), json!({"a": 1, "b": 1}));
}

#[test]
fn client_ids_past_2_pow_53_and_overlong_integers_are_refused() {
    // yrs asserts both (a panic in builds with debug assertions)
    let mut r = Replica::new();
    let error = r
        .apply_update(&sections(&[(1 << 53, 0, "a")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("past 2^53"), "{error}");
    let mut long = sections(&[(3, 0, "a")]);
    // the value's integer (the byte before the delete set) becomes 11 bytes
    let at = long.len() - 2;
    long.splice(at..at + 1, [0x81u8; 10].iter().copied().chain([0x01]));
    let error = r.apply_update(&long).unwrap_err().to_string();
    assert!(error.contains("longer than 10 bytes"), "{error}");
    r.apply_update(&sections(&[(3, 0, "a")])).unwrap();
    assert_eq!(ids(&r), json!({"a": 1}));
}
