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
    use yreplica::replica::summary::state_summary_json;
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
        c.sync_timeout_ms = 4000.0;
    });
    s.start();
    s.advance(common::sim::LATENCY); // the WebSocket is open …
    s.freeze(0); // … and the server answers nothing from now on …
    let opened_at = s.now;
    let conn = s.active_conn();
    // … except messages that are not a sync answer, which count as liveness
    for _ in 0..60 {
        s.inject(conn, &encode_message(Message::AwarenessQuery));
        s.advance(100);
    }
    let budget = 4000;
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
        s.errors().iter().any(
            |e| e.contains("no answer to the sync handshake within 4000 ms")
                && e.contains("syncTimeoutMs")
                && e.contains(&s.url(0))
        ),
        "{:?}",
        s.errors()
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

/// A server document holding `records` records of a `size`-byte text each.
fn fill(doc: &Doc, records: usize, size: usize) {
    let mut txn = doc.transact_mut();
    let items = txn.get_or_insert_map("items");
    for i in 0..records {
        let text = format!("{i:08}").repeat(size / 8);
        let record = yrs::MapPrelim::from_iter([("text", yrs::In::from(text))]);
        items.insert(&mut txn, format!("r{i}"), record);
    }
}

#[test]
fn a_sync_answer_over_the_old_16_mib_limit_is_taken_in_with_default_options() {
    let mut s = Sim::new(1, |_| {});
    fill(&s.servers[0].doc, 20, 1 << 20); // a 20 MiB answer: FRAME_TOO_LARGE before
    s.start();
    s.advance(1_000);
    assert_eq!(s.online_at(), Some(s.url(0)), "{:?}", s.errors());
    assert!(s.errors().is_empty(), "{:?}", s.errors());
    let json = s.replica.all("items").unwrap();
    assert!(json.contains("\"r19\"") && json.len() > 20 << 20);
}

#[test]
fn a_document_frame_over_max_frame_bytes_is_refused_before_it_is_read() {
    let mut s = Sim::new(2, |c| c.max_frame_bytes = 1_000_000.0);
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    let mut asked = None;
    let admitted = s.engine.admit_frame(
        conn,
        5_000_000,
        |n| {
            asked = Some(n);
            protocol::update(vec![0; 64])[..n.min(8)].to_vec()
        },
        s.now,
    );
    assert!(!admitted);
    assert_eq!(
        asked,
        Some(16),
        "the kind is read from the first bytes only"
    );
    s.drain_outputs();
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.starts_with("FRAME_TOO_LARGE: ")
            && e.contains(&s.url(0))
            && e.contains("a 5000000-byte update is over maxFrameBytes (1000000)")),
        "{errors:?}"
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)), "moved on to the next server");
}

