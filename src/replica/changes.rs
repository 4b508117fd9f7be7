//! Change sets: which records a transaction (or a batch of them) inserted, updated or deleted.

use std::sync::Arc;

use foldhash::{HashMap, HashSet, HashSetExt};
use yrs::types::{EntryChange, Event, Events, PathSegment};
use yrs::TransactionMut;

/// Who made a change: this replica, or a Yjs update from elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local,
    Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Insert,
    Update,
    Delete,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 3] = [ChangeKind::Insert, ChangeKind::Update, ChangeKind::Delete];

    /// The kind's name, the one definition of it: in change sets, in what a single-record
    /// write returns to the facade, and in the API's `Change.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Insert => "insert",
            ChangeKind::Update => "update",
            ChangeKind::Delete => "delete",
        }
    }
}

/// One record's net change. `value` is the record's JSON text after the change
/// (`{ "id": ..., ...fields }`), absent for deletes.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub(crate) collection: String,
    pub id: String,
    pub kind: ChangeKind,
    pub value: Option<String>,
}

impl Change {
    /// The value parsed, for tests and native callers.
    pub fn value_json(&self) -> Option<serde_json::Value> {
        self.value
            .as_deref()
            .and_then(|v| serde_json::from_str(v).ok())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSet {
    pub origin: Origin,
    pub changes: Vec<Change>,
}

impl ChangeSet {
    pub(crate) fn empty(origin: Origin) -> Self {
        ChangeSet {
            origin,
            changes: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The compact form the JS facade parses in one `JSON.parse`:
    /// `[[collection, kind, id, value|null], ...]` (`value` is null for deletes and when
    /// values were omitted).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 * self.changes.len() + 2);
        out.push('[');
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            push_json_str(&mut out, &change.collection);
            out.push_str(",\"");
            out.push_str(change.kind.as_str());
            out.push_str("\",");
            push_json_str(&mut out, &change.id);
            out.push(',');
            out.push_str(change.value.as_deref().unwrap_or("null"));
            out.push(']');
        }
        out.push(']');
        out
    }
}

fn push_json_str(out: &mut String, s: &str) {
    // Escaping a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// A record touched by one or more transactions, and whether it existed before the first.
#[derive(Debug)]
pub(crate) struct Touched {
    pub(crate) collection: Arc<str>,
    pub(crate) id: Arc<str>,
    pub(crate) existed_before: bool,
}

/// Collects touched records from Yjs events until the replica turns them into a change set.
/// Only the first sighting of a record matters: it tells whether the record existed before;
/// what exists now is read from the document when the change set is built.
#[derive(Debug, Default)]
pub(crate) struct ChangeLog {
    touched: Vec<Touched>,
    seen: HashSet<(Arc<str>, Arc<str>)>,
    /// For each collection with indexes, the records touched since its indexes last looked.
    /// Every change reaches `touch`, so this is where indexes learn of them; it is drained
    /// by queries, not by change sets.
    unindexed: HashMap<Arc<str>, HashSet<Arc<str>>>,
}

impl ChangeLog {
    const KEPT_CAPACITY: usize = 64;

    pub(crate) fn touch(&mut self, collection: &Arc<str>, id: &Arc<str>, existed_before: bool) {
        if let Some(ids) = self.unindexed.get_mut(collection) {
            ids.insert(id.clone());
        }
        if self.seen.insert((collection.clone(), id.clone())) {
            self.touched.push(Touched {
                collection: collection.clone(),
                id: id.clone(),
                existed_before,
            });
        }
    }

    /// Records what the deep events of one collection say about its records.
    pub(crate) fn record_events(
        &mut self,
        collection: &Arc<str>,
        txn: &TransactionMut,
        events: &Events,
    ) {
        for event in events.iter() {
            let path = event.path();
            match path.front() {
                // A change to the collection map itself: records added, replaced or removed.
                None => {
                    if let Event::Map(map_event) = event {
                        for (id, change) in map_event.keys(txn) {
                            let existed = !matches!(change, EntryChange::Inserted(_));
                            self.touch(collection, id, existed);
                        }
                    }
                }
                // A change inside a record (a field, or a Yjs type nested in a field).
                Some(PathSegment::Key(id)) => self.touch(collection, id, true),
                Some(PathSegment::Index(_)) => {}
            }
        }
    }

    pub(crate) fn take(&mut self) -> Vec<Touched> {
        self.forget_seen();
        std::mem::take(&mut self.touched)
    }

    /// Forgets what was touched, keeping small allocations for the next write.
    pub(crate) fn clear(&mut self) {
        self.forget_seen();
        if self.touched.capacity() <= Self::KEPT_CAPACITY {
            self.touched.clear();
        } else {
            self.touched = Vec::new();
        }
    }

    fn forget_seen(&mut self) {
        // A small set is cleared and kept (most writes touch one record); a large one is
        // replaced, because clearing walks its whole capacity: after one large change set
        // every later single write would cost as much as that set.
        if self.seen.capacity() <= Self::KEPT_CAPACITY {
            self.seen.clear();
        } else {
            self.seen = HashSet::new();
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.touched.is_empty()
    }

    /// Starts keeping the records of `collection` touched from now on for its indexes.
    pub(crate) fn track_for_indexes(&mut self, collection: &Arc<str>) {
        self.unindexed.entry(collection.clone()).or_default();
    }

    /// The records of `collection` touched since the last call (see `track_for_indexes`).
    pub(crate) fn take_unindexed(&mut self, collection: &str) -> HashSet<Arc<str>> {
        self.unindexed
            .get_mut(collection)
            .map(std::mem::take)
            .unwrap_or_default()
    }
}
