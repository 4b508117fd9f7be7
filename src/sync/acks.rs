//! Acknowledgements: how many local updates were made, how many of them each server has
//! proven it applied (`pending` counts those not yet on `writeConcern` servers), the serial
//! numbers of the probes whose answers prove it, and the flushes waiting for that proof, each
//! with its deadline and the number of servers it needs.

#[derive(Debug)]
struct Flush {
    id: u64,
    /// Every local update up to this sequence number must be acknowledged...
    target: u64,
    /// ...by the answer to a probe sent at or after the call...
    min_serial: u64,
    /// ...from this many servers.
    concern: u32,
    deadline: u64,
}

/// What one server (an endpoint) has proven.
#[derive(Debug, Default, Clone, Copy)]
struct Server {
    /// Every local update up to this one is applied there.
    acked: u64,
    /// The highest probe serial it answered.
    answered: u64,
}

#[derive(Debug)]
pub(crate) struct Acks {
    /// Sequence number of the last local update.
    local_seq: u64,
    /// Per endpoint, in priority order.
    servers: Vec<Server>,
    /// `writeConcern`: how many servers make an update acknowledged for `pending`.
    concern: u32,
    /// Serial number of the last probe sent (on any link).
    probe_serial: u64,
    flushes: Vec<Flush>,
}

impl Acks {
    /// Acknowledgements from `endpoints` servers, `concern` of which make an update count as
    /// acknowledged.
    pub fn new(endpoints: usize, concern: u32) -> Acks {
        Acks {
            local_seq: 0,
            servers: vec![Server::default(); endpoints],
            concern: concern.max(1),
            probe_serial: 0,
            flushes: Vec::new(),
        }
    }

    /// A local update was made: its sequence number.
    pub fn local_update(&mut self) -> u64 {
        self.local_seq += 1;
        self.local_seq
    }

    pub fn local_seq(&self) -> u64 {
        self.local_seq
    }

    /// Every local update up to this one is proven applied on `endpoint`.
    pub fn acked_by(&self, endpoint: usize) -> u64 {
        self.servers.get(endpoint).map_or(0, |s| s.acked)
    }

    /// Every local update up to this one is applied on `concern` servers at least: the
    /// `concern`-th highest acknowledgement.
    fn acked_on(&self, concern: u32) -> u64 {
        let mut acked: Vec<u64> = self.servers.iter().map(|s| s.acked).collect();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        acked.get(concern.max(1) as usize - 1).copied().unwrap_or(0)
    }

    /// Local updates not yet acknowledged by `writeConcern` servers.
    pub fn pending(&self) -> u64 {
        self.local_seq - self.acked_on(self.concern).min(self.local_seq)
    }

    /// The server at `endpoint` proved it applied every local update up to `covers`.
    pub fn acknowledge(&mut self, endpoint: usize, covers: u64) {
        if let Some(server) = self.servers.get_mut(endpoint) {
            server.acked = server.acked.max(covers);
        }
    }

    /// A probe goes out: its serial number.
    pub fn next_probe(&mut self) -> u64 {
        self.probe_serial += 1;
        self.probe_serial
    }

    pub fn probe_answered(&mut self, endpoint: usize, serial: u64) {
        if let Some(server) = self.servers.get_mut(endpoint) {
            server.answered = server.answered.max(serial);
        }
    }

    /// `flush(id)`: waits until every local update made so far is acknowledged by `concern`
    /// servers (None: `writeConcern`), each by its answer to a probe sent from now on, for
    /// `timeout_ms` at most.
    pub fn wait(&mut self, id: u64, timeout_ms: u64, concern: Option<u32>, now: u64) {
        self.flushes.push(Flush {
            id,
            target: self.local_seq,
            min_serial: self.probe_serial + 1,
            concern: concern.unwrap_or(self.concern).max(1),
            deadline: now.saturating_add(timeout_ms),
        });
    }

    /// Takes out the flushes now satisfied; returns their ids, in the order they were made.
    pub fn resolved(&mut self) -> Vec<u64> {
        let servers = std::mem::take(&mut self.servers);
        let done = self.take_flushes(|f| {
            let proven = servers
                .iter()
                .filter(|s| s.acked >= f.target && s.answered >= f.min_serial)
                .count();
            proven >= f.concern as usize
        });
        self.servers = servers;
        done
    }