#[test]
fn other_messages_are_bounded_by_max_message_bytes_before_they_are_read() {
    let mut s = Sim::new(2, |c| c.max_message_bytes = Some(1000.0));
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    // small frames are taken in whatever they are: their first bytes are never asked for
    assert!(s.engine.admit_frame(conn, 1000, |_| unreachable!(), s.now));
    // a large update is fine: the document limit applies
    let update_head = protocol::update(vec![0; 5000]);
    assert!(s
        .engine
        .admit_frame(conn, 5003, |n| update_head[..n].to_vec(), s.now));
    // a large awareness message is refused before it is copied in
    let awareness_head = [1u8, 0x88, 0x27, 1];
    assert!(!s
        .engine
        .admit_frame(conn, 5000, |n| awareness_head[..n.min(4)].to_vec(), s.now));
    s.drain_outputs();
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.starts_with("FRAME_TOO_LARGE: ")
            && e.contains(&s.url(0))
            && e.contains(
                "a 5000-byte awareness (presence) message is over maxMessageBytes (1000)"
            )),
        "{errors:?}"
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn a_frame_hiding_a_large_message_behind_a_small_update_is_refused() {
    let mut s = Sim::new(2, |c| c.max_message_bytes = Some(1000.0));
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    // an empty update first (so the frame passes as a document frame), then 3000 bytes of a
    // message of type 100
    let mut frame = protocol::update(vec![0, 0]);
    frame.extend([100, 0xb8, 0x17]);
    frame.extend(vec![7; 3000]);
    s.inject(conn, &frame);
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.starts_with("FRAME_TOO_LARGE: ")
            && e.contains(&s.url(0))
            && e.contains(
                "carries 3006 bytes besides document updates, over maxMessageBytes (1000)"
            )),
        "{errors:?}"
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn a_server_flooding_faster_than_the_replica_applies_is_left_at_max_backlog_bytes() {
    let mut s = Sim::new(2, |c| c.max_backlog_bytes = 10_000.0);
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    // frames wait while the replica is busy; each counts as liveness
    let mut waiting = 0;
    for _ in 0..10 {
        assert!(s.engine.handle_frame_queued(conn, 1000, waiting, s.now));
        waiting += 1000;
    }
    // the next one finds 10,000 bytes waiting: the server is left, nothing more is kept
    assert!(!s.engine.handle_frame_queued(conn, 1000, waiting, s.now));
    s.drain_outputs();
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.starts_with("BACKLOG_TOO_LARGE: ")
            && e.contains(&s.url(0))
            && e.contains("10000 bytes of its messages wait")
            && e.contains("maxBacklogBytes is 10000")),
        "{errors:?}"
    );
    // frames of the dropped link are refused without another error
    assert!(!s.engine.handle_frame_queued(conn, 1000, 0, s.now));
    assert!(!s.engine.admit_frame(conn, 10, |_| Vec::new(), s.now));
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
    assert_eq!(s.errors().len(), 1, "{:?}", s.errors());
}

/// An awareness message from clients `from..to`, each with a state of `size` bytes.
fn awareness(from: u64, to: u64, size: usize) -> Vec<u8> {
    use std::collections::HashMap;
    use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
    let clients = (from..to)
        .map(|c| {
            let json = format!("{{\"n\":\"{}\"}}", "x".repeat(size.saturating_sub(8)));
            (
                yrs::block::ClientID::new(c),
                AwarenessUpdateEntry {
                    clock: 1,
                    json: json.into(),
                },
            )
        })
        .collect::<HashMap<_, _>>();
    encode_message(Message::Awareness(AwarenessUpdate { clients }))
}

#[test]
fn presence_beyond_max_message_bytes_in_total_drops_the_server() {
    let mut s = Sim::new(2, |c| c.max_message_bytes = Some(10_000.0));
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    // each message is small, but together they would hold more than 10,000 bytes of states
    s.inject(conn, &awareness(1000, 1020, 200));
    assert!(s.engine.presence_json().contains("\"clientId\":1019"));
    s.inject(conn, &awareness(2000, 2020, 200));
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.starts_with("PRESENCE_TOO_LARGE: ")
            && e.contains(&s.url(0))
            && e.contains("would take 10560 bytes, over maxMessageBytes (10000)")),
        "{errors:?}"
    );
    assert_eq!(
        s.engine.presence_json(),
        "[]",
        "the states held were dropped"
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

/// A server that takes 40 s to encode its first answer, saying nothing meanwhile, while the
/// replica writes and flushes: `relays` says whether it answers light probes.
fn slow_first_answer(relays: bool) -> Sim {
    let mut s = Sim::new(2, |_| {});
    fill(&s.servers[0].doc, 10, 1000);
    s.servers[0].answer_delay = 40_000;
    s.servers[0].relays_awareness = relays;
    s.start();
    s.write("local", 1); // a write while the answer is on its way …
    s.flush(1, 120_000); // … and a flush: neither may send a SyncStep1 yet
    s.advance(39_000);
    assert_eq!(s.servers[0].seen_step1, 1, "one SyncStep1, the handshake's");
    assert!(s.failovers().is_empty(), "{:?}", s.failovers());
    assert_eq!(s.engine.status().connection.as_str(), "syncing");
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(0)), "{:?}", s.errors());
    s
}

fn flush_resolved(s: &Sim, id: u64) -> bool {
    s.outputs
        .iter()
        .any(|(_, o)| matches!(o, yreplica::sync::Output::FlushResolved { id: i } if *i == id))
}

