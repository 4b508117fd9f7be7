//! The replication set (`servers` > 1, `writeConcern`) against simulated servers and a virtual
//! clock: standbys kept in sync, acknowledgements counted per server, warm promotion,
//! recruitment, failback.
mod common;

use common::sim::{Sim, LATENCY};
use yreplica::sync::{protocol, Output, ServerRole};
use yrs::sync::Message;
use yrs::updates::encoder::Encode;

const HB: u64 = 1000;

fn sim(endpoints: usize, servers: u32, write_concern: u32) -> Sim {
    Sim::new(endpoints, |c| {
        c.heartbeat_interval_ms = HB as f64;
        c.missed_heartbeats = 2.0;
        c.connect_timeout_ms = 3000.0;
        c.failback_after_ms = 10_000.0;
        c.servers = f64::from(servers);
        c.write_concern = yreplica::config::WriteConcern::Count(f64::from(write_concern));
    })
}

fn roles(s: &Sim) -> Vec<Option<ServerRole>> {
    s.engine.endpoints().iter().map(|e| e.role).collect()
}

const PRIMARY: Option<ServerRole> = Some(ServerRole::Primary);
const STANDBY: Option<ServerRole> = Some(ServerRole::Standby);

#[test]
fn one_server_keeps_one_link_as_before() {
    let mut s = sim(3, 1, 1);
    s.start();
    s.advance(100);
    assert_eq!(s.open_servers(), [0]);
    assert_eq!(roles(&s), [PRIMARY, None, None]);
    assert_eq!(s.engine.status().servers, 1);
}

#[test]
fn a_standby_is_kept_in_sync_and_gets_every_write() {
    let mut s = sim(3, 2, 1);
    s.write("offline", 1);
    s.start();
    s.advance(100);
    assert_eq!(s.open_servers(), [0, 1]);
    assert_eq!(roles(&s), [PRIMARY, STANDBY, None]);
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert_eq!(s.engine.status().servers, 2);
    s.write("online", 2);
    s.advance(100);
    for id in ["offline", "online"] {
        assert!(s.server_has(0, id) && s.server_has(1, id), "{id} on both");
        assert!(!s.server_has(2, id), "{id} not on the third");
    }
    assert_eq!(s.engine.status().pending, 0);
}

#[test]
fn a_write_concern_of_two_waits_for_the_second_server() {
    let mut s = sim(2, 2, 2);
    s.start();
    s.advance(100);
    s.kill(1);
    s.advance(100);
    assert_eq!(s.engine.status().servers, 1);
    s.write("a", 1);
    s.flush(1, 1_500);
    s.flush_on(2, 1_500, 1);
    s.advance(100);
    assert_eq!(s.engine.status().pending, 1, "one server is not two");
    assert_eq!(s.flush_outcomes(), [(2, "resolved")]);
    s.advance(1_500);
    assert_eq!(s.flush_outcomes(), [(2, "resolved"), (1, "timed out")]);
    // the second server comes back: it is recruited again after its pause
    s.restart(1);
    s.flush(3, 5_000);
    s.advance(3_000);
    assert!(s.server_has(1, "a"), "the handshake brought it the write");
    assert_eq!(s.engine.status().servers, 2);
    assert_eq!(s.engine.status().pending, 0);
    assert_eq!(s.flush_outcomes().last(), Some(&(3, "resolved")));
}

#[test]
fn a_frozen_primary_hands_over_to_the_standby_at_once_and_a_new_one_is_recruited() {
    let mut s = sim(3, 2, 1);
    s.start();
    s.advance(2_000);
    s.write("before", 1);
    s.advance(50);
    let last_message = s.now;
    s.freeze(0);
    for i in 0..20 {
        s.write(&format!("w{i}"), i);
        s.advance(200);
    }
    let (t, from, to, reason) = s.failovers()[0].clone();
    assert_eq!(
        (from.as_str(), to.as_str(), reason),
        (s.url(0).as_str(), s.url(1).as_str(), "heartbeat")
    );
    assert_eq!(s.warm_failovers(), [true]);
    assert!(
        t - last_message <= 3 * HB + LATENCY,
        "detected after {} ms",
        t - last_message
    );
    // online at the moment of detection: no handshake
    let online = s
        .statuses()
        .into_iter()
        .find(|(at, c, e)| *at >= t && c == "online" && e.as_deref() == Some(&s.url(1)))
        .map(|(at, _, _)| at);
    assert_eq!(online, Some(t));
    assert_eq!(roles(&s), [None, PRIMARY, STANDBY], "server 2 recruited");
    s.advance(200);
    for i in 0..20 {
        let id = format!("w{i}");
        assert!(
            s.server_has(1, &id) && s.server_has(2, &id),
            "{id} on both live servers"
        );
    }
    assert!(
        s.server_has(2, "before"),
        "the new standby's handshake brought the rest"
    );
    assert_eq!(s.engine.status().pending, 0);
}

#[test]
fn a_failed_standby_is_replaced() {
    let mut s = sim(3, 2, 1);
    s.start();
    s.advance(100);
    s.kill(1);
    s.advance(100);
    assert_eq!(roles(&s), [PRIMARY, None, STANDBY]);
    assert!(s.failovers().is_empty(), "the primary stayed");
    assert_eq!(s.engine.endpoints()[1].state.as_str(), "down");
}

