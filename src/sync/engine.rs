//! [`SyncEngine`]: the failover state machine, composed of parts that each keep one kind of
//! state: [`Selection`] (which endpoint, backoff, pin, failback candidate, standby pauses),
//! [`Links`] (the primary, its standbys and the monitor), [`Acks`] (local updates,
//! acknowledgements per server, probes, flushes), [`Board`] (status
//! and endpoint health), [`Presence`], [`Limits`] and the [`Timer`] table. The engine reads
//! the frames, decides, and queues the [`Output`]s; see the module doc of `sync` for the
//! protocol its driver follows.

use std::collections::VecDeque;

use yrs::sync::{AwarenessUpdate, SyncMessage};

use super::acks::Acks;
use super::limits::Limits;
use super::link::{Link, Phase, Probe, ProbeKind};
use super::links::Links;
use super::presence::{OverBudget, Presence};
use super::protocol::{self, Dialect, Incoming, Received};
use super::selection::Selection;
use super::status::{Board, Connection, EndpointView, ServerRole, Status};
use super::timer::{Timer, Timing};
use super::types::{ConnId, Directive, Output, Reason, Role};
use crate::config::SyncConfig;
use crate::replica::{pieces, Replica};

/// The largest piece of an answer to a server's SyncStep1: servers cap what they take in one
/// message (@y/websocket-server and Hocuspocus refuse more than 100 MiB by default, and close
/// the connection), so what a server lacks goes out as a SyncStep2 followed by updates of at
/// most this size (the default `maxUpdateBytes`, which every peer takes in).
pub const ANSWER_PIECE_BYTES: usize = 4 << 20;

/// A Yjs v1 update that holds nothing: no structs, an empty delete set.
const EMPTY_UPDATE: [u8; 2] = [0, 0];

pub struct SyncEngine {
    dialect: Dialect,
    room: String,
    params: Vec<(String, String)>,
    timing: Timing,
    limits: Limits,
    /// `servers`: how many links the replication set keeps (the primary and standbys).
    servers: usize,

    selection: Selection,
    links: Links,
    acks: Acks,
    board: Board,
    presence: Presence,

    /// The operator directive last given, and when the one in force expires.
    directive: Option<Directive>,
    directive_expires_at: Option<u64>,

    out: VecDeque<Output>,
    stopped: bool,
}

impl SyncEngine {
    /// `seed` drives the backoff jitter (the driver passes a random one; tests a fixed one).
    pub fn new(config: &SyncConfig, room: &str, seed: u64) -> SyncEngine {
        let dialect = match config.protocol.as_str() {
            "hocuspocus" => Dialect::Hocuspocus {
                document: room.to_string(),
                token: config.token.clone().unwrap_or_default(),
            },
            _ => Dialect::YWebsocket,
        };
        SyncEngine {
            dialect,
            room: room.to_string(),
            params: config
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            timing: Timing {
                heartbeat: config.heartbeat_interval_ms as u64,
                missed: config.missed_heartbeats as u32,
                connect_timeout: config.connect_timeout_ms as u64,
                sync_timeout: config.sync_timeout_ms as u64,
            },
            limits: Limits::new(config),
            servers: config.servers_count() as usize,
            selection: Selection::new(config, seed),
            links: Links::new(),
            acks: Acks::new(config.endpoints.len(), config.write_concern_count()),
            board: Board::new(&config.endpoints),
            presence: Presence::with_budget(config.max_message_bytes() as usize),
            directive: None,
            directive_expires_at: None,
            out: VecDeque::new(),
            stopped: false,
        }
    }

    // ---- inputs --------------------------------------------------------------------------

    /// Starts connecting to the first endpoint (once: not after `stop`, nor while a retry
    /// is armed, which would open a second link for the one slot).
    pub fn start(&mut self, now: u64) {
        if self.stopped {
            return;
        }
        if !self.board.is_empty()
            && self.links.active().is_none()
            && self.selection.retry_at().is_none()
        {
            self.connect_active(0, now);
        }
        self.fill_standbys(now);
        self.refresh_status();
    }

    /// Stops everything: closes every link; later inputs are ignored.
    pub fn stop(&mut self) {
        let conns: Vec<ConnId> = self.links.all().map(|l| l.conn).collect();
        for conn in conns {
            self.links.take_conn(conn);
            self.out.push_back(Output::Close { conn });
        }
        self.stopped = true;
        self.selection.stop();
        self.refresh_status();
    }

    pub fn handle_open(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let sync_by = now.saturating_add(self.timing.sync_timeout);
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        let delivered = self.acks.acked_by(link.endpoint);
        if link.is_open() {
            return;
        }
        link.phase = Phase::Open {
            handshake_sent: false,
            synced: false,
            sync_by,
        };
        link.last_rx = now;
        link.delivered = delivered;
        if let Some(auth) = self.dialect.on_open() {
            self.out.push_back(Output::Send { conn, data: auth });
        }
        self.presence.set_client(replica.doc().client_id().get());
        // a light probe first: whether its answer comes before the handshake's tells whether
        // this server answers them (see `Link::light_probes`)
        self.send_light_probe(conn, now);
        let step1 = protocol::sync_step1(&replica.state_vector_now());
        self.push_probe(conn, ProbeKind::Sync, step1, now);
        self.refresh_status();
    }

    pub fn handle_closed(&mut self, conn: ConnId, now: u64) {
        self.fail_link(conn, Reason::Closed, now);
    }

    /// The largest frame [`SyncEngine::handle_frame`] takes (`maxFrameBytes`, for frames that
    /// carry document updates): a WebSocket that can refuse larger messages before reading
    /// them (Node's `ws`: `maxPayload`) is given this limit.
    pub fn max_frame_bytes(&self) -> usize {
        self.limits.max_frame
    }

    /// How many leading bytes of a frame [`SyncEngine::admit_frame`] may ask for.
    pub fn frame_head_bytes(&self) -> usize {
        self.dialect.head_bytes()
    }