#[test]
fn a_slow_first_answer_is_awaited_without_probes_that_would_make_the_server_encode_again() {
    // a server that echoes awareness: the probes are light from the start
    let mut s = slow_first_answer(true);
    s.advance(45_000);
    assert!(flush_resolved(&s, 1));
    assert_eq!(
        s.servers[0].seen_step1, 1,
        "no SyncStep1 but the handshake's"
    );
    assert!(s.server_has(0, "local"));
    assert!(s.errors().is_empty(), "{:?}", s.errors());

    // one that does not: the SyncStep1 held back goes out once the answer is in, with the
    // whole state vector, so its answer is small
    let mut s = slow_first_answer(false);
    assert_eq!(s.servers[0].seen_step1, 2);
    s.advance(45_000);
    assert!(flush_resolved(&s, 1));
    assert!(s.server_has(0, "local"));
    assert!(s.errors().is_empty(), "{:?}", s.errors());
}

#[test]
fn a_server_that_says_nothing_after_opening_is_left_after_the_heartbeat_window() {
    let mut s = Sim::new(2, |_| {});
    s.servers[0].frozen = false;
    s.start();
    s.advance(common::sim::LATENCY); // open; the server's SyncStep1 is 1 ms away …
    s.freeze(0); // … and never comes
    let opened_at = s.now;
    s.advance(5_000);
    let failovers = s.failovers();
    assert_eq!(failovers.len(), 1, "{failovers:?}");
    let (at, from, _, reason) = &failovers[0];
    assert_eq!((from, *reason), (&s.url(0), "heartbeat"));
    assert_eq!(
        at - opened_at,
        3_000,
        "(missedHeartbeats + 1) × heartbeatIntervalMs"
    );
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn a_server_asking_for_the_document_again_and_again_without_reading_is_left() {
    let mut s = Sim::new(2, |c| c.max_backlog_bytes = 50_000.0);
    s.start();
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(0)));
    for i in 0..20 {
        let json = format!("{{\"text\":\"{}\"}}", "t".repeat(1000));
        let fields = yreplica::replica::value::fields_from_json(&json, || "sim".into()).unwrap();
        s.replica.upsert("items", &format!("w{i}"), fields).unwrap();
    }
    for update in s.replica.take_local_updates() {
        s.engine.local_update(update, s.now, &s.replica);
    }
    s.advance(100);
    // the local document is ~20 KB as an update; a hostile server asks for all of it without
    // reading what it asked for before (it answers no probe)
    s.freeze(0);
    let conn = s.active_conn();
    let empty = protocol::sync_step1(&StateVector::default());
    for _ in 0..2 {
        s.inject(conn, &empty);
    }
    assert!(s.errors().is_empty(), "two answers fit: {:?}", s.errors());
    s.inject(conn, &empty);
    let errors = s.errors();
    assert!(
        errors.iter().any(|e| e.starts_with("BACKLOG_TOO_LARGE: ")
            && e.contains(&s.url(0))
            && e.contains("asked for 20515 more bytes of the document while 41030 bytes of earlier answers are not known to be read")
            && e.contains("maxBacklogBytes is 50000")),
        "{errors:?}"
    );
    s.advance(2_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn reasons_a_server_gives_are_shortened_in_errors() {
    use yreplica::config::SyncConfig;
    use yreplica::replica::Replica;
    use yreplica::sync::{Output, SyncEngine};
    let config = SyncConfig {
        endpoints: vec!["ws://127.0.0.1:9".into()],
        protocol: "hocuspocus".into(),
        ..SyncConfig::default()
    };
    let mut engine = SyncEngine::new(&config, "room", 1);
    let mut replica = Replica::with_client_id(1);
    engine.start(0);
    engine.handle_open(1, 1, &replica);
    // "room", Auth, PermissionDenied, a 100,000-byte reason
    let mut frame = vec![4];
    frame.extend(b"room");
    frame.extend([2, 1, 0xa0, 0x8d, 0x06]);
    frame.extend("r".repeat(100_000).as_bytes());
    engine.handle_frame(1, &frame, 2, &mut replica);
    let denied = std::iter::from_fn(|| engine.poll_output())
        .find_map(|o| match o {
            Output::Error {
                code: "PERMISSION_DENIED",
                message,
            } => Some(message),
            _ => None,
        })
        .expect("denied");
    assert!(
        denied.len() < 400 && denied.ends_with("… (100000 bytes)"),
        "{denied}"
    );
}

#[test]
fn what_a_server_lacks_goes_out_in_pieces_under_its_message_limit() {
    use yreplica::sync::{Output, ANSWER_PIECE_BYTES};
    let mut s = Sim::new(1, |_| {});
    // 12 MB of local records the server has never seen (a server restarted without its data)
    for i in 0..12 {
        let json = format!("{{\"text\":\"{}\"}}", format!("{i:02}").repeat(500_000));
        let fields = yreplica::replica::value::fields_from_json(&json, || "sim".into()).unwrap();
        s.replica
            .upsert("items", &format!("big{i}"), fields)
            .unwrap();
    }
    s.replica.take_local_updates();
    s.start();
    s.advance(1_000);
    assert_eq!(s.online_at(), Some(s.url(0)), "{:?}", s.errors());
    let sent: Vec<usize> = s
        .outputs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Send { data, .. } if data.len() > 1000 => Some(data.len()),
            _ => None,
        })
        .collect();
    assert!(sent.len() >= 3, "{sent:?}");
    assert!(
        sent.iter().all(|&n| n <= ANSWER_PIECE_BYTES + 64),
        "{sent:?}"
    );
    for i in 0..12 {
        assert!(s.server_has(0, &format!("big{i}")), "big{i}");
    }
    assert_eq!(s.engine.status().pending, 0);
}

