//! The engine's vocabulary, shared by its parts: connection ids, what a link is for, why the
//! replica moved, and the actions it hands the driver. Nothing here depends on the engine, so every part can use
//! it without a cycle.

use super::status::Status;

/// Names one WebSocket the engine asked for (`Output::Connect`); never reused.
pub type ConnId = u64;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The primary: the link the replica syncs through and sends presence on.
    Active,
    /// A link kept in sync beside the primary (`servers` > 1): local updates go out on it too,
    /// remote ones are taken from it, and it becomes the primary at once when that one fails.
    Standby,
    /// A link to a preferred endpoint that is only probed, to decide on failback.
    Monitor,
}

/// Why the replica moved to another endpoint (API.md's 'failover' reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Heartbeat,
    ConnectTimeout,
    Closed,
    Error,
    Manual,
    Failback,
    /// The room's operator directive drained the endpoint or promoted another.
    Operator,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Heartbeat => "heartbeat",
            Reason::ConnectTimeout => "connect-timeout",
            Reason::Closed => "closed",
            Reason::Error => "error",
            Reason::Manual => "manual",
            Reason::Failback => "failback",
            Reason::Operator => "operator",
        }
    }
}

/// The room's operator directive, as the engine takes it (see `replica::directive` for where
/// it is kept): a promoted endpoint, drained ones, and when it expires on the engine's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directive {
    pub primary: Option<String>,
    pub drain: Vec<String>,
    pub expires_at: Option<u64>,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Connect {
        conn: ConnId,
        url: String,
    },
    Send {
        conn: ConnId,
        data: Vec<u8>,
    },
    Close {
        conn: ConnId,
    },
    Status(Status),
    Failover {
        from: String,
        to: String,
        reason: Reason,
        at: u64,
        /// The new primary was an in-sync standby: no handshake was needed.
        warm: bool,
    },
    Error {
        code: &'static str,
        message: String,
    },
    FlushResolved {
        id: u64,
    },
    /// The server refused an update this flush waited for (Hocuspocus read-only connection).
    FlushRejected {
        id: u64,
    },
    FlushTimedOut {
        id: u64,
    },
    /// The other clients' presence states changed (read them with `presence_json`).
    Presence,
}
