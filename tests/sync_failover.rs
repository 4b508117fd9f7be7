//! The sync engine against simulated servers and a virtual clock (no sleeping).
mod common;

use common::sim::{Sim, LATENCY};
use yreplica::sync::Output;

const HB: u64 = 1000;

fn sim(servers: usize) -> Sim {
    Sim::new(servers, |c| {
        c.heartbeat_interval_ms = HB as f64;
        c.missed_heartbeats = 2.0;
        c.connect_timeout_ms = 3000.0;
        c.failback_after_ms = 10_000.0;
    })
}

#[test]
fn connects_syncs_and_goes_online_in_order() {
    let mut s = sim(3);
    s.start();
    s.advance(100);
    let states: Vec<String> = s.statuses().into_iter().map(|(_, c, _)| c).collect();
    assert_eq!(states, ["connecting", "syncing", "online"]);
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert_eq!(s.connects()[0].1, "ws://127.0.0.1:9000/room");
    let eps = s.engine.endpoints();
    assert!(eps[0].active && eps[0].state.as_str() == "up" && eps[0].rtt_ms.is_some());
    assert_eq!(eps[1].state.as_str(), "unknown");
}

#[test]
fn writes_are_sent_and_acknowledged() {
    let mut s = sim(2);
    s.start();
    s.advance(100);
    s.write("a", 1);
    assert_eq!(s.engine.status().pending, 1);
    s.flush(1, 5000);
    s.advance(100);
    assert!(s.server_has(0, "a"));
    assert_eq!(s.engine.status().pending, 0);
    assert!(s
        .outputs
        .iter()
        .any(|(_, o)| *o == Output::FlushResolved { id: 1 }));
}

#[test]
fn offline_writes_reach_the_server_in_the_handshake() {
    let mut s = sim(1);
    s.write("early", 1);
    s.write("early2", 2);
    assert_eq!(s.engine.status().pending, 2);
    s.start();
    s.advance(200);
    assert!(s.server_has(0, "early") && s.server_has(0, "early2"));
    assert_eq!(
        s.engine.status().pending,
        0,
        "the post-handshake probe acknowledges them"
    );
}

#[test]
fn a_frozen_server_is_detected_within_the_bound_and_nothing_is_lost() {
    let mut s = sim(3);
    s.start();
    s.advance(2_000);
    s.write("before", 1);
    s.advance(50);
    let frozen_at = s.now;
    let last_message = s.now; // the echo of "before" was its last message
    s.freeze(0);
    // keep writing while the server is frozen
    for i in 0..20 {
        s.write(&format!("w{i}"), i);
        s.advance(200);
    }
    let (t, from, to, reason) = s.failovers()[0].clone();
    assert_eq!(
        (from.as_str(), to.as_str(), reason),
        (s.url(0).as_str(), s.url(1).as_str(), "heartbeat")
    );
    assert!(
        t - last_message <= 3 * HB + LATENCY,
        "detected after {} ms",
        t - frozen_at
    );
    assert_eq!(s.online_at(), Some(s.url(1)));
    for i in 0..20 {
        assert!(
            s.server_has(1, &format!("w{i}")),
            "w{i} reached the new server"
        );
    }
    assert!(s.server_has(1, "before"));
    s.advance(100);
    assert_eq!(
        s.engine.status().pending,
        0,
        "acknowledged by the new server"
    );
}

