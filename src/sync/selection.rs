//! Which endpoint to use: the first in priority order that works, each tried once per round,
//! a jittered backoff between failed rounds, a pin (`switchTo`), and which higher-priority
//! endpoint to watch, with its hold-down, for failback; and which endpoints may be recruited as
//! standbys (`servers` > 1), with a pause after each failure. An operator directive reorders
//! the endpoints (a promoted one first) and takes drained ones out; "priority order" below is
//! that order. It decides; the engine opens and closes the links.

use super::types::Reason;
use crate::config::SyncConfig;

#[derive(Debug)]
pub(crate) struct Selection {
    backoff_initial: u64,
    backoff_max: u64,
    /// `failback`: whether a higher-priority endpoint is watched at all.
    failback: bool,
    /// `failbackAfterMs`: how long the watched endpoint must stay healthy.
    failback_after: u64,
    /// How long after a failed monitor link the next one may be tried.
    monitor_retry_delay: u64,

    pinned: Option<usize>,
    /// The endpoints tried in this round.
    tried: Vec<bool>,
    failed_rounds: u32,
    /// When the next round starts, after a failed one.
    retry_at: Option<u64>,
    /// The endpoint last connected to, and why it was left (for 'failover' events).
    last_endpoint: Option<usize>,
    leave_reason: Option<Reason>,
    /// Which higher-priority endpoint to watch next (modulo the active one's index).
    monitor_candidate: usize,
    monitor_retry_at: Option<u64>,
    /// Per endpoint: until when it is not recruited as a standby, after its link failed.
    standby_retry_at: Vec<Option<u64>>,
    /// The endpoints in priority order: their own, or a promoted one first.
    order: Vec<usize>,
    /// Per endpoint: drained by the operator directive, not to be used while it stands.
    drained: Vec<bool>,
    /// The backoff jitter's state.
    rng: u64,
}

impl Selection {
    /// `seed` drives the backoff jitter.
    pub fn new(config: &SyncConfig, seed: u64) -> Selection {
        let heartbeat = config.heartbeat_interval_ms as u64;
        let backoff_initial = config.backoff.initial_ms as u64;
        Selection {
            backoff_initial,
            backoff_max: config.backoff.max_ms as u64,
            failback: config.failback,
            failback_after: config.failback_after_ms as u64,
            monitor_retry_delay: heartbeat.max(backoff_initial),
            pinned: None,
            tried: vec![false; config.endpoints.len()],
            failed_rounds: 0,
            retry_at: None,
            last_endpoint: None,
            leave_reason: None,
            monitor_candidate: 0,
            monitor_retry_at: None,
            standby_retry_at: vec![None; config.endpoints.len()],
            order: (0..config.endpoints.len()).collect(),
            drained: vec![false; config.endpoints.len()],
            rng: seed | 1,
        }
    }

    pub fn pinned(&self) -> Option<usize> {
        self.pinned
    }

    /// Applies an operator directive: `promoted` first in the priority order, `drained`
    /// never used while it stands (a pin to a drained endpoint is dropped). `None` and no
    /// drain restore the endpoints' own order.
    pub fn direct(&mut self, promoted: Option<usize>, drained: Vec<bool>) {
        let n = self.drained.len();
        self.order = promoted
            .into_iter()
            .chain((0..n).filter(|&e| Some(e) != promoted))
            .collect();
        self.drained = drained;
        self.drained.resize(n, false);
        if self.pinned.is_some_and(|p| self.drained[p]) {
            self.pinned = None;
        }
        self.monitor_candidate = 0;
    }

    /// Whether `endpoint` may be used (not drained).
    pub fn usable(&self, endpoint: usize) -> bool {
        !self.drained[endpoint]
    }

    /// Where `endpoint` stands in the priority order (0 first).
    pub fn rank(&self, endpoint: usize) -> usize {
        self.order
            .iter()
            .position(|&e| e == endpoint)
            .unwrap_or(usize::MAX)
    }

