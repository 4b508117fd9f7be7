//! The operator directive as room data: written and read by replicas and by plain Yjs, never a
//! collection, concurrent directives converging to one of them whole.
mod common;

use common::{fields, sync};
use serde_json::json;
use yreplica::replica::{Directive, Replica, DIRECTIVE_ROOT};
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, Map, ReadTxn, Transact, Update, WriteTxn};

fn drain(url: &str, by: &str) -> Directive {
    Directive {
        primary: None,
        drain: vec![url.into()],
        note: Some("maintenance".into()),
        by: Some(by.into()),
        at: Some(1.0),
        expires_at: None,
    }
}

#[test]
fn a_directive_is_room_data_a_plain_yjs_client_reads_and_never_a_collection() {
    let mut r = Replica::with_client_id(1);
    r.insert("todos", "a", fields(json!({"title": "x"})))
        .unwrap();
    assert!(r.set_directive(Some(&drain("ws://one", "ops"))).unwrap());
    assert_eq!(r.directive(), Some(drain("ws://one", "ops")));
    assert_eq!(r.collections(), ["todos"]);
    let refused = r.insert(DIRECTIVE_ROOT, "x", fields(json!({})));
    assert!(refused.unwrap_err().to_string().contains("reserved"));

    // a plain Yjs document reads it: one entry holding a plain object
    let doc = Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&r.encode_state()).unwrap())
        .unwrap();
    let txn = doc.transact();
    let map = txn.get_map(DIRECTIVE_ROOT).expect("the reserved map");
    let value = map.get(&txn, "current").expect("the directive");
    let yrs::Out::Any(Any::Map(object)) = value else {
        panic!("a plain object, got {value:?}");
    };
    assert_eq!(
        object.get("drain"),
        Some(&Any::from(vec![Any::from("ws://one")]))
    );
    assert_eq!(object.get("primary"), Some(&Any::Null));

    assert!(r.set_directive(None).unwrap());
    assert_eq!(r.directive(), None);
}

#[test]
fn a_directive_written_by_plain_yjs_is_read_and_junk_is_none() {
    let doc = Doc::with_client_id(9);
    {
        let mut txn = doc.transact_mut();
        let map = txn.get_or_insert_map(DIRECTIVE_ROOT);
        let object = Any::from_json(
            r#"{"primary":"ws://two","drain":[],"note":null,"by":"yjs","at":5,"expiresAt":null}"#,
        )
        .unwrap();
        map.insert(&mut txn, "current", object);
    }
    let mut r = Replica::with_client_id(1);
    let update = doc
        .transact()
        .encode_state_as_update_v1(&Default::default());
    r.apply_update(&update).unwrap();
    let d = r.directive().expect("read");
    assert_eq!(
        (d.primary.as_deref(), d.by.as_deref()),
        (Some("ws://two"), Some("yjs"))
    );
    assert!(r.collections().is_empty());

    let before = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        let map = txn.get_or_insert_map(DIRECTIVE_ROOT);
        map.insert(&mut txn, "current", "not a directive");
    }
    let update = doc.transact().encode_state_as_update_v1(&before);
    r.apply_update(&update).unwrap();
    assert_eq!(r.directive(), None);
}

#[test]
fn concurrent_directives_converge_to_the_one_of_the_higher_client_id() {
    let mut a = Replica::with_client_id(1);
    let mut b = Replica::with_client_id(2);
    a.set_directive(Some(&drain("ws://a", "a"))).unwrap();
    b.set_directive(Some(&drain("ws://b", "b"))).unwrap();
    sync(&a, &mut b);
    sync(&b, &mut a);
    assert_eq!(a.directive(), b.directive());
    assert_eq!(a.directive().and_then(|d| d.by), Some("b".into()));
}

#[test]
fn a_change_of_directive_is_reported_once() {
    let mut r = Replica::with_client_id(1);
    assert_eq!(r.directive_changed(), None);
    r.set_directive(Some(&drain("ws://one", "ops"))).unwrap();
    assert_eq!(r.directive_changed(), Some(Some(drain("ws://one", "ops"))));
    assert_eq!(r.directive_changed(), None);
    r.set_directive(None).unwrap();
    assert_eq!(r.directive_changed(), Some(None));
}

#[test]
fn a_directive_is_parsed_strictly_from_json() {
    assert!(Directive::from_json(r#"{"primary":null,"drain":["ws://x"]}"#).is_ok());
    assert!(Directive::from_json(r#"{"primary":5}"#).is_err());
    assert!(Directive::from_json(r#"{"drain":"ws://x"}"#).is_err());
}
