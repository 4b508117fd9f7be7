//! What the app is shown of sync: the connection status and each endpoint's health, and
//! [`Board`], which keeps them and says when the status changed.

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
    /// How many servers (the primary and standbys) are in sync now.
    pub servers: u32,
}

/// An endpoint's part in the replication set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRole {
    Primary,
    Standby,
}

impl ServerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerRole::Primary => "primary",
            ServerRole::Standby => "standby",
        }
    }
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
    pub role: Option<ServerRole>,
}

/// The endpoints' health and the last status published: what `replica.endpoints` and
/// `replica.status` read, and what the 'status' event reports when it changes.
#[derive(Debug)]
pub(crate) struct Board {
    endpoints: Vec<EndpointView>,
    status: Status,
}

impl Board {
    pub fn new(urls: &[String]) -> Board {
        Board {
            endpoints: urls
                .iter()
                .map(|url| EndpointView {
                    url: url.clone(),
                    state: EndpointState::Unknown,
                    rtt_ms: None,
                    last_seen_at: None,
                    failures: 0,
                    active: false,
                    role: None,
                })
                .collect(),
            status: Status {
                connection: Connection::Offline,
                endpoint: None,
                pending: 0,
                servers: 0,
            },
        }
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn url(&self, index: usize) -> &str {
        &self.endpoints[index].url
    }

    pub fn position(&self, url: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.url == url)
    }

    /// Something arrived from endpoint `index`.
    pub fn seen(&mut self, index: usize, now: u64) {
        self.endpoints[index].last_seen_at = Some(now);
    }

    /// Endpoint `index` answered a probe after `rtt_ms`.
    pub fn answered(&mut self, index: usize, rtt_ms: u64) {
        let e = &mut self.endpoints[index];
        e.rtt_ms = Some(rtt_ms);
        e.state = EndpointState::Up;
    }

    /// The active link to endpoint `index` failed.
    pub fn active_failed(&mut self, index: usize) {
        let e = &mut self.endpoints[index];
        e.state = EndpointState::Down;
        e.failures += 1;
    }

    /// A monitor or standby link to endpoint `index` failed (a failure counts once while it
    /// stays down).
    pub fn link_failed(&mut self, index: usize) {
        let e = &mut self.endpoints[index];
        if e.state != EndpointState::Down {
            e.failures += 1;
        }
        e.state = EndpointState::Down;
    }

    /// Every endpoint's health and role; `active` marks the primary.
    pub fn views(&self, role: impl Fn(usize) -> Option<ServerRole>) -> Vec<EndpointView> {
        self.endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| EndpointView {
                active: role(i) == Some(ServerRole::Primary),
                role: role(i),
                ..e.clone()
            })
            .collect()
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Sets the status; returns it when it changed (then a 'status' event is due).
    pub fn refresh(
        &mut self,
        connection: Connection,
        endpoint: Option<usize>,
        pending: u64,
        servers: u32,
    ) -> Option<Status> {
        let status = Status {
            connection,
            endpoint: endpoint.map(|i| self.endpoints[i].url.clone()),
            pending,
            servers,
        };
        if status == self.status {
            return None;
        }
        self.status = status.clone();
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_published_only_when_it_changes() {
        let mut board = Board::new(&["ws://a".into(), "ws://b".into()]);
        assert_eq!(board.refresh(Connection::Offline, None, 0, 0), None);
        let online = board.refresh(Connection::Online, Some(1), 2, 1);
        assert_eq!(
            online.as_ref().map(|s| s.endpoint.as_deref()),
            Some(Some("ws://b"))
        );
        assert_eq!(board.refresh(Connection::Online, Some(1), 2, 1), None);
        assert_eq!(board.status().pending, 2);
    }

    #[test]
    fn a_monitor_failure_counts_once_while_the_endpoint_stays_down() {
        let mut board = Board::new(&["ws://a".into()]);
        board.link_failed(0);
        board.link_failed(0);
        assert_eq!(board.views(|_| None)[0].failures, 1);
        board.active_failed(0);
        assert_eq!(board.views(|_| None)[0].failures, 2);
        board.answered(0, 12);
        board.seen(0, 99);
        let view = &board.views(|_| Some(ServerRole::Primary))[0];
        assert_eq!(
            (view.state, view.rtt_ms, view.last_seen_at, view.active),
            (EndpointState::Up, Some(12), Some(99), true)
        );
        let view = &board.views(|_| Some(ServerRole::Standby))[0];
        assert_eq!((view.active, view.role), (false, Some(ServerRole::Standby)));
    }
}
