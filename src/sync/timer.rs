//! The durations the engine's deadlines are computed from ([`Timing`]).

/// The durations (ms) a link's deadlines are computed from, as the sync options give them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// `heartbeatIntervalMs`.
    pub heartbeat: u64,
    /// `missedHeartbeats`: how many unanswered probes in a row fail a link.
    pub missed: u32,
    /// `connectTimeoutMs`.
    pub connect_timeout: u64,
    /// `syncTimeoutMs`: how long the first sync answer of a link may take.
    pub sync_timeout: u64,
}

impl Timing {
    /// How long a server may say nothing at all: as long as heartbeats give a silent one.
    pub(crate) fn silence(&self) -> u64 {
        self.heartbeat.saturating_mul(u64::from(self.missed) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_saturates() {
        let timing = Timing {
            heartbeat: u64::MAX / 2,
            missed: 3,
            connect_timeout: 1,
            sync_timeout: 1,
        };
        assert_eq!(timing.silence(), u64::MAX);
    }
}
