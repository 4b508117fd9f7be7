mod common;

use common::{fields, get, kinds, sync, todos};
use serde_json::json;
use yreplica::replica::{ChangeKind, Origin, Replica, ReplicaError, Values};
use yrs::{Map, ReadTxn, Transact};

#[test]
fn insert_then_get_returns_id_and_fields() {
    let mut r = Replica::new();
    r.insert(
        "todos",
        "t1",
        fields(json!({"title": "Buy milk", "done": false, "n": 1.5, "meta": {"a": [1, null]}})),
    )
    .unwrap();
    assert_eq!(
        get(&mut r, "todos", "t1"),
        Some(
            json!({"id": "t1", "title": "Buy milk", "done": false, "n": 1.5, "meta": {"a": [1, null]}})
        )
    );
    assert_eq!(get(&mut r, "todos", "missing"), None);
}

#[test]
fn insert_of_taken_id_fails_and_writes_nothing() {
    let mut r = todos();
    let err = r
        .insert_many(
            "todos",
            vec![
                ("new".into(), fields(json!({"x": 1}))),
                ("a".into(), fields(json!({}))),
            ],
        )
        .unwrap_err();
    assert_eq!(err.code(), "ALREADY_EXISTS");
    assert_eq!(get(&mut r, "todos", "new"), None);
    let err = r
        .insert_many(
            "todos",
            vec![
                ("d".into(), fields(json!({}))),
                ("d".into(), fields(json!({}))),
            ],
        )
        .unwrap_err();
    assert_eq!(err.code(), "ALREADY_EXISTS");
    assert!(r.take_changes().is_empty());
}

#[test]
fn empty_ids_and_collection_names_are_rejected() {
    let mut r = Replica::new();
    assert_eq!(
        r.insert("todos", "", fields(json!({}))).unwrap_err().code(),
        "INVALID_VALUE"
    );
    assert_eq!(
        r.insert("", "x", fields(json!({}))).unwrap_err().code(),
        "INVALID_VALUE"
    );
}

#[test]
fn update_merges_sets_null_and_removes_fields() {
    let mut r = todos();
    r.update(
        "todos",
        "a",
        fields(json!({"done": true, "note": null})),
        &["prio".into()],
    )
    .unwrap();
    assert_eq!(
        get(&mut r, "todos", "a"),
        Some(json!({"id": "a", "title": "alpha", "done": true, "note": null}))
    );
}

