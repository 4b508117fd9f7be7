//! The y-websocket framing: byte-exact messages, several messages per frame, room URLs.
mod common;

use common::sim::Sim;
use yreplica::sync::protocol;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{Doc, Map, ReadTxn, StateVector, Transact, WriteTxn};

#[test]
fn an_empty_docs_sync_step1_matches_yjs() {
    assert_eq!(protocol::sync_step1(&StateVector::default()), [0, 0, 1, 0]);
}

#[test]
fn room_and_params_build_the_url_like_y_websocket() {
    assert_eq!(
        protocol::room_url("ws://h:1", "todo-app", &[]),
        "ws://h:1/todo-app"
    );
    assert_eq!(
        protocol::room_url("ws://h:1/", "a b/c", &[]),
        "ws://h:1/a%20b%2Fc"
    );
    let params = vec![
        ("token".to_string(), "a&b=c".to_string()),
        ("v".to_string(), "1".to_string()),
    ];
    assert_eq!(
        protocol::room_url("wss://h/yjs", "r", &params),
        "wss://h/yjs/r?token=a%26b%3Dc&v=1"
    );
}

#[test]
fn frames_carrying_several_messages_are_read_whole() {
    let doc = Doc::with_client_id(5);
    {
        let mut txn = doc.transact_mut();
        let items = txn.get_or_insert_map("items");
        items.insert(&mut txn, "x", "1");
    }
    let update = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut frame = Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
    frame.extend(Message::Sync(SyncMessage::SyncStep2(update.clone())).encode_v1());
    frame.extend(Message::AwarenessQuery.encode_v1());
    frame.extend(Message::Sync(SyncMessage::Update(update)).encode_v1());
    let messages = protocol::decode_frame(&frame).unwrap();
    assert_eq!(messages.len(), 4);

    // delivered to the engine in one frame, every message takes effect
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    s.inject(conn, &frame);
    assert!(
        s.replica.get("items", "x").unwrap().is_none(),
        "x is a plain value, not a record"
    );
    let txn = s.replica.doc().transact();
    assert!(txn
        .get_map("items")
        .is_some_and(|m| m.get(&txn, "x").is_some()));
}

#[test]
fn malformed_frames_are_errors_not_panics() {
    for frame in [
        &[][..],
        &[0][..],
        &[0, 3][..],
        &[0, 0, 200, 200, 200, 200, 200][..],
        &[0, 1, 5, 1][..],
    ] {
        // truncated payloads either fail to decode or decode to nothing usable; never panic
        let _ = protocol::decode_frame(frame);
    }
    assert!(protocol::decode_frame(&[]).is_err());
    assert!(
        protocol::decode_frame(&[0, 3]).is_err(),
        "unknown sync message type"
    );
    assert!(
        protocol::decode_frame(&[0, 1, 5, 1]).is_err(),
        "truncated SyncStep2"
    );
    assert!(
        protocol::decode_frame(&[0, 0, 1, 0, 7]).is_err(),
        "trailing byte"
    );
}
