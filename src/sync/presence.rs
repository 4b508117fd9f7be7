//! Presence over the awareness protocol: this replica's state (JSON), renewed every 15 s, and
//! the states of the other clients, dropped after 30 s without news (y-protocols' timings).
//! The same state, with a new clock, is also the probe a y-websocket server answers by echoing
//! it (see [`Presence::probe`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use yrs::block::ClientID;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::Message;
use yrs::updates::encoder::Encode;

/// A state is renewed after this long (y-protocols: outdatedTimeout / 2).
pub const RENEW_MS: u64 = 15_000;
/// A remote state not renewed for this long is dropped (y-protocols: outdatedTimeout).
pub const OUTDATED_MS: u64 = 30_000;

#[derive(Debug, Clone)]
struct Peer {
    clock: u32,
    json: Arc<str>,
    seen_at: u64,
}

/// The state a probe carries when the app set none: Yjs clients' initial state.
const EMPTY_STATE: &str = "{}";

fn is_empty_state(json: &str) -> bool {
    json.len() < 16
        && json
            .chars()
            .filter(|c| !c.is_whitespace())
            .eq(EMPTY_STATE.chars())
}

/// What one remote state costs beyond its JSON text: its map entry, clock and timestamps.
pub const PEER_OVERHEAD: usize = 64;

fn cost(peer: &Peer) -> usize {
    peer.json.len() + PEER_OVERHEAD
}

/// The others' states grew past the budget: how many bytes they would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget(pub usize);

#[derive(Debug, Default)]
pub struct Presence {
    client_id: Option<u64>,
    local: Option<Arc<str>>,
    /// Whether the app ever set a state (and so whether there is one to announce).
    announced: bool,
    clock: u32,
    sent_at: Option<u64>,
    peers: BTreeMap<u64, Peer>,
    /// What `peers` take, counted as [`cost`] counts.
    held: usize,
    /// The most `peers` may take (0: no limit).
    budget: usize,
}

impl Presence {
    /// Sets (or with None clears) this replica's state; returns the message announcing it.
    pub fn set_local(&mut self, client_id: u64, json: Option<String>) -> Vec<u8> {
        self.client_id = Some(client_id);
        self.local = json.map(Arc::from);
        self.announced = true;
        self.clock = self.clock.saturating_add(1);
        self.encode_local()
    }

    /// The message carrying this replica's current state, if it ever set one.
    pub fn local_message(&self) -> Option<Vec<u8>> {
        self.announced.then(|| self.encode_local())
    }

    fn encode_local(&self) -> Vec<u8> {
        self.encode(self.local.clone().unwrap_or_else(|| Arc::from("null")))
    }

    fn encode(&self, json: Arc<str>) -> Vec<u8> {
        let entry = AwarenessUpdateEntry {
            clock: self.clock,
            json,
        };
        let clients = HashMap::from([(ClientID::new(self.client_id.unwrap_or(0)), entry)]);
        Message::Awareness(AwarenessUpdate { clients }).encode_v1()
    }

    /// The Yjs client id this replica's states go out under.
    pub fn set_client(&mut self, client_id: u64) {
        self.client_id = Some(client_id);
    }

    /// A probe: this replica's state (the empty one, `{}`, when none is set, as every Yjs
    /// client starts with) under a new clock, and that clock. A y-websocket server relays an
    /// awareness update to every connection of the room, its sender's too, and only when the
    /// clock is newer than what it holds; so the echo of this clock proves the server read
    /// every message sent before it.
    pub fn probe(&mut self) -> (Vec<u8>, u32) {
        self.clock = self.clock.saturating_add(1);
        let json = self.local.clone().unwrap_or_else(|| Arc::from(EMPTY_STATE));
        (self.encode(json), self.clock)
    }

    /// The clock an awareness update holds for this replica, if it holds one.
    pub fn own_clock(&self, update: &AwarenessUpdate) -> Option<u32> {
        let entry = update.clients.get(&ClientID::new(self.client_id?))?;
        Some(entry.clock)
    }

