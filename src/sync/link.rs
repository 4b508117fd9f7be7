//! One WebSocket link to one endpoint: its phase, liveness and outstanding probes.

use std::collections::VecDeque;

use super::status::Connection;
use super::types::{ConnId, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Connecting {
        deadline: u64,
    },
    /// Open; `handshake_sent` once our SyncStep2 answered the server's SyncStep1, after which
    /// local updates are sent as they happen.
    Open {
        handshake_sent: bool,
        synced: bool,
        /// The first sync answer is due by then (`syncTimeoutMs` after opening): a new
        /// client's answer holds the whole document, which a server takes a while to encode
        /// and send, in silence. A server that keeps sending other messages but never answers
        /// SyncStep1 is left at this point too.
        sync_by: u64,
    },
}

/// A SyncStep1 sent, waiting for its SyncStep2. A server answers one connection's messages in
/// order, so the answer proves every local update sent before it (`covers`) was applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub serial: u64,
    pub sent_at: u64,
    pub covers: u64,
    /// [`Link::answer_bytes_sent`] when it was sent: its answer proves the server read them.
    pub covers_answers: usize,
}

#[derive(Debug)]
pub(crate) struct Link {
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
    /// Whether anything arrived since the link opened (a server that says nothing at all is
    /// left after the heartbeat window, even while the first answer may still take long).
    pub heard: bool,
    /// A probe was asked for while the first answer was still on its way: it goes out when
    /// that answer has arrived (sent before, it would carry a state vector as empty as the
    /// first one, and the server would encode the whole document again).
    pub probe_deferred: bool,
    /// Bytes of SyncStep2 sent in answer to the server's SyncStep1s, and how many of them a
    /// probe answer has since proven read: a server that keeps asking for the document
    /// without reading the answers is left before they pile up.
    pub answer_bytes_sent: usize,
    pub answer_bytes_read: usize,
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
            heard: false,
            probe_deferred: false,
            answer_bytes_sent: 0,
            answer_bytes_read: 0,
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

    /// What the app is shown while this is the active link.
    pub fn connection(&self) -> Connection {
        match self.phase {
            Phase::Connecting { .. } => Connection::Connecting,
            Phase::Open { synced: false, .. } => Connection::Syncing,
            Phase::Open { synced: true, .. } => Connection::Online,
        }
    }

    /// Something arrived: the server is alive, any heartbeat probe out counts as answered.
    pub fn heard_from(&mut self, now: u64) {
        self.heard = true;
        self.last_rx = now;
        self.misses = 0;
        self.heartbeat_sent_at = None;
    }

    /// The next moment this link needs attention. `silence` is how long a server may say
    /// nothing at all after the link opened.
    pub fn deadline(&self, heartbeat: u64, silence: u64) -> u64 {
        match self.phase {
            Phase::Connecting { deadline } => deadline,
            Phase::Open { synced: true, .. } => match self.heartbeat_sent_at {
                Some(sent) => sent.saturating_add(heartbeat),
                None => self.last_rx.saturating_add(heartbeat),
            },
            // waiting for the first answer: no probes (see `probe_deferred`)
            Phase::Open { sync_by, .. } if self.heard => sync_by,
            Phase::Open { sync_by, .. } => sync_by.min(self.last_rx.saturating_add(silence)),
        }
    }
}
