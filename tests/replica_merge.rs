//! Concurrency and Yjs interop of the data model.
mod common;

use common::{fields, get, kinds, sync, todos};
use serde_json::json;
use yreplica::replica::{ChangeKind, Origin, Replica};
use yrs::{Any, Map, MapPrelim, Transact, WriteTxn};

#[test]
fn concurrent_updates_of_different_fields_both_survive() {
    let mut a = todos();
    let mut b = Replica::with_client_id(2);
    sync(&a, &mut b);
    a.update("todos", "a", fields(json!({"title": "from a"})), &[])
        .unwrap();
    b.update("todos", "a", fields(json!({"done": true})), &[])
        .unwrap();
    sync(&a, &mut b);
    sync(&b, &mut a);
    let expected = json!({"id": "a", "title": "from a", "done": true, "prio": 1});
    assert_eq!(get(&mut a, "todos", "a"), Some(expected.clone()));
    assert_eq!(get(&mut b, "todos", "a"), Some(expected));
}

#[test]
fn concurrent_writes_to_one_field_converge() {
    let mut a = todos();
    let mut b = Replica::with_client_id(2);
    sync(&a, &mut b);
    a.update("todos", "a", fields(json!({"title": "A"})), &[])
        .unwrap();
    b.update("todos", "a", fields(json!({"title": "B"})), &[])
        .unwrap();
    sync(&a, &mut b);
    sync(&b, &mut a);
    assert_eq!(get(&mut a, "todos", "a"), get(&mut b, "todos", "a"));
}

#[test]
fn delete_wins_over_a_concurrent_update() {
    let mut a = todos();
    let mut b = Replica::with_client_id(2);
    sync(&a, &mut b);
    b.take_changes();
    a.delete("todos", "a").unwrap();
    b.update("todos", "a", fields(json!({"done": true})), &[])
        .unwrap();
    b.take_changes();
    sync(&b, &mut a);
    sync(&a, &mut b);
    assert_eq!(get(&mut a, "todos", "a"), None);
    assert_eq!(get(&mut b, "todos", "a"), None);
    let set = b.take_changes();
    assert_eq!(set.origin, Origin::Remote);
    assert_eq!(kinds(&set.changes), vec![("a".into(), ChangeKind::Delete)]);
}

#[test]
fn change_sets_report_remote_changes() {
    let mut a = todos();
    let mut b = Replica::with_client_id(2);
    sync(&a, &mut b);
    let first = b.take_changes();
    assert_eq!(first.origin, Origin::Remote);
    let mut got = kinds(&first.changes);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("a".into(), ChangeKind::Insert),
            ("b".into(), ChangeKind::Insert),
            ("c".into(), ChangeKind::Insert)
        ]
    );

    a.update("todos", "b", fields(json!({"prio": 9})), &[])
        .unwrap();
    a.insert("todos", "d", fields(json!({"title": "delta"})))
        .unwrap();
    a.delete("todos", "c").unwrap();
    sync(&a, &mut b);
    let set = b.take_changes();
    let mut got = kinds(&set.changes);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("b".into(), ChangeKind::Update),
            ("c".into(), ChangeKind::Delete),
            ("d".into(), ChangeKind::Insert)
        ]
    );
    let b_change = set.changes.iter().find(|c| c.id == "b").unwrap();
    assert_eq!(b_change.value_json().unwrap()["prio"], json!(9));
}

#[test]
fn a_plain_yjs_doc_reads_our_schema() {
    let a = todos();
    let doc = yrs::Doc::new();
    {
        let mut txn = doc.transact_mut();
        let update = yrs::Update::decode_v1(&a.encode_state()).unwrap();
        txn.apply_update(update).unwrap();
    }
    let txn = doc.transact();
    let todos = txn.get_map("todos").unwrap();
    let Some(yrs::Out::YMap(record)) = todos.get(&txn, "b") else {
        panic!("record is not a Y.Map")
    };
    assert_eq!(record.get(&txn, "title").unwrap().to_string(&txn), "beta");
    assert!(
        record.get(&txn, "id").is_none(),
        "the id is the key, not a field"
    );
}

#[test]
fn records_written_by_a_yjs_app_are_read_both_as_maps_and_plain_objects() {
    let doc = yrs::Doc::with_client_id(7);
    {
        let mut txn = doc.transact_mut();
        let todos = txn.get_or_insert_map("todos");
        todos.insert(
            &mut txn,
            "m",
            MapPrelim::from([("title", Any::from("as map")), ("n", Any::from(2))]),
        );
        let plain = Any::from_json(r#"{"title":"as object","done":true}"#).unwrap();
        todos.insert(&mut txn, "p", plain);
        todos.insert(&mut txn, "junk", Any::from("not a record"));
    }
    let update = doc
        .transact()
        .encode_state_as_update_v1(&Default::default());
    let mut r = Replica::new();
    r.apply_update(&update).unwrap();
    assert_eq!(
        get(&mut r, "todos", "m"),
        Some(json!({"id": "m", "title": "as map", "n": 2}))
    );
    assert_eq!(
        get(&mut r, "todos", "p"),
        Some(json!({"id": "p", "title": "as object", "done": true}))
    );
    assert_eq!(get(&mut r, "todos", "junk"), None);
    let mut ids: Vec<String> = r.take_changes().changes.into_iter().map(|c| c.id).collect();
    ids.sort();
    assert_eq!(ids, ["m", "p"]);

    // Updating a plain-object record turns it into a Y.Map with the merged fields.
    r.update("todos", "p", fields(json!({"done": false})), &[])
        .unwrap();
    assert_eq!(
        get(&mut r, "todos", "p"),
        Some(json!({"id": "p", "title": "as object", "done": false}))
    );
    assert_eq!(
        kinds(&r.take_changes().changes),
        vec![("p".into(), ChangeKind::Update)]
    );
}

use yrs::updates::decoder::Decode;
use yrs::ReadTxn;