    /// The endpoint to use first: the pinned one, else the first usable in priority order.
    pub fn first(&self) -> usize {
        self.pinned
            .or_else(|| self.order.iter().copied().find(|&e| self.usable(e)))
            .unwrap_or(0)
    }

    /// Whether the replica returns to higher-priority endpoints (failback on, nothing pinned).
    pub fn fails_back(&self) -> bool {
        self.failback && self.pinned.is_none()
    }

    pub fn pin(&mut self, index: usize) {
        self.pinned = Some(index);
    }

    pub fn unpin(&mut self) {
        self.pinned = None;
    }

    pub fn last_endpoint(&self) -> Option<usize> {
        self.last_endpoint
    }

    /// Connecting to `index`: the move to report ('failover' from, reason), if this leaves
    /// another endpoint.
    pub fn arrive(&mut self, index: usize) -> Option<(usize, Reason)> {
        let moved = match (self.last_endpoint, self.leave_reason) {
            (Some(from), Some(reason)) if from != index => Some((from, reason)),
            _ => None,
        };
        self.leave_reason = None;
        self.last_endpoint = Some(index);
        moved
    }

    /// The active link to `endpoint` failed for `reason`: it counts as tried in this round.
    pub fn failed(&mut self, endpoint: usize, reason: Reason) {
        self.tried[endpoint] = true;
        self.leave_reason = Some(reason);
    }

    /// The endpoint to try next in this round (when pinned, only the pinned one), if any.
    pub fn next_untried(&self) -> Option<usize> {
        match self.pinned {
            Some(pinned) => (!self.tried[pinned]).then_some(pinned),
            None => self
                .order
                .iter()
                .copied()
                .find(|&e| self.usable(e) && !self.tried[e]),
        }
    }

    /// Every endpoint of the round failed: the next round waits for the backoff.
    pub fn round_failed(&mut self, now: u64) {
        self.failed_rounds += 1;
        self.retry_at = Some(now.saturating_add(self.backoff_delay()));
    }

    /// When the next round starts, if one waits.
    pub fn retry_at(&self) -> Option<u64> {
        self.retry_at
    }

    /// The backoff is over: a new round starts; returns where (the pinned endpoint, or the
    /// first).
    pub fn retry(&mut self) -> usize {
        self.retry_at = None;
        self.new_round();
        self.first()
    }

    /// Leaving for `reason` by choice (manual moves, failback): no backoff, a new round.
    pub fn moving(&mut self, reason: Reason) {
        self.retry_at = None;
        self.leave_reason = Some(reason);
        self.new_round();
    }

    /// The active link synced: the endpoints work again, from the first round on.
    pub fn synced(&mut self) {
        self.failed_rounds = 0;
        self.new_round();
    }

    /// The server refused us: asking again at once would be refused again, so the backoff
    /// starts further along.
    pub fn denied(&mut self) {
        self.failed_rounds = self.failed_rounds.max(2);
    }

    /// Nothing more is to be tried (the engine stopped).
    pub fn stop(&mut self) {
        self.retry_at = None;
        self.monitor_retry_at = None;
    }

    fn new_round(&mut self) {
        self.tried.iter_mut().for_each(|t| *t = false);
    }

    /// The higher-priority endpoint to watch while `active` is in use, if failback wants one
    /// now (not when pinned, nor while waiting after a failed monitor link).
    pub fn monitor_target(&self, active: usize) -> Option<usize> {
        if !self.failback || self.pinned.is_some() || self.monitor_retry_at.is_some() {
            return None;
        }
        let higher: Vec<usize> = self
            .order
            .iter()
            .copied()
            .take_while(|&e| e != active)
            .filter(|&e| self.usable(e))
            .collect();
        (!higher.is_empty()).then(|| higher[self.monitor_candidate % higher.len()])
    }

