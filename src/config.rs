//! Sync options of `Replica.open`, checked once so later layers can trust them.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
#[error("invalid option {option}: {reason}")]
pub struct ConfigError {
    pub option: String,
    pub reason: String,
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
    /// The largest message accepted from a server; a larger one drops that connection, so a
    /// broken or hostile server cannot make the replica buffer without bound.
    pub max_frame_bytes: f64,
}

/// 16 MiB: above the whole state of any document a browser replica should hold, yet a frame of
/// minimal Yjs blocks this large already costs ~600 MB of Wasm memory to apply (64 MiB took
/// 2.4 GB and 11 s in fuzzing), which never shrinks.
pub const DEFAULT_MAX_FRAME_BYTES: f64 = 16.0 * 1024.0 * 1024.0;

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
                return Err(bad("endpoints", format!("'{url}' is listed twice")));
            }
        }
        positive("heartbeatIntervalMs", self.heartbeat_interval_ms)?;
        positive("connectTimeoutMs", self.connect_timeout_ms)?;
        positive("backoff.initialMs", self.backoff.initial_ms)?;
        positive("backoff.maxMs", self.backoff.max_ms)?;
        positive("failbackAfterMs", self.failback_after_ms)?;
        positive("missedHeartbeats", self.missed_heartbeats)?;
        positive("maxFrameBytes", self.max_frame_bytes)?;
        if self.max_frame_bytes.fract() != 0.0 || self.max_frame_bytes > MAX_FRAME_LIMIT {
            return Err(bad(
                "maxFrameBytes",
                format!("must be a whole number of bytes up to {MAX_FRAME_LIMIT}"),
            ));
        }
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
        Ok(())
    }
}

/// 2 GiB: what a Wasm32 memory and a JS ArrayBuffer can hold at best.
const MAX_FRAME_LIMIT: f64 = 2_147_483_648.0;

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
/// (the room and `params` are added to it).
pub fn check_endpoint(url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
        .ok_or_else(|| bad("endpoints", format!("'{url}' is not a ws:// or wss:// URL")))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.contains('@') {
        // Credentials in a URL end up in logs and events; never echo them back either.
        return Err(bad(
            "endpoints",
            "an endpoint must not carry credentials (user:password@); pass them in `params` or `token`",
        ));
    }
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("endpoints", format!("'{url}' has no host")));
    }
    if url.contains(['?', '#']) {
        return Err(bad(
            "endpoints",
            format!("'{url}' must not carry a query or fragment (use `params`)"),
        ));
    }
    Ok(())
}