    /// The server refused the update `covers` names: takes out the flushes that waited for
    /// it; returns their ids.
    pub fn rejected(&mut self, covers: u64) -> Vec<u64> {
        self.take_flushes(|f| f.target >= covers)
    }

    /// Each flush waiting, as (id, deadline), in the order they were made.
    pub fn deadlines(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.flushes.iter().map(|f| (f.id, f.deadline))
    }

    /// Takes out the first flush `id` whose deadline has passed; true if there was one.
    pub fn expire(&mut self, id: u64, now: u64) -> bool {
        let due = self
            .flushes
            .iter()
            .position(|f| f.id == id && now >= f.deadline);
        due.map(|i| self.flushes.remove(i)).is_some()
    }

    fn take_flushes(&mut self, done: impl Fn(&Flush) -> bool) -> Vec<u64> {
        let mut taken = Vec::new();
        self.flushes.retain(|f| {
            let ok = done(f);
            if ok {
                taken.push(f.id);
            }
            !ok
        });
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_counts_what_no_answer_covered_yet() {
        let mut acks = Acks::new(2, 1);
        for _ in 0..3 {
            acks.local_update();
        }
        acks.acknowledge(0, 2);
        acks.acknowledge(0, 1); // answers never move it back
        assert_eq!((acks.pending(), acks.acked_by(0)), (1, 2));
        acks.acknowledge(1, 5); // an answer may cover more than was counted here
        assert_eq!(acks.pending(), 0);
    }

    #[test]
    fn a_write_concern_of_two_needs_two_servers() {
        let mut acks = Acks::new(3, 2);
        acks.local_update();
        acks.local_update();
        acks.acknowledge(2, 2);
        assert_eq!(acks.pending(), 2, "one server is not two");
        acks.acknowledge(0, 1);
        assert_eq!(acks.pending(), 1, "the second server has only the first");
        acks.acknowledge(0, 2);
        assert_eq!(acks.pending(), 0);
    }

    #[test]
    fn a_flush_needs_a_probe_sent_after_it() {
        let mut acks = Acks::new(1, 1);
        acks.local_update();
        let old = acks.next_probe();
        acks.wait(7, 1_000, None, 0);
        acks.acknowledge(0, 1);
        acks.probe_answered(0, old);
        assert!(
            acks.resolved().is_empty(),
            "the probe was sent before the flush"
        );
        let new = acks.next_probe();
        acks.probe_answered(0, new);
        assert_eq!(acks.resolved(), [7]);
    }

    #[test]
    fn a_flush_may_ask_for_more_servers_than_the_write_concern() {
        let mut acks = Acks::new(2, 1);
        acks.local_update();
        acks.wait(1, 1_000, Some(2), 0);
        acks.wait(2, 1_000, None, 0);
        let probe = acks.next_probe();
        acks.acknowledge(0, 1);
        acks.probe_answered(0, probe);
        assert_eq!(acks.resolved(), [2]);
        acks.acknowledge(1, 1);
        acks.probe_answered(1, probe);
        assert_eq!(acks.resolved(), [1]);
    }

    #[test]
    fn flushes_expire_one_by_one_in_order() {
        let mut acks = Acks::new(1, 1);
        acks.wait(1, 10, None, 0);
        acks.wait(2, 10, None, 0);
        acks.wait(1, 50, None, 0);
        assert_eq!(
            acks.deadlines().collect::<Vec<_>>(),
            [(1, 10), (2, 10), (1, 50)]
        );
        assert!(!acks.expire(2, 9));
        assert!(acks.expire(1, 10));
        assert!(!acks.expire(1, 10), "the other flush 1 is not due");
        assert_eq!(acks.deadlines().collect::<Vec<_>>(), [(2, 10), (1, 50)]);
        acks.wait(3, u64::MAX, None, 5);
        assert_eq!(acks.deadlines().last(), Some((3, u64::MAX)));
    }

    #[test]
    fn a_rejection_fails_the_flushes_that_waited_for_it() {
        let mut acks = Acks::new(1, 1);
        acks.wait(1, 10, None, 0); // waits for nothing
        acks.local_update();
        acks.wait(2, 10, None, 0);
        assert_eq!(acks.rejected(1), [2]);
        assert_eq!(acks.deadlines().count(), 1);
    }
}
