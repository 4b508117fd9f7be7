//! Acknowledgements: how many local updates were made, how many of them a server has proven
//! it applied (`pending` is the difference), the serial numbers of the probes whose answers
//! prove it, and the flushes waiting for that proof, each with its deadline.

#[derive(Debug)]
struct Flush {
    id: u64,
    /// Every local update up to this sequence number must be acknowledged...
    target: u64,
    /// ...by the answer to a probe sent at or after the call.
    min_serial: u64,
    deadline: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Acks {
    /// Sequence number of the last local update.
    local_seq: u64,
    /// Every local update up to this one is acknowledged.
    acked_seq: u64,
    /// Serial number of the last probe sent, and the highest one answered.
    probe_serial: u64,
    answered_serial: u64,
    flushes: Vec<Flush>,
}

impl Acks {
    /// A local update was made: its sequence number.
    pub fn local_update(&mut self) -> u64 {
        self.local_seq += 1;
        self.local_seq
    }

    pub fn local_seq(&self) -> u64 {
        self.local_seq
    }

    pub fn acked_seq(&self) -> u64 {
        self.acked_seq
    }

    /// Local updates not yet acknowledged.
    pub fn pending(&self) -> u64 {
        self.local_seq - self.acked_seq.min(self.local_seq)
    }

    /// A server proved it applied every local update up to `covers`.
    pub fn acknowledge(&mut self, covers: u64) {
        self.acked_seq = self.acked_seq.max(covers);
    }

    /// A probe goes out: its serial number.
    pub fn next_probe(&mut self) -> u64 {
        self.probe_serial += 1;
        self.probe_serial
    }

    pub fn probe_answered(&mut self, serial: u64) {
        self.answered_serial = self.answered_serial.max(serial);
    }

    /// `flush(id)`: waits until every local update made so far is acknowledged by the answer
    /// to a probe sent from now on, for `timeout_ms` at most.
    pub fn wait(&mut self, id: u64, timeout_ms: u64, now: u64) {
        self.flushes.push(Flush {
            id,
            target: self.local_seq,
            min_serial: self.probe_serial + 1,
            deadline: now.saturating_add(timeout_ms),
        });
    }

    /// Takes out the flushes now satisfied; returns their ids, in the order they were made.
    pub fn resolved(&mut self) -> Vec<u64> {
        let (acked, answered) = (self.acked_seq, self.answered_serial);
        self.take_flushes(|f| acked >= f.target && answered >= f.min_serial)
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
        let mut acks = Acks::default();
        for _ in 0..3 {
            acks.local_update();
        }
        acks.acknowledge(2);
        acks.acknowledge(1); // answers never move it back
        assert_eq!((acks.pending(), acks.acked_seq()), (1, 2));
        acks.acknowledge(5); // an answer may cover more than was counted here
        assert_eq!(acks.pending(), 0);
    }

    #[test]
    fn a_flush_needs_a_probe_sent_after_it() {
        let mut acks = Acks::default();
        acks.local_update();
        let old = acks.next_probe();
        acks.wait(7, 1_000, 0);
        acks.acknowledge(1);
        acks.probe_answered(old);
        assert!(
            acks.resolved().is_empty(),
            "the probe was sent before the flush"
        );
        let new = acks.next_probe();
        acks.probe_answered(new);
        assert_eq!(acks.resolved(), [7]);
    }

    #[test]
    fn flushes_expire_one_by_one_in_order() {
        let mut acks = Acks::default();
        acks.wait(1, 10, 0);
        acks.wait(2, 10, 0);
        acks.wait(1, 50, 0);
        assert_eq!(
            acks.deadlines().collect::<Vec<_>>(),
            [(1, 10), (2, 10), (1, 50)]
        );
        assert!(!acks.expire(2, 9));
        assert!(acks.expire(1, 10));
        assert!(!acks.expire(1, 10), "the other flush 1 is not due");
        assert_eq!(acks.deadlines().collect::<Vec<_>>(), [(2, 10), (1, 50)]);
        acks.wait(3, u64::MAX, 5);
        assert_eq!(acks.deadlines().last(), Some((3, u64::MAX)));
    }

    #[test]
    fn a_rejection_fails_the_flushes_that_waited_for_it() {
        let mut acks = Acks::default();
        acks.wait(1, 10, 0); // waits for nothing
        acks.local_update();
        acks.wait(2, 10, 0);
        assert_eq!(acks.rejected(1), [2]);
        assert_eq!(acks.deadlines().count(), 1);
    }
}