    /// The monitor link to `endpoint` failed: the next one watches the endpoint after it,
    /// after a pause.
    pub fn monitor_failed(&mut self, endpoint: usize, now: u64) {
        self.monitor_candidate = self.rank(endpoint).saturating_add(1);
        self.monitor_retry_at = Some(now.saturating_add(self.monitor_retry_delay));
    }

    /// The monitor link was closed by choice: the next one starts from the first endpoint.
    pub fn monitor_dropped(&mut self) {
        self.monitor_retry_at = None;
        self.monitor_candidate = 0;
    }

    /// When a monitor link may be opened again, if it waits.
    pub fn monitor_retry_at(&self) -> Option<u64> {
        self.monitor_retry_at
    }

    /// The pause after a failed monitor link is over.
    pub fn monitor_retry(&mut self) {
        self.monitor_retry_at = None;
    }

    /// A link to `endpoint` failed: it is not recruited as a standby for a pause (as long as
    /// a failed monitor link waits).
    pub fn standby_failed(&mut self, endpoint: usize, now: u64) {
        self.standby_retry_at[endpoint] = Some(now.saturating_add(self.monitor_retry_delay));
    }

    /// The standby to recruit: the first endpoint in priority order that `taken` does not
    /// exclude and whose pause is over.
    pub fn standby_candidate(&self, taken: impl Fn(usize) -> bool, now: u64) -> Option<usize> {
        self.order.iter().copied().find(|&e| {
            self.usable(e) && !taken(e) && self.standby_retry_at[e].is_none_or(|at| now >= at)
        })
    }

    /// When the next endpoint that `taken` does not exclude may be recruited, if all of them
    /// wait.
    pub fn standby_retry_at(&self, taken: impl Fn(usize) -> bool) -> Option<u64> {
        (0..self.standby_retry_at.len())
            .filter(|&e| self.usable(e) && !taken(e))
            .map(|e| self.standby_retry_at[e])
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .min()
    }

    /// When a monitored endpoint healthy since `healthy_since` is failed back to.
    pub fn failback_at(&self, healthy_since: u64) -> u64 {
        healthy_since.saturating_add(self.failback_after)
    }