#[test]
fn update_and_replace_of_unknown_id_are_not_found() {
    let mut r = todos();
    let err = r
        .update("todos", "zz", fields(json!({"x": 1})), &[])
        .unwrap_err();
    assert_eq!(
        err,
        ReplicaError::NotFound {
            collection: "todos".into(),
            id: "zz".into()
        }
    );
    assert_eq!(err.code(), "NOT_FOUND");
    assert_eq!(
        r.replace("todos", "zz", fields(json!({})))
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
    assert!(r.take_changes().is_empty());
}

#[test]
fn an_id_field_in_inserted_fields_must_match_the_key() {
    let mut r = Replica::new();
    r.insert("t", "k", fields(json!({"id": "k", "v": 1})))
        .unwrap();
    assert_eq!(get(&mut r, "t", "k"), Some(json!({"id": "k", "v": 1})));
    assert_eq!(
        r.insert("t", "k2", fields(json!({"id": "other"})))
            .unwrap_err()
            .code(),
        "INVALID_VALUE"
    );
}

#[test]
fn a_patch_cannot_change_the_id() {
    let mut r = todos();
    assert_eq!(
        r.update("todos", "a", fields(json!({"id": "b"})), &[])
            .unwrap_err()
            .code(),
        "INVALID_VALUE"
    );
    r.update("todos", "a", fields(json!({"id": "a", "x": 1})), &[])
        .unwrap();
    assert_eq!(get(&mut r, "todos", "a").unwrap()["x"], json!(1));
}

#[test]
fn replace_makes_the_record_exactly_the_fields() {
    let mut r = todos();
    r.replace("todos", "b", fields(json!({"title": "Oat milk"})))
        .unwrap();
    assert_eq!(
        get(&mut r, "todos", "b"),
        Some(json!({"id": "b", "title": "Oat milk"}))
    );
}

#[test]
fn upsert_inserts_or_replaces() {
    let mut r = todos();
    assert_eq!(
        r.upsert("todos", "x1", fields(json!({"title": "x"})))
            .unwrap(),
        Some(ChangeKind::Insert)
    );
    assert_eq!(
        r.upsert("todos", "a", fields(json!({"title": "only"})))
            .unwrap(),
        Some(ChangeKind::Update)
    );
    assert_eq!(
        r.upsert("todos", "a", fields(json!({"title": "only"})))
            .unwrap(),
        None,
        "the same fields again change nothing"
    );
    assert_eq!(
        get(&mut r, "todos", "a"),
        Some(json!({"id": "a", "title": "only"}))
    );
    assert_eq!(
        get(&mut r, "todos", "x1"),
        Some(json!({"id": "x1", "title": "x"}))
    );
}

#[test]
fn delete_reports_whether_the_record_existed() {
    let mut r = todos();
    assert!(r.delete("todos", "a").unwrap());
    assert!(!r.delete("todos", "a").unwrap());
    assert_eq!(get(&mut r, "todos", "a"), None);
    assert_eq!(
        kinds(&r.take_changes().changes),
        vec![("a".into(), ChangeKind::Delete)]
    );
}

#[test]
fn delete_many_deletes_in_one_transaction_and_reports_each_id() {
    let mut r = todos();
    r.capture_local_updates();
    let before = r.encode_state();
    let deleted = r
        .delete_many("todos", &["a", "missing", "c", "a", ""])
        .unwrap();
    assert_eq!(deleted, [true, false, true, false, false]);
    assert_eq!(get(&mut r, "todos", "a"), None);
    assert_eq!(get(&mut r, "todos", "c"), None);
    assert!(get(&mut r, "todos", "b").is_some());
    let mut got = kinds(&r.take_changes().changes);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("a".into(), ChangeKind::Delete),
            ("c".into(), ChangeKind::Delete)
        ]
    );
    let updates = r.take_local_updates();
    assert_eq!(updates.len(), 1, "one transaction, one update");

    // A replica that had the records takes the one update, and a plain Yjs reader sees the
    // same collection.
    let mut other = Replica::new();
    other.apply_update(&before).unwrap();
    other.apply_update(&updates[0]).unwrap();
    assert_eq!(get(&mut other, "todos", "a"), None);
    assert_eq!(get(&mut other, "todos", "c"), None);
    assert_eq!(
        get(&mut other, "todos", "b"),
        Some(json!({"id": "b", "title": "beta", "prio": 3, "done": false, "tags": ["x"]}))
    );
    assert_eq!(
        other.collection_to_json("todos"),
        r.collection_to_json("todos")
    );

    // Nothing to delete: no transaction, no update, no change.
    assert_eq!(
        r.delete_many("todos", &["a", "missing"]).unwrap(),
        [false, false]
    );
    assert_eq!(
        r.delete_many::<&str>("todos", &[]).unwrap(),
        Vec::<bool>::new()
    );
    assert!(r.take_local_updates().is_empty());
    assert!(r.take_changes().is_empty());
}

#[test]
fn delete_many_in_a_batch_counts_in_its_net_change_set() {
    let mut r = todos();
    r.begin_batch();
    r.insert("todos", "n", fields(json!({"v": 1}))).unwrap();
    let deleted = r.delete_many("todos", &["n", "a"]).unwrap();
    assert_eq!(deleted, [true, true]);
    let set = r.end_batch(Values::Omit).expect("outermost end");
    // "n" came and went inside the batch: no net change
    assert_eq!(kinds(&set.changes), vec![("a".into(), ChangeKind::Delete)]);
}

