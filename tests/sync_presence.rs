//! Presence over the awareness protocol, against simulated servers and a virtual clock.
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::sim::{encode_message, Sim};
use yreplica::sync::{protocol, Output};
use yrs::block::ClientID;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::Message;

fn awareness(client: u64, clock: u32, json: &str) -> Vec<u8> {
    let entry = AwarenessUpdateEntry {
        clock,
        json: Arc::from(json),
    };
    encode_message(Message::Awareness(AwarenessUpdate {
        clients: HashMap::from([(ClientID::new(client), entry)]),
    }))
}

fn awareness_sent(s: &Sim) -> usize {
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

fn presence_events(s: &Sim) -> usize {
    s.outputs
        .iter()
        .filter(|(_, o)| *o == Output::Presence)
        .count()
}

#[test]
fn our_state_is_sent_after_the_handshake_renewed_and_its_echo_ignored() {
    let mut s = Sim::new(1, |_| {});
    s.set_presence(Some(r#"{"name":"ada"}"#));
    assert_eq!(awareness_sent(&s), 0, "nothing to send it on yet");
    s.start();
    s.advance(100);
    assert_eq!(awareness_sent(&s), 1);
    s.advance(100);
    assert_eq!(
        s.engine.presence_json(),
        "[]",
        "the server's echo of our own state is not a peer"
    );
    assert_eq!(presence_events(&s), 0);
    s.advance(31_000);
    assert_eq!(awareness_sent(&s), 3, "renewed every 15 s");
}

#[test]
fn others_appear_stay_while_renewed_and_expire_after_30_s() {
    let mut s = Sim::new(1, |_| {});
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    s.inject(conn, &awareness(42, 1, r#"{"name":"bob"}"#));
    assert_eq!(
        s.engine.presence_json(),
        r#"[{"clientId":42,"state":{"name":"bob"}}]"#
    );
    assert_eq!(presence_events(&s), 1);
    for clock in 2..5 {
        s.advance(10_000);
        s.inject(conn, &awareness(42, clock, r#"{"name":"bob"}"#));
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
    s.inject(conn, &awareness(7, 5, r#"{"x":1}"#));
    s.inject(conn, &awareness(7, 4, r#"{"x":0}"#));
    assert!(s.engine.presence_json().contains(r#"{"x":1}"#));
    s.inject(conn, &awareness(7, 6, "null"));
    assert_eq!(s.engine.presence_json(), "[]");
    // a state that is not JSON never reaches the app
    s.inject(conn, &awareness(8, 1, "{not json"));
    assert_eq!(s.engine.presence_json(), "[]");
}

#[test]
fn peers_are_forgotten_when_the_link_is_left() {
    let mut s = Sim::new(2, |_| {});
    s.start();
    s.advance(100);
    let conn = s.active_conn();
    s.inject(conn, &awareness(42, 1, r#"{"name":"bob"}"#));
    s.failover();
    assert_eq!(s.engine.presence_json(), "[]");
    assert_eq!(presence_events(&s), 2);
}
