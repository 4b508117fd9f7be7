//! Probes after the handshake cost the server nothing that grows with the document: a
//! y-websocket server echoes our awareness state, Hocuspocus answers an empty update with a
//! SyncStatus; a server that does neither is probed with SyncStep1 as before. Simulated
//! servers, virtual clock.
mod common;

use common::sim::{awareness_message, Sim};
use yreplica::config::SyncConfig;
use yreplica::replica::Replica;
use yreplica::sync::{protocol, ConnId, Output, SyncEngine};
use yrs::sync::Message;

fn resolved(s: &Sim, id: u64) -> bool {
    s.flush_outcomes().contains(&(id, "resolved"))
}

fn our_state(clock: u32) -> Vec<u8> {
    awareness_message(1, clock, "{}") // the sim's replica writes as client 1
}

#[test]
fn an_idle_link_sends_no_sync_step1_after_the_handshake_and_still_sees_a_freeze() {
    let mut s = Sim::new(2, |_| {});
    s.start();
    s.advance(60_000);
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert_eq!(s.servers[0].seen_step1, 1, "the handshake's only");
    assert!(s.failovers().is_empty(), "{:?}", s.failovers());
    s.freeze(0);
    s.advance(3_100);
    assert_eq!(
        s.online_at(),
        Some(s.url(1)),
        "left within the missed heartbeats"
    );
}

#[test]
fn writes_are_acknowledged_by_the_echo_of_a_probe_sent_after_them() {
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(100);
    s.write("a", 1);
    s.flush(1, 10_000);
    s.advance(100);
    assert!(resolved(&s, 1), "{:?}", s.flush_outcomes());
    assert_eq!(s.engine.status().pending, 0);
    assert_eq!(s.servers[0].seen_step1, 1);

    // an echo of a clock from before the write proves nothing about it, nor does an entry
    // under our id with a clock this link never sent (any client may send one)
    s.freeze(0);
    s.write("b", 2);
    s.flush(2, 10_000);
    let conn = s.active_conn();
    for clock in [1, 1_000_000, u32::MAX] {
        s.inject(conn, &our_state(clock));
    }
    assert!(!resolved(&s, 2));
    assert_eq!(s.engine.status().pending, 1);
    s.thaw(0);
    s.advance(100);
    assert!(resolved(&s, 2), "{:?}", s.flush_outcomes());
    assert!(s.server_has(0, "b"));
}

#[test]
fn flushes_made_while_a_probe_is_out_share_the_next_one() {
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(100);
    let probes_before = states_sent(&s);
    for i in 0..20 {
        s.write(&format!("k{i}"), i);
        s.flush(i, 10_000);
    }
    assert_eq!(states_sent(&s) - probes_before, 1, "the first write's");
    s.advance(100);
    assert_eq!(s.flush_outcomes().len(), 20);
    assert!((0..20).all(|i| resolved(&s, i)), "{:?}", s.flush_outcomes());
    assert_eq!(
        states_sent(&s) - probes_before,
        2,
        "then one for every flush"
    );
}