#[test]
fn hocuspocus_acknowledges_an_answer_in_pieces_only_with_its_last_sync_status() {
    use yreplica::config::SyncConfig;
    use yreplica::replica::Replica;
    use yreplica::sync::{Output, SyncEngine, ANSWER_PIECE_BYTES};
    let config = SyncConfig {
        endpoints: vec!["ws://127.0.0.1:9".into()],
        protocol: "hocuspocus".into(),
        ..SyncConfig::default()
    };
    let dialect = protocol::Dialect::Hocuspocus {
        document: "room".into(),
        token: String::new(),
    };
    let mut engine = SyncEngine::new(&config, "room", 1);
    let mut replica = Replica::with_client_id(1);
    replica.capture_local_updates();
    // 10 MB written offline: three local changes waiting for a server
    for i in 0..3 {
        let json = format!("{{\"text\":\"{}\"}}", "t".repeat(3_500_000));
        let fields = yreplica::replica::value::fields_from_json(&json, || "t".into()).unwrap();
        replica.upsert("items", &format!("big{i}"), fields).unwrap();
    }
    engine.start(0);
    for update in replica.take_local_updates() {
        engine.local_update(update, 0, &replica);
    }
    assert_eq!(engine.status().pending, 3);
    engine.handle_open(1, 1, &replica);
    while engine.poll_output().is_some() {}
    // the server (which lacks everything) sends its SyncStep1
    let step1 = dialect.frame(protocol::sync_step1(&StateVector::default()));
    engine.handle_frame(1, &step1, 2, &mut replica);
    let pieces: Vec<usize> = std::iter::from_fn(|| engine.poll_output())
        .filter_map(|o| match o {
            Output::Send { data, .. } if data.len() > 1000 => Some(data.len()),
            _ => None,
        })
        .collect();
    assert!(pieces.len() >= 3, "{pieces:?}");
    assert!(
        pieces.iter().all(|&n| n <= ANSWER_PIECE_BYTES + 64),
        "{pieces:?}"
    );
    // the empty update probing the server on opening gets the first SyncStatus; then each
    // piece gets one, and only the last one acknowledges the writes
    let status = dialect.frame(vec![8, 1]);
    engine.handle_frame(1, &status, 3, &mut replica);
    for i in 0..pieces.len() {
        assert_eq!(
            engine.status().pending,
            3,
            "after {i} of {} statuses",
            pieces.len()
        );
        engine.handle_frame(1, &status, 3, &mut replica);
    }
    assert_eq!(engine.status().pending, 0);
}