    /// Decides whether a frame of `len` bytes that arrived on `conn` may be taken in, before
    /// it is copied into the replica's memory (Wasm memory never shrinks): a frame that
    /// carries document updates may be up to `maxFrameBytes`, any other up to
    /// `maxMessageBytes`. `head(n)` returns the frame's first `n` bytes (asked for only when
    /// the kind matters). A refused frame drops the connection with a FRAME_TOO_LARGE error;
    /// frames of links already dropped are refused silently.
    pub fn admit_frame(
        &mut self,
        conn: ConnId,
        len: usize,
        head: impl FnOnce(usize) -> Vec<u8>,
        now: u64,
    ) -> bool {
        if self.links.by_conn(conn).is_none() {
            return false;
        }
        let kind = self.limits.needs_kind(len).then(|| {
            self.dialect
                .classify(&head(self.frame_head_bytes().min(len)))
        });
        match self.limits.refusal(len, kind) {
            Some(why) => {
                self.drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| format!("{url}: {why}"));
                false
            }
            None => true,
        }
    }

    /// The WebSocket itself refused a message over `maxFrameBytes` on `conn` before reading
    /// it (Node's `ws` with `maxPayload`): the connection is dropped as broken.
    pub fn handle_socket_refused_frame(&mut self, conn: ConnId, now: u64) {
        let max = self.limits.max_frame;
        self.drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| {
            format!("{url}: sent a message over maxFrameBytes ({max}), refused before it was read; the connection was dropped")
        });
    }

    /// A frame of `len` bytes arrived on `conn` and is to wait for a later turn, behind
    /// `waiting` bytes of that link's frames that already wait. True when it may: the server
    /// is alive (a backlog never looks like silence). False when the link is gone, or when
    /// `waiting` has reached `maxBacklogBytes`: the server sends faster than the replica takes
    /// its messages in, and the connection is dropped (BACKLOG_TOO_LARGE) instead of buffering
    /// without bound; the next handshake brings what was missed, merged.
    pub fn handle_frame_queued(
        &mut self,
        conn: ConnId,
        len: usize,
        waiting: usize,
        now: u64,
    ) -> bool {
        if self.links.by_conn(conn).is_none() {
            return false;
        }
        if waiting >= self.limits.max_backlog {
            let max = self.limits.max_backlog;
            self.drop_broken_link(conn, "BACKLOG_TOO_LARGE", now, |url| {
                format!("{url}: {waiting} bytes of its messages wait to be taken in (maxBacklogBytes is {max}) and a {len}-byte one arrived: it sends faster than the replica can apply; the connection was dropped")
            });
            return false;
        }
        self.handle_activity(conn, now);
        true
    }

    /// A frame arrived on `conn` (it may be handled later): the server is alive. A driver that
    /// queues frames under load calls this on arrival, so a backlog never looks like silence.
    pub fn handle_activity(&mut self, conn: ConnId, now: u64) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        link.heard_from(now);
        let endpoint = link.endpoint;
        self.board.seen(endpoint, now);
    }

    /// A text (not binary) message arrived on `conn`: the Yjs protocols are binary, so the
    /// server is not speaking them; the connection is dropped as broken.
    pub fn handle_text_frame(&mut self, conn: ConnId, now: u64) {
        self.drop_broken_link(conn, "PROTOCOL_ERROR", now, |url| {
            format!("{url}: sent a text message; the Yjs sync protocols are binary")
        });
    }

    /// Fails `conn` with an 'error' event whose message `describe` builds from the endpoint URL.
    fn drop_broken_link(
        &mut self,
        conn: ConnId,
        code: &'static str,
        now: u64,
        describe: impl FnOnce(&str) -> String,
    ) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        let endpoint = link.endpoint;
        let message = describe(self.board.url(endpoint));
        self.link_error(conn, code, message, now);
    }

    /// A frame from a link, taken in now. Frames of links already dropped are ignored. Its
    /// size is checked as [`SyncEngine::admit_frame`] checks it (a driver that admitted it
    /// already passes the same test again), and once decoded, the bytes of everything in it
    /// that is not a document update must stay within `maxMessageBytes`.
    pub fn handle_frame(&mut self, conn: ConnId, frame: &[u8], now: u64, replica: &mut Replica) {
        let head = &frame[..self.frame_head_bytes().min(frame.len())];
        let kind = self
            .limits
            .needs_kind(frame.len())
            .then(|| self.dialect.classify(head));
        if let Some(why) = self.limits.refusal(frame.len(), kind) {
            return self
                .drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| format!("{url}: {why}"));
        }
        self.handle_activity(conn, now);
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        let role = link.role;
        let endpoint = link.endpoint;
        let messages = match self.dialect.decode_ref(frame) {
            Ok(messages) => messages,
            Err(e) => {
                let message = format!("{}: {e}", self.board.url(endpoint));
                return self.link_error(conn, "PROTOCOL_ERROR", message, now);
            }
        };
        let document_bytes: usize = messages
            .iter()
            .map(|m| match m {
                Received::Document { update, .. } => update.len(),
                Received::Other(_) => 0,
            })
            .sum();
        let other_bytes = frame.len() - document_bytes;
        if other_bytes > self.limits.max_message {
            let max = self.limits.max_message;
            return self.drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| {
                format!("{url}: a {}-byte message carries {other_bytes} bytes besides document updates, over maxMessageBytes ({max}); the connection was dropped", frame.len())
            });
        }
        for message in messages {
            if self.links.by_conn(conn).is_none() {
                return; // the link failed while handling an earlier message of this frame
            }
            let message = match message {
                Received::Document { answer, update } => {
                    if !self.apply(conn, update, now, replica) {
                        return;
                    }
                    if answer {
                        self.sync_answered(conn, now);
                    }
                    continue;
                }
                Received::Other(message) => message,
            };
            match message {
                Incoming::Sync(SyncMessage::SyncStep1(sv)) if role != Role::Monitor => {
                    let diff = replica.diff_since(&sv);
                    if !self.may_answer(conn, diff.len(), now) {
                        return;
                    }
                    self.send_answer(conn, &diff);
                    self.after_handshake(conn, now, replica);
                }
                // It may answer our probes on any link; the others' presence is taken from the
                // primary only, and the event is due only when the set changed.
                Incoming::Awareness(update) => {
                    self.awareness_answered(conn, &update, now);
                    if role != Role::Active {
                        continue;
                    }
                    match self.presence.apply(&update, now) {
                        Ok(true) => self.out.push_back(Output::Presence),
                        Ok(false) => {}
                        Err(OverBudget(bytes)) => {
                            self.out.push_back(Output::Presence);
                            let max = self.limits.max_message;
                            return self.drop_broken_link(conn, "PRESENCE_TOO_LARGE", now, |url| {
                                format!("{url}: the other clients' presence states would take {bytes} bytes, over maxMessageBytes ({max}); they were dropped and the connection too")
                            });
                        }
                    }
                }
                Incoming::AwarenessQuery if role == Role::Active => {
                    if let Some(message) = self.presence.local_message() {
                        self.send(conn, message);
                    }
                }
                Incoming::Denied(reason) => {
                    let message = format!(
                        "{} denied access: {}",
                        self.board.url(endpoint),
                        shortened(&reason)
                    );
                    return self.link_error(conn, "PERMISSION_DENIED", message, now);
                }
                Incoming::SyncStatus(applied) => {
                    self.sync_status(conn, applied, now);
                }
                Incoming::Ping => {
                    let pong = self.dialect.pong();
                    self.out.push_back(Output::Send { conn, data: pong });
                }
                Incoming::Close(reason) => {
                    let message = format!(
                        "{} closed the document: {}",
                        self.board.url(endpoint),
                        shortened(&reason)
                    );
                    self.out.push_back(Output::Error {
                        code: "CLOSED_BY_SERVER",
                        message,
                    });
                    self.fail_link(conn, Reason::Closed, now);
                    return;
                }
                // Monitors only probe; Authenticated and stateless messages need no answer.
                _ => {}
            }
        }
        // Updates sent after the last answered probe still need one to be acknowledged; and a
        // probe held back while the first answer was on its way goes out now.
        let acks = &self.acks;
        // with SyncStatus acknowledgements no probe is owed for updates (and one refused on a
        // read-only connection would otherwise ask for a probe after every message)
        let status_acks = self.dialect.acks_with_sync_status();
        let wants_probe = self.links.by_conn(conn).is_some_and(|l| {
            l.synced()
                && l.probes.is_empty()
                && (l.probe_deferred
                    || (l.role != Role::Monitor
                        && !status_acks
                        && l.handshake_sent()
                        && l.delivered > acks.acked_by(l.endpoint)))
        });
        if wants_probe {
            self.send_probe(conn, now, replica);
        }
        self.check_flushes();
        self.refresh_status();
    }

    /// Fires the timers that are due, in a fixed order: the active link's, the monitor
    /// link's, the next round after a backoff, the next monitor, flushes, failback, and
    /// presence (others' states expire, ours is renewed). Early or repeated calls are
    /// harmless: a timer fires only once `now` has reached its deadline.
    pub fn handle_timeout(&mut self, now: u64, replica: &Replica) {
        if self.stopped {
            return;
        }
        for rank in 0..=Timer::LAST_RANK {
            // read when this rank's turn comes: those before it may have changed it
            let due: Vec<Timer> = self
                .timers()
                .filter(|&(timer, at)| timer.rank() == rank && now >= at)
                .map(|(timer, _)| timer)
                .collect();
            for timer in due {
                // one firing may disarm the next (a failed link has no silence deadline left)
                if self.timers().any(|(t, at)| t == timer && now >= at) {
                    self.fire(timer, now, replica);
                }
            }
        }
        self.refresh_status();
    }

    /// Sets (or with None clears) this replica's presence state, a JSON text, and sends it.
    pub fn set_presence(&mut self, json: Option<String>, client_id: u64, now: u64) {
        let message = self.presence.set_local(client_id, json);
        if let Some(conn) = self.links.ready() {
            self.send(conn, message);
            self.presence.mark_sent(now);
        }
    }

    /// The other clients' presence states as JSON: `[{ clientId, state }, ...]`.
    pub fn presence_json(&self) -> String {
        self.presence.peers_json()
    }

    /// A local update (Yjs v1) the replica just made. Online, it is sent at once on the
    /// primary and every standby, each followed by a probe unless one is already in flight
    /// there (whose successor will cover it): so `pending` drains within a round trip without
    /// a probe per update.
    pub fn local_update(&mut self, update: Vec<u8>, now: u64, replica: &Replica) {
        let seq = self.acks.local_update();
        let message = protocol::update(update);
        for conn in self.links.ready_set() {
            let Some(link) = self.links.by_conn(conn) else {
                continue;
            };
            link.delivered = seq;
            let probe_in_flight = !link.probes.is_empty() || self.dialect.acks_with_sync_status();
            self.send_update_message(conn, message.clone(), seq);
            if !probe_in_flight {
                self.send_probe(conn, now, replica);
            }
        }
        self.refresh_status();
    }

    /// Resolves (FlushResolved) once every change made so far is acknowledged by
    /// `write_concern` servers (None: the `writeConcern` option), each by its answer to a
    /// probe sent now or later; times out (FlushTimedOut) after `timeout_ms`.
    pub fn flush(
        &mut self,
        id: u64,
        timeout_ms: u64,
        write_concern: Option<u32>,
        now: u64,
        replica: &Replica,
    ) {
        self.acks.wait(id, timeout_ms, write_concern, now);
        for conn in self.links.ready_set() {
            // flushes made while a light probe is out share the one sent when it is answered
            // (its answer would not do: it was sent before the call)
            if let Some(link) = self
                .links
                .by_conn(conn)
                .filter(|l| l.synced() && l.light_probes == Some(true) && !l.probes.is_empty())
            {
                link.probe_deferred = true;
                continue;
            }
            self.send_probe(conn, now, replica);
        }
    }

    /// How many servers the replication set keeps (`servers`): a flush may ask for as many.
    pub fn servers(&self) -> u32 {
        self.servers as u32
    }

    /// Manual: leave the current endpoint for the next one now (clears a pin).
    pub fn failover(&mut self, now: u64) {
        if self.board.is_empty() || self.stopped {
            return;
        }
        self.selection.unpin();
        let current = self
            .links
            .active()
            .map(|l| l.endpoint)
            .or(self.selection.last_endpoint())
            .unwrap_or(0);
        let n = self.board.len();
        let next = (1..=n)
            .map(|step| (current + step) % n)
            .find(|&e| self.selection.usable(e))
            .unwrap_or(current);
        self.move_to(next, Reason::Manual, now);
    }

    /// Manual: go to `url` and stay there until [`SyncEngine::unpin`].
    pub fn switch_to(&mut self, url: &str, now: u64) -> Result<(), String> {
        let index = self
            .board
            .position(url)
            .ok_or_else(|| format!("'{url}' is not one of the endpoints"))?;
        if self.stopped {
            return Ok(());
        }
        self.selection.pin(index);
        if self.links.active().is_some_and(|l| l.endpoint == index) {
            self.drop_monitor();
            return Ok(());
        }
        self.move_to(index, Reason::Manual, now);
        Ok(())
    }

    /// The room's operator directive changed (`None`: cleared). URLs that are not among the
    /// endpoints are reported once (DIRECTIVE_IGNORED) and ignored, as is a drain that would
    /// leave no endpoint: a directive never makes the replica connect anywhere it would not. The
    /// replica leaves a drained endpoint at once, and moves to a promoted one at once, with
    /// reason 'operator'; a cleared or expired directive lets failback bring it back to its
    /// own order after the usual hold-down.
    pub fn set_directive(&mut self, directive: Option<Directive>, now: u64) {
        if self.directive == directive {
            return;
        }
        self.directive = directive.clone();
        self.directive_expires_at = None;
        let n = self.board.len();
        let (promoted, drained) = match directive {
            Some(d) if d.expires_at.is_none_or(|at| now < at) => {
                self.directive_expires_at = d.expires_at;
                self.resolve_directive(&d)
            }
            _ => (None, vec![false; n]),
        };
        self.direct(promoted, drained, now);
    }

    /// The endpoints a directive promotes and drains, as indices, reporting what is ignored.
    fn resolve_directive(&mut self, d: &Directive) -> (Option<usize>, Vec<bool>) {
        let n = self.board.len();
        let unknown: Vec<&str> = d
            .primary
            .iter()
            .chain(d.drain.iter())
            .filter(|url| self.board.position(url).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let message = format!(
                "the operator directive names {}, not among this replica's endpoints; that part of it is ignored",
                unknown.iter().map(|u| shortened(u)).collect::<Vec<_>>().join(", ")
            );
            self.out.push_back(Output::Error {
                code: "DIRECTIVE_IGNORED",
                message,
            });
        }
        let mut drained = vec![false; n];
        for i in d.drain.iter().filter_map(|url| self.board.position(url)) {
            drained[i] = true;
        }
        if n > 0 && drained.iter().all(|&d| d) {
            self.out.push_back(Output::Error {
                code: "DIRECTIVE_IGNORED",
                message: "the operator directive drains every endpoint of this replica; the drain is ignored and the replica stays where it is".into(),
            });
            drained = vec![false; n];
        }
        let promoted = d
            .primary
            .as_deref()
            .and_then(|url| self.board.position(url))
            .filter(|&i| !drained[i]);
        (promoted, drained)
    }

    /// Applies a resolved directive: links to drained endpoints go, the replica moves off a
    /// drained endpoint or to a promoted one, and every higher-priority link starts its
    /// failback hold-down again (a fleet does not stampede back when a directive ends).
    fn direct(&mut self, promoted: Option<usize>, drained: Vec<bool>, now: u64) {
        self.selection.direct(promoted, drained);
        if self.stopped {
            return;
        }
        let leaving: Vec<ConnId> = self
            .links
            .standbys()
            .iter()
            .filter(|l| !self.selection.usable(l.endpoint))
            .map(|l| l.conn)
            .collect();
        for conn in leaving {
            self.links.take_conn(conn);
            self.out.push_back(Output::Close { conn });
        }
        self.drop_monitor();
        for standby in self.links.standbys_mut() {
            if standby.healthy_since.is_some() {
                standby.healthy_since = Some(now);
            }
        }
        let target = self.selection.first();
        let active = self.links.active().map(|l| l.endpoint);
        let moves = active.is_some_and(|a| {
            a != target && (!self.selection.usable(a) || promoted == Some(target))
        });
        if moves {
            self.move_to(target, Reason::Operator, now);
        } else {
            self.fill_standbys(now);
            self.ensure_monitor(now);
            self.refresh_status();
        }
    }

    /// Lets failback work again after [`SyncEngine::switch_to`].
    pub fn unpin(&mut self, now: u64) {
        self.selection.unpin();
        self.ensure_monitor(now);
    }

    // ---- outputs -------------------------------------------------------------------------

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next moment [`SyncEngine::handle_timeout`] must be called: the earliest armed
    /// timer.
    /// The earliest deadline; none once stopped (`handle_timeout` then does nothing, so a
    /// deadline would only make the driver spin).
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.stopped {
            return None;
        }
        self.timers().map(|(_, at)| at).min()
    }

    pub fn status(&self) -> &Status {
        self.board.status()
    }

    pub fn endpoints(&self) -> Vec<EndpointView> {
        let primary = self.links.active().map(|l| l.endpoint);
        self.board.views(|i| {
            if primary == Some(i) {
                Some(ServerRole::Primary)
            } else {
                self.links.standby_to(i).map(|_| ServerRole::Standby)
            }
        })
    }

    pub fn pinned(&self) -> Option<&str> {
        self.selection.pinned().map(|i| self.board.url(i))
    }

    // ---- timers --------------------------------------------------------------------------

    /// The timer table: every armed deadline, rank by rank.
    fn timers(&self) -> impl Iterator<Item = (Timer, u64)> + '_ {
        let links = self.links.all().flat_map(|link| link.timers(&self.timing));
        let retry = self.selection.retry_at().map(|at| (Timer::Retry, at));
        let monitor_retry = self
            .selection
            .monitor_retry_at()
            .map(|at| (Timer::MonitorRetry, at));
        let standby_retry = (self.links.standbys().len() + 1 < self.servers)
            .then(|| self.selection.standby_retry_at(|e| self.links.in_set(e)))
            .flatten()
            .map(|at| (Timer::StandbyRetry, at));
        let flushes = self.acks.deadlines().map(|(id, at)| (Timer::Flush(id), at));
        let failback = self.failback_at().map(|at| (Timer::Failback, at));
        let directive = self
            .directive_expires_at
            .map(|at| (Timer::DirectiveExpires, at));
        let expire = self
            .presence
            .expire_at()
            .map(|at| (Timer::PresenceExpire, at));
        let renew = self
            .links
            .ready()
            .and(self.presence.renew_at())
            .map(|at| (Timer::PresenceRenew, at));
        links
            .chain(retry)
            .chain(monitor_retry)
            .chain(standby_retry)
            .chain(flushes)
            .chain(failback)
            .chain(directive)
            .chain(expire)
            .chain(renew)
    }

    /// Does what a due timer is for.
    fn fire(&mut self, timer: Timer, now: u64, replica: &Replica) {
        match timer {
            Timer::Connect(_, conn) => self.fail_link(conn, Reason::ConnectTimeout, now),
            Timer::FirstAnswer(role, conn) => {
                if role != Role::Monitor {
                    if let Some(endpoint) = self.links.by_conn(conn).map(|l| l.endpoint) {
                        self.no_sync_answer(endpoint);
                    }
                }
                self.fail_link(conn, Reason::Heartbeat, now);
            }
            Timer::Silence(_, conn) => self.fail_link(conn, Reason::Heartbeat, now),
            Timer::Heartbeat(_, conn) => self.heartbeat(conn, now, replica),
            Timer::LightProbeOverdue(_, conn) => self.light_probes_overdue(conn, now, replica),
            Timer::Retry => {
                let first = self.selection.retry();
                self.connect_active(first, now);
            }
            Timer::MonitorRetry => {
                self.selection.monitor_retry();
                self.ensure_monitor(now);
            }
            Timer::StandbyRetry => self.fill_standbys(now),
            Timer::Flush(id) => {
                if self.acks.expire(id, now) {
                    self.out.push_back(Output::FlushTimedOut { id });
                }
            }
            Timer::Failback => self.check_failback(now),
            Timer::DirectiveExpires => {
                self.directive_expires_at = None;
                let n = self.board.len();
                self.direct(None, vec![false; n], now);
            }
            Timer::PresenceExpire => {
                if self.presence.expire(now) {
                    self.out.push_back(Output::Presence);
                }
            }
            Timer::PresenceRenew => {
                if let Some(conn) = self.links.ready() {
                    let renewal = self.presence.renew(now);
                    self.send(conn, renewal);
                }
            }
        }
    }

    /// When a higher-priority endpoint will have been healthy for the hold-down.
    fn failback_at(&self) -> Option<u64> {
        self.failback_target().map(|(_, at)| at)
    }

    /// The higher-priority endpoint to fail back to, and when: the monitored one, or a
    /// standby of higher priority than the primary (failback is on and nothing is pinned),
    /// whichever has been healthy longest.
    fn failback_target(&self) -> Option<(usize, u64)> {
        let monitor = self.links.monitor().and_then(|m| {
            let at = self.selection.failback_at(m.healthy_since?);
            Some((m.endpoint, at))
        });
        let primary = self.links.active().map(|l| self.selection.rank(l.endpoint));
        let fails_back = self.selection.fails_back();
        let standbys = self.links.standbys().iter().filter_map(move |s| {
            let higher = primary.is_some_and(|p| self.selection.rank(s.endpoint) < p);
            let at = self.selection.failback_at(s.healthy_since?);
            (fails_back && higher && s.synced()).then_some((s.endpoint, at))
        });
        monitor
            .into_iter()
            .chain(standbys)
            .min_by_key(|&(e, at)| (at, e))
    }

    /// A synced link was quiet for a heartbeat interval: a probe goes out; if the last one is
    /// still unanswered, that is a miss, and `missedHeartbeats` misses fail the link.
    fn heartbeat(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let missed = self.timing.missed;
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        if link.heartbeat_sent_at.is_some() {
            link.misses += 1;
            link.healthy_since = None;
            if link.misses >= missed {
                self.fail_link(conn, Reason::Heartbeat, now);
                return;
            }
        }
        link.heartbeat_sent_at = Some(now);
        self.send_probe(conn, now, replica);
    }

    /// A light probe went unanswered for [`Timing::light_probe_overdue`] while other messages
    /// kept the link alive: the server answers some light probes but not all (one that relays
    /// only changed awareness states, or that holds a newer clock for our client id). The link
    /// probes with SyncStep1 from now on; the light probes out are dropped, the SyncStep1
    /// covers all they did.
    fn light_probes_overdue(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        link.probes.retain(|p| !p.kind.is_light());
        link.status_acks.retain(Option::is_some);
        link.light_probes = Some(false);
        link.probe_deferred = false;
        let step1 = protocol::sync_step1(&replica.state_vector_now());
        self.push_probe(conn, ProbeKind::Sync, step1, now);
    }

    /// Reports a server that never answered the handshake in time.
    fn no_sync_answer(&mut self, endpoint: usize) {
        let waited_ms = self.timing.sync_timeout;
        let message = format!(
            "{}: no answer to the sync handshake within {waited_ms} ms (syncTimeoutMs), though it had spoken (not a Yjs sync server, or a frozen one?)",
            self.board.url(endpoint)
        );
        self.out.push_back(Output::Error {
            code: "PROTOCOL_ERROR",
            message,
        });
    }

    // ---- sending -------------------------------------------------------------------------

    fn send(&mut self, conn: ConnId, message: Vec<u8>) {
        let data = self.dialect.frame(message);
        self.out.push_back(Output::Send { conn, data });
    }

    /// Sends a SyncStep2 or Update carrying local changes up to `seq`; with SyncStatus
    /// acknowledgements, remembers which answer will cover it.
    fn send_update_message(&mut self, conn: ConnId, message: Vec<u8>, seq: u64) {
        if self.dialect.acks_with_sync_status() {
            if let Some(link) = self.links.by_conn(conn) {
                link.status_acks.push_back(Some(seq));
            }
        }
        self.send(conn, message);
    }

    /// Answers a server's SyncStep1 with `diff`, in pieces of at most [`ANSWER_PIECE_BYTES`]:
    /// a SyncStep2, then updates. Only the last piece's acknowledgement covers what the answer
    /// carries (a server applies a connection's messages in order).
    fn send_answer(&mut self, conn: ConnId, diff: &[u8]) {
        let pieces = pieces::split_update(diff, ANSWER_PIECE_BYTES);
        let last = pieces.len().saturating_sub(1);
        let endpoint = self.links.by_conn(conn).map_or(0, |l| l.endpoint);
        let (local, acked) = (self.acks.local_seq(), self.acks.acked_by(endpoint));
        for (i, piece) in pieces.into_iter().enumerate() {
            let (message, covers) = match i {
                0 if last == 0 => (protocol::sync_step2(piece), local),
                0 => (protocol::sync_step2(piece), acked),
                i if i == last => (protocol::update(piece), local),
                _ => (protocol::update(piece), acked),
            };
            self.send_update_message(conn, message, covers);
        }
    }

    /// Sends a probe whose answer both proves liveness and acknowledges what was sent: a
    /// light one where the server answers those, else a SyncStep1. A SyncStep1 asked for while
    /// the link's first answer is still on its way waits for it instead (see
    /// [`Link::probe_deferred`]).
    fn send_probe(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        if link.light_probes == Some(true) {
            link.probe_deferred = false;
            return self.send_light_probe(conn, now);
        }
        if !link.synced() && !link.probes.is_empty() {
            link.probe_deferred = true;
            return;
        }
        link.probe_deferred = false;
        let step1 = protocol::sync_step1(&replica.state_vector_now());
        self.push_probe(conn, ProbeKind::Sync, step1, now);
    }

    /// A probe the server answers without touching the document: y-websocket echoes our
    /// awareness state, Hocuspocus answers an empty update with a SyncStatus (applying it
    /// changes nothing, so nothing is stored or broadcast).
    fn send_light_probe(&mut self, conn: ConnId, now: u64) {
        let (message, kind) = match self.dialect {
            Dialect::YWebsocket => {
                let (message, clock) = self.presence.probe();
                (message, ProbeKind::Echo(clock))
            }
            Dialect::Hocuspocus { .. } => {
                if let Some(link) = self.links.by_conn(conn) {
                    link.status_acks.push_back(None);
                }
                (protocol::update(EMPTY_UPDATE.to_vec()), ProbeKind::Status)
            }
        };
        self.push_probe(conn, kind, message, now);
    }

    fn push_probe(&mut self, conn: ConnId, kind: ProbeKind, message: Vec<u8>, now: u64) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        link.probes.push_back(Probe {
            kind,
            serial: self.acks.next_probe(),
            sent_at: now,
            covers: link.delivered,
            covers_answers: link.answer_bytes_sent,
        });
        self.send(conn, message);
    }

    /// Whether an `len`-byte answer to the server's SyncStep1 may go out on `conn`: the
    /// answers the server has not yet been proven to read (no probe answered since) must stay
    /// within `maxBacklogBytes`, apart from a single one; else a server asking again and again
    /// without reading would pile up copies of the document in the socket's send buffer. The
    /// link is dropped (BACKLOG_TOO_LARGE) when it may not.
    fn may_answer(&mut self, conn: ConnId, len: usize, now: u64) -> bool {
        let max = self.limits.max_backlog;
        let Some(link) = self.links.by_conn(conn) else {
            return false;
        };
        let unread = link.answer_bytes_sent - link.answer_bytes_read;
        if unread > 0 && unread.saturating_add(len) > max {
            self.drop_broken_link(conn, "BACKLOG_TOO_LARGE", now, |url| {
                format!("{url}: asked for {len} more bytes of the document while {unread} bytes of earlier answers are not known to be read (maxBacklogBytes is {max}); the connection was dropped")
            });
            return false;
        }
        link.answer_bytes_sent = link.answer_bytes_sent.saturating_add(len);
        true
    }

    /// After our SyncStep2 answered the server's SyncStep1: the server now has everything we
    /// had, so later local updates go out as they happen; a probe acknowledges the handshake.
    fn after_handshake(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let local_seq = self.acks.local_seq();
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        if let Phase::Open { handshake_sent, .. } = &mut link.phase {
            if *handshake_sent {
                return;
            }
            *handshake_sent = true;
        }
        link.delivered = local_seq;
        let primary = link.role == Role::Active;
        self.send_probe(conn, now, replica);
        if primary {
            self.send_presence(conn, now);
        }
    }

    /// Sends this replica's presence state, if it has one, on the primary's link `conn`.
    fn send_presence(&mut self, conn: ConnId, now: u64) {
        if let Some(message) = self.presence.local_message() {
            self.send(conn, message);
            self.presence.mark_sent(now);
        }
    }

    // ---- receiving -----------------------------------------------------------------------

    /// Applies a remote update; on bad bytes drops the link and returns false.
    fn apply(&mut self, conn: ConnId, update: &[u8], now: u64, replica: &mut Replica) -> bool {
        match replica.apply_server_update(update) {
            Ok(()) => true,
            Err(e) => {
                let url = self
                    .links
                    .by_conn(conn)
                    .map(|l| self.board.url(l.endpoint).to_string());
                let message = format!("{}: {e}", url.unwrap_or_default());
                self.link_error(conn, "INVALID_UPDATE", message, now);
                false
            }
        }
    }

    /// A SyncStep2 answers the oldest SyncStep1 probe. Light probes sent before it are then
    /// never to be answered (the server answers in order): the server does not answer them,
    /// and the link probes with SyncStep1 from now on. A SyncStep2 nobody asked for answers
    /// nothing.
    fn sync_answered(&mut self, conn: ConnId, now: u64) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        let Some(skipped) = link.probes.iter().position(|p| p.kind == ProbeKind::Sync) else {
            return;
        };
        if skipped > 0 {
            link.probes.drain(..skipped);
            link.status_acks.retain(Option::is_some);
            link.light_probes = Some(false);
        }
        self.probe_answered(conn, now);
    }

    /// An awareness update holding our client id under the clock of an echo probe out on this
    /// link answers it and those before it (y-websocket). Only that exact clock does: any
    /// client may send an entry under our id, and a clock we never sent here proves nothing.
    fn awareness_answered(&mut self, conn: ConnId, update: &AwarenessUpdate, now: u64) {
        let Some(own) = self.presence.own_clock(update) else {
            return;
        };
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        let Some(answered) = link
            .probes
            .iter()
            .take_while(|p| matches!(p.kind, ProbeKind::Echo(_)))
            .position(|p| p.kind == ProbeKind::Echo(own))
            .map(|at| at + 1)
        else {
            return;
        };
        for _ in 0..answered {
            self.probe_answered(conn, now);
        }
    }

    /// The oldest probe of `conn` is answered. Only a SyncStep1's answer syncs a link; a light
    /// answer that comes before it shows only that the server answers light probes.
    fn probe_answered(&mut self, conn: ConnId, now: u64) {
        let Some(link) = self.links.by_conn(conn) else {
            return;
        };
        let Some(probe) = link.probes.pop_front() else {
            return;
        };
        if probe.kind.is_light() {
            link.light_probes = Some(true);
        }
        let role = link.role;
        let endpoint = link.endpoint;
        let first_sync = !link.synced() && probe.kind == ProbeKind::Sync;
        if first_sync {
            if let Phase::Open { synced, .. } = &mut link.phase {
                *synced = true;
            }
        }
        if !link.synced() {
            return;
        }
        if role != Role::Active && link.healthy_since.is_none() {
            link.healthy_since = Some(now);
        }
        link.answer_bytes_read = link.answer_bytes_read.max(probe.covers_answers);
        self.board
            .answered(endpoint, now.saturating_sub(probe.sent_at));
        self.acks.probe_answered(endpoint, probe.serial);
        if role != Role::Monitor && !self.dialect.acks_with_sync_status() {
            self.acks.acknowledge(endpoint, probe.covers);
        }
        if role == Role::Active {
            if first_sync {
                self.selection.synced();
                self.ensure_monitor(now);
            }
        } else {
            self.check_failback(now);
        }
    }

    /// A SyncStatus answers the oldest SyncStep2 / Update not yet answered: a probe (applied
    /// or not: a read-only connection refuses even an empty update), or local changes.
    fn sync_status(&mut self, conn: ConnId, applied: bool, now: u64) {
        let Some((endpoint, sent)) = self
            .links
            .by_conn(conn)
            .and_then(|l| Some((l.endpoint, l.status_acks.pop_front()?)))
        else {
            return;
        };
        let Some(covers) = sent else {
            let probe_first = self
                .links
                .by_conn(conn)
                .and_then(|l| l.probes.front())
                .is_some_and(|p| p.kind == ProbeKind::Status);
            if probe_first {
                self.probe_answered(conn, now);
            }
            return;
        };
        if applied {
            self.acks.acknowledge(endpoint, covers);
            return;
        }
        let url = self.board.url(endpoint).to_string();
        self.out.push_back(Output::Error {
            code: "REJECTED",
            message: format!("{url} did not apply an update (a read-only connection?)"),
        });
        for id in self.acks.rejected(covers) {
            self.out.push_back(Output::FlushRejected { id });
        }
    }

    fn check_flushes(&mut self) {
        for id in self.acks.resolved() {
            self.out.push_back(Output::FlushResolved { id });
        }
    }

    // ---- moving between endpoints --------------------------------------------------------

    fn link_error(&mut self, conn: ConnId, code: &'static str, message: String, now: u64) {
        self.out.push_back(Output::Error { code, message });
        if code == "PERMISSION_DENIED" {
            self.selection.denied();
        }
        self.fail_link(conn, Reason::Error, now);
    }

    /// The link of `conn` failed for `reason`, whatever its role.
    fn fail_link(&mut self, conn: ConnId, reason: Reason, now: u64) {
        if self.links.is(Role::Active, conn) {
            self.fail_active(reason, now);
        } else if self.links.is(Role::Standby, conn) {
            self.fail_standby(conn, now);
        } else if self.links.is(Role::Monitor, conn) {
            self.fail_monitor(now);
        }
    }

    /// The active link failed: mark its endpoint down and go on at once on an in-sync
    /// standby, else to the next endpoint, or wait; recruit standbys in the background.
    fn fail_active(&mut self, reason: Reason, now: u64) {
        let Some(link) = self.links.take(Role::Active) else {
            return;
        };
        self.out.push_back(Output::Close { conn: link.conn });
        self.board.active_failed(link.endpoint);
        self.selection.failed(link.endpoint, reason);
        self.selection.standby_failed(link.endpoint, now);
        self.drop_monitor();
        self.forget_peers();
        if let Some(standby) = self.warm_standby() {
            self.promote(standby, now);
        } else {
            match self.selection.next_untried() {
                Some(next) => self.connect_active(next, now),
                None => self.selection.round_failed(now),
            }
        }
        self.fill_standbys(now);
        self.refresh_status();
    }

    /// The in-sync standby to promote when the primary fails (the first in priority order),
    /// unless a pin keeps the replica on its endpoint.
    fn warm_standby(&self) -> Option<ConnId> {
        if self.selection.pinned().is_some() {
            return None;
        }
        self.links
            .standbys()
            .iter()
            .filter(|l| l.synced() && self.selection.usable(l.endpoint))
            .min_by_key(|l| self.selection.rank(l.endpoint))
            .map(|l| l.conn)
    }

    /// Makes the standby of `conn` the primary: in sync already, it needs no handshake.
    fn promote(&mut self, conn: ConnId, now: u64) {
        let Some(link) = self.links.promote(conn) else {
            return;
        };
        let (endpoint, warm, handshaken) = (link.endpoint, link.synced(), link.handshake_sent());
        if let Some((from, reason)) = self.selection.arrive(endpoint) {
            self.out.push_back(Output::Failover {
                from: self.board.url(from).to_string(),
                to: self.board.url(endpoint).to_string(),
                reason,
                at: now,
                warm,
            });
        }
        if handshaken {
            self.send_presence(conn, now);
        }
        if warm {
            self.selection.synced();
            self.ensure_monitor(now);
        }
    }

    /// A standby link failed: its endpoint is marked down and not recruited again for a
    /// pause; another one is recruited.
    fn fail_standby(&mut self, conn: ConnId, now: u64) {
        let Some(link) = self.links.take_conn(conn) else {
            return;
        };
        self.out.push_back(Output::Close { conn });
        self.board.link_failed(link.endpoint);
        self.selection.standby_failed(link.endpoint, now);
        self.fill_standbys(now);
        self.refresh_status();
    }

    /// Opens standby links until the set has `servers` links, to the first endpoints in
    /// priority order that are not in it and not pausing after a failure (a monitor watching
    /// one of them is replaced: the standby's probes watch it as well).
    fn fill_standbys(&mut self, now: u64) {
        if self.stopped {
            return;
        }
        while self.links.standbys().len() + 1 < self.servers {
            let links = &self.links;
            let Some(endpoint) = self.selection.standby_candidate(|e| links.in_set(e), now) else {
                return;
            };
            if self.links.monitor().is_some_and(|m| m.endpoint == endpoint) {
                self.drop_monitor();
            }
            self.open_link(endpoint, Role::Standby, now);
        }
    }

    /// Closes the lowest-priority standbys over `servers - 1` (after the primary moved by
    /// choice and the one it left stayed as a standby).
    fn trim_standbys(&mut self) {
        while self.links.standbys().len() + 1 > self.servers.max(1) {
            let Some(conn) = self
                .links
                .standbys()
                .iter()
                .max_by_key(|l| self.selection.rank(l.endpoint))
                .map(|l| l.conn)
            else {
                return;
            };
            self.links.take_conn(conn);
            self.out.push_back(Output::Close { conn });
        }
    }

    /// Leaves the current endpoint for `index` at once (manual moves and failback). With
    /// standbys, the endpoint left stays in the set as one.
    fn move_to(&mut self, index: usize, reason: Reason, now: u64) {
        let left = self.links.active().map(|l| l.endpoint);
        if self.servers > 1 && left.is_some_and(|e| self.selection.usable(e)) {
            self.links.demote_active();
        } else if let Some(link) = self.links.take(Role::Active) {
            self.out.push_back(Output::Close { conn: link.conn });
        }
        self.forget_peers();
        self.drop_monitor();
        self.selection.moving(reason);
        self.connect_active(index, now);
        self.trim_standbys();
        self.fill_standbys(now);
        self.refresh_status();
    }

    /// The others' states came through the link just left; the next server will send its own.
    fn forget_peers(&mut self) {
        if self.presence.clear_peers() {
            self.out.push_back(Output::Presence);
        }
    }

    /// Makes `index` the primary: its standby if it has one, else a new link.
    fn connect_active(&mut self, index: usize, now: u64) {
        if let Some(standby) = self.links.standby_to(index).map(|l| l.conn) {
            return self.promote(standby, now);
        }
        if let Some((from, reason)) = self.selection.arrive(index) {
            self.out.push_back(Output::Failover {
                from: self.board.url(from).to_string(),
                to: self.board.url(index).to_string(),
                reason,
                at: now,
                warm: false,
            });
        }
        self.open_link(index, Role::Active, now);
    }

    fn open_link(&mut self, index: usize, role: Role, now: u64) {
        let conn = self
            .links
            .open(index, role, now, self.timing.connect_timeout);
        let url = self
            .dialect
            .url(self.board.url(index), &self.room, &self.params);
        self.out.push_back(Output::Connect { conn, url });
    }

    /// Watches a higher-priority endpoint while a lower one is in use, for failback.
    fn ensure_monitor(&mut self, now: u64) {
        let Some(active) = self
            .links
            .active()
            .filter(|l| l.synced())
            .map(|l| l.endpoint)
        else {
            return;
        };
        if self.links.monitor().is_some() || self.stopped {
            return;
        }
        // a standby to the target is watched already: its probes decide on failback
        if let Some(target) = self
            .selection
            .monitor_target(active)
            .filter(|&t| !self.links.in_set(t))
        {
            self.open_link(target, Role::Monitor, now);
        }
    }

    fn fail_monitor(&mut self, now: u64) {
        let Some(link) = self.links.take(Role::Monitor) else {
            return;
        };
        self.out.push_back(Output::Close { conn: link.conn });
        self.board.link_failed(link.endpoint);
        self.selection.monitor_failed(link.endpoint, now);
    }

    fn drop_monitor(&mut self) {
        if let Some(link) = self.links.take(Role::Monitor) {
            self.out.push_back(Output::Close { conn: link.conn });
        }
        self.selection.monitor_dropped();
    }

    /// Fails back once the monitored endpoint has answered every probe for the hold-down.
    fn check_failback(&mut self, now: u64) {
        if let Some((target, at)) = self.failback_target() {
            if now >= at {
                self.move_to(target, Reason::Failback, now);
            }
        }
    }

    fn refresh_status(&mut self) {
        let active = self.links.active();
        let connection = active.map_or(Connection::Offline, Link::connection);
        let endpoint = active.map(|l| l.endpoint);
        let servers = self.links.in_sync();
        if let Some(status) = self
            .board
            .refresh(connection, endpoint, self.acks.pending(), servers)
        {
            self.out.push_back(Output::Status(status));
        }
    }
}

/// At most 200 characters of a text a server chose (a reason), for an error message.
fn shortened(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}