#[test]
fn records_of_one_insert_many_read_the_same_for_plain_yjs_and_delete_one_by_one() {
    // insert_many writes every record's map before the fields; a reader sees nothing of it
    let mut r = Replica::with_client_id(3);
    let records = (0..5)
        .map(|i| {
            (
                format!("r{i}"),
                fields(json!({"title": format!("t{i}"), "n": i, "tags": [i]})),
            )
        })
        .collect();
    r.insert_many("todos", records).unwrap();
    let mut plain = Replica::new();
    plain.apply_update(&r.encode_state()).unwrap();
    let mut yjs = String::new();
    plain.collection_to_json("todos").unwrap().to_json(&mut yjs);
    let seen: serde_json::Value = serde_json::from_str(&yjs).unwrap();
    assert_eq!(seen["r3"], json!({"title": "t3", "n": 3, "tags": [3]}));
    assert_eq!(seen.as_object().map(|o| o.len()), Some(5));

    // deleting some one by one, then the rest at once, here and in the copy
    assert!(r.delete("todos", "r1").unwrap());
    assert!(r.delete("todos", "r3").unwrap());
    sync(&r, &mut plain);
    assert_eq!(
        plain.find("todos", &Default::default()).unwrap(),
        ["r0", "r2", "r4"]
    );
    assert_eq!(
        r.delete_many("todos", &["r0", "r2", "r4", "r1"]).unwrap(),
        [true, true, true, false]
    );
    sync(&r, &mut plain);
    assert_eq!(plain.all("todos").unwrap(), "[]");
    assert_eq!(r.encode_state(), plain.encode_state());
}

#[test]
fn insert_many_of_several_groups_gives_each_record_its_fields() {
    use yreplica::replica::RECORDS_PER_RUN;
    let n = 2 * RECORDS_PER_RUN + 3;
    let mut r = Replica::with_client_id(4);
    let records = (0..n)
        .map(|i| {
            (
                format!("r{i:05}"),
                fields(json!({"n": i, "s": format!("v{i}")})),
            )
        })
        .collect();
    r.insert_many("todos", records).unwrap();
    let mut copy = Replica::new();
    copy.apply_update(&r.encode_state()).unwrap();
    for replica in [&mut r, &mut copy] {
        let all: serde_json::Value = serde_json::from_str(&replica.all("todos").unwrap()).unwrap();
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), n);
        for (i, record) in all.iter().enumerate() {
            assert_eq!(
                record,
                &json!({"id": format!("r{i:05}"), "n": i, "s": format!("v{i}")})
            );
        }
    }
}