    pub fn mark_sent(&mut self, now: u64) {
        self.sent_at = Some(now);
    }

    /// When this replica's state must be sent again to stay alive at the others.
    pub fn renew_at(&self) -> Option<u64> {
        self.local
            .as_ref()
            .and(self.sent_at)
            .map(|t| t.saturating_add(RENEW_MS))
    }

    /// Renews the state (a new clock, as y-protocols does); returns the message.
    pub fn renew(&mut self, now: u64) -> Vec<u8> {
        self.clock = self.clock.saturating_add(1);
        self.sent_at = Some(now);
        self.encode_local()
    }

    pub fn with_budget(bytes: usize) -> Presence {
        Presence {
            budget: bytes,
            ..Presence::default()
        }
    }

    fn insert_peer(&mut self, client: u64, peer: Peer) {
        self.held += cost(&peer);
        if let Some(old) = self.peers.insert(client, peer) {
            self.held -= cost(&old);
        }
    }

    fn remove_peer(&mut self, client: u64) -> bool {
        match self.peers.remove(&client) {
            Some(old) => {
                self.held -= cost(&old);
                true
            }
            None => false,
        }
    }

    /// Takes in an awareness update; true when the set of others' states changed. Past the
    /// budget the others' states are dropped (the link they came through is left) and the
    /// error says how much they would have taken.
    pub fn apply(&mut self, update: &AwarenessUpdate, now: u64) -> Result<bool, OverBudget> {
        let changed = self.take_in(update, now);
        if self.budget > 0 && self.held > self.budget {
            let held = self.held;
            self.clear_peers();
            return Err(OverBudget(held));
        }
        Ok(changed)
    }

    fn take_in(&mut self, update: &AwarenessUpdate, now: u64) -> bool {
        let mut changed = false;
        for (client, entry) in &update.clients {
            let client = client.get();
            if Some(client) == self.client_id {
                continue; // our own state, echoed by the server
            }
            let newer = self
                .peers
                .get(&client)
                .is_none_or(|p| entry.clock >= p.clock);
            if !newer {
                continue;
            }
            if serde_json::from_str::<serde::de::IgnoredAny>(&entry.json).is_err() {
                continue; // not JSON: never handed to the app
            }
            if &*entry.json == "null" || is_empty_state(&entry.json) {
                // an empty state shares nothing (every Yjs client starts with one, and our
                // probes carry one): it is no presence
                changed |= self.remove_peer(client);
            } else {
                let same = self
                    .peers
                    .get(&client)
                    .is_some_and(|p| p.json == entry.json);
                self.insert_peer(
                    client,
                    Peer {
                        clock: entry.clock,
                        json: entry.json.clone(),
                        seen_at: now,
                    },
                );
                changed |= !same;
            }
        }
        changed
    }

    /// Drops states not renewed for [`OUTDATED_MS`]; true when any was dropped.
    pub fn expire(&mut self, now: u64) -> bool {
        let before = self.peers.len();
        self.peers
            .retain(|_, p| now < p.seen_at.saturating_add(OUTDATED_MS));
        self.held = self.peers.values().map(cost).sum();
        self.peers.len() != before
    }

    pub fn expire_at(&self) -> Option<u64> {
        self.peers
            .values()
            .map(|p| p.seen_at.saturating_add(OUTDATED_MS))
            .min()
    }

    /// Forgets the others (the link to their server is gone); true when there were any.
    pub fn clear_peers(&mut self) -> bool {
        let had = !self.peers.is_empty();
        self.peers.clear();
        self.held = 0;
        had
    }

    /// `[{ "clientId": n, "state": <json> }, ...]`, ordered by client id.
    pub fn peers_json(&self) -> String {
        let items: Vec<String> = self
            .peers
            .iter()
            .map(|(client, p)| format!("{{\"clientId\":{client},\"state\":{}}}", p.json))
            .collect();
        format!("[{}]", items.join(","))
    }
}
