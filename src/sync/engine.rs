//! The failover state machine: endpoints in priority order, connect timeouts, heartbeats,
//! jittered backoff between rounds, failback after a hold-down, manual moves, and
//! acknowledgements (`pending`, `flush`). Time is whatever `now` the caller passes.

use std::collections::VecDeque;

use yrs::sync::SyncMessage;

use super::link::{Link, Phase, Probe, Role};
use super::presence::{OverBudget, Presence};
use super::protocol::{self, Dialect, FrameKind, Incoming, Received};
use super::status::{Connection, EndpointState, EndpointView, Status};
use super::types::{ConnId, Output, Reason};
use crate::config::SyncConfig;
use crate::replica::{pieces, Replica};

/// The largest piece of an answer to a server's SyncStep1: servers cap what they take in one
/// message (@y/websocket-server and Hocuspocus refuse more than 100 MiB by default, and close
/// the connection), so what a server lacks goes out as a SyncStep2 followed by updates of at
/// most this size (the default `maxUpdateBytes`, which every peer takes in).
pub const ANSWER_PIECE_BYTES: usize = 4 << 20;

#[derive(Debug)]
struct Flush {
    id: u64,
    /// Every local update up to this sequence number must be acknowledged...
    target: u64,
    /// ...by the answer to a probe sent at or after the call.
    min_serial: u64,
    deadline: u64,
}

pub struct SyncEngine {
    dialect: Dialect,
    endpoints: Vec<EndpointView>,
    room: String,
    params: Vec<(String, String)>,
    heartbeat: u64,
    missed: u32,
    connect_timeout: u64,
    backoff_initial: u64,
    backoff_max: u64,
    failback: bool,
    failback_after: u64,
    /// The largest frame carrying document updates (`maxFrameBytes`).
    max_frame: usize,
    /// The largest frame of any other kind, and the most presence others may hold.
    max_message: usize,
    /// How many bytes of one server's frames may wait to be taken in (`maxBacklogBytes`).
    max_backlog: usize,
    /// How long the first sync answer of a link may take (`syncTimeoutMs`).
    sync_timeout: u64,

    next_conn: ConnId,
    active: Option<Link>,
    monitor: Option<Link>,
    monitor_retry_at: Option<u64>,
    monitor_candidate: usize,
    pinned: Option<usize>,
    tried: Vec<bool>,
    failed_rounds: u32,
    retry_at: Option<u64>,
    /// The endpoint last connected to, and why it was left (for 'failover' events).
    last_endpoint: Option<usize>,
    leave_reason: Option<Reason>,
    rng: u64,

    local_seq: u64,
    acked_seq: u64,
    probe_serial: u64,
    answered_serial: u64,
    flushes: Vec<Flush>,

    presence: Presence,

    out: VecDeque<Output>,
    status: Status,
    stopped: bool,
}

impl SyncEngine {
    /// `seed` drives the backoff jitter (the driver passes a random one; tests a fixed one).
    pub fn new(config: &SyncConfig, room: &str, seed: u64) -> SyncEngine {
        let endpoints: Vec<EndpointView> = config
            .endpoints
            .iter()
            .map(|url| EndpointView {
                url: url.clone(),
                state: EndpointState::Unknown,
                rtt_ms: None,
                last_seen_at: None,
                failures: 0,
                active: false,
            })
            .collect();
        let count = endpoints.len();
        let dialect = match config.protocol.as_str() {
            "hocuspocus" => Dialect::Hocuspocus {
                document: room.to_string(),
                token: config.token.clone().unwrap_or_default(),
            },
            _ => Dialect::YWebsocket,
        };
        SyncEngine {
            dialect,
            endpoints,
            room: room.to_string(),
            params: config
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            heartbeat: config.heartbeat_interval_ms as u64,
            missed: config.missed_heartbeats as u32,
            connect_timeout: config.connect_timeout_ms as u64,
            backoff_initial: config.backoff.initial_ms as u64,
            backoff_max: config.backoff.max_ms as u64,
            failback: config.failback,
            failback_after: config.failback_after_ms as u64,
            max_frame: config.max_frame_bytes as usize,
            max_message: config.max_message_bytes() as usize,
            max_backlog: config.max_backlog_bytes as usize,
            sync_timeout: config.sync_timeout_ms as u64,
            next_conn: 1,
            active: None,
            monitor: None,
            monitor_retry_at: None,
            monitor_candidate: 0,
            pinned: None,
            tried: vec![false; count],
            failed_rounds: 0,
            retry_at: None,
            last_endpoint: None,
            leave_reason: None,
            rng: seed | 1,
            local_seq: 0,
            acked_seq: 0,
            probe_serial: 0,
            answered_serial: 0,
            flushes: Vec::new(),
            presence: Presence::with_budget(config.max_message_bytes() as usize),
            out: VecDeque::new(),
            status: Status {
                connection: Connection::Offline,
                endpoint: None,
                pending: 0,
            },
            stopped: false,
        }
    }

