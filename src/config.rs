//! Sync options of `Replica.open`, checked once so later layers can trust them.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
#[error("invalid option {option}: {reason}")]
pub struct ConfigError {
    option: String,
    reason: String,
}

fn bad(option: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        option: option.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BackoffConfig {
    pub initial_ms: f64,
    pub max_ms: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_ms: 250.0,
            max_ms: 10_000.0,
        }
    }
}

/// The sync-related options, with API.md's defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncConfig {
    pub endpoints: Vec<String>,
    pub heartbeat_interval_ms: f64,
    pub missed_heartbeats: f64,
    pub connect_timeout_ms: f64,
    pub backoff: BackoffConfig,
    pub failback: bool,
    pub failback_after_ms: f64,
    pub params: std::collections::BTreeMap<String, String>,
    /// 'y-websocket' (default) or 'hocuspocus'.
    pub protocol: String,
    /// Hocuspocus: the token sent in the Auth message.
    pub token: Option<String>,
    /// The largest message accepted from a server when it carries document updates (a sync
    /// answer, which holds the whole document for a new client, or an update); a larger one
    /// drops that connection. In Node it is also the `ws` socket's `maxPayload`.
    pub max_frame_bytes: f64,
    /// The largest message of any other kind (presence, state vectors, auth, stateless, …),
    /// and the most presence the other clients may hold in total. `None`: the smaller of
    /// [`DEFAULT_MAX_MESSAGE_BYTES`] and `max_frame_bytes`.
    pub max_message_bytes: Option<f64>,
    /// How many bytes of a server's messages may wait, received but not yet taken in, before
    /// that server is left as flooding (and how much of the document it may ask for again
    /// before reading what it asked for last).
    pub max_backlog_bytes: f64,
    /// How long an open connection may take to deliver its first sync answer: for a new
    /// client the server encodes and sends the whole document, which takes a while for a large
    /// one. Before it, a server that says nothing at all is left after the heartbeat window.
    pub sync_timeout_ms: f64,
    /// How many endpoints are kept connected and in sync at once: one primary and
    /// `servers - 1` standbys, chosen in priority order among the healthy ones.
    pub servers: f64,
    /// How many of those servers must have applied a local change before it counts as
    /// acknowledged (`status.pending`, `flush()`): a number up to `servers`, or `'all'`.
    pub write_concern: WriteConcern,
}

/// `writeConcern`: a count of servers, or every server of the replication set (`'all'`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum WriteConcern {
    Count(f64),
    Named(String),
}

impl Default for WriteConcern {
    fn default() -> Self {
        WriteConcern::Count(1.0)
    }
}

impl WriteConcern {
    /// How many servers this asks for, with `servers` in the replication set; an error names
    /// `option` (`writeConcern`, or `flush`'s).
    pub fn servers(&self, servers: u32, option: &str) -> Result<u32, ConfigError> {
        match self {
            WriteConcern::Named(name) if name == "all" => Ok(servers),
            WriteConcern::Named(name) => Err(bad(
                option,
                format!("'{name}' is not a number of servers or 'all'"),
            )),
            WriteConcern::Count(n) => {
                if !(n.fract() == 0.0 && *n >= 1.0 && *n <= f64::from(servers)) {
                    return Err(bad(
                        option,
                        format!("must be a whole number from 1 to servers ({servers}) or 'all', got {n}"),
                    ));
                }
                Ok(*n as u32)
            }
        }
    }
}

/// 512 MiB: a document message is bounded by what a replica can hold, not by a fixed share of
/// it. A document of 1,000,000 six-field records is a ~200 MB sync answer and already takes
/// ~2.3 GB of the 4 GiB Wasm memory; the answer of a larger record document could not be held
/// anyway. Garbage up to this size costs no more memory than a genuine answer of that size,
/// which a server that can write could send instead.
const DEFAULT_MAX_FRAME_BYTES: f64 = 512.0 * 1024.0 * 1024.0;

/// 4 MiB: every message that is not a document update (presence of a few thousand clients,
/// the state vector of a document edited by ~250,000 Yjs clients).
const DEFAULT_MAX_MESSAGE_BYTES: f64 = 4.0 * 1024.0 * 1024.0;

