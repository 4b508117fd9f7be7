//! A simulated network for the sans-IO sync engine: y-websocket-like servers (a yrs Doc that
//! sends SyncStep1 on connect, answers SyncStep1 with SyncStep2, applies and broadcasts
//! updates, and relays awareness by y-protocols' clock rule), links with latency, and faults:
//! freeze (TCP up, nothing answers), kill, restart.
#![allow(dead_code)]

use std::collections::HashMap;

use yreplica::config::SyncConfig;
use yreplica::replica::Replica;
use yreplica::sync::{protocol, ConnId, Output, SyncEngine};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

pub const LATENCY: u64 = 5;

pub struct SimServer {
    pub url: String,
    pub doc: Doc,
    pub frozen: bool,
    pub down: bool,
    /// Answer only every other SyncStep1 (a flaky server).
    pub flaky: bool,
    /// How long the server takes (in silence) to encode each answer to a SyncStep1.
    pub answer_delay: u64,
    /// SyncStep1s received (each one makes the server encode what the client lacks).
    pub seen_step1: u64,
    /// Whether awareness updates are relayed (y-websocket relays them to every connection,
    /// the sender's too; a server that drops them answers no light probe).
    pub relays_awareness: bool,
    /// Relay an awareness update only when a state was added or changed (y-protocols'
    /// 'change' event instead of 'update'): the first light probe is echoed, no later one.
    pub relays_changes_only: bool,
    /// Per client: the awareness clock held, and the state if one is held (y-protocols' meta).
    awareness: HashMap<u64, (u32, Option<String>)>,
    /// The clients each connection announced (their states are dropped when it closes).
    controlled: HashMap<ConnId, Vec<u64>>,
    backlog: Vec<(ConnId, Vec<u8>)>,
}

#[derive(Debug)]
enum Event {
    Open(ConnId),
    Closed(ConnId),
    ToClient(ConnId, Vec<u8>),
    ToServer(ConnId, Vec<u8>),
}

pub struct Sim {
    pub now: u64,
    pub engine: SyncEngine,
    pub replica: Replica,
    pub servers: Vec<SimServer>,
    conns: HashMap<ConnId, usize>,
    open: HashMap<ConnId, bool>,
    events: Vec<(u64, u64, Event)>,
    seq: u64,
    pub outputs: Vec<(u64, Output)>,
}

impl Sim {
    pub fn new(servers: usize, config: impl FnOnce(&mut SyncConfig)) -> Sim {
        let urls: Vec<String> = (0..servers)
            .map(|i| format!("ws://127.0.0.1:{}", 9000 + i))
            .collect();
        let mut cfg = SyncConfig {
            endpoints: urls.clone(),
            ..SyncConfig::default()
        };
        config(&mut cfg);
        cfg.validate().expect("valid config");
        let mut replica = Replica::with_client_id(1);
        replica.capture_local_updates();
        Sim {
            now: 1_000,
            engine: SyncEngine::new(&cfg, "room", 7),
            replica,
            servers: urls
                .into_iter()
                .map(|url| SimServer {
                    url,
                    doc: Doc::with_client_id(100),
                    frozen: false,
                    down: false,
                    flaky: false,
                    answer_delay: 0,
                    seen_step1: 0,
                    relays_awareness: true,
                    relays_changes_only: false,
                    awareness: HashMap::new(),
                    controlled: HashMap::new(),
                    backlog: Vec::new(),
                })
                .collect(),
            conns: HashMap::new(),
            open: HashMap::new(),
            events: Vec::new(),
            seq: 0,
            outputs: Vec::new(),
        }
    }

    fn schedule(&mut self, delay: u64, event: Event) {
        self.seq += 1;
        self.events.push((self.now + delay, self.seq, event));
    }

    pub fn start(&mut self) {
        self.engine.start(self.now);
        self.drain();
    }

    /// Executes the engine's outputs (after calling the engine directly).
    pub fn drain_outputs(&mut self) {
        self.drain();
    }