    // ---- inputs --------------------------------------------------------------------------

    /// Starts connecting to the first endpoint.
    pub fn start(&mut self, now: u64) {
        if !self.endpoints.is_empty() && self.active.is_none() {
            self.connect_active(0, now);
        }
        self.refresh_status();
    }

    /// Stops everything: closes every link; later inputs are ignored.
    pub fn stop(&mut self) {
        for link in [self.active.take(), self.monitor.take()]
            .into_iter()
            .flatten()
        {
            self.out.push_back(Output::Close { conn: link.conn });
        }
        self.stopped = true;
        self.retry_at = None;
        self.monitor_retry_at = None;
        self.refresh_status();
    }

    pub fn handle_open(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let delivered = self.acked_seq;
        let sync_by = now.saturating_add(self.sync_timeout);
        let Some(link) = self.link_mut(conn) else {
            return;
        };
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
        let step1 = protocol::sync_step1(&replica.state_vector_now());
        self.send_probe(conn, step1, now);
        self.refresh_status();
    }

    pub fn handle_closed(&mut self, conn: ConnId, now: u64) {
        if self.active.as_ref().is_some_and(|l| l.conn == conn) {
            self.fail_active(Reason::Closed, now);
        } else if self.monitor.as_ref().is_some_and(|l| l.conn == conn) {
            self.fail_monitor(now);
        }
    }

