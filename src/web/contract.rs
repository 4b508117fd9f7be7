//! What crosses from Rust to the JS facade besides records: each shape is declared here once,
//! as a serde-derived type, and handed over as a plain JS value by `serde-wasm-bindgen` (no
//! JSON text built by hand, nothing read by position). js/replica.js reads these names.
//!
//! App data (records, change sets, presence states, query results) stays JSON text: one
//! `JSON.parse` in JS builds it faster than `serde-wasm-bindgen` builds it field by field
//! (docs/architecture.md, "The contract between Rust and JS", has the measurement).

use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::replica::ChangeKind;
use crate::sync::{EndpointView, Output, Status};

/// Plain JS objects, `null` for `None` (never `undefined`, never a `Map`).
const SERIALIZER: serde_wasm_bindgen::Serializer =
    serde_wasm_bindgen::Serializer::json_compatible();

/// `value` as a plain JS value. The types of this module cannot fail to convert (no map keys
/// that are not strings, no integers past 2^53: clocks and counts stay far below it).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value.serialize(&SERIALIZER).unwrap_or(JsValue::NULL)
}

/// A record's net change after a single-record write: its kind's name (`'insert'`, `'update'`,
/// `'delete'`, as in change sets and `Change.type`), or `undefined` when nothing changed.
pub fn change(kind: Option<ChangeKind>) -> JsValue {
    thread_local! {
        // Made once: a string made per write is decoded from UTF-8 in JS every time.
        static NAMES: [JsValue; 3] = ChangeKind::ALL.map(|kind| JsValue::from_str(kind.as_str()));
    }
    let at = |kind| ChangeKind::ALL.iter().position(|k| *k == kind);
    kind.and_then(at).map_or(JsValue::UNDEFINED, |at| {
        NAMES.with(|names| names[at].clone())
    })
}

/// `replica.status`, and the payload of a `status` event.
#[derive(Serialize)]
pub struct StatusRecord {
    /// 'offline' | 'connecting' | 'syncing' | 'online'
    pub connection: &'static str,
    pub endpoint: Option<String>,
    pub pending: u64,
    /// How many servers are in sync now.
    pub servers: u32,
}

impl From<&Status> for StatusRecord {
    fn from(status: &Status) -> Self {
        StatusRecord {
            connection: status.connection.as_str(),
            endpoint: status.endpoint.clone(),
            pending: status.pending,
            servers: status.servers,
        }
    }
}

impl StatusRecord {
    /// The status of a replica that does not sync.
    pub const OFFLINE: StatusRecord = StatusRecord {
        connection: "offline",
        endpoint: None,
        pending: 0,
        servers: 0,
    };
}

/// One entry of `replica.endpoints`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointRecord<'a> {
    pub url: &'a str,
    /// 'unknown' | 'up' | 'down'
    pub state: &'static str,
    pub rtt_ms: Option<u64>,
    pub last_seen_at: Option<u64>,
    pub failures: u32,
    pub active: bool,
    /// 'primary' | 'standby' | null
    pub role: Option<&'static str>,
}

impl<'a> From<&'a EndpointView> for EndpointRecord<'a> {
    fn from(e: &'a EndpointView) -> Self {
        EndpointRecord {
            url: &e.url,
            state: e.state.as_str(),
            rtt_ms: e.rtt_ms,
            last_seen_at: e.last_seen_at,
            failures: e.failures,
            active: e.active,
            role: e.role.map(|r| r.as_str()),
        }
    }
}

/// How a `flush()` ended.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum FlushOutcome {
    Acknowledged,
    TimedOut,
    /// A Hocuspocus server refused a change the flush waited for.
    Rejected,
}

/// What the sync driver queues for the facade, drained by `WasmReplica::drain` as an array of
/// `{ kind, ... }` objects.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SyncEvent {
    /// Remote changes, as the JSON text of a change set (see `ChangeSet::to_json`).
    Changes {
        json: String,
    },
    Status(StatusRecord),
    #[serde(rename_all = "camelCase")]
    Failover {
        from: String,
        to: String,
        /// 'heartbeat' | 'connect-timeout' | 'closed' | 'error' | 'manual' | 'failback' | 'operator'
        reason: &'static str,
        at: u64,
        /// The new primary was an in-sync standby.
        warm: bool,
    },
    Error {
        code: &'static str,
        message: String,
    },
    Flush {
        id: u64,
        outcome: FlushOutcome,
    },
    /// The other clients' presence states changed: their JSON text, `[{ clientId, state }]`.
    Presence {
        json: String,
    },
    /// The room's operator directive changed: its JSON text, or null when it was removed.
    Directive {
        json: Option<String>,
    },
}

impl SyncEvent {
    /// The event an engine output means for the facade, if any (connects, sends and closes
    /// are the driver's; a presence change is read from the engine by the caller).
    pub fn from_output(output: Output) -> Option<SyncEvent> {
        Some(match output {
            Output::Status(status) => SyncEvent::Status(StatusRecord::from(&status)),
            Output::Failover {
                from,
                to,
                reason,
                at,
                warm,
            } => SyncEvent::Failover {
                from,
                to,
                reason: reason.as_str(),
                at,
                warm,
            },
            Output::Error { code, message } => SyncEvent::Error { code, message },
            Output::FlushResolved { id } => SyncEvent::flush(id, FlushOutcome::Acknowledged),
            Output::FlushTimedOut { id } => SyncEvent::flush(id, FlushOutcome::TimedOut),
            Output::FlushRejected { id } => SyncEvent::flush(id, FlushOutcome::Rejected),
            Output::Connect { .. }
            | Output::Send { .. }
            | Output::Close { .. }
            | Output::Presence => return None,
        })
    }

    pub fn directive(directive: Option<&crate::replica::Directive>) -> SyncEvent {
        SyncEvent::Directive {
            json: directive.map(|d| d.to_json()),
        }
    }

    fn flush(id: u64, outcome: FlushOutcome) -> SyncEvent {
        SyncEvent::Flush { id, outcome }
    }
}

/// What `explain` reports.
#[derive(Serialize)]
pub struct QueryPlan<'a> {
    pub index: Option<&'a str>,
    pub scanned: usize,
}
