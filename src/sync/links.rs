//! The engine's two links: the active one it syncs through and the monitor watching a
//! higher-priority endpoint for failback; and the ids their connections get.

use super::link::Link;
use super::types::{ConnId, Role};

#[derive(Debug)]
pub(crate) struct Links {
    active: Option<Link>,
    monitor: Option<Link>,
    next_conn: ConnId,
}

impl Links {
    pub fn new() -> Links {
        Links {
            active: None,
            monitor: None,
            next_conn: 1,
        }
    }

    /// Puts a new link to `endpoint` in `role`'s place; returns its connection id, never one
    /// given before.
    pub fn open(&mut self, endpoint: usize, role: Role, now: u64, connect_timeout: u64) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        *self.slot(role) = Some(Link::new(conn, endpoint, role, now, connect_timeout));
        conn
    }

    fn slot(&mut self, role: Role) -> &mut Option<Link> {
        match role {
            Role::Active => &mut self.active,
            Role::Monitor => &mut self.monitor,
        }
    }

    pub fn get(&self, role: Role) -> Option<&Link> {
        match role {
            Role::Active => self.active.as_ref(),
            Role::Monitor => self.monitor.as_ref(),
        }
    }

    pub fn get_mut(&mut self, role: Role) -> Option<&mut Link> {
        self.slot(role).as_mut()
    }

    pub fn active(&self) -> Option<&Link> {
        self.active.as_ref()
    }

    pub fn monitor(&self) -> Option<&Link> {
        self.monitor.as_ref()
    }

    /// Takes the link out of `role`'s place (the caller closes it).
    pub fn take(&mut self, role: Role) -> Option<Link> {
        self.slot(role).take()
    }

    /// The link of `conn`, if it is still one of the two.
    pub fn by_conn(&mut self, conn: ConnId) -> Option<&mut Link> {
        [self.active.as_mut(), self.monitor.as_mut()]
            .into_iter()
            .flatten()
            .find(|l| l.conn == conn)
    }

    /// Whether `conn` is the link in `role`'s place.
    pub fn is(&self, role: Role, conn: ConnId) -> bool {
        self.get(role).is_some_and(|l| l.conn == conn)
    }

    /// The active link's connection once our handshake went out on it: local updates,
    /// flush probes and presence are sent there.
    pub fn ready(&self) -> Option<ConnId> {
        self.active
            .as_ref()
            .filter(|l| l.handshake_sent())
            .map(|l| l.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::link::Phase;

    #[test]
    fn connection_ids_are_never_reused() {
        let mut links = Links::new();
        let a = links.open(0, Role::Active, 0, 10);
        let m = links.open(1, Role::Monitor, 0, 10);
        assert!(links.take(Role::Active).is_some());
        let b = links.open(0, Role::Active, 0, 10);
        assert_eq!((a, m, b), (1, 2, 3));
        assert!(links.is(Role::Monitor, m) && !links.is(Role::Active, m));
        assert!(links.by_conn(a).is_none());
        assert_eq!(links.by_conn(b).map(|l| l.endpoint), Some(0));
    }

    #[test]
    fn only_a_handshaken_active_link_is_ready() {
        let mut links = Links::new();
        assert_eq!(links.ready(), None);
        let conn = links.open(0, Role::Active, 0, 10);
        assert_eq!(links.ready(), None);
        if let Some(link) = links.get_mut(Role::Active) {
            link.phase = Phase::Open {
                handshake_sent: true,
                synced: false,
                sync_by: 100,
            };
        }
        assert_eq!(links.ready(), Some(conn));
    }
}