#[test]
fn all_and_collections_list_what_is_present() {
    let mut r = todos();
    r.insert("notes", "n1", fields(json!({"text": "hi"})))
        .unwrap();
    r.get("empty", "nothing").unwrap();
    assert_eq!(
        r.collections(),
        vec!["notes".to_string(), "todos".to_string()]
    );
    let all: serde_json::Value = serde_json::from_str(&r.all("todos").unwrap()).unwrap();
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[test]
fn change_sets_report_local_writes_with_values() {
    let mut r = Replica::new();
    r.insert("todos", "t", fields(json!({"title": "a"})))
        .unwrap();
    let set = r.take_changes();
    assert_eq!(set.origin, Origin::Local);
    assert_eq!(set.changes.len(), 1);
    assert_eq!(set.changes[0].kind, ChangeKind::Insert);
    assert_eq!(
        set.changes[0].value_json(),
        Some(json!({"id": "t", "title": "a"}))
    );

    r.update("todos", "t", fields(json!({"done": true})), &[])
        .unwrap();
    let set = r.take_changes();
    assert_eq!(kinds(&set.changes), vec![("t".into(), ChangeKind::Update)]);
    assert_eq!(
        set.changes[0].value_json(),
        Some(json!({"id": "t", "title": "a", "done": true}))
    );
    assert_eq!(
        set.to_json(),
        format!(
            "[[\"todos\",\"update\",\"t\",{}]]",
            set.changes[0].value.as_ref().unwrap()
        )
    );

    // Without values (for callers that know them), kinds and ids only.
    r.update("todos", "t", fields(json!({"done": false})), &[])
        .unwrap();
    let bare = r.take_changes_with(Values::Omit);
    assert_eq!(kinds(&bare.changes), vec![("t".into(), ChangeKind::Update)]);
    assert_eq!(bare.changes[0].value, None);
    assert_eq!(bare.to_json(), "[[\"todos\",\"update\",\"t\",null]]");
    r.update("todos", "t", fields(json!({"done": true})), &[])
        .unwrap();
    r.take_changes();

    // Writing a value a field already has changes nothing.
    r.update("todos", "t", fields(json!({"done": true})), &[])
        .unwrap();
    assert!(r.take_changes().is_empty());
}

#[test]
fn a_batch_yields_one_net_change_set_and_one_update() {
    let mut r = todos();
    r.capture_local_updates();
    r.begin_batch();
    r.insert("todos", "n", fields(json!({"v": 1}))).unwrap();
    r.update("todos", "n", fields(json!({"v": 2})), &[])
        .unwrap();
    r.update("todos", "a", fields(json!({"done": true})), &[])
        .unwrap();
    r.insert("todos", "gone", fields(json!({}))).unwrap();
    r.delete("todos", "gone").unwrap();
    r.delete("todos", "b").unwrap();
    let per_write = r.take_changes();
    assert_eq!(
        per_write.changes.len(),
        3,
        "writes inside a batch still reach the read cache"
    );
    let set = r.end_batch(Values::Include).expect("outermost end");
    assert!(r.take_changes().is_empty());
    let mut got = kinds(&set.changes);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("a".into(), ChangeKind::Update),
            ("b".into(), ChangeKind::Delete),
            ("n".into(), ChangeKind::Insert)
        ]
    );
    let n = set.changes.iter().find(|c| c.id == "n").unwrap();
    assert_eq!(n.value_json(), Some(json!({"id": "n", "v": 2})));
    let updates = r.take_local_updates();
    assert_eq!(updates.len(), 1);

    // The one update carries the whole batch.
    let mut other = Replica::new();
    other.apply_update(&todos().encode_state()).unwrap();
    other.apply_update(&updates[0]).unwrap();
    assert_eq!(
        get(&mut other, "todos", "n"),
        Some(json!({"id": "n", "v": 2}))
    );
    assert_eq!(get(&mut other, "todos", "b"), None);
}

#[test]
fn nested_batches_end_with_the_outermost() {
    let mut r = Replica::new();
    r.begin_batch();
    r.begin_batch();
    r.insert("t", "x", fields(json!({}))).unwrap();
    assert!(r.end_batch(Values::Include).is_none());
    assert_eq!(
        r.end_batch(Values::Include).map(|set| set.changes.len()),
        Some(1)
    );
    assert!(
        r.end_batch(Values::Include).is_none(),
        "an unmatched end is ignored"
    );
}

#[test]
fn malformed_updates_are_rejected_and_the_replica_stays_usable() {
    let mut r = todos();
    for bad in [&[][..], &[0xff, 0xff, 0xff][..], &[1, 2, 3, 4, 5, 6, 7][..]] {
        let err = r.apply_update(bad).unwrap_err();
        assert_eq!(err.code(), "INVALID_UPDATE", "{bad:?}");
    }
    r.insert("todos", "after", fields(json!({"ok": true})))
        .unwrap();
    assert_eq!(get(&mut r, "todos", "after").unwrap()["ok"], json!(true));
    assert_eq!(r.encode_diff(&[0xff]).unwrap_err().code(), "INVALID_UPDATE");
}

