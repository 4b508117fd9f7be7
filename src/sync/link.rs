//! One WebSocket link to one endpoint: its phase, liveness and outstanding probes.

use std::collections::VecDeque;

use super::status::Connection;
use super::timer::{Timer, Timing};
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

/// A message sent for the server to answer, waiting for that answer. A server answers one
/// connection's messages in order, so the answer proves every local update sent before it
/// (`covers`) was applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub kind: ProbeKind,
    pub serial: u64,
    pub sent_at: u64,
    pub covers: u64,
    /// [`Link::answer_bytes_sent`] when it was sent: its answer proves the server read them.
    pub covers_answers: usize,
}

/// What a probe is. A SyncStep1 makes the server encode an answer that holds the whole
/// document's delete set (Yjs walks every struct for it): it is the handshake, and the probe of
/// servers that answer nothing cheaper. The light kinds cost the server nothing that grows with
/// the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    /// SyncStep1, answered by a SyncStep2.
    Sync,
    /// y-websocket: our awareness state under this clock, answered by the server's echo of it.
    Echo(u32),
    /// Hocuspocus: an empty Update, answered by its SyncStatus (Hocuspocus answers no
    /// QueryAwareness on a client's connection, and relays awareness after a delay).
    Status,
}

impl ProbeKind {
    pub fn is_light(self) -> bool {
        self != ProbeKind::Sync
    }
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
    /// Monitor and standby links: since when every probe has been answered in time (a
    /// higher-priority one healthy for the hold-down is failed back to).
    pub healthy_since: Option<u64>,
    /// Hocuspocus: for each SyncStep2 / Update sent, the local sequence number it carries
    /// (None: an empty one, a probe); each SyncStatus answers the oldest.
    pub status_acks: VecDeque<Option<u64>>,
    /// Whether anything arrived since the link opened (a server that says nothing at all is
    /// left after the heartbeat window, even while the first answer may still take long).
    pub heard: bool,
    /// A probe was asked for while it could not usefully go out: it goes out once no probe
    /// is in flight. A SyncStep1 waits for the first answer (sent before, it would carry a
    /// state vector as empty as the first one, and the server would encode the whole
    /// document again); a flush's light probe waits for the one in flight.
    pub probe_deferred: bool,
    /// Bytes of SyncStep2 sent in answer to the server's SyncStep1s, and how many of them a
    /// probe answer has since proven read: a server that keeps asking for the document
    /// without reading the answers is left before they pile up.
    pub answer_bytes_sent: usize,
    pub answer_bytes_read: usize,
    /// Whether the server answers light probes ([`ProbeKind::is_light`]): unknown until the
    /// one sent first on the link, before the handshake's SyncStep1, is answered (yes) or that
    /// SyncStep1's answer comes first (no: it never will be; SyncStep1 probes it is).
    pub light_probes: Option<bool>,
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
            light_probes: None,
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

    /// This link's deadlines, in the order they are checked: at most one of them fires (each
    /// one fails the link, but for a heartbeat that is not yet the last one missed, and an
    /// overdue light probe, which makes the link probe with SyncStep1).
    pub fn timers(&self, timing: &Timing) -> impl Iterator<Item = (Timer, u64)> {
        let (role, conn) = (self.role, self.conn);
        let (first, then) = match self.phase {
            Phase::Connecting { deadline } => ((Timer::Connect(role, conn), deadline), None),
            Phase::Open { synced: true, .. } => {
                let since = self.heartbeat_sent_at.unwrap_or(self.last_rx);
                let due = since.saturating_add(timing.heartbeat);
                // a light probe unanswered while other messages keep the link alive
                let overdue = self.probes.front().filter(|p| p.kind.is_light()).map(|p| {
                    let at = p.sent_at.saturating_add(timing.light_probe_overdue());
                    (Timer::LightProbeOverdue(role, conn), at)
                });
                ((Timer::Heartbeat(role, conn), due), overdue)
            }
            // waiting for the first answer: no probes (see `probe_deferred`); a server that
            // has said nothing at all is left sooner
            Phase::Open { sync_by, .. } => {
                let silent = self.last_rx.saturating_add(timing.silence());
                let silence = (!self.heard).then_some((Timer::Silence(role, conn), silent));
                ((Timer::FirstAnswer(role, conn), sync_by), silence)
            }
        };
        std::iter::once(first).chain(then)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        heartbeat: 1_000,
        missed: 2,
        connect_timeout: 3_000,
        sync_timeout: 60_000,
    };

    fn open(link: &mut Link, now: u64, synced: bool) {
        link.phase = Phase::Open {
            handshake_sent: synced,
            synced,
            sync_by: now + TIMING.sync_timeout,
        };
        link.last_rx = now;
    }

    #[test]
    fn a_connecting_link_waits_for_its_connect_timeout() {
        let link = Link::new(1, 0, Role::Active, 100, TIMING.connect_timeout);
        let timers: Vec<_> = link.timers(&TIMING).collect();
        assert_eq!(timers, [(Timer::Connect(Role::Active, 1), 3_100)]);
        assert_eq!(link.connection(), Connection::Connecting);
    }

    #[test]
    fn an_open_link_that_heard_nothing_also_has_a_silence_deadline() {
        let mut link = Link::new(1, 0, Role::Monitor, 0, TIMING.connect_timeout);
        open(&mut link, 10, false);
        let timers: Vec<_> = link.timers(&TIMING).collect();
        assert_eq!(
            timers,
            [
                (Timer::FirstAnswer(Role::Monitor, 1), 60_010),
                (Timer::Silence(Role::Monitor, 1), 3_010),
            ]
        );
        link.heard_from(20);
        let timers: Vec<_> = link.timers(&TIMING).collect();
        assert_eq!(timers, [(Timer::FirstAnswer(Role::Monitor, 1), 60_010)]);
        assert_eq!(link.connection(), Connection::Syncing);
    }

    #[test]
    fn a_synced_link_beats_from_its_last_news_or_its_last_probe() {
        let mut link = Link::new(1, 0, Role::Active, 0, TIMING.connect_timeout);
        open(&mut link, 10, true);
        assert_eq!(
            link.timers(&TIMING).collect::<Vec<_>>(),
            [(Timer::Heartbeat(Role::Active, 1), 1_010)]
        );
        link.heartbeat_sent_at = Some(1_010);
        assert_eq!(
            link.timers(&TIMING).collect::<Vec<_>>(),
            [(Timer::Heartbeat(Role::Active, 1), 2_010)]
        );
        link.heard_from(1_600);
        assert_eq!(
            link.timers(&TIMING).collect::<Vec<_>>(),
            [(Timer::Heartbeat(Role::Active, 1), 2_600)]
        );
        assert_eq!(link.connection(), Connection::Online);
    }

    #[test]
    fn deadlines_saturate() {
        let link = Link::new(1, 0, Role::Active, u64::MAX - 1, TIMING.connect_timeout);
        assert_eq!(
            link.timers(&TIMING).collect::<Vec<_>>(),
            [(Timer::Connect(Role::Active, 1), u64::MAX)]
        );
    }
}