#[test]
fn presence_of_the_others_comes_through_the_primary_only() {
    let mut s = sim(2, 2, 1);
    s.start();
    s.advance(100);
    s.set_presence(Some(r#"{"name":"ada"}"#));
    s.advance(2_000);
    let standby = s
        .outputs
        .iter()
        .find_map(|(_, o)| match o {
            Output::Connect { conn, url } if url.starts_with(&s.url(1)) => Some(*conn),
            _ => None,
        })
        .expect("a standby link");
    // the standby's probes carry our state (one client, one state, wherever it is seen) …
    let sent_to_standby: Vec<String> = s
        .outputs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Send { conn, data } if *conn == standby => {
                match protocol::decode_frame(data).ok()?.pop()? {
                    Message::Awareness(u) => Some(u.clients.values().next()?.json.to_string()),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    assert!(
        sent_to_standby.iter().any(|j| j == r#"{"name":"ada"}"#),
        "{sent_to_standby:?}"
    );
    assert!(sent_to_standby
        .iter()
        .all(|j| j == "{}" || j == r#"{"name":"ada"}"#));
    // … but the others' states are taken from the primary only
    let awareness = Message::Awareness(yrs::sync::AwarenessUpdate {
        clients: std::collections::HashMap::from([(
            yrs::block::ClientID::new(42),
            yrs::sync::awareness::AwarenessUpdateEntry {
                clock: 1,
                json: std::sync::Arc::from(r#"{"name":"bob"}"#),
            },
        )]),
    });
    s.inject(standby, &awareness.encode_v1());
    assert_eq!(s.engine.presence_json(), "[]");
}

#[test]
fn manual_moves_promote_a_standby_and_keep_the_old_primary_as_one() {
    let mut s = sim(3, 2, 1);
    s.start();
    s.advance(100);
    s.failover();
    assert_eq!(s.warm_failovers(), [true]);
    assert_eq!(s.online_at(), Some(s.url(1)), "online at once");
    assert_eq!(roles(&s), [STANDBY, PRIMARY, None]);
    s.switch_to(2);
    s.advance(100);
    assert_eq!(s.warm_failovers(), [true, false], "endpoint 2 was cold");
    assert_eq!(
        roles(&s),
        [STANDBY, None, PRIMARY],
        "the lowest-priority standby went"
    );
    assert_eq!(s.open_servers(), [0, 2]);
}

#[test]
fn failback_promotes_the_recovered_endpoint_and_trims_the_set() {
    let mut s = sim(3, 2, 1);
    s.start();
    s.advance(100);
    s.kill(0);
    s.advance(100);
    assert_eq!(roles(&s), [None, PRIMARY, STANDBY]);
    s.restart(0);
    s.advance(30_000);
    let reasons: Vec<&str> = s.failovers().iter().map(|f| f.3).collect();
    assert_eq!(reasons, ["closed", "failback"]);
    assert_eq!(roles(&s), [PRIMARY, STANDBY, None]);
    assert_eq!(s.open_servers(), [0, 1]);
}

#[test]
fn a_standby_of_higher_priority_is_failed_back_to_after_the_hold_down() {
    let mut s = sim(3, 2, 1);
    s.start();
    s.advance(100);
    s.kill(0);
    s.kill(1);
    s.advance(100);
    // on 2; 0 and 1 come back, and 0 is recruited as the standby after its pause
    s.restart(0);
    s.restart(1);
    s.advance(3_000);
    assert_eq!(roles(&s)[2], PRIMARY);
    assert!(roles(&s).contains(&STANDBY));
    s.advance(15_000);
    let (_, from, _, reason) = s.failovers().last().cloned().expect("a failover");
    assert_eq!(
        (from, reason),
        (s.url(2), "failback"),
        "a standby of higher priority took over"
    );
    // and in the end the first endpoint is the primary again, the second its standby
    s.advance(30_000);
    assert_eq!(roles(&s), [PRIMARY, STANDBY, None]);
}

#[test]
fn a_pinned_replica_does_not_leave_its_endpoint_for_a_standby() {
    let mut s = sim(3, 2, 1);
    s.start();
    s.advance(100);
    s.switch_to(0);
    s.kill(0);
    s.advance(500);
    assert!(s.failovers().is_empty());
    s.restart(0);
    s.advance(15_000);
    assert!(s.failovers().is_empty());
    assert_eq!(s.online_at(), Some(s.url(0)));
}

#[test]
fn write_concern_all_counts_every_server_of_the_set() {
    let mut s = Sim::new(3, |c| {
        c.servers = 3.0;
        c.write_concern = yreplica::config::WriteConcern::Named("all".into());
    });
    s.start();
    s.advance(100);
    assert_eq!(s.engine.status().servers, 3);
    s.freeze(2);
    s.write("a", 1);
    s.advance(100);
    assert_eq!(s.engine.status().pending, 1);
    s.thaw(2);
    s.advance(100);
    assert_eq!(s.engine.status().pending, 0);
}