#[test]
fn connect_timeout_moves_on() {
    let mut s = sim(2);
    s.freeze(0);
    s.start();
    s.advance(3_000 + 100);
    assert_eq!(s.failovers()[0].3, "connect-timeout");
    assert_eq!(s.failovers()[0].0, 1_000 + 3_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn rounds_try_every_endpoint_then_back_off_with_bounded_jitter() {
    let mut s = Sim::new(3, |c| {
        c.backoff.initial_ms = 250.0;
        c.backoff.max_ms = 2_000.0;
    });
    for i in 0..3 {
        s.kill(i);
    }
    s.start();
    s.advance(20_000);
    let connects = s.connects();
    // each round tries 0, 1, 2 in order
    for round in connects.chunks(3).filter(|c| c.len() == 3) {
        let ports: Vec<&str> = round.iter().map(|(_, u)| &u[15..19]).collect();
        assert_eq!(ports, ["9000", "9001", "9002"]);
    }
    // the wait between rounds doubles from 250 ms, capped at 2 s, with jitter in [base/2, base]
    let round_starts: Vec<u64> = connects.iter().step_by(3).map(|(t, _)| *t).collect();
    let round_ends: Vec<u64> = connects
        .iter()
        .skip(2)
        .step_by(3)
        .map(|(t, _)| *t + LATENCY)
        .collect();
    let mut base = 250;
    for (end, next_start) in round_ends.iter().zip(round_starts.iter().skip(1)) {
        let wait = next_start - end;
        assert!(
            wait >= base / 2 && wait <= base,
            "wait {wait} outside [{}, {base}]",
            base / 2
        );
        base = (base * 2).min(2_000);
    }
    assert!(
        round_starts.len() >= 8,
        "kept trying: {} rounds",
        round_starts.len()
    );
    let statuses: Vec<String> = s.statuses().into_iter().map(|(_, c, _)| c).collect();
    assert!(statuses.contains(&"offline".to_string()));
    // a server coming back is found by the next round
    s.restart(2);
    s.advance(5_000);
    assert_eq!(s.online_at(), Some(s.url(2)));
}

#[test]
fn fails_back_only_after_the_hold_down() {
    let mut s = sim(2);
    s.start();
    s.advance(100);
    s.kill(0);
    s.advance(1_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
    s.restart(0);
    let restarted = s.now;
    s.write("while-on-1", 1);
    s.advance(30_000);
    let failbacks: Vec<_> = s
        .failovers()
        .into_iter()
        .filter(|f| f.3 == "failback")
        .collect();
    assert_eq!(failbacks.len(), 1);
    let (t, from, to, _) = &failbacks[0];
    assert_eq!((from, to), (&s.url(1), &s.url(0)));
    assert!(
        *t - restarted >= 10_000,
        "failback after {} ms",
        t - restarted
    );
    assert!(
        *t - restarted <= 10_000 + 2 * HB + 3_000 + 100,
        "failback after {} ms",
        t - restarted
    );
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert!(
        s.server_has(0, "while-on-1"),
        "the handshake brought server 0 up to date"
    );
}

#[test]
fn no_flapping_against_a_server_that_answers_every_other_probe() {
    let mut s = sim(2);
    s.start();
    s.advance(100);
    s.kill(0);
    s.advance(1_000);
    s.restart(0);
    s.servers[0].flaky = true;
    s.advance(60_000);
    assert!(
        s.failovers().iter().all(|f| f.3 != "failback"),
        "{:?}",
        s.failovers()
    );
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn manual_failover_switch_and_pin() {
    let mut s = sim(3);
    s.start();
    s.advance(100);
    s.failover();
    s.advance(100);
    assert_eq!(
        s.failovers().last().map(|f| (f.2.clone(), f.3)),
        Some((s.url(1), "manual"))
    );
    assert_eq!(s.online_at(), Some(s.url(1)));

    s.switch_to(2);
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(2)));
    assert_eq!(s.engine.pinned(), Some(s.url(2).as_str()));
    assert!(s.engine.switch_to("ws://elsewhere", s.now).is_err());
    // pinned: no failback however long server 0 is healthy
    s.advance(60_000);
    assert_eq!(s.online_at(), Some(s.url(2)));
    // unpinned: failback after the hold-down
    s.unpin();
    s.advance(20_000);
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert_eq!(s.failovers().last().map(|f| f.3), Some("failback"));
}

#[test]
fn a_pinned_endpoint_that_dies_is_retried_not_left() {
    let mut s = sim(2);
    s.start();
    s.advance(100);
    s.switch_to(1);
    s.advance(100);
    s.kill(1);
    s.advance(5_000);
    assert!(s
        .connects()
        .iter()
        .skip(2)
        .all(|(_, u)| u.starts_with(&s.url(1))));
    s.restart(1);
    s.advance(15_000);
    assert_eq!(s.online_at(), Some(s.url(1)));
}

#[test]
fn flush_resolves_in_order_and_times_out_against_a_frozen_server() {
    let mut s = sim(1);
    s.start();
    s.advance(100);
    s.write("a", 1);
    s.flush(1, 5_000);
    s.write("b", 2);
    s.flush(2, 5_000);
    s.advance(100);
    let resolved: Vec<u64> = s
        .outputs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::FlushResolved { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(resolved, [1, 2]);

    s.freeze(0);
    s.write("c", 3);
    s.flush(3, 1_500);
    let called = s.now;
    s.advance(2_000);
    let timed_out: Vec<(u64, Output)> = s
        .outputs
        .iter()
        .filter(|(_, o)| *o == Output::FlushTimedOut { id: 3 })
        .cloned()
        .collect();
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0].0, called + 1_500);
}

#[test]
fn permission_denied_and_garbage_mark_the_endpoint_down_and_move_on() {
    use yrs::sync::Message;
    let mut s = sim(2);
    s.start();
    s.advance(100);
    let denied = common::sim::encode_message(Message::Auth(Some("no token".into())));
    let conn = s.active_conn();
    s.inject(conn, &denied);
    let errors = s.errors();
    assert!(
        errors[0].starts_with("PERMISSION_DENIED") && errors[0].contains("no token"),
        "{errors:?}"
    );
    assert_eq!(s.engine.endpoints()[0].state.as_str(), "down");
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(1)));
    assert_eq!(s.failovers()[0].3, "error");

    let mut t = sim(2);
    t.start();
    t.advance(100);
    let conn = t.active_conn();
    t.inject(conn, &[0, 9, 200, 200, 200]);
    assert!(
        t.errors()[0].starts_with("PROTOCOL_ERROR"),
        "{:?}",
        t.errors()
    );
    t.advance(100);
    assert_eq!(t.failovers()[0].3, "error");
    assert_eq!(t.online_at(), Some(t.url(1)));
    assert_eq!(t.engine.endpoints()[0].failures, 1);
}