    /// Executes the engine's outputs.
    fn drain(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match &output {
                Output::Connect { conn, url } => {
                    let server = self
                        .servers
                        .iter()
                        .position(|s| url.starts_with(&s.url))
                        .expect("known server");
                    self.conns.insert(*conn, server);
                    let (down, frozen) = (self.servers[server].down, self.servers[server].frozen);
                    if down {
                        self.schedule(LATENCY, Event::Closed(*conn));
                    } else if !frozen {
                        self.schedule(LATENCY, Event::Open(*conn));
                        let step1 = protocol::sync_step1(
                            &self.servers[server].doc.transact().state_vector(),
                        );
                        self.schedule(LATENCY + 1, Event::ToClient(*conn, step1));
                    }
                    // frozen: the TCP handshake completes, the WebSocket upgrade never does.
                }
                Output::Send { conn, data } if self.open.get(conn).copied().unwrap_or(false) => {
                    self.schedule(LATENCY, Event::ToServer(*conn, data.clone()));
                }
                Output::Close { conn } => {
                    self.open.remove(conn);
                    if let Some(server) = self.conns.remove(conn) {
                        self.drop_states_of(server, *conn);
                    }
                }
                _ => {}
            }
            self.outputs.push((self.now, output));
        }
    }

    fn server_receive(&mut self, conn: ConnId, frame: Vec<u8>) {
        let Some(&index) = self.conns.get(&conn) else {
            return;
        };
        if self.servers[index].frozen {
            self.servers[index].backlog.push((conn, frame));
            return;
        }
        let messages = protocol::decode_frame(&frame).expect("client sends valid frames");
        for message in messages {
            match message {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let s = &mut self.servers[index];
                    s.seen_step1 += 1;
                    if s.flaky && s.seen_step1 % 2 == 0 {
                        continue;
                    }
                    let diff = s.doc.transact().encode_state_as_update_v1(&sv);
                    let delay = LATENCY + s.answer_delay;
                    self.schedule(delay, Event::ToClient(conn, protocol::sync_step2(diff)));
                }
                Message::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                    let s = &self.servers[index];
                    s.doc
                        .transact_mut()
                        .apply_update(Update::decode_v1(&update).unwrap())
                        .unwrap();
                    // y-websocket broadcasts every update to every connection of the room.
                    self.broadcast(index, &protocol::update(update));
                }
                Message::Awareness(update) => {
                    if !self.servers[index].relays_awareness {
                        continue;
                    }
                    // y-protocols takes a state only under a newer clock; y-websocket relays
                    // what it took to every connection of the room.
                    let s = &mut self.servers[index];
                    let changes_only = s.relays_changes_only;
                    let mut taken = update.clients.clone();
                    taken.retain(|client, entry| {
                        let null = &*entry.json == "null";
                        let (clock, held) =
                            s.awareness.get(&client.get()).cloned().unwrap_or((0, None));
                        let newer =
                            clock < entry.clock || (clock == entry.clock && null && held.is_some());
                        if !newer {
                            return false;
                        }
                        let state = (!null).then(|| entry.json.to_string());
                        let changed = held != state;
                        s.awareness.insert(client.get(), (entry.clock, state));
                        s.controlled.entry(conn).or_default().push(client.get());
                        (held.is_some() || !null) && (changed || !changes_only)
                    });
                    if !taken.is_empty() {
                        let relayed =
                            Message::Awareness(yrs::sync::AwarenessUpdate { clients: taken });
                        self.broadcast(index, &relayed.encode_v1());
                    }
                }
                _ => {}
            }
        }
    }

    /// A connection closed: the states it announced are dropped (y-protocols'
    /// `removeAwarenessStates`, which keeps a remote client's clock), and the others told.
    fn drop_states_of(&mut self, server: usize, conn: ConnId) {
        let s = &mut self.servers[server];
        let mut removed = HashMap::new();
        for client in s.controlled.remove(&conn).unwrap_or_default() {
            if let Some((clock, held)) = s.awareness.get_mut(&client) {
                if held.take().is_some() {
                    let entry = yrs::sync::awareness::AwarenessUpdateEntry {
                        clock: *clock,
                        json: std::sync::Arc::from("null"),
                    };
                    removed.insert(yrs::block::ClientID::new(client), entry);
                }
            }
        }
        if !removed.is_empty() {
            let message = Message::Awareness(yrs::sync::AwarenessUpdate { clients: removed });
            self.broadcast(server, &message.encode_v1());
        }
    }

    /// The connections open to `server`.
    fn conns_of(&self, server: usize) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, &i)| i == server)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Sends `frame` from `server` to each of its connections (the sender included).
    fn broadcast(&mut self, server: usize, frame: &[u8]) {
        for peer in self.conns_of(server) {
            self.schedule(LATENCY, Event::ToClient(peer, frame.to_vec()));
        }
    }

    /// Runs until `until`, jumping from event to event (no sleeping).
    pub fn run_until(&mut self, until: u64) {
        loop {
            let next_event = self.events.iter().map(|(t, s, _)| (*t, *s)).min();
            let next_timer = self.engine.poll_timeout();
            let next = match (next_event, next_timer) {
                (Some((te, _)), Some(tt)) => te.min(tt),
                (Some((te, _)), None) => te,
                (None, Some(tt)) => tt,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if let Some(pos) = self
                .events
                .iter()
                .enumerate()
                .filter(|(_, (t, _, _))| *t <= self.now)
                .min_by_key(|(_, (t, s, _))| (*t, *s))
                .map(|(i, _)| i)
            {
                let (_, _, event) = self.events.remove(pos);
                match event {
                    Event::Open(conn) => {
                        if self.conns.contains_key(&conn) {
                            self.open.insert(conn, true);
                            self.engine.handle_open(conn, self.now, &self.replica);
                        }
                    }
                    Event::Closed(conn) => {
                        self.open.remove(&conn);
                        self.engine.handle_closed(conn, self.now);
                    }
                    Event::ToClient(conn, frame) => {
                        if self.open.get(&conn).copied().unwrap_or(false) {
                            let index = self.conns[&conn];
                            if !self.servers[index].frozen {
                                self.engine
                                    .handle_frame(conn, &frame, self.now, &mut self.replica);
                            }
                        }
                    }
                    Event::ToServer(conn, frame) => self.server_receive(conn, frame),
                }
            } else {
                self.engine.handle_timeout(self.now, &self.replica);
            }
            self.replica.take_changes();
            self.drain();
        }
        self.now = self.now.max(until);
    }

    pub fn advance(&mut self, ms: u64) {
        let until = self.now + ms;
        self.run_until(until);
    }

    /// A local write, fed to the engine as the driver would.
    pub fn write(&mut self, id: &str, value: u64) {
        let fields =
            yreplica::replica::value::fields_from_json(&format!("{{\"v\":{value}}}"), || {
                "sim".into()
            })
            .unwrap();
        self.replica.upsert("items", id, fields).unwrap();
        self.replica.take_changes();
        for update in self.replica.take_local_updates() {
            self.engine.local_update(update, self.now, &self.replica);
        }
        self.drain();
    }

    pub fn failover(&mut self) {
        self.engine.failover(self.now);
        self.drain();
    }

    pub fn switch_to(&mut self, server: usize) {
        let url = self.url(server);
        self.engine
            .switch_to(&url, self.now)
            .expect("known endpoint");
        self.drain();
    }

    pub fn unpin(&mut self) {
        self.engine.unpin(self.now);
        self.drain();
    }

    pub fn set_presence(&mut self, json: Option<&str>) {
        let client = self.replica.doc().client_id().get();
        self.engine
            .set_presence(json.map(String::from), client, self.now);
        self.drain();
    }

    pub fn flush(&mut self, id: u64, timeout_ms: u64) {
        self.engine
            .flush(id, timeout_ms, None, self.now, &self.replica);
        self.drain();
    }

    /// A flush that needs `servers` servers' acknowledgements.
    pub fn flush_on(&mut self, id: u64, timeout_ms: u64, servers: u32) {
        self.engine
            .flush(id, timeout_ms, Some(servers), self.now, &self.replica);
        self.drain();
    }

    /// How each flush ended so far: (id, "resolved" | "timed out" | "rejected").
    pub fn flush_outcomes(&self) -> Vec<(u64, &'static str)> {
        self.outputs
            .iter()
            .filter_map(|(_, o)| match o {
                Output::FlushResolved { id } => Some((*id, "resolved")),
                Output::FlushTimedOut { id } => Some((*id, "timed out")),
                Output::FlushRejected { id } => Some((*id, "rejected")),
                _ => None,
            })
            .collect()
    }

    /// Whether each failover so far landed on an in-sync standby.
    pub fn warm_failovers(&self) -> Vec<bool> {
        self.outputs
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Failover { warm, .. } => Some(*warm),
                _ => None,
            })
            .collect()
    }

    /// The connections the engine keeps open now, by server.
    pub fn open_servers(&self) -> Vec<usize> {
        let mut servers: Vec<usize> = self
            .conns
            .iter()
            .filter(|(c, _)| self.open.get(c).copied().unwrap_or(false))
            .map(|(_, &s)| s)
            .collect();
        servers.sort_unstable();
        servers
    }

    /// Delivers a frame as if the server of `conn` had sent it.
    pub fn inject(&mut self, conn: ConnId, frame: &[u8]) {
        self.engine
            .handle_frame(conn, frame, self.now, &mut self.replica);
        self.drain();
    }

    /// The connection id of the active link.
    pub fn active_conn(&self) -> ConnId {
        self.outputs
            .iter()
            .rev()
            .find_map(|(_, o)| match o {
                Output::Connect { conn, url }
                    if self
                        .engine
                        .status()
                        .endpoint
                        .as_deref()
                        .is_some_and(|e| url.starts_with(e)) =>
                {
                    Some(*conn)
                }
                _ => None,
            })
            .expect("an active link")
    }

    pub fn errors(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Error { code, message } => Some(format!("{code}: {message}")),
                _ => None,
            })
            .collect()
    }

    pub fn freeze(&mut self, server: usize) {
        self.servers[server].frozen = true;
    }

    pub fn thaw(&mut self, server: usize) {
        self.servers[server].frozen = false;
        let backlog = std::mem::take(&mut self.servers[server].backlog);
        for (conn, frame) in backlog {
            self.server_receive(conn, frame);
        }
    }

    /// SIGKILL: every connection drops, new ones are refused.
    pub fn kill(&mut self, server: usize) {
        self.servers[server].down = true;
        self.servers[server].backlog.clear();
        for conn in self.conns_of(server) {
            self.conns.remove(&conn);
            self.schedule(LATENCY, Event::Closed(conn));
        }
    }

    /// The server closes every connection (and drops the states they announced); it stays up.
    pub fn drop_connections(&mut self, server: usize) {
        for conn in self.conns_of(server) {
            self.conns.remove(&conn);
            self.drop_states_of(server, conn);
            self.schedule(LATENCY, Event::Closed(conn));
        }
    }

    /// Restarts a killed server with an empty document.
    pub fn restart(&mut self, server: usize) {
        let s = &mut self.servers[server];
        s.down = false;
        s.frozen = false;
        s.doc = Doc::with_client_id(100 + server as u64);
        s.awareness.clear();
        s.controlled.clear();
    }

    pub fn server_has(&self, server: usize, id: &str) -> bool {
        let txn = self.servers[server].doc.transact();
        txn.get_map("items")
            .is_some_and(|m| yrs::Map::get(&m, &txn, id).is_some())
    }

    pub fn statuses(&self) -> Vec<(u64, String, Option<String>)> {
        self.outputs
            .iter()
            .filter_map(|(t, o)| match o {
                Output::Status(s) => {
                    Some((*t, s.connection.as_str().to_string(), s.endpoint.clone()))
                }
                _ => None,
            })
            .collect()
    }

    pub fn failovers(&self) -> Vec<(u64, String, String, &'static str)> {
        self.outputs
            .iter()
            .filter_map(|(t, o)| match o {
                Output::Failover {
                    from, to, reason, ..
                } => Some((*t, from.clone(), to.clone(), reason.as_str())),
                _ => None,
            })
            .collect()
    }

    pub fn connects(&self) -> Vec<(u64, String)> {
        self.outputs
            .iter()
            .filter_map(|(t, o)| match o {
                Output::Connect { url, .. } => Some((*t, url.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn url(&self, server: usize) -> String {
        self.servers[server].url.clone()
    }

    pub fn online_at(&self) -> Option<String> {
        let s = self.engine.status();
        (s.connection.as_str() == "online")
            .then(|| s.endpoint.clone())
            .flatten()
    }

    pub fn sv(&self, server: usize) -> StateVector {
        self.servers[server].doc.transact().state_vector()
    }
}

/// Re-exported for tests that need to encode by hand.
pub fn encode_message(message: Message) -> Vec<u8> {
    message.encode_v1()
}

/// A y-websocket awareness message holding one client's state.
pub fn awareness_message(client: u64, clock: u32, json: &str) -> Vec<u8> {
    let entry = yrs::sync::awareness::AwarenessUpdateEntry {
        clock,
        json: std::sync::Arc::from(json),
    };
    encode_message(Message::Awareness(yrs::sync::AwarenessUpdate {
        clients: HashMap::from([(yrs::block::ClientID::new(client), entry)]),
    }))
}
