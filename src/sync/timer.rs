//! The engine's deadlines, as one table: which timers exist ([`Timer`]), the order
//! `handle_timeout` fires them in ([`Timer::rank`]), and the durations the link timers are
//! computed from ([`Timing`]). `poll_timeout` is the earliest armed one.

use super::types::{ConnId, Role};

/// One deadline the engine may be waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The link's WebSocket has not opened within `connectTimeoutMs`.
    Connect(Role, ConnId),
    /// The link's first sync answer is due (`syncTimeoutMs` after it opened).
    FirstAnswer(Role, ConnId),
    /// The link has said nothing at all since it opened, for as long as missed heartbeats
    /// allow ([`Timing::silence`]).
    Silence(Role, ConnId),
    /// A synced link has been quiet for `heartbeatIntervalMs`: a probe goes out, or, if the
    /// last one is still unanswered, a heartbeat is missed.
    Heartbeat(Role, ConnId),
    /// The link's oldest light probe has gone unanswered for
    /// [`Timing::light_probe_overdue`]: the link probes with SyncStep1 from then on.
    LightProbeOverdue(Role, ConnId),
    /// The backoff after a failed round is over: the next round starts.
    Retry,
    /// After a failed monitor link, the next higher-priority endpoint may be watched.
    MonitorRetry,
    /// After a failed standby link, a standby may be recruited again.
    StandbyRetry,
    /// A `flush(id)` timed out.
    Flush(u64),
    /// The monitored endpoint has been healthy for `failbackAfterMs`.
    Failback,
    /// The operator directive in force expires.
    DirectiveExpires,
    /// Another client's presence state was not renewed in time.
    PresenceExpire,
    /// This replica's presence state must be sent again.
    PresenceRenew,
}

impl Timer {
    /// The highest [`Timer::rank`].
    pub(crate) const LAST_RANK: u8 = 9;

    /// Where the timer fires among those due at once: the active link's first, then the
    /// standbys' and the monitor's, the retries, the flushes, failback, and presence last (expiry before
    /// renewal). Firing one can arm, move or disarm those after it (a failed active link drops
    /// the monitor and may arm a retry), so each rank is read again when its turn comes.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Timer::Connect(role, _)
            | Timer::FirstAnswer(role, _)
            | Timer::Silence(role, _)
            | Timer::Heartbeat(role, _)
            | Timer::LightProbeOverdue(role, _) => match role {
                Role::Active => 0,
                Role::Standby | Role::Monitor => 1,
            },
            Timer::Retry => 2,
            Timer::MonitorRetry => 3,
            Timer::StandbyRetry => 4,
            Timer::Flush(_) => 5,
            Timer::Failback => 6,
            Timer::DirectiveExpires => 7,
            Timer::PresenceExpire => 8,
            Timer::PresenceRenew => 9,
        }
    }
}

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

    /// How long a light probe may go unanswered before the link probes with SyncStep1
    /// instead: twice the silence that fails a quiet link, so a frozen server is left first.
    pub(crate) fn light_probe_overdue(&self) -> u64 {
        self.silence().saturating_mul(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_put_links_first_and_presence_last() {
        let order = [
            Timer::Heartbeat(Role::Active, 1),
            Timer::Connect(Role::Monitor, 2),
            Timer::Retry,
            Timer::MonitorRetry,
            Timer::StandbyRetry,
            Timer::Flush(9),
            Timer::Failback,
            Timer::DirectiveExpires,
            Timer::PresenceExpire,
            Timer::PresenceRenew,
        ];
        let ranks: Vec<u8> = order.iter().map(|t| t.rank()).collect();
        assert_eq!(ranks, (0..=Timer::LAST_RANK).collect::<Vec<_>>());
    }

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
