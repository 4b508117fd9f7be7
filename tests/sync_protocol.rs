//! The y-websocket framing: byte-exact messages, several messages per frame, room URLs.
mod common;

use common::sim::{encode_message, Sim};
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
    // as y-websocket: the room as it is (the URL parser encodes the space for both)
    assert_eq!(
        protocol::room_url("ws://h:1/", "org/a b:1", &[]),
        "ws://h:1/org/a b:1"
    );
    // except what would end the path: y-websocket loses the rest of the room there
    assert_eq!(
        protocol::room_url("ws://h:1", "q?x#y", &[]),
        "ws://h:1/q%3Fx%23y"
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

fn hocuspocus() -> protocol::Dialect {
    protocol::Dialect::Hocuspocus {
        document: "doc-1".into(),
        token: "t0k".into(),
    }
}

#[test]
fn hocuspocus_frames_carry_the_document_name_and_open_with_the_token() {
    let d = hocuspocus();
    // varString("doc-1") then the y-protocols message
    assert_eq!(
        d.frame(vec![0, 0, 1, 0]),
        [5, b'd', b'o', b'c', b'-', b'1', 0, 0, 1, 0]
    );
    let auth = d.on_open().unwrap();
    assert_eq!(
        &auth[6..],
        [2, 0, 3, b't', b'0', b'k'],
        "Auth, Token, varString(token)"
    );
    assert_eq!(
        d.url("ws://h:1", "doc-1", &[("a".into(), "b".into())]),
        "ws://h:1?a=b"
    );
    assert!(d.acks_with_sync_status() && !protocol::Dialect::YWebsocket.acks_with_sync_status());
}

#[test]
fn hocuspocus_server_messages_are_read() {
    use protocol::Incoming;
    let d = hocuspocus();
    let prefix = |body: &[u8]| d.frame(body.to_vec());
    assert_eq!(d.decode(&[9]).unwrap(), [Incoming::Ping]);
    assert_eq!(d.pong(), [10]);
    assert_eq!(
        d.decode(&prefix(&[8, 1])).unwrap(),
        [Incoming::SyncStatus(true)]
    );
    assert_eq!(
        d.decode(&prefix(&[8, 0])).unwrap(),
        [Incoming::SyncStatus(false)]
    );
    assert_eq!(
        d.decode(&prefix(&[2, 1, 2, b'n', b'o'])).unwrap(),
        [Incoming::Denied("no".into())]
    );
    assert_eq!(
        d.decode(&prefix(&[
            2, 2, 8, b'r', b'e', b'a', b'd', b'o', b'n', b'l', b'y'
        ]))
        .unwrap(),
        [Incoming::Authenticated("readonly".into())]
    );
    assert_eq!(
        d.decode(&prefix(&[7, 3, b'b', b'y', b'e'])).unwrap(),
        [Incoming::Close("bye".into())]
    );
    // Sync and SyncReply carry sync messages; several messages may share a frame
    let mut two = prefix(&[0, 1, 2, 0, 0]);
    two.extend(prefix(&[4, 0, 1, 0]));
    assert_eq!(d.decode(&two).unwrap().len(), 2);
    assert!(d.decode(&prefix(&[42])).is_err(), "unknown message type");
    assert!(d.decode(&[200]).is_err(), "truncated document name");
}

#[test]
fn sync_options_take_the_protocol_and_token() {
    let c = yreplica::config::SyncConfig::from_json(r#"{"protocol":"hocuspocus","token":"x"}"#)
        .unwrap();
    assert_eq!(
        (c.protocol.as_str(), c.token.as_deref()),
        ("hocuspocus", Some("x"))
    );
    let err = yreplica::config::SyncConfig::from_json(r#"{"protocol":"socket.io"}"#).unwrap_err();
    assert!(err.to_string().contains("'socket.io'"));
}

#[test]
fn an_awareness_update_listing_a_client_twice_is_not_a_protocol_error() {
    // y-protocols relays [X, X] when one update both adds and updates X; yrs collapses the
    // duplicates, so re-encoding would be shorter than the frame.
    let state = br#"{"a":1}"#;
    let mut payload = vec![2u8];
    for clock in [1u8, 2] {
        payload.extend([7, clock, state.len() as u8]);
        payload.extend(state);
    }
    let mut frame = vec![1u8, payload.len() as u8];
    frame.extend(payload);
    let messages = protocol::decode_frame(&frame).expect("a valid frame");
    assert_eq!(messages.len(), 1);
}

#[test]
fn a_frame_over_max_frame_bytes_drops_the_connection_and_moves_on() {
    let mut s = Sim::new(2, |c| c.max_frame_bytes = 64.0);
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    let big = encode_message(Message::Sync(SyncMessage::Update(vec![0; 100])));
    assert!(big.len() > 64);
    s.inject(conn, &big);
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.contains("FRAME_TOO_LARGE")
            && e.contains(&s.url(0))
            && e.contains("maxFrameBytes (64)")),
        "{errors:?}"
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)), "moved on to the next server");
}

#[test]
fn a_state_summary_lists_clocks_and_deletions_per_client() {
    use yreplica::sync::summary::state_summary_json;
    let doc = Doc::with_client_id(7);
    {
        let mut txn = doc.transact_mut();
        let items = txn.get_or_insert_map("items");
        items.insert(&mut txn, "a", "1");
        items.insert(&mut txn, "b", "2");
        items.insert(&mut txn, "c", "3");
    }
    assert_eq!(
        state_summary_json(&doc),
        r#"{"stateVector":{"7":3},"deleteSet":{}}"#
    );
    {
        let mut txn = doc.transact_mut();
        let items = txn.get_or_insert_map("items");
        items.remove(&mut txn, "b");
    }
    // a delete adds no struct: same state vector, one deleted struct (clock 1)
    assert_eq!(
        state_summary_json(&doc),
        r#"{"stateVector":{"7":3},"deleteSet":{"7":[[1,1]]}}"#
    );
    // clients beyond 2^32 (Yjs allows 53 bits) come out exact
    let big = Doc::with_client_id((1u64 << 53) - 1);
    big.get_or_insert_map("m")
        .insert(&mut big.transact_mut(), "k", "v");
    assert_eq!(
        state_summary_json(&big),
        r#"{"stateVector":{"9007199254740991":1},"deleteSet":{}}"#
    );
}

#[test]
fn a_server_that_chatters_but_never_answers_the_handshake_is_left() {
    let mut s = Sim::new(2, |c| {
        c.heartbeat_interval_ms = 500.0;
        c.connect_timeout_ms = 1000.0;
    });
    s.start();
    s.advance(common::sim::LATENCY); // the WebSocket is open …
    s.freeze(0); // … and the server answers nothing from now on …
    let opened_at = s.now;
    let conn = s.active_conn();
    // … except messages that are not a sync answer, which count as liveness
    for _ in 0..30 {
        s.inject(conn, &encode_message(Message::AwarenessQuery));
        s.advance(100);
    }
    let budget = 1000 + 500 * 3;
    let failovers = s.failovers();
    assert_eq!(failovers.len(), 1, "{failovers:?}");
    let (at, from, to, reason) = &failovers[0];
    assert_eq!((from, to, *reason), (&s.url(0), &s.url(1), "heartbeat"));
    let after = at - opened_at;
    assert!(
        after >= budget && after <= budget + 200,
        "left {after} ms after opening"
    );
    assert!(
        s.errors()
            .iter()
            .any(|e| e.contains("no answer to the sync handshake") && e.contains(&s.url(0))),
        "{:?}",
        s.errors()
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}