/// 64 MiB: incoming messages waiting for a later turn of the event loop (an honest burst of
/// thousands of small updates is a few MB), plus the one message that arrives over it.
const DEFAULT_MAX_BACKLOG_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

/// 120 s: a new client's first answer for 1,000,000 records took 44 s (@y/websocket-server)
/// and 67 s (Hocuspocus) to arrive on a busy 2-core machine, most of it the server encoding.
const DEFAULT_SYNC_TIMEOUT_MS: f64 = 120_000.0;

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            endpoints: Vec::new(),
            heartbeat_interval_ms: 1000.0,
            missed_heartbeats: 2.0,
            connect_timeout_ms: 3000.0,
            backoff: BackoffConfig::default(),
            failback: true,
            failback_after_ms: 10_000.0,
            params: Default::default(),
            protocol: "y-websocket".into(),
            token: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_message_bytes: None,
            max_backlog_bytes: DEFAULT_MAX_BACKLOG_BYTES,
            sync_timeout_ms: DEFAULT_SYNC_TIMEOUT_MS,
            servers: 1.0,
            write_concern: WriteConcern::default(),
        }
    }
}

impl SyncConfig {
    /// Parses the options object as JSON text (unknown keys are ignored: they belong to
    /// other layers, such as `name` or `storage`).
    pub fn from_json(json: &str) -> Result<SyncConfig, ConfigError> {
        let config: SyncConfig =
            serde_json::from_str(json).map_err(|e| bad("object", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, url) in self.endpoints.iter().enumerate() {
            check_endpoint(url)?;
            if self.endpoints[..i].contains(url) {
                return Err(bad(
                    "endpoints",
                    format!("'{}' is listed twice", shown(url)),
                ));
            }
        }
        duration("heartbeatIntervalMs", self.heartbeat_interval_ms)?;
        duration("connectTimeoutMs", self.connect_timeout_ms)?;
        duration("backoff.initialMs", self.backoff.initial_ms)?;
        duration("backoff.maxMs", self.backoff.max_ms)?;
        duration("failbackAfterMs", self.failback_after_ms)?;
        positive("missedHeartbeats", self.missed_heartbeats)?;
        if self.missed_heartbeats > MAX_MISSED_HEARTBEATS {
            return Err(bad(
                "missedHeartbeats",
                format!(
                    "must be at most {MAX_MISSED_HEARTBEATS}, got {}",
                    self.missed_heartbeats
                ),
            ));
        }
        byte_count("maxFrameBytes", self.max_frame_bytes)?;
        if let Some(max_message) = self.max_message_bytes {
            byte_count("maxMessageBytes", max_message)?;
            if max_message > self.max_frame_bytes {
                return Err(bad(
                    "maxMessageBytes",
                    format!(
                        "must not exceed maxFrameBytes ({}), got {max_message}: it bounds the messages that are not document updates",
                        self.max_frame_bytes
                    ),
                ));
            }
        }
        byte_count("maxBacklogBytes", self.max_backlog_bytes)?;
        duration("syncTimeoutMs", self.sync_timeout_ms)?;
        if self.missed_heartbeats.fract() != 0.0 {
            return Err(bad("missedHeartbeats", "must be a whole number"));
        }
        if !["y-websocket", "hocuspocus"].contains(&self.protocol.as_str()) {
            return Err(bad(
                "protocol",
                format!("'{}' is not 'y-websocket' or 'hocuspocus'", self.protocol),
            ));
        }
        if self.backoff.max_ms < self.backoff.initial_ms {
            return Err(bad("backoff.maxMs", "must not be below backoff.initialMs"));
        }
        let most = self.endpoints.len().max(1) as f64;
        if !(self.servers.fract() == 0.0 && self.servers >= 1.0 && self.servers <= most) {
            return Err(bad(
                "servers",
                format!(
                    "must be a whole number from 1 to the number of endpoints ({most}), got {}",
                    self.servers
                ),
            ));
        }
        self.write_concern
            .servers(self.servers_count(), "writeConcern")?;
        Ok(())
    }

    /// `servers`, checked: how many links the replication set keeps.
    pub fn servers_count(&self) -> u32 {
        self.servers as u32
    }

    /// `writeConcern` as a count of servers (`'all'` is `servers`).
    pub fn write_concern_count(&self) -> u32 {
        self.write_concern
            .servers(self.servers_count(), "writeConcern")
            .unwrap_or(1)
    }

    /// The option names, as `Replica.open` takes them (each field's camelCase name): the one
    /// list of sync options, which the facade asks for rather than keeping its own.
    pub fn option_names() -> Vec<String> {
        match serde_json::to_value(SyncConfig::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The limit for messages that are not document updates (see `max_message_bytes`).
    pub fn max_message_bytes(&self) -> f64 {
        self.max_message_bytes
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES.min(self.max_frame_bytes))
    }
}

/// 2 GiB: what a Wasm32 memory and a JS ArrayBuffer can hold at best.
const MAX_BYTES_LIMIT: f64 = 2_147_483_648.0;

/// A positive whole number of bytes, at most [`MAX_BYTES_LIMIT`].
fn byte_count(option: &str, value: f64) -> Result<(), ConfigError> {
    positive(option, value)?;
    if value.fract() != 0.0 || value > MAX_BYTES_LIMIT {
        return Err(bad(
            option,
            format!("must be a whole number of bytes up to {MAX_BYTES_LIMIT}, got {value}"),
        ));
    }
    Ok(())
}

/// One day: the longest any timing option may be. Deadlines stay far from overflowing, and a
/// value a day long is already a mistake (a `setTimeout` delay over ~24.8 days fires at once).
const MAX_DURATION_MS: f64 = 86_400_000.0;

/// Heartbeats a server may miss before it counts as down, at most.
const MAX_MISSED_HEARTBEATS: f64 = 1000.0;

/// A positive number of milliseconds, at most [`MAX_DURATION_MS`].
fn duration(option: &str, value: f64) -> Result<(), ConfigError> {
    positive(option, value)?;
    if value > MAX_DURATION_MS {
        return Err(bad(
            option,
            format!("must be at most {MAX_DURATION_MS} ms (one day), got {value}"),
        ));
    }
    Ok(())
}

fn positive(option: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(bad(
            option,
            format!("must be a positive number, got {value}"),
        ))
    }
}

/// An endpoint is a ws:// or wss:// URL with a host and no query or fragment
/// (the room and `params` are added to it). A refused one is shown without what may hold a
/// secret (see [`shown`]).
fn check_endpoint(url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
        .ok_or_else(|| {
            bad(
                "endpoints",
                format!("'{}' is not a ws:// or wss:// URL", shown(url)),
            )
        })?;
    let host = rest.split('/').next().unwrap_or("");
    if host.contains('@') {
        // Credentials in a URL end up in logs and events; never echo them back either.
        return Err(bad(
            "endpoints",
            "an endpoint must not carry credentials (user:password@); pass them in `params` or `token`",
        ));
    }
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("endpoints", format!("'{}' has no host", shown(url))));
    }
    if url.contains(['?', '#']) {
        return Err(bad(
            "endpoints",
            format!(
                "'{}' must not carry a query or fragment (use `params`)",
                shown(url)
            ),
        ));
    }
    Ok(())
}

/// A URL as error messages show it: its query and fragment (which may hold a token) cut off,
/// and credentials before a host (`user:password@`) too, whatever the scheme.
fn shown(url: &str) -> String {
    let (base, cut) = match url.find(['?', '#']) {
        Some(at) => (&url[..at], Some(&url[at..at + 1])),
        None => (url, None),
    };
    let authority_at = base.find("://").map_or(0, |at| at + 3);
    let authority_end = base[authority_at..]
        .find('/')
        .map_or(base.len(), |end| authority_at + end);
    let mut out = match base[authority_at..authority_end].rfind('@') {
        Some(at) => format!(
            "{}…@{}",
            &base[..authority_at],
            &base[authority_at + at + 1..]
        ),
        None => base.to_string(),
    };
    if let Some(mark) = cut {
        out.push_str(mark);
        out.push('…');
    }
    out
}
