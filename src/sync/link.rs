//! One WebSocket link to one endpoint: its phase, liveness and outstanding probes.

use std::collections::VecDeque;

use super::engine::ConnId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The link the replica syncs through.
    Active,
    /// A link to a preferred endpoint that is only probed, to decide on failback.
    Monitor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting {
        deadline: u64,
    },
    /// Open; `handshake_sent` once our SyncStep2 answered the server's SyncStep1, after which
    /// local updates are sent as they happen.
    Open {
        handshake_sent: bool,
        synced: bool,
        /// The first sync answer is due by then: a server that keeps sending other messages
        /// (which count as liveness) but never answers SyncStep1 is left at this point.
        sync_by: u64,
    },
}

/// A SyncStep1 sent, waiting for its SyncStep2. A server answers one connection's messages in
/// order, so the answer proves every local update sent before it (`covers`) was applied.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub serial: u64,
    pub sent_at: u64,
    pub covers: u64,
}

#[derive(Debug)]
pub struct Link {
    pub conn: ConnId,
    pub endpoint: usize,
    pub role: Role,
    pub phase: Phase,
    pub last_rx: u64,
    /// When the heartbeat probe went out, if it is still unanswered.
    pub heartbeat_sent_at: Option<u64>,
    pub misses: u32,
    pub probes: VecDeque<Probe>,
    /// Highest local update sequence number this link has sent.
    pub delivered: u64,
    /// Monitor links: since when every probe has been answered in time.
    pub healthy_since: Option<u64>,
    /// Hocuspocus: for each SyncStep2 / Update sent, the local sequence number it carries;
    /// each SyncStatus answers the oldest.
    pub status_acks: VecDeque<u64>,
}

impl Link {
    pub fn new(conn: ConnId, endpoint: usize, role: Role, now: u64, connect_timeout: u64) -> Link {
        Link {
            conn,
            endpoint,
            role,
            phase: Phase::Connecting {
                deadline: now.saturating_add(connect_timeout),
            },
            last_rx: now,
            heartbeat_sent_at: None,
            misses: 0,
            probes: VecDeque::new(),
            delivered: 0,
            healthy_since: None,
            status_acks: VecDeque::new(),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    pub fn handshake_sent(&self) -> bool {
        matches!(
            self.phase,
            Phase::Open {
                handshake_sent: true,
                ..
            }
        )
    }

    pub fn synced(&self) -> bool {
        matches!(self.phase, Phase::Open { synced: true, .. })
    }

    /// The next moment this link needs attention.
    pub fn deadline(&self, heartbeat: u64) -> u64 {
        match self.phase {
            Phase::Connecting { deadline } => deadline,
            Phase::Open {
                synced, sync_by, ..
            } => {
                let heartbeat = match self.heartbeat_sent_at {
                    Some(sent) => sent.saturating_add(heartbeat),
                    None => self.last_rx.saturating_add(heartbeat),
                };
                if synced {
                    heartbeat
                } else {
                    heartbeat.min(sync_by)
                }
            }
        }
    }
}
