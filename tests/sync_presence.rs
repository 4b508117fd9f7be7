//! Presence over the awareness protocol, against simulated servers and a virtual clock.
mod common;

use common::sim::{awareness_message, Sim};
use yreplica::sync::{protocol, Output};
use yrs::sync::Message;

/// The awareness states sent, in order, as JSON texts.
fn states_sent(s: &Sim) -> Vec<String> {
    s.outputs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Send { data, .. } => match protocol::decode_frame(data).ok()?.pop()? {
                Message::Awareness(u) => Some(u.clients.values().next()?.json.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn sent(s: &Sim, state: &str) -> usize {
    states_sent(s).iter().filter(|j| *j == state).count()
}

fn presence_events(s: &Sim) -> usize {
    s.outputs
        .iter()
        .filter(|(_, o)| *o == Output::Presence)
        .count()
}

#[test]
fn our_state_is_sent_on_connecting_renewed_and_its_echo_ignored() {
    let mut s = Sim::new(1, |_| {});
    s.set_presence(Some(r#"{"name":"ada"}"#));
    assert!(states_sent(&s).is_empty(), "nothing to send it on yet");
    s.start();
    s.advance(100);
    assert!(sent(&s, r#"{"name":"ada"}"#) >= 1);
    s.advance(100);
    assert_eq!(
        s.engine.presence_json(),
        "[]",
        "the server's echo of our own state is not a peer"
    );
    assert_eq!(presence_events(&s), 0);
    // a link that is never quiet needs no probes, and the state is still renewed every 15 s
    let conn = s.active_conn();
    let before = sent(&s, r#"{"name":"ada"}"#);
    for clock in 1..=62 {
        s.inject(conn, &awareness_message(42, clock, r#"{"name":"bob"}"#));
        s.advance(500);
    }
    assert_eq!(
        sent(&s, r#"{"name":"ada"}"#) - before,
        2,
        "{:?}",
        states_sent(&s)
    );
    assert!(states_sent(&s).iter().all(|j| j == r#"{"name":"ada"}"#));
}

#[test]
fn without_presence_the_probes_carry_the_empty_state_and_empty_states_are_no_peers() {
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(10_000);
    let states = states_sent(&s);
    assert!(states.len() >= 5, "idle: a probe per heartbeat, {states:?}");
    assert!(states.iter().all(|j| j == "{}"), "{states:?}");
    assert_eq!(
        s.servers[0].seen_step1, 1,
        "no SyncStep1 but the handshake's"
    );
    let conn = s.active_conn();
    s.inject(conn, &awareness_message(42, 1, "{}"));
    s.inject(conn, &awareness_message(43, 1, " { } "));
    assert_eq!(s.engine.presence_json(), "[]");
    s.inject(conn, &awareness_message(42, 2, r#"{"name":"bob"}"#));
    assert_eq!(presence_events(&s), 1);
    s.inject(conn, &awareness_message(42, 3, "{}"));
    assert_eq!(s.engine.presence_json(), "[]", "emptied: gone");
    assert_eq!(presence_events(&s), 2);
    // cleared after being set: the probes carry the empty state again
    s.set_presence(Some("[1]"));
    s.set_presence(None);
    s.advance(3_000);
    let last = states_sent(&s).pop();
    assert_eq!(last.as_deref(), Some("{}"));
}

#[test]
fn others_appear_stay_while_renewed_and_expire_after_30_s() {
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    s.inject(conn, &awareness_message(42, 1, r#"{"name":"bob"}"#));
    assert_eq!(
        s.engine.presence_json(),
        r#"[{"clientId":42,"state":{"name":"bob"}}]"#
    );
    assert_eq!(presence_events(&s), 1);
    for clock in 2..5 {
        s.advance(10_000);
        s.inject(conn, &awareness_message(42, clock, r#"{"name":"bob"}"#));
    }
    assert_eq!(
        presence_events(&s),
        1,
        "renewals with the same state are not changes"
    );
    s.advance(29_000);
    assert_ne!(s.engine.presence_json(), "[]");
    s.advance(2_000);
    assert_eq!(
        s.engine.presence_json(),
        "[]",
        "dropped 30 s after the last renewal"
    );
    assert_eq!(presence_events(&s), 2);
    // an old clock does not bring it back; a null state removes at once
    s.inject(conn, &awareness_message(7, 5, r#"{"x":1}"#));
    s.inject(conn, &awareness_message(7, 4, r#"{"x":0}"#));
    assert!(s.engine.presence_json().contains(r#"{"x":1}"#));
    s.inject(conn, &awareness_message(7, 6, "null"));
    assert_eq!(s.engine.presence_json(), "[]");
    // a state that is not JSON never reaches the app
    s.inject(conn, &awareness_message(8, 1, "{not json"));
    assert_eq!(s.engine.presence_json(), "[]");
}

#[test]
fn peers_are_forgotten_when_the_link_is_left() {
    let mut s = Sim::new(2, |_| {});
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    s.inject(conn, &awareness_message(42, 1, r#"{"name":"bob"}"#));
    s.failover();
    assert_eq!(s.engine.presence_json(), "[]");
    assert_eq!(presence_events(&s), 2);
}