#[test]
fn proto_keys_are_plain_data() {
    let mut r = Replica::new();
    let f = fields(
        serde_json::from_str(r#"{"__proto__": {"polluted": true}, "constructor": "c"}"#).unwrap(),
    );
    r.insert("t", "p", f).unwrap();
    let got = get(&mut r, "t", "p").unwrap();
    assert_eq!(got["__proto__"], json!({"polluted": true}));
    assert_eq!(got["constructor"], json!("c"));
}

#[test]
fn storage_capture_keeps_local_and_remote_updates_merged() {
    let mut r = Replica::with_client_id(3);
    r.insert("todos", "before", fields(json!({}))).unwrap();
    let before_capture = r.encode_state();
    r.capture_for_storage();
    assert_eq!(r.take_storage_update(), None);
    r.insert("todos", "local", fields(json!({"v": 1}))).unwrap();
    r.begin_batch();
    r.insert("todos", "b1", fields(json!({}))).unwrap();
    r.update("todos", "b1", fields(json!({"v": 2})), &[])
        .unwrap();
    r.end_batch(Values::Omit);
    let mut other = Replica::with_client_id(4);
    other
        .insert("todos", "remote", fields(json!({"v": 3})))
        .unwrap();
    r.apply_update(&other.encode_state()).unwrap();

    let persisted = r.take_storage_update().expect("one merged update");
    assert_eq!(r.take_storage_update(), None, "taken once");
    let mut restored = Replica::new();
    restored.apply_update(&persisted).unwrap();
    assert!(get(&mut restored, "todos", "remote").is_some());
    // client 3's writes since capture build on "before", which was written earlier: they wait
    assert!(get(&mut restored, "todos", "local").is_none());
    assert_eq!(restored.held_updates().0, 1);
    restored.apply_update(&before_capture).unwrap();
    for id in ["before", "local", "b1", "remote"] {
        assert!(get(&mut restored, "todos", id).is_some(), "{id} persisted");
    }
    assert_eq!(restored.held_updates(), (0, 0));
}

#[test]
fn numbers_from_json_text_are_stored_exactly_as_javascript_wrote_them() {
    // JS writes the shortest text that reads back as the same double; serde_json's default
    // float parser missed by one ulp on ~9 % of such texts (the soak found 99.70637753140181).
    let mut r = Replica::new();
    let texts = [
        "99.70637753140181",
        "0.1",
        "5e-324",
        "1.7976931348623157e308",
        "0.30000000000000004",
    ];
    for (i, text) in texts.iter().enumerate() {
        let json = format!("{{\"x\":{text}}}");
        let f = yreplica::replica::value::fields_from_json(&json, || "test".into()).unwrap();
        r.insert("nums", &i.to_string(), f).unwrap();
        // what the Yjs document holds, as a plain Yjs reader sees it
        let txn = r.doc().transact();
        let record = txn.get_map("nums").unwrap().get(&txn, &i.to_string());
        let Some(yrs::Out::YMap(record)) = record else {
            panic!("record {i} is a Y.Map")
        };
        let stored = record.get(&txn, "x");
        let expected: f64 = text.parse().unwrap();
        assert_eq!(
            stored,
            Some(yrs::Out::Any(yrs::Any::Number(yrs::any::Number::Float(
                expected
            )))),
            "{text}"
        );
        drop(txn);
        let read = get(&mut r, "nums", &i.to_string()).unwrap();
        assert_eq!(
            read.get("x").and_then(|v| v.as_f64()),
            Some(expected),
            "{text}"
        );
    }
}

#[test]
fn get_many_answers_in_the_order_asked_with_null_for_missing_ids() {
    let mut r = todos();
    let ids = ["c".to_string(), "missing".to_string(), "a".to_string()];
    let got: serde_json::Value = serde_json::from_str(&r.get_many("todos", &ids).unwrap()).unwrap();
    assert_eq!(
        got,
        json!([
            {"id": "c", "title": "gamma", "prio": 2, "done": true},
            null,
            {"id": "a", "title": "alpha", "prio": 1, "done": false},
        ])
    );
    assert_eq!(r.get_many("todos", &[]).unwrap(), "[]");
}

#[test]
fn an_update_stored_elsewhere_is_applied_but_not_queued_for_storage() {
    let mut source = todos();
    let update = source.encode_state();
    let mut r = Replica::with_client_id(2);
    r.capture_for_storage();
    r.apply_update_stored_elsewhere(&update).unwrap();
    assert_eq!(get(&mut r, "todos", "b").unwrap()["title"], "beta");
    assert_eq!(r.take_storage_update(), None);
    // The storage queue is still on: an ordinary update is queued.
    source
        .insert("todos", "d", fields(json!({"title": "delta"})))
        .unwrap();
    r.apply_update(&source.encode_diff(&r.state_vector()).unwrap())
        .unwrap();
    assert!(r.take_storage_update().is_some());
    assert_eq!(get(&mut r, "todos", "d").unwrap()["title"], "delta");
}