    /// The largest frame [`SyncEngine::handle_frame`] takes (`maxFrameBytes`, for frames that
    /// carry document updates): a WebSocket that can refuse larger messages before reading
    /// them (Node's `ws`: `maxPayload`) is given this limit.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame
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
        if self.link_mut(conn).is_none() {
            return false;
        }
        let kind = (len > self.max_message).then(|| {
            self.dialect
                .classify(&head(self.frame_head_bytes().min(len)))
        });
        match self.frame_refusal(len, kind) {
            Some(why) => {
                self.drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| format!("{url}: {why}"));
                false
            }
            None => true,
        }
    }

    /// Why a frame of `len` bytes (of `kind`, when known) is refused, if it is.
    fn frame_refusal(&self, len: usize, kind: Option<FrameKind>) -> Option<String> {
        let (max_frame, max_message) = (self.max_frame, self.max_message);
        if len > max_frame {
            let what = match kind {
                Some(FrameKind::Document(what) | FrameKind::Other(what)) => what,
                None => "message",
            };
            return Some(format!(
                "a {len}-byte {what} is over maxFrameBytes ({max_frame}); the connection was dropped"
            ));
        }
        match kind {
            Some(FrameKind::Other(what)) if len > max_message => Some(format!(
                "a {len}-byte {what} is over maxMessageBytes ({max_message}), the limit for messages that are not document updates; the connection was dropped"
            )),
            _ => None,
        }
    }

    /// The WebSocket itself refused a message over `maxFrameBytes` on `conn` before reading
    /// it (Node's `ws` with `maxPayload`): the connection is dropped as broken.
    pub fn handle_socket_refused_frame(&mut self, conn: ConnId, now: u64) {
        let max = self.max_frame;
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
        if self.link_mut(conn).is_none() {
            return false;
        }
        if waiting >= self.max_backlog {
            let max = self.max_backlog;
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
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        link.heard = true;
        link.last_rx = now;
        link.misses = 0;
        link.heartbeat_sent_at = None;
        let endpoint = link.endpoint;
        self.endpoints[endpoint].last_seen_at = Some(now);
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
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        let endpoint = link.endpoint;
        let message = describe(&self.endpoints[endpoint].url);
        self.link_error(conn, code, message, now);
    }

    /// A frame from a link, taken in now. Frames of links already dropped are ignored. Its
    /// size is checked as [`SyncEngine::admit_frame`] checks it (a driver that admitted it
    /// already passes the same test again), and once decoded, the bytes of everything in it
    /// that is not a document update must stay within `maxMessageBytes`.
    pub fn handle_frame(&mut self, conn: ConnId, frame: &[u8], now: u64, replica: &mut Replica) {
        let head = &frame[..self.frame_head_bytes().min(frame.len())];
        let kind = (frame.len() > self.max_message).then(|| self.dialect.classify(head));
        if let Some(why) = self.frame_refusal(frame.len(), kind) {
            return self
                .drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| format!("{url}: {why}"));
        }
        self.handle_activity(conn, now);
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        let role = link.role;
        let endpoint = link.endpoint;
        let messages = match self.dialect.decode_ref(frame) {
            Ok(messages) => messages,
            Err(e) => {
                let message = format!("{}: {e}", self.endpoints[endpoint].url);
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
        if other_bytes > self.max_message {
            let max = self.max_message;
            return self.drop_broken_link(conn, "FRAME_TOO_LARGE", now, |url| {
                format!("{url}: a {}-byte message carries {other_bytes} bytes besides document updates, over maxMessageBytes ({max}); the connection was dropped", frame.len())
            });
        }
        for message in messages {
            if self.link_mut(conn).is_none() {
                return; // the link failed while handling an earlier message of this frame
            }
            let message = match message {
                Received::Document { answer, update } => {
                    if !self.apply(conn, update, now, replica) {
                        return;
                    }
                    if answer {
                        self.probe_answered(conn, now);
                    }
                    continue;
                }
                Received::Other(message) => message,
            };
            match message {
                Incoming::Sync(SyncMessage::SyncStep1(sv)) if role == Role::Active => {
                    let diff = replica.diff_since(&sv);
                    if !self.may_answer(conn, diff.len(), now) {
                        return;
                    }
                    self.send_answer(conn, &diff);
                    self.after_handshake(conn, now, replica);
                }
                // Applying takes the update in; the event is due only when the set changed.
                Incoming::Awareness(update) if role == Role::Active => {
                    match self.presence.apply(&update, now) {
                        Ok(true) => self.out.push_back(Output::Presence),
                        Ok(false) => {}
                        Err(OverBudget(bytes)) => {
                            self.out.push_back(Output::Presence);
                            let max = self.max_message;
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
                        self.endpoints[endpoint].url,
                        shortened(&reason)
                    );
                    return self.link_error(conn, "PERMISSION_DENIED", message, now);
                }
                Incoming::SyncStatus(applied) if role == Role::Active => {
                    self.sync_status(conn, applied);
                }
                Incoming::Ping => {
                    let pong = self.dialect.pong();
                    self.out.push_back(Output::Send { conn, data: pong });
                }
                Incoming::Close(reason) => {
                    let message = format!(
                        "{} closed the document: {}",
                        self.endpoints[endpoint].url,
                        shortened(&reason)
                    );
                    self.out.push_back(Output::Error {
                        code: "CLOSED_BY_SERVER",
                        message,
                    });
                    if role == Role::Active {
                        self.fail_active(Reason::Closed, now);
                    } else {
                        self.fail_monitor(now);
                    }
                    return;
                }
                // Monitors only probe; Authenticated and stateless messages need no answer.
                _ => {}
            }
        }
        // Updates sent after the last answered probe still need one to be acknowledged; and a
        // probe held back while the first answer was on its way goes out now.
        let acked = self.acked_seq;
        let wants_probe = self.link_mut(conn).is_some_and(|l| {
            l.synced()
                && l.probes.is_empty()
                && (l.probe_deferred
                    || (l.role == Role::Active && l.handshake_sent() && l.delivered > acked))
        });
        if wants_probe {
            let step1 = protocol::sync_step1(&replica.state_vector_now());
            self.send_probe(conn, step1, now);
        }
        self.check_flushes();
        self.refresh_status();
    }

    /// Advances timers. Early or repeated calls are harmless.
    pub fn handle_timeout(&mut self, now: u64, replica: &Replica) {
        if self.stopped {
            return;
        }
        if let Some(link) = &self.active {
            match link.phase {
                Phase::Connecting { deadline } if now >= deadline => {
                    self.fail_active(Reason::ConnectTimeout, now)
                }
                Phase::Open {
                    synced: false,
                    sync_by,
                    ..
                } if now >= sync_by => {
                    self.no_sync_answer(link.endpoint);
                    self.fail_active(Reason::Heartbeat, now)
                }
                Phase::Open { synced: false, .. } if self.silent_since_open(link, now) => {
                    self.fail_active(Reason::Heartbeat, now)
                }
                Phase::Open { synced: true, .. } => self.heartbeat(link.conn, now, replica),
                _ => {}
            }
        }
        if let Some(link) = &self.monitor {
            match link.phase {
                Phase::Connecting { deadline } if now >= deadline => self.fail_monitor(now),
                Phase::Open {
                    synced: false,
                    sync_by,
                    ..
                } if now >= sync_by => self.fail_monitor(now),
                Phase::Open { synced: false, .. } if self.silent_since_open(link, now) => {
                    self.fail_monitor(now)
                }
                Phase::Open { synced: true, .. } => self.heartbeat(link.conn, now, replica),
                _ => {}
            }
        }
        if self.retry_at.is_some_and(|t| now >= t) {
            self.retry_at = None;
            self.tried.iter_mut().for_each(|t| *t = false);
            let first = self.pinned.unwrap_or(0);
            self.connect_active(first, now);
        }
        if self.monitor_retry_at.is_some_and(|t| now >= t) {
            self.monitor_retry_at = None;
            self.ensure_monitor(now);
        }
        let expired: Vec<u64> = self
            .flushes
            .iter()
            .filter(|f| now >= f.deadline)
            .map(|f| f.id)
            .collect();
        self.flushes.retain(|f| now < f.deadline);
        for id in expired {
            self.out.push_back(Output::FlushTimedOut { id });
        }
        self.check_failback(now);
        if self.presence.expire(now) {
            self.out.push_back(Output::Presence);
        }
        if self.presence.renew_at().is_some_and(|t| now >= t) {
            if let Some(conn) = self
                .active
                .as_ref()
                .filter(|l| l.handshake_sent())
                .map(|l| l.conn)
            {
                let renewal = self.presence.renew(now);
                self.send(conn, renewal);
            }
        }
        self.refresh_status();
    }

    /// Sets (or with None clears) this replica's presence state, a JSON text, and sends it.
    pub fn set_presence(&mut self, json: Option<String>, client_id: u64, now: u64) {
        let message = self.presence.set_local(client_id, json);
        if let Some(conn) = self
            .active
            .as_ref()
            .filter(|l| l.handshake_sent())
            .map(|l| l.conn)
        {
            self.send(conn, message);
            self.presence.mark_sent(now);
        }
    }

    /// The other clients' presence states as JSON: `[{ clientId, state }, ...]`.
    pub fn presence_json(&self) -> String {
        self.presence.peers_json()
    }

    /// A local update (Yjs v1) the replica just made. Online, it is sent at once, followed by
    /// a probe unless one is already in flight (whose successor will cover it): so `pending`
    /// drains within a round trip without a probe per update.
    pub fn local_update(&mut self, update: Vec<u8>, now: u64, replica: &Replica) {
        self.local_seq += 1;
        let seq = self.local_seq;
        if let Some(link) = self.active.as_mut().filter(|l| l.handshake_sent()) {
            link.delivered = seq;
            let conn = link.conn;
            let probe_in_flight = !link.probes.is_empty() || self.dialect.acks_with_sync_status();
            self.send_update_message(conn, protocol::update(update), seq);
            if !probe_in_flight {
                let step1 = protocol::sync_step1(&replica.state_vector_now());
                self.send_probe(conn, step1, now);
            }
        }
        self.refresh_status();
    }

    /// Resolves (FlushResolved) once every change made so far is acknowledged by a server's
    /// answer to a probe sent now or later; times out (FlushTimedOut) after `timeout_ms`.
    pub fn flush(&mut self, id: u64, timeout_ms: u64, now: u64, replica: &Replica) {
        self.flushes.push(Flush {
            id,
            target: self.local_seq,
            min_serial: self.probe_serial + 1,
            deadline: now.saturating_add(timeout_ms),
        });
        if let Some(conn) = self
            .active
            .as_ref()
            .filter(|l| l.handshake_sent())
            .map(|l| l.conn)
        {
            let step1 = protocol::sync_step1(&replica.state_vector_now());
            self.send_probe(conn, step1, now);
        }
    }

    /// Manual: leave the current endpoint for the next one now (clears a pin).
    pub fn failover(&mut self, now: u64) {
        if self.endpoints.is_empty() || self.stopped {
            return;
        }
        self.pinned = None;
        let current = self
            .active
            .as_ref()
            .map(|l| l.endpoint)
            .or(self.last_endpoint)
            .unwrap_or(0);
        let next = (current + 1) % self.endpoints.len();
        self.move_to(next, Reason::Manual, now);
    }

    /// Manual: go to `url` and stay there until [`SyncEngine::unpin`].
    pub fn switch_to(&mut self, url: &str, now: u64) -> Result<(), String> {
        let index = self
            .endpoints
            .iter()
            .position(|e| e.url == url)
            .ok_or_else(|| format!("'{url}' is not one of the endpoints"))?;
        self.pinned = Some(index);
        if self.active.as_ref().is_some_and(|l| l.endpoint == index) {
            self.drop_monitor();
            return Ok(());
        }
        self.move_to(index, Reason::Manual, now);
        Ok(())
    }

    /// Lets failback work again after [`SyncEngine::switch_to`].
    pub fn unpin(&mut self, now: u64) {
        self.pinned = None;
        self.ensure_monitor(now);
    }

    // ---- outputs -------------------------------------------------------------------------

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next moment [`SyncEngine::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        let links = [&self.active, &self.monitor]
            .into_iter()
            .flatten()
            .map(|l| l.deadline(self.heartbeat, self.silence()));
        let flushes = self.flushes.iter().map(|f| f.deadline);
        let monitor_hold = self
            .monitor
            .as_ref()
            .and_then(|m| m.healthy_since)
            .map(|t| t.saturating_add(self.failback_after));
        let renew = self
            .active
            .as_ref()
            .filter(|l| l.handshake_sent())
            .and(self.presence.renew_at());
        links
            .chain(flushes)
            .chain(self.retry_at)
            .chain(self.monitor_retry_at)
            .chain(monitor_hold)
            .chain(renew)
            .chain(self.presence.expire_at())
            .min()
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn endpoints(&self) -> Vec<EndpointView> {
        let active = self.active.as_ref().map(|l| l.endpoint);
        self.endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| EndpointView {
                active: Some(i) == active,
                ..e.clone()
            })
            .collect()
    }

    pub fn pinned(&self) -> Option<&str> {
        self.pinned.map(|i| self.endpoints[i].url.as_str())
    }

    // ---- internals -----------------------------------------------------------------------

    fn link_mut(&mut self, conn: ConnId) -> Option<&mut Link> {
        [self.active.as_mut(), self.monitor.as_mut()]
            .into_iter()
            .flatten()
            .find(|l| l.conn == conn)
    }

    fn send(&mut self, conn: ConnId, message: Vec<u8>) {
        let data = self.dialect.frame(message);
        self.out.push_back(Output::Send { conn, data });
    }

    /// Sends a SyncStep2 or Update carrying local changes up to `seq`; with SyncStatus
    /// acknowledgements, remembers which answer will cover it.
    fn send_update_message(&mut self, conn: ConnId, message: Vec<u8>, seq: u64) {
        if self.dialect.acks_with_sync_status() {
            if let Some(link) = self.link_mut(conn) {
                link.status_acks.push_back(seq);
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
        for (i, piece) in pieces.into_iter().enumerate() {
            let (message, covers) = match i {
                0 if last == 0 => (protocol::sync_step2(piece), self.local_seq),
                0 => (protocol::sync_step2(piece), self.acked_seq),
                i if i == last => (protocol::update(piece), self.local_seq),
                _ => (protocol::update(piece), self.acked_seq),
            };
            self.send_update_message(conn, message, covers);
        }
    }

    /// A SyncStatus answers the oldest SyncStep2 / Update not yet answered.
    fn sync_status(&mut self, conn: ConnId, applied: bool) {
        let Some(covers) = self.link_mut(conn).and_then(|l| l.status_acks.pop_front()) else {
            return;
        };
        if applied {
            self.acked_seq = self.acked_seq.max(covers);
            return;
        }
        let url = self
            .active
            .as_ref()
            .map(|l| self.endpoints[l.endpoint].url.clone())
            .unwrap_or_default();
        self.out.push_back(Output::Error {
            code: "REJECTED",
            message: format!("{url} did not apply an update (a read-only connection?)"),
        });
        let mut rejected = Vec::new();
        self.flushes.retain(|f| {
            let waits_for_it = f.target >= covers;
            if waits_for_it {
                rejected.push(f.id);
            }
            !waits_for_it
        });
        for id in rejected {
            self.out.push_back(Output::FlushRejected { id });
        }
    }

    /// Sends a SyncStep1 whose answer both proves liveness and acknowledges what was sent.
    /// While the link's first answer is still on its way, the probe waits for it instead (see
    /// [`Link::probe_deferred`]).
    fn send_probe(&mut self, conn: ConnId, step1: Vec<u8>, now: u64) {
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        if !link.synced() && !link.probes.is_empty() {
            link.probe_deferred = true;
            return;
        }
        link.probe_deferred = false;
        let covers = link.delivered;
        let covers_answers = link.answer_bytes_sent;
        self.probe_serial += 1;
        let serial = self.probe_serial;
        if let Some(link) = self.link_mut(conn) {
            link.probes.push_back(Probe {
                serial,
                sent_at: now,
                covers,
                covers_answers,
            });
        }
        self.send(conn, step1);
    }

    /// Whether an `len`-byte answer to the server's SyncStep1 may go out on `conn`: the
    /// answers the server has not yet been proven to read (no probe answered since) must stay
    /// within `maxBacklogBytes`, apart from a single one; else a server asking again and again
    /// without reading would pile up copies of the document in the socket's send buffer. The
    /// link is dropped (BACKLOG_TOO_LARGE) when it may not.
    fn may_answer(&mut self, conn: ConnId, len: usize, now: u64) -> bool {
        let max = self.max_backlog;
        let Some(link) = self.link_mut(conn) else {
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

    fn heartbeat(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let heartbeat = self.heartbeat;
        let missed = self.missed;
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        match link.heartbeat_sent_at {
            Some(sent) if now >= sent.saturating_add(heartbeat) => {
                link.misses += 1;
                link.healthy_since = None;
                if link.misses >= missed {
                    match link.role {
                        Role::Active => self.fail_active(Reason::Heartbeat, now),
                        Role::Monitor => self.fail_monitor(now),
                    }
                    return;
                }
                link.heartbeat_sent_at = Some(now);
            }
            None if now >= link.last_rx.saturating_add(heartbeat) => {
                link.heartbeat_sent_at = Some(now)
            }
            _ => return,
        }
        let step1 = protocol::sync_step1(&replica.state_vector_now());
        self.send_probe(conn, step1, now);
    }

    /// After our SyncStep2 answered the server's SyncStep1: the server now has everything we
    /// had, so later local updates go out as they happen; a probe acknowledges the handshake.
    fn after_handshake(&mut self, conn: ConnId, now: u64, replica: &Replica) {
        let local_seq = self.local_seq;
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        if let Phase::Open { handshake_sent, .. } = &mut link.phase {
            if *handshake_sent {
                return;
            }
            *handshake_sent = true;
        }
        link.delivered = local_seq;
        let step1 = protocol::sync_step1(&replica.state_vector_now());
        self.send_probe(conn, step1, now);
        if let Some(message) = self.presence.local_message() {
            self.send(conn, message);
            self.presence.mark_sent(now);
        }
    }

    /// Applies a remote update; on bad bytes drops the link and returns false.
    fn apply(&mut self, conn: ConnId, update: &[u8], now: u64, replica: &mut Replica) -> bool {
        match replica.apply_update(update) {
            Ok(()) => true,
            Err(e) => {
                let url = self
                    .link_mut(conn)
                    .map(|l| l.endpoint)
                    .map(|i| self.endpoints[i].url.clone());
                let message = format!("{}: {e}", url.unwrap_or_default());
                self.link_error(conn, "INVALID_UPDATE", message, now);
                false
            }
        }
    }

    /// How long a server may say nothing at all: as long as heartbeats give a silent one.
    fn silence(&self) -> u64 {
        self.heartbeat.saturating_mul(u64::from(self.missed) + 1)
    }

    /// Whether `link`, open and waiting for its first answer, has heard nothing since it opened
    /// for longer than [`SyncEngine::silence`]. Every known server speaks at once
    /// (y-websocket servers send their SyncStep1, Hocuspocus answers the token); the silence
    /// that may follow, while it encodes a large answer, is allowed up to `syncTimeoutMs`.
    fn silent_since_open(&self, link: &Link, now: u64) -> bool {
        !link.heard && now >= link.last_rx.saturating_add(self.silence())
    }

    /// Reports a server that never answered the handshake in time.
    fn no_sync_answer(&mut self, endpoint: usize) {
        let waited_ms = self.sync_timeout;
        let message = format!(
            "{}: no answer to the sync handshake within {waited_ms} ms (syncTimeoutMs), though it had spoken (not a Yjs sync server, or a frozen one?)",
            self.endpoints[endpoint].url
        );
        self.out.push_back(Output::Error {
            code: "PROTOCOL_ERROR",
            message,
        });
    }

    fn probe_answered(&mut self, conn: ConnId, now: u64) {
        let Some(link) = self.link_mut(conn) else {
            return;
        };
        let Some(probe) = link.probes.pop_front() else {
            return;
        };
        let role = link.role;
        let endpoint = link.endpoint;
        let first_sync = !link.synced();
        if let Phase::Open { synced, .. } = &mut link.phase {
            *synced = true;
        }
        if role == Role::Monitor && link.healthy_since.is_none() {
            link.healthy_since = Some(now);
        }
        link.answer_bytes_read = link.answer_bytes_read.max(probe.covers_answers);
        let e = &mut self.endpoints[endpoint];
        e.rtt_ms = Some(now.saturating_sub(probe.sent_at));
        e.state = EndpointState::Up;
        self.answered_serial = self.answered_serial.max(probe.serial);
        if role == Role::Active {
            if !self.dialect.acks_with_sync_status() {
                self.acked_seq = self.acked_seq.max(probe.covers);
            }
            if first_sync {
                self.failed_rounds = 0;
                self.tried.iter_mut().for_each(|t| *t = false);
                self.ensure_monitor(now);
            }
        } else {
            self.check_failback(now);
        }
    }

    fn check_flushes(&mut self) {
        let (acked, answered) = (self.acked_seq, self.answered_serial);
        let mut done = Vec::new();
        self.flushes.retain(|f| {
            let ok = acked >= f.target && answered >= f.min_serial;
            if ok {
                done.push(f.id);
            }
            !ok
        });
        for id in done {
            self.out.push_back(Output::FlushResolved { id });
        }
    }

    fn link_error(&mut self, conn: ConnId, code: &'static str, message: String, now: u64) {
        self.out.push_back(Output::Error { code, message });
        if code == "PERMISSION_DENIED" {
            // Asking again at once would be refused again: start the backoff further along.
            self.failed_rounds = self.failed_rounds.max(2);
        }
        if self.active.as_ref().is_some_and(|l| l.conn == conn) {
            self.fail_active(Reason::Error, now);
        } else {
            self.fail_monitor(now);
        }
    }

    /// The active link failed: mark its endpoint down and go to the next one, or wait.
    fn fail_active(&mut self, reason: Reason, now: u64) {
        let Some(link) = self.active.take() else {
            return;
        };
        self.out.push_back(Output::Close { conn: link.conn });
        let e = &mut self.endpoints[link.endpoint];
        e.state = EndpointState::Down;
        e.failures += 1;
        self.tried[link.endpoint] = true;
        self.leave_reason = Some(reason);
        self.drop_monitor();
        self.forget_peers();
        let next = match self.pinned {
            Some(pinned) => (!self.tried[pinned]).then_some(pinned),
            None => self.tried.iter().position(|t| !t),
        };
        match next {
            Some(next) => self.connect_active(next, now),
            None => {
                self.failed_rounds += 1;
                self.retry_at = Some(now.saturating_add(self.backoff_delay()));
            }
        }
        self.refresh_status();
    }

    /// Leaves the current endpoint for `index` at once (manual moves and failback).
    fn move_to(&mut self, index: usize, reason: Reason, now: u64) {
        if let Some(link) = self.active.take() {
            self.out.push_back(Output::Close { conn: link.conn });
        }
        self.forget_peers();
        self.drop_monitor();
        self.retry_at = None;
        self.leave_reason = Some(reason);
        self.tried.iter_mut().for_each(|t| *t = false);
        self.connect_active(index, now);
        self.refresh_status();
    }

    /// The others' states came through the link just left; the next server will send its own.
    fn forget_peers(&mut self) {
        if self.presence.clear_peers() {
            self.out.push_back(Output::Presence);
        }
    }

    fn connect_active(&mut self, index: usize, now: u64) {
        if let (Some(from), Some(reason)) = (self.last_endpoint, self.leave_reason) {
            if from != index {
                self.out.push_back(Output::Failover {
                    from: self.endpoints[from].url.clone(),
                    to: self.endpoints[index].url.clone(),
                    reason,
                    at: now,
                });
            }
        }
        self.leave_reason = None;
        self.last_endpoint = Some(index);
        let conn = self.open_link(index);
        self.active = Some(Link::new(
            conn,
            index,
            Role::Active,
            now,
            self.connect_timeout,
        ));
    }

    fn open_link(&mut self, index: usize) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        let url = self
            .dialect
            .url(&self.endpoints[index].url, &self.room, &self.params);
        self.out.push_back(Output::Connect { conn, url });
        conn
    }

    /// Watches a higher-priority endpoint while a lower one is in use, for failback.
    fn ensure_monitor(&mut self, now: u64) {
        let Some(active) = self
            .active
            .as_ref()
            .filter(|l| l.synced())
            .map(|l| l.endpoint)
        else {
            return;
        };
        if !self.failback
            || self.pinned.is_some()
            || active == 0
            || self.monitor.is_some()
            || self.stopped
        {
            return;
        }
        if self.monitor_retry_at.is_some() {
            return;
        }
        let target = self.monitor_candidate % active;
        let conn = self.open_link(target);
        self.monitor = Some(Link::new(
            conn,
            target,
            Role::Monitor,
            now,
            self.connect_timeout,
        ));
    }

    fn fail_monitor(&mut self, now: u64) {
        let Some(link) = self.monitor.take() else {
            return;
        };
        self.out.push_back(Output::Close { conn: link.conn });
        let e = &mut self.endpoints[link.endpoint];
        if e.state != EndpointState::Down {
            e.failures += 1;
        }
        e.state = EndpointState::Down;
        self.monitor_candidate = link.endpoint + 1;
        self.monitor_retry_at = Some(now.saturating_add(self.heartbeat.max(self.backoff_initial)));
    }

    fn drop_monitor(&mut self) {
        if let Some(link) = self.monitor.take() {
            self.out.push_back(Output::Close { conn: link.conn });
        }
        self.monitor_retry_at = None;
        self.monitor_candidate = 0;
    }

    /// Fails back once the monitored endpoint has answered every probe for the hold-down.
    fn check_failback(&mut self, now: u64) {
        let Some(monitor) = &self.monitor else { return };
        if monitor
            .healthy_since
            .is_some_and(|t| now >= t.saturating_add(self.failback_after))
        {
            let target = monitor.endpoint;
            self.move_to(target, Reason::Failback, now);
        }
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

    fn refresh_status(&mut self) {
        let connection = match &self.active {
            None => Connection::Offline,
            Some(link) => match link.phase {
                Phase::Connecting { .. } => Connection::Connecting,
                Phase::Open { synced: false, .. } => Connection::Syncing,
                Phase::Open { synced: true, .. } => Connection::Online,
            },
        };
        let status = Status {
            connection,
            endpoint: self
                .active
                .as_ref()
                .map(|l| self.endpoints[l.endpoint].url.clone()),
            pending: self.local_seq - self.acked_seq.min(self.local_seq),
        };
        if status != self.status {
            self.status = status.clone();
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