    /// Equal jitter: a delay in [base/2, base], base doubling per failed round up to the cap.
    fn backoff_delay(&mut self) -> u64 {
        let exponent = self.failed_rounds.saturating_sub(1).min(30);
        let base = self
            .backoff_initial
            .saturating_mul(1 << exponent)
            .min(self.backoff_max);
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let half = base / 2;
        half + random % (base - half + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(endpoints: usize) -> Selection {
        let config = SyncConfig {
            endpoints: (0..endpoints).map(|i| format!("ws://e{i}")).collect(),
            ..SyncConfig::default()
        };
        Selection::new(&config, 7)
    }

    #[test]
    fn a_round_tries_each_endpoint_once_then_backs_off() {
        let mut s = selection(3);
        s.failed(0, Reason::Closed);
        assert_eq!(s.next_untried(), Some(1));
        s.failed(1, Reason::Heartbeat);
        s.failed(2, Reason::Closed);
        assert_eq!(s.next_untried(), None);
        s.round_failed(1_000);
        let at = s.retry_at().expect("a retry");
        assert!((1_125..=1_250).contains(&at), "{at}"); // initialMs 250: [125, 250]
        assert_eq!(s.retry(), 0);
        assert_eq!((s.retry_at(), s.next_untried()), (None, Some(0)));
    }

    #[test]
    fn backoff_doubles_per_round_up_to_the_cap_and_saturates() {
        let mut s = selection(1);
        for round in 1..=40u32 {
            s.failed(0, Reason::Closed);
            s.round_failed(0);
            let base = (250u64 << (round - 1).min(30)).min(10_000);
            let delay = s.retry_at().expect("a retry");
            assert!((base / 2..=base).contains(&delay), "round {round}: {delay}");
            s.retry();
        }
        s.failed(0, Reason::Closed);
        s.round_failed(u64::MAX - 1);
        assert_eq!(s.retry_at(), Some(u64::MAX));
    }

    #[test]
    fn a_pin_is_the_only_endpoint_tried() {
        let mut s = selection(3);
        s.pin(2);
        s.failed(0, Reason::Manual);
        assert_eq!(s.next_untried(), Some(2));
        s.failed(2, Reason::Closed);
        assert_eq!(s.next_untried(), None);
        s.round_failed(0);
        assert_eq!(s.retry(), 2);
        assert_eq!(s.monitor_target(2), None, "no failback while pinned");
    }

    #[test]
    fn a_move_is_reported_once_and_only_between_endpoints() {
        let mut s = selection(2);
        assert_eq!(s.arrive(0), None);
        s.failed(0, Reason::Heartbeat);
        assert_eq!(s.arrive(1), Some((0, Reason::Heartbeat)));
        assert_eq!(s.arrive(1), None);
        s.moving(Reason::Manual);
        assert_eq!(s.arrive(1), None, "back to the same endpoint");
    }

    #[test]
    fn monitors_walk_the_higher_endpoints_with_a_pause_after_each_failure() {
        let mut s = selection(3);
        assert_eq!(s.monitor_target(0), None, "the first endpoint is in use");
        assert_eq!(s.monitor_target(2), Some(0));
        s.monitor_failed(0, 5_000);
        assert_eq!(s.monitor_target(2), None);
        assert_eq!(s.monitor_retry_at(), Some(6_000)); // max(heartbeat 1000, backoff 250)
        s.monitor_retry();
        assert_eq!(s.monitor_target(2), Some(1));
        s.monitor_failed(1, 7_000);
        s.monitor_retry();
        assert_eq!(s.monitor_target(2), Some(0), "wraps around");
        s.monitor_failed(0, 8_000);
        s.monitor_dropped();
        assert_eq!(s.monitor_target(2), Some(0));
        assert_eq!(s.failback_at(u64::MAX - 5), u64::MAX);
    }

    #[test]
    fn a_directive_reorders_and_drains() {
        let mut s = selection(3);
        s.direct(Some(2), vec![true, false, false]);
        assert_eq!((s.first(), s.rank(2), s.rank(0), s.rank(1)), (2, 0, 1, 2));
        assert_eq!(s.next_untried(), Some(2));
        s.failed(2, Reason::Closed);
        assert_eq!(s.next_untried(), Some(1), "0 is drained");
        assert_eq!(s.monitor_target(1), Some(2), "the promoted one is watched");
        assert_eq!(s.standby_candidate(|e| e == 2, 0), Some(1));
        s.pin(0);
        s.direct(None, vec![true, false, false]);
        assert_eq!(s.pinned(), None, "a pin to a drained endpoint is dropped");
        s.direct(None, vec![false; 3]);
        assert_eq!((s.first(), s.monitor_target(2)), (0, Some(0)));
    }

    #[test]
    fn a_denial_starts_the_backoff_further_along() {
        let mut s = selection(1);
        s.denied();
        s.failed(0, Reason::Error);
        s.round_failed(0);
        let delay = s.retry_at().expect("a retry");
        assert!((500..=1_000).contains(&delay), "{delay}"); // third round: base 1000
    }

    #[test]
    fn standbys_are_recruited_in_priority_order_with_a_pause_after_a_failure() {
        let mut s = selection(3);
        let primary = |e: usize| e == 0;
        assert_eq!(s.standby_candidate(primary, 0), Some(1));
        s.standby_failed(1, 0);
        assert_eq!(s.standby_candidate(primary, 10), Some(2));
        assert_eq!(
            s.standby_retry_at(primary),
            None,
            "endpoint 2 needs no wait"
        );
        s.standby_failed(2, 500);
        assert_eq!(s.standby_candidate(primary, 999), None);
        assert_eq!(s.standby_retry_at(primary), Some(1_000));
        assert_eq!(s.standby_candidate(primary, 1_000), Some(1));
    }
}