#[test]
fn late_events_of_a_replaced_link_are_ignored() {
    let mut s = sim(2);
    s.start();
    s.advance(100);
    let old = s.active_conn();
    s.failover();
    s.advance(100);
    let before = s.engine.status().clone();
    let outputs = s.outputs.len();
    let update = common::sim::encode_message(yrs::sync::Message::Sync(
        yrs::sync::SyncMessage::Update(vec![0, 0]),
    ));
    s.inject(old, &update);
    s.engine.handle_closed(old, s.now);
    s.engine.handle_open(old, s.now, &s.replica);
    assert_eq!(s.engine.status(), &before);
    assert!(s.engine.poll_output().is_none());
    assert_eq!(s.outputs.len(), outputs);
}

#[test]
fn a_stopped_engine_has_no_deadlines_and_opens_nothing() {
    let mut s = sim(2);
    s.start();
    s.advance(100);
    s.write("a", 1);
    s.flush(1, 60_000);
    s.set_presence(Some(r#"{"name":"a"}"#));
    s.engine.stop();
    s.drain_outputs();
    // a deadline after stop would make a driver re-arm its timer forever
    assert_eq!(s.engine.poll_timeout(), None);
    let connects = s.connects().len();
    let url = s.url(1);
    let now = s.now;
    assert!(s.engine.switch_to(&url, now).is_ok());
    s.engine.start(now);
    s.drain_outputs();
    assert_eq!(s.connects().len(), connects, "nothing connects after stop");
}

#[test]
fn start_during_a_backoff_opens_no_second_link() {
    let mut s = sim(1);
    s.kill(0);
    s.start();
    // the only endpoint refuses: the round fails and a retry is armed
    s.advance(500);
    let connects = s.connects().len();
    let now = s.now;
    s.engine.start(now);
    s.drain_outputs();
    assert_eq!(
        s.connects().len(),
        connects,
        "the armed retry connects, not start"
    );
}
