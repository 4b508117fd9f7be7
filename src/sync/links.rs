//! The engine's links: the primary (the active link it syncs through), the standbys kept in
//! sync beside it (`servers` > 1), and the monitor watching a higher-priority endpoint for
//! failback; and the ids their connections get.

use super::link::Link;
use super::types::{ConnId, Role};

#[derive(Debug)]
pub(crate) struct Links {
    active: Option<Link>,
    standbys: Vec<Link>,
    monitor: Option<Link>,
    next_conn: ConnId,
}

impl Links {
    pub fn new() -> Links {
        Links {
            active: None,
            standbys: Vec::new(),
            monitor: None,
            next_conn: 1,
        }
    }

    /// Opens a new link to `endpoint` in `role` (the primary's or the monitor's place, or one
    /// more standby); returns its connection id, never one given before.
    pub fn open(&mut self, endpoint: usize, role: Role, now: u64, connect_timeout: u64) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        let link = Link::new(conn, endpoint, role, now, connect_timeout);
        match role {
            Role::Active => self.active = Some(link),
            Role::Monitor => self.monitor = Some(link),
            Role::Standby => self.standbys.push(link),
        }
        conn
    }

    pub fn active(&self) -> Option<&Link> {
        self.active.as_ref()
    }

    #[cfg(test)]
    pub fn active_mut(&mut self) -> Option<&mut Link> {
        self.active.as_mut()
    }

    pub fn monitor(&self) -> Option<&Link> {
        self.monitor.as_ref()
    }

    pub fn standbys(&self) -> &[Link] {
        &self.standbys
    }

    pub fn standbys_mut(&mut self) -> &mut [Link] {
        &mut self.standbys
    }

    /// Every link: the primary, the standbys, the monitor.
    pub fn all(&self) -> impl Iterator<Item = &Link> {
        self.active
            .iter()
            .chain(self.standbys.iter())
            .chain(self.monitor.iter())
    }

    /// Takes the primary or the monitor out of its place (the caller closes it).
    pub fn take(&mut self, role: Role) -> Option<Link> {
        match role {
            Role::Active => self.active.take(),
            Role::Monitor => self.monitor.take(),
            Role::Standby => None,
        }
    }

    /// Takes the link of `conn` out, whatever its role (the caller closes it).
    pub fn take_conn(&mut self, conn: ConnId) -> Option<Link> {
        if self.is(Role::Active, conn) {
            return self.active.take();
        }
        if self.is(Role::Monitor, conn) {
            return self.monitor.take();
        }
        let at = self.standbys.iter().position(|l| l.conn == conn)?;
        Some(self.standbys.remove(at))
    }

    /// Makes the standby of `conn` the primary, whose place must be empty; returns it.
    pub fn promote(&mut self, conn: ConnId) -> Option<&Link> {
        let at = self.standbys.iter().position(|l| l.conn == conn)?;
        let mut link = self.standbys.remove(at);
        link.role = Role::Active;
        self.active = Some(link);
        self.active.as_ref()
    }

    /// Makes the primary a standby (when another endpoint becomes the primary by choice).
    pub fn demote_active(&mut self) {
        if let Some(mut link) = self.active.take() {
            link.role = Role::Standby;
            link.healthy_since = None;
            self.standbys.push(link);
        }
    }

    /// The link of `conn`, if it is still one of them.
    pub fn by_conn(&mut self, conn: ConnId) -> Option<&mut Link> {
        self.active
            .iter_mut()
            .chain(self.standbys.iter_mut())
            .chain(self.monitor.iter_mut())
            .find(|l| l.conn == conn)
    }

    /// The standby link to `endpoint`, if there is one.
    pub fn standby_to(&self, endpoint: usize) -> Option<&Link> {
        self.standbys.iter().find(|l| l.endpoint == endpoint)
    }

    /// Whether `endpoint` is the primary's or a standby's.
    pub fn in_set(&self, endpoint: usize) -> bool {
        self.active.as_ref().is_some_and(|l| l.endpoint == endpoint)
            || self.standby_to(endpoint).is_some()
    }

    /// Whether `conn` is the link in `role`'s place (for standbys: one of them).
    pub fn is(&self, role: Role, conn: ConnId) -> bool {
        match role {
            Role::Active => self.active.as_ref().is_some_and(|l| l.conn == conn),
            Role::Monitor => self.monitor.as_ref().is_some_and(|l| l.conn == conn),
            Role::Standby => self.standbys.iter().any(|l| l.conn == conn),
        }
    }

    /// The active link's connection once our handshake went out on it: presence is sent there.
    pub fn ready(&self) -> Option<ConnId> {
        self.active
            .as_ref()
            .filter(|l| l.handshake_sent())
            .map(|l| l.conn)
    }

    /// The primary's and the standbys' connections once our handshake went out on them:
    /// local updates and flush probes are sent on each.
    pub fn ready_set(&self) -> Vec<ConnId> {
        self.active
            .iter()
            .chain(self.standbys.iter())
            .filter(|l| l.handshake_sent())
            .map(|l| l.conn)
            .collect()
    }

    /// How many of the primary and standbys are in sync now (`status.servers`).
    pub fn in_sync(&self) -> u32 {
        self.active
            .iter()
            .chain(self.standbys.iter())
            .filter(|l| l.synced())
            .count() as u32
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
        let s = links.open(2, Role::Standby, 0, 10);
        assert!(links.take(Role::Active).is_some());
        let b = links.open(0, Role::Active, 0, 10);
        assert_eq!((a, m, s, b), (1, 2, 3, 4));
        assert!(links.is(Role::Standby, s) && links.in_set(2) && !links.in_set(1));
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
        if let Some(link) = links.active_mut() {
            link.phase = Phase::Open {
                handshake_sent: true,
                synced: false,
                sync_by: 100,
            };
        }
        assert_eq!(links.ready(), Some(conn));
        assert_eq!(links.ready_set(), [conn]);
    }

    #[test]
    fn a_standby_is_promoted_and_a_primary_demoted_in_place() {
        let mut links = Links::new();
        let a = links.open(0, Role::Active, 0, 10);
        let s = links.open(1, Role::Standby, 0, 10);
        links.demote_active();
        assert_eq!(links.standbys().len(), 2);
        assert_eq!(
            links.promote(s).map(|l| (l.conn, l.role)),
            Some((s, Role::Active))
        );
        assert_eq!(
            links.standbys().iter().map(|l| l.conn).collect::<Vec<_>>(),
            [a]
        );
        assert_eq!(links.take_conn(a).map(|l| l.endpoint), Some(0));
        assert!(links.standbys().is_empty());
    }
}
