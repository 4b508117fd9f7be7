//! The operator directive as the sync engine takes it, against simulated servers and a virtual
//! clock: drains and promotions move the replica at once ('operator'), a cleared or expired
//! directive lets failback return after the hold-down, and nothing outside the endpoints is
//! ever used.
mod common;

use common::sim::Sim;
use yreplica::sync::Directive;

const HOLD_DOWN: u64 = 10_000;

fn sim(endpoints: usize, servers: u32) -> Sim {
    Sim::new(endpoints, |c| {
        c.heartbeat_interval_ms = 1000.0;
        c.missed_heartbeats = 2.0;
        c.failback_after_ms = HOLD_DOWN as f64;
        c.servers = f64::from(servers);
    })
}

fn direct(s: &mut Sim, primary: Option<usize>, drain: &[usize], expires_at: Option<u64>) {
    let directive = Directive {
        primary: primary.map(|i| s.url(i)),
        drain: drain.iter().map(|&i| s.url(i)).collect(),
        expires_at,
    };
    s.engine.set_directive(Some(directive), s.now);
    s.drain_outputs();
}

fn clear(s: &mut Sim) {
    s.engine.set_directive(None, s.now);
    s.drain_outputs();
}

fn reasons(s: &Sim) -> Vec<&'static str> {
    s.failovers().iter().map(|f| f.3).collect()
}

#[test]
fn a_drain_moves_the_replica_at_once_and_a_restore_brings_it_back_after_the_hold_down() {
    let mut s = sim(3, 1);
    s.start();
    s.advance(100);
    direct(&mut s, None, &[0], None);
    assert_eq!(reasons(&s), ["operator"]);
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(1)));
    // while drained, endpoint 0 is neither watched nor returned to, whatever happens
    s.kill(1);
    s.advance(30_000);
    assert_eq!(
        s.online_at(),
        Some(s.url(2)),
        "on to 2, never back to the drained 0"
    );
    assert!(
        s.connects()
            .iter()
            .filter(|(_, url)| url.starts_with(&s.url(0)))
            .count()
            == 1
    );
    s.restart(1);
    let cleared = s.now;
    clear(&mut s);
    s.advance(HOLD_DOWN - 100);
    assert_eq!(
        s.online_at(),
        Some(s.url(2)),
        "no stampede: the hold-down first"
    );
    s.advance(5_000);
    assert_eq!(s.online_at(), Some(s.url(0)));
    let (t, _, _, reason) = s.failovers().last().cloned().expect("failback");
    assert_eq!(reason, "failback");
    assert!(t - cleared >= HOLD_DOWN);
}

#[test]
fn a_promotion_moves_the_replica_to_the_promoted_endpoint() {
    let mut s = sim(3, 1);
    s.start();
    s.advance(100);
    direct(&mut s, Some(2), &[], None);
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(2)));
    assert_eq!(reasons(&s), ["operator"]);
    // the promoted endpoint fails: the others in order; it is returned to once healthy
    s.kill(2);
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(0)));
    s.restart(2);
    s.advance(HOLD_DOWN + 5_000);
    assert_eq!(
        s.online_at(),
        Some(s.url(2)),
        "failback goes to the promoted one"
    );
}

#[test]
fn unknown_urls_are_reported_once_and_ignored() {
    let mut s = sim(2, 1);
    s.start();
    s.advance(100);
    let directive = Directive {
        primary: Some("ws://elsewhere:1".into()),
        drain: vec![],
        expires_at: None,
    };
    for _ in 0..3 {
        s.engine.set_directive(Some(directive.clone()), s.now);
        s.drain_outputs();
    }
    s.advance(100);
    let errors = s.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("DIRECTIVE_IGNORED: the operator directive names ws://elsewhere:1")
    );
    assert!(s.failovers().is_empty());
    assert!(s
        .connects()
        .iter()
        .all(|(_, url)| !url.contains("elsewhere")));
}

#[test]
fn a_drain_of_every_endpoint_is_ignored() {
    let mut s = sim(1, 1);
    s.start();
    s.advance(100);
    direct(&mut s, None, &[0], None);
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(0)));
    assert!(s.errors()[0].contains("drains every endpoint"));
}

#[test]
fn an_expired_directive_lets_the_replica_return() {
    let mut s = sim(2, 1);
    s.start();
    s.advance(100);
    let expires = s.now + 5_000;
    direct(&mut s, None, &[0], Some(expires));
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(1)));
    s.advance(4_900 + HOLD_DOWN + 5_000);
    assert_eq!(s.online_at(), Some(s.url(0)));
    // one that has expired already does nothing
    direct(&mut s, None, &[0], Some(expires));
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(0)));
}

#[test]
fn a_drained_standby_is_replaced() {
    let mut s = sim(3, 2);
    s.start();
    s.advance(100);
    assert_eq!(s.open_servers(), [0, 1]);
    direct(&mut s, None, &[1], None);
    s.advance(100);
    assert_eq!(s.open_servers(), [0, 2]);
    assert!(s.failovers().is_empty(), "the primary stays");
    // a directive replaces the last: draining the primary too promotes the standby at once
    direct(&mut s, None, &[0, 1], None);
    s.advance(100);
    assert_eq!(s.online_at(), Some(s.url(2)));
    assert_eq!(s.warm_failovers(), [true]);
    assert_eq!(
        s.open_servers(),
        [2],
        "the drained primary is closed, not kept as a standby"
    );
}