#[test]
fn light_probes_unanswered_on_a_busy_link_give_way_to_sync_step1() {
    // a server that relays only changed states echoes the first probe, never a later one;
    // other clients' messages keep the link alive, so no heartbeat is ever missed
    let mut s = Sim::new(1, |c| c.heartbeat_interval_ms = 1_000.0);
    s.servers[0].relays_changes_only = true;
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    s.write("a", 1);
    s.flush(1, 20_000);
    for clock in 1..=30 {
        s.inject(conn, &awareness_message(42, clock, r#"{"n":"bob"}"#));
        s.advance(250);
    }
    assert!(resolved(&s, 1), "{:?}", s.flush_outcomes());
    assert!(s.failovers().is_empty(), "{:?}", s.failovers());
    assert!(s.servers[0].seen_step1 >= 2, "fell back to SyncStep1");
    s.write("b", 2);
    s.flush(2, 10_000);
    s.advance(100);
    assert!(resolved(&s, 2), "{:?}", s.flush_outcomes());
}

/// How many awareness messages (probes, on y-websocket) the replica sent.
fn states_sent(s: &Sim) -> usize {
    s.outputs
        .iter()
        .filter(|(_, o)| match o {
            Output::Send { data, .. } => matches!(
                protocol::decode_frame(data).ok().as_deref(),
                Some([Message::Awareness(_)])
            ),
            _ => false,
        })
        .count()
}

#[test]
fn a_server_that_relays_no_awareness_is_probed_with_sync_step1() {
    let mut s = Sim::new(2, |_| {});
    s.servers[0].relays_awareness = false;
    s.start();
    s.advance(10_000);
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert!(s.failovers().is_empty(), "{:?}", s.failovers());
    assert!(s.servers[0].seen_step1 >= 9, "{}", s.servers[0].seen_step1);
    s.write("a", 1);
    s.flush(1, 10_000);
    s.advance(100);
    assert!(resolved(&s, 1), "{:?}", s.flush_outcomes());
    s.freeze(0);
    s.advance(3_100);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn coming_back_to_a_server_that_dropped_our_state_is_answered_at_once() {
    // the server keeps the last clock it took from us after it drops our state with the
    // closed connection: the replica's clocks only grow, so its next probe is newer
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(5_000);
    s.drop_connections(0);
    s.advance(5_000);
    assert_eq!(s.online_at(), Some(s.url(0)));
    s.advance(10_000);
    assert_eq!(
        s.servers[0].seen_step1, 2,
        "one handshake per connection, no more"
    );
    s.write("a", 1);
    s.flush(1, 10_000);
    s.advance(100);
    assert!(resolved(&s, 1), "{:?}", s.flush_outcomes());
}

/// The engine in the Hocuspocus dialect, driven by hand, with its link just opened.
fn hocuspocus_link() -> (SyncEngine, Replica, ConnId) {
    let config = SyncConfig {
        endpoints: vec!["ws://127.0.0.1:9000".into()],
        protocol: "hocuspocus".into(),
        ..SyncConfig::default()
    };
    let mut replica = Replica::with_client_id(1);
    replica.capture_local_updates();
    let mut engine = SyncEngine::new(&config, "doc", 7);
    engine.start(0);
    let conn = match engine.poll_output() {
        Some(Output::Connect { conn, .. }) => conn,
        other => panic!("{other:?}"),
    };
    engine.handle_open(conn, 10, &replica);
    (engine, replica, conn)
}

/// The messages the engine sent, as (type, sync sub-type), the document name skipped.
fn sent(engine: &mut SyncEngine) -> Vec<(u8, u8)> {
    let mut kinds = Vec::new();
    while let Some(output) = engine.poll_output() {
        if let Output::Send { data, .. } = output {
            // "doc" as a var string is 4 bytes; then the message type and sub-type
            kinds.push((data[4], data.get(5).copied().unwrap_or(0)));
        }
    }
    kinds
}

/// The server answers the handshake's SyncStep1 (at 30 ms): the link is online.
fn answer_handshake(engine: &mut SyncEngine, replica: &mut Replica, conn: ConnId) {
    let diff = replica.diff_since(&yrs::StateVector::default());
    let answer = hocuspocus_frame(&protocol::sync_step2(diff));
    engine.handle_frame(conn, &answer, 30, replica);
    assert_eq!(engine.status().connection.as_str(), "online");
}

fn hocuspocus_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = vec![3, b'd', b'o', b'c'];
    frame.extend_from_slice(message);
    frame
}

const AUTH: (u8, u8) = (2, 0);
const SYNC_STEP1: (u8, u8) = (0, 0);
const UPDATE: (u8, u8) = (0, 2);
const SYNC_STATUS_APPLIED: [u8; 2] = [8, 1];
const SYNC_STATUS_REFUSED: [u8; 2] = [8, 0];

#[test]
fn hocuspocus_is_probed_with_an_empty_update_its_sync_status_answers() {
    let (mut engine, mut replica, conn) = hocuspocus_link();
    assert_eq!(sent(&mut engine), [AUTH, UPDATE, SYNC_STEP1]);
    engine.handle_frame(
        conn,
        &hocuspocus_frame(&SYNC_STATUS_APPLIED),
        20,
        &mut replica,
    );
    answer_handshake(&mut engine, &mut replica, conn);
    // an idle heartbeat later: an empty update, not a SyncStep1; on a read-only connection
    // its SyncStatus says "not applied", which answers it all the same
    sent(&mut engine);
    let at = engine.poll_timeout().expect("a heartbeat");
    engine.handle_timeout(at, &replica);
    assert_eq!(sent(&mut engine), [UPDATE]);
    engine.handle_frame(
        conn,
        &hocuspocus_frame(&SYNC_STATUS_REFUSED),
        at + 5,
        &mut replica,
    );
    let mut errors = Vec::new();
    while let Some(output) = engine.poll_output() {
        if let Output::Error { code, .. } = output {
            errors.push(code);
        }
    }
    assert!(errors.is_empty(), "{errors:?}");
    let next = engine.poll_timeout().expect("a heartbeat");
    assert_eq!(
        next,
        at + 5 + 1_000,
        "answered: the next beat counts from it"
    );
}

#[test]
fn hocuspocus_without_sync_status_for_the_probe_is_probed_with_sync_step1() {
    let (mut engine, mut replica, conn) = hocuspocus_link();
    sent(&mut engine);
    answer_handshake(&mut engine, &mut replica, conn);
    let at = engine.poll_timeout().expect("a heartbeat");
    engine.handle_timeout(at, &replica);
    assert_eq!(sent(&mut engine), [SYNC_STEP1]);
}

#[test]
fn a_write_refused_on_a_read_only_hocuspocus_connection_asks_for_no_probes() {
    let (mut engine, mut replica, conn) = hocuspocus_link();
    engine.handle_frame(
        conn,
        &hocuspocus_frame(&SYNC_STATUS_REFUSED),
        20,
        &mut replica,
    );
    let step1 = protocol::sync_step1(&yrs::StateVector::default());
    engine.handle_frame(conn, &hocuspocus_frame(&step1), 25, &mut replica);
    answer_handshake(&mut engine, &mut replica, conn);
    engine.handle_frame(
        conn,
        &hocuspocus_frame(&SYNC_STATUS_REFUSED),
        31,
        &mut replica,
    );
    let fields = yreplica::replica::value::fields_from_json(r#"{"v":1}"#, || "t".into()).unwrap();
    replica.upsert("items", "a", fields).unwrap();
    for update in replica.take_local_updates() {
        engine.local_update(update, 40, &replica);
    }
    engine.handle_frame(
        conn,
        &hocuspocus_frame(&SYNC_STATUS_REFUSED),
        45,
        &mut replica,
    );
    // the server answers whatever the replica sends (a read-only connection refuses even an
    // empty update): nothing makes the replica send more
    let refused = hocuspocus_frame(&SYNC_STATUS_REFUSED);
    sent(&mut engine);
    for at in [46, 47] {
        engine.handle_frame(conn, &refused, at, &mut replica);
    }
    let mut probes = 0;
    for at in 50..60 {
        let out = sent(&mut engine);
        probes += out.len();
        for _ in out {
            engine.handle_frame(conn, &refused, at, &mut replica);
        }
    }
    assert_eq!(probes, 0);
}
