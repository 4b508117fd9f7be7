//! What the app is shown of sync: the connection status and each endpoint's health.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Offline,
    Connecting,
    Syncing,
    Online,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Offline => "offline",
            Connection::Connecting => "connecting",
            Connection::Syncing => "syncing",
            Connection::Online => "online",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub connection: Connection,
    pub endpoint: Option<String>,
    pub pending: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointState {
    Unknown,
    Up,
    Down,
}

impl EndpointState {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Unknown => "unknown",
            EndpointState::Up => "up",
            EndpointState::Down => "down",
        }
    }
}

/// One endpoint's health, as `replica.endpoints` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointView {
    pub url: String,
    pub state: EndpointState,
    pub rtt_ms: Option<u64>,
    pub last_seen_at: Option<u64>,
    pub failures: u32,
    pub active: bool,
}
