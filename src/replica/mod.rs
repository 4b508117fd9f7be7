//! The replica core: collections of JSON records in a Yjs document.
//!
//! Schema (readable and writable by plain Yjs apps):
//! - a collection is a root `Y.Map` named after it;
//! - a record is a `Y.Map` stored under its id in that map, one entry per top-level field;
//!   nested objects and arrays are atomic JSON values;
//! - records written by other apps as plain objects are read too.
//!
//! Every mutation happens in a Yjs transaction; the deep observers of the collections note
//! which records it touched, and [`Replica::take_changes`] turns that into a [`ChangeSet`]
//! with each record's value after the change. A batch ([`Replica::begin_batch`]) groups many
//! mutations into one change set and one local update.

pub mod arrival;
pub(crate) mod changes;
pub mod claims;
pub mod directive;
pub(crate) mod error;
pub(crate) mod index;
pub mod pieces;
pub(crate) mod plan;
pub mod query;
pub(crate) mod search;
pub mod summary;
pub mod value;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use foldhash::HashSetExt;
use yrs::types::{DeepObservable, ToJson};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Doc, Map, MapPrelim, MapRef, Options, Out, ReadTxn, StateVector, Transact, TransactionMut,
    Update,
};

pub use changes::{Change, ChangeKind, ChangeSet, Origin};
pub use directive::{Directive, DIRECTIVE_ROOT};
pub use error::ReplicaError;
pub use query::{Filter, Query};
pub use search::{Explained, Found};
pub use value::Fields;

pub(crate) use changes::ChangeLog;
pub(crate) use error::Result;
pub(crate) use value::StoredRecord;

use value::{check_id, out_to_any, record_json, ID_FIELD};

/// Whether a change set carries each record's value after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Include,
    Omit,
}

// Transaction origins: at most 4 bytes, which yrs keeps inline on wasm32 (a longer one is an
// allocation per write).
const LOCAL_ORIGIN: &str = "yrL";
const REMOTE_ORIGIN: &str = "yrR";
/// Key under which this replica's observer is registered on each collection.
const OBSERVER_KEY: &str = "yreplica:changes";

/// How many records `insert_many` writes as one group: the group's record maps, then their
/// fields. Deleted together, the fields of a group are one run of blocks, which yrs 0.28.1
/// merges in one step; written map then fields, each record's fields would be a run of their
/// own, and each run's merge shifts every later block of the client in memory (see
/// [`Replica::delete_many`]): deleting n records would cost n shifts of the rest of the
/// document, a group of them costs one. Groups stay small because a receiver given a large
/// update in pieces (`pieces`) may see, until the next piece, up to a group of records whose
/// maps came in one piece and whose fields come in the next: empty.
pub const RECORDS_PER_RUN: usize = 1024;

/// A local replica: a Yjs document seen as collections of records.
pub struct Replica {
    doc: Doc,
    /// Root maps already observed. `Doc::get_or_insert_map` opens a write transaction, so each
    /// collection's map is looked up once and kept.
    /// (looked up on every write and read: foldhash, not std's SipHash)
    collections: foldhash::HashMap<Arc<str>, MapRef>,
    log: Rc<RefCell<ChangeLog>>,
    /// Open `begin_batch` calls; change sets are held back until the outermost one ends.
    batch_depth: u32,
    /// Origin of the changes logged since the last change set.
    pending_origin: Origin,
    /// Local updates (Yjs v1) waiting for the sync engine, when capture is on.
    local_updates: Option<Vec<Vec<u8>>>,
    /// Every update, local or remote, waiting to be persisted, when storage capture is on.
    storage_updates: Option<Vec<Vec<u8>>>,
    /// Updates made inside the open batch, merged into one when it ends.
    batch_updates: Vec<Vec<u8>>,
    /// Records touched inside the open batch, for its net change set.
    batch_log: ChangeLog,
    /// Remote blocks that wait for what they build on (see [`arrival`]).
    held: arrival::HeldUpdates,
    /// Secondary indexes by collection (see [`index`] and [`search`]).
    indexes: foldhash::HashMap<Arc<str>, index::CollectionIndexes>,
    /// The operator directive last reported by [`Replica::directive_changed`].
    last_directive: Option<Directive>,
    /// Updates from servers that changed the document, kept for the other tabs while this
    /// replica leads them (see [`Replica::apply_server_update`]).
    server_updates: Option<Vec<Vec<u8>>>,
    /// Set while an update from a server is applied.
    from_server: bool,
}

impl Default for Replica {
    fn default() -> Self {
        Self::new()
    }
}

impl Replica {
    pub fn new() -> Self {
        Self::with_doc(Doc::new())
    }

    /// A replica with a fixed Yjs client id (tests use this for deterministic conflicts).
    pub fn with_client_id(client_id: u64) -> Self {
        Self::with_doc(Doc::with_options(Options {
            client_id: yrs::block::ClientID::new(client_id),
            ..Options::default()
        }))
    }

    fn with_doc(doc: Doc) -> Self {
        Replica {
            doc,
            collections: Default::default(),
            log: Rc::new(RefCell::new(ChangeLog::default())),
            batch_depth: 0,
            pending_origin: Origin::Local,
            local_updates: None,
            storage_updates: None,
            batch_updates: Vec::new(),
            batch_log: ChangeLog::default(),
            held: arrival::HeldUpdates::default(),
            indexes: Default::default(),
            last_directive: None,
            server_updates: None,
            from_server: false,
        }
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    // ---- collections -------------------------------------------------------------------

    /// The root map of a collection, observed so its changes reach change sets.
    fn collection_map(&mut self, name: &str) -> Result<MapRef> {
        if let Some(map) = self.collections.get(name) {
            return Ok(map.clone());
        }
        if name.is_empty() {
            return Err(ReplicaError::InvalidValue(
                "a collection name must be a non-empty string".into(),
            ));
        }
        if name == DIRECTIVE_ROOT {
            return Err(ReplicaError::InvalidValue(format!(
                "'{DIRECTIVE_ROOT}' is reserved for the operator directive; it is not a collection"
            )));
        }
        let map = self.doc.get_or_insert_map(name);
        let collection: Arc<str> = name.into();
        let log = self.log.clone();
        let key = collection.clone();
        // Local writes log what they touch themselves (see `Replica::write`): asking yrs for
        // an event's keys costs as much again as the write.
        map.observe_deep(OBSERVER_KEY, move |txn, events| {
            if txn.origin().map(AsRef::as_ref) != Some(LOCAL_ORIGIN.as_bytes()) {
                log.borrow_mut().record_events(&key, txn, events)
            }
        });
        self.collections.insert(collection, map.clone());
        Ok(map)
    }

    /// Names of the collections that hold at least one record, sorted.
    pub fn collections(&self) -> Vec<String> {
        let txn = self.doc.transact();
        let mut names: Vec<String> = txn
            .root_refs()
            .filter_map(|(name, root)| match root {
                Out::YMap(map) if !name.is_empty() && name != DIRECTIVE_ROOT => map
                    .iter(&txn)
                    .any(|(_, entry)| StoredRecord::from_out(entry).is_some())
                    .then(|| name.to_string()),
                _ => None,
            })
            .collect();
        names.sort();
        names
    }

    // ---- writes ------------------------------------------------------------------------

    /// Runs `write` in one local Yjs transaction, keeps its update when capturing and, if the
    /// document changed, logs the records it names as touched: `(id, existed before)` pairs
    /// for `collection` (a local write touches no other record, so the observer skips it).
    /// Returns `write`'s value and whether the document changed.
    fn write<'a, R>(
        &mut self,
        collection: &str,
        write: impl FnOnce(&mut TransactionMut) -> Result<(R, Vec<(&'a str, bool)>)>,
    ) -> Result<(R, bool)> {
        self.pending_origin = Origin::Local;
        let mut txn = self.doc.transact_mut_with(LOCAL_ORIGIN);
        let result = write(&mut txn);
        txn.commit();
        let changed = txn.has_changes();
        let update = (changed && (self.local_updates.is_some() || self.storage_updates.is_some()))
            .then(|| txn.encode_update_v1());
        drop(txn);
        if let Some(update) = update {
            self.keep_local_update(update);
        }
        let (value, touched) = result?;
        if changed {
            // the name as the collection keeps it (a write always has its collection)
            let collection = self
                .collections
                .get_key_value(collection)
                .map_or_else(|| Arc::from(collection), |(name, _)| name.clone());
            let mut log = self.log.borrow_mut();
            for (id, existed_before) in touched {
                log.touch(&collection, &Arc::from(id), existed_before);
            }
        }
        Ok((value, changed))
    }

    fn keep_local_update(&mut self, update: Vec<u8>) {
        if self.batch_depth > 0 {
            self.batch_updates.push(update);
            return;
        }
        if let Some(queue) = self.storage_updates.as_mut() {
            queue.push(update.clone());
        }
        if let Some(queue) = self.local_updates.as_mut() {
            queue.push(update);
        }
    }

    pub fn insert(&mut self, collection: &str, id: &str, fields: Fields) -> Result<()> {
        self.insert_many(collection, vec![(id.to_string(), fields)])
    }

    /// Inserts records in one transaction. Nothing is written if any id is taken.
    pub fn insert_many(&mut self, collection: &str, records: Vec<(String, Fields)>) -> Result<()> {
        let map = self.collection_map(collection)?;
        {
            let txn = self.doc.transact();
            let mut ids = foldhash::HashSet::with_capacity(records.len());
            for (id, _) in &records {
                check_id(id, || format!("insert into '{collection}'"))?;
                if !ids.insert(id.as_str()) || record_at(&map, &txn, id).is_some() {
                    return Err(ReplicaError::AlreadyExists {
                        collection: collection.into(),
                        id: id.clone(),
                    });
                }
            }
        }
        let (ids, records): (Vec<String>, Vec<Fields>) = records.into_iter().unzip();
        let records = ids
            .iter()
            .zip(records)
            .map(|(id, fields)| without_own_id(fields, id, collection))
            .collect::<Result<Vec<_>>>()?;
        self.write(collection, |txn| {
            // By groups of RECORDS_PER_RUN: the group's record maps, then their fields record
            // by record (see RECORDS_PER_RUN).
            let mut records = records.into_iter();
            for group in ids.chunks(RECORDS_PER_RUN) {
                let maps: Vec<MapRef> = group
                    .iter()
                    .map(|id| map.insert(txn, id.as_str(), MapPrelim::default()))
                    .collect();
                // `maps` first: zip takes no record past the group's last map
                for (record, fields) in maps.iter().zip(records.by_ref()) {
                    for (name, value) in fields {
                        record.insert(txn, name, value);
                    }
                }
            }
            Ok(((), ids.iter().map(|id| (id.as_str(), false)).collect()))
        })
        .map(|_| ())
    }

    /// Merges `set` into a record and removes the `unset` fields. Returns whether anything
    /// changed (writing the values a record has changes nothing).
    pub fn update(
        &mut self,
        collection: &str,
        id: &str,
        set: Fields,
        unset: &[String],
    ) -> Result<bool> {
        let map = self.collection_map(collection)?;
        let set = without_own_id(set, id, collection)?;
        self.write(collection, |txn| {
            let record = record_at(&map, txn, id).ok_or_else(|| not_found(collection, id))?;
            let shared = shared_record(&map, txn, id, record);
            for (key, value) in set {
                if shared.get(txn, &key).map(|o| out_to_any(o, txn)).as_ref() != Some(&value) {
                    shared.insert(txn, key, value);
                }
            }
            for key in unset {
                if key != ID_FIELD {
                    shared.remove(txn, key);
                }
            }
            Ok(((), vec![(id, true)]))
        })
        .map(|((), changed)| changed)
    }

    /// Makes a record hold exactly `fields`. Returns whether anything changed.
    pub fn replace(&mut self, collection: &str, id: &str, fields: Fields) -> Result<bool> {
        let map = self.collection_map(collection)?;
        let fields = without_own_id(fields, id, collection)?;
        self.write(collection, |txn| {
            let record = record_at(&map, txn, id).ok_or_else(|| not_found(collection, id))?;
            replace_fields(&map, txn, id, record, fields);
            Ok(((), vec![(id, true)]))
        })
        .map(|((), changed)| changed)
    }

    /// Inserts the record, or replaces the one with the same id. Returns what happened to it:
    /// inserted, updated, or nothing (it held these fields already).
    pub fn upsert(
        &mut self,
        collection: &str,
        id: &str,
        fields: Fields,
    ) -> Result<Option<ChangeKind>> {
        let map = self.collection_map(collection)?;
        check_id(id, || format!("upsert into '{collection}'"))?;
        let fields = without_own_id(fields, id, collection)?;
        let (existed, changed) = self.write(collection, |txn| match record_at(&map, txn, id) {
            Some(record) => {
                replace_fields(&map, txn, id, record, fields);
                Ok((true, vec![(id, true)]))
            }
            None => {
                insert_record(&map, txn, id, fields);
                Ok((false, vec![(id, false)]))
            }
        })?;
        Ok(match (existed, changed) {
            (false, _) => Some(ChangeKind::Insert),
            (true, true) => Some(ChangeKind::Update),
            (true, false) => None,
        })
    }

    /// Deletes a record; false if there was none.
    pub fn delete(&mut self, collection: &str, id: &str) -> Result<bool> {
        Ok(self.delete_many(collection, &[id])?.first() == Some(&true))
    }

    /// Deletes records in one transaction. Returns, for each id, whether this call deleted
    /// a record under it (false where there was none, and for an id listed again).
    ///
    /// When a transaction commits, yrs 0.28.1 merges the blocks it deleted run by run, and
    /// each merge shifts every later block of their client in memory
    /// (`ClientBlockList::squash_left_range_compaction`). A record's collected fields are
    /// such a run: records written one by one cost a shift each, so deleting n of them costs
    /// on the order of n times the blocks written after them, in one transaction or many
    /// (one transaction still saves the rest of a write per record). Records written by
    /// `insert_many` and deleted together cost a shift per [`RECORDS_PER_RUN`] records.
    pub fn delete_many<S: AsRef<str>>(&mut self, collection: &str, ids: &[S]) -> Result<Vec<bool>> {
        let map = self.collection_map(collection)?;
        let mut deleted = vec![false; ids.len()];
        {
            let txn = self.doc.transact();
            let mut seen = foldhash::HashSet::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                let id = id.as_ref();
                deleted[i] = seen.insert(id) && record_at(&map, &txn, id).is_some();
            }
        }
        if !deleted.contains(&true) {
            return Ok(deleted);
        }
        let gone: Vec<&str> = ids
            .iter()
            .zip(&deleted)
            .filter(|(_, deleted)| **deleted)
            .map(|(id, _)| id.as_ref())
            .collect();
        self.write(collection, |txn| {
            for id in &gone {
                map.remove(txn, id);
            }
            Ok(((), gone.iter().map(|id| (*id, true)).collect()))
        })?;
        Ok(deleted)
    }

    // ---- reads -------------------------------------------------------------------------

    /// A record's JSON text `{ id, ...fields }`.
    pub fn get(&mut self, collection: &str, id: &str) -> Result<Option<String>> {
        let map = self.collection_map(collection)?;
        let txn = self.doc.transact();
        Ok(record_at(&map, &txn, id).map(|r| record_json(id, &r, &txn)))
    }

    /// The records under `ids` as one JSON array, `null` where there is none.
    pub fn get_many(&mut self, collection: &str, ids: &[String]) -> Result<String> {
        let map = self.collection_map(collection)?;
        let txn = self.doc.transact();
        let mut out = String::from("[");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match record_at(&map, &txn, id) {
                Some(record) => out.push_str(&record_json(id, &record, &txn)),
                None => out.push_str("null"),
            }
        }
        out.push(']');
        Ok(out)
    }

    /// All records of a collection as one JSON array, ordered by id.
    pub fn all(&mut self, collection: &str) -> Result<String> {
        let ids = self.find(collection, &Query::default())?;
        let map = self.collection_map(collection)?;
        let txn = self.doc.transact();
        let mut out = String::from("[");
        for (i, id) in ids.iter().enumerate() {
            if let Some(record) = record_at(&map, &txn, id) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&record_json(id, &record, &txn));
            }
        }
        out.push(']');
        Ok(out)
    }

    /// Ids of the records that match, in query order (using an index where one applies).
    pub fn find(&mut self, collection: &str, query: &Query) -> Result<Vec<String>> {
        Ok(self.search(collection, query)?.ids)
    }

    /// How many records match the filter.
    pub fn count(&mut self, collection: &str, filter: &Filter) -> Result<usize> {
        self.count_matching(collection, filter)
    }

    // ---- change sets and batches --------------------------------------------------------

    /// Groups the following writes: one change set and one update when the outermost ends.
    pub fn begin_batch(&mut self) {
        self.batch_depth += 1;
    }

    /// Ends a batch. The outermost end returns the batch's net change set (every record
    /// touched inside it, with its value now unless `values` is `Values::Omit`) and queues its
    /// writes as one update.
    pub fn end_batch(&mut self, values: Values) -> Option<ChangeSet> {
        if self.batch_depth == 0 {
            return None;
        }
        self.batch_depth -= 1;
        if self.batch_depth > 0 {
            return None;
        }
        let merged = merge_updates(std::mem::take(&mut self.batch_updates));
        for update in merged {
            self.keep_local_update(update);
        }
        let not_yet_taken = self.log.borrow_mut().take();
        for t in not_yet_taken {
            self.batch_log.touch(&t.collection, &t.id, t.existed_before);
        }
        let touched = self.batch_log.take();
        Some(self.change_set(Origin::Local, touched, values))
    }

    pub fn in_batch(&self) -> bool {
        self.batch_depth > 0
    }

    /// The net change of every record touched since the last call. Inside a batch this still
    /// reports each write (so a read cache stays exact); the batch's own net change set comes
    /// from [`Replica::end_batch`].
    pub fn take_changes(&mut self) -> ChangeSet {
        self.take_changes_with(Values::Include)
    }

    /// [`Replica::take_changes`], optionally without the records' values: a caller that made the
    /// change itself (the JS facade) knows them and saves serializing them again.
    pub fn take_changes_with(&mut self, values: Values) -> ChangeSet {
        if self.log.borrow().is_empty() {
            return ChangeSet::empty(self.pending_origin);
        }
        let touched = self.take_touched();
        self.change_set(self.pending_origin, touched, values)
    }

    /// Forgets the changes since the last call, for a caller whose write's result already says
    /// what changed (every record of an `insert_many` is inserted). An open batch still counts
    /// them in its net change set.
    pub fn forget_changes(&mut self) {
        if self.batch_depth > 0 {
            self.take_touched();
        } else {
            self.log.borrow_mut().clear();
        }
    }

    fn take_touched(&mut self) -> Vec<changes::Touched> {
        let touched = self.log.borrow_mut().take();
        if self.batch_depth > 0 {
            for t in &touched {
                self.batch_log.touch(&t.collection, &t.id, t.existed_before);
            }
        }
        touched
    }

    fn change_set(
        &self,
        origin: Origin,
        touched: Vec<changes::Touched>,
        values: Values,
    ) -> ChangeSet {
        let txn = self.doc.transact();
        let mut changes = Vec::with_capacity(touched.len());
        for t in touched {
            let record = self
                .collections
                .get(&t.collection)
                .and_then(|map| record_at(map, &txn, &t.id));
            let kind = match (t.existed_before, record.is_some()) {
                (false, true) => ChangeKind::Insert,
                (true, true) => ChangeKind::Update,
                (true, false) => ChangeKind::Delete,
                (false, false) => continue,
            };
            let value = match (values, record) {
                (Values::Include, Some(record)) => Some(record_json(&t.id, &record, &txn)),
                _ => None,
            };
            changes.push(Change {
                collection: t.collection.to_string(),
                id: t.id.to_string(),
                kind,
                value,
            });
        }
        ChangeSet { origin, changes }
    }

    // ---- the operator directive -----------------------------------------------------------

    /// The operator directive the room holds (see [`directive`]), if any.
    pub fn directive(&self) -> Option<Directive> {
        directive::read(&self.doc)
    }

    /// Writes the operator directive (None removes it), as a local write like any other: it
    /// is stored and sent. Returns whether the document changed.
    pub fn set_directive(&mut self, directive: Option<&Directive>) -> Result<bool> {
        let map = self.doc.get_or_insert_map(DIRECTIVE_ROOT);
        let ((), changed) = self.write(DIRECTIVE_ROOT, |txn| {
            directive::write(&map, txn, directive);
            Ok(((), Vec::new()))
        })?;
        Ok(changed)
    }

    /// The directive, when it is not the one the last call returned (`Some(None)`: it was
    /// removed); `None` when it did not change.
    pub fn directive_changed(&mut self) -> Option<Option<Directive>> {
        let current = self.directive();
        if current == self.last_directive {
            return None;
        }
        self.last_directive = current.clone();
        Some(current)
    }

    // ---- Yjs interop -------------------------------------------------------------------

    /// Starts keeping every local update (for storage and sync) until taken.
    pub fn capture_local_updates(&mut self) {
        self.local_updates.get_or_insert_with(Vec::new);
    }

    /// Starts keeping every update, local or remote, for local storage until taken.
    pub fn capture_for_storage(&mut self) {
        self.storage_updates.get_or_insert_with(Vec::new);
    }

    /// Everything to persist since the last call, merged into one Yjs v1 update (call again
    /// until None: should merging fail, the updates come one by one).
    pub fn take_storage_update(&mut self) -> Option<Vec<u8>> {
        take_merged(self.storage_updates.as_mut()?)
    }

    pub fn take_local_updates(&mut self) -> Vec<Vec<u8>> {
        self.local_updates
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The whole document as one Yjs v1 update.
    pub fn encode_state(&self) -> Vec<u8> {
        self.diff_since(&StateVector::default())
    }

    /// What the document lacks relative to a peer with state vector `sv` (Yjs v1 encoding).
    pub fn encode_diff(&self, state_vector: &[u8]) -> Result<Vec<u8>> {
        claims::check_state_vector(state_vector)
            .map_err(|e| ReplicaError::InvalidUpdate(format!("state vector: {e}")))?;
        let sv = StateVector::decode_v1(state_vector)
            .map_err(|e| ReplicaError::InvalidUpdate(format!("state vector: {e}")))?;
        Ok(self.diff_since(&sv))
    }

    /// The document's state vector.
    pub fn state_vector_now(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    /// Everything the document holds that a peer with state vector `sv` lacks (Yjs v1),
    /// including updates still waiting for what they depend on (held ones, and deletions yrs
    /// keeps aside), as Yjs sends them. Should merging them fail, they are left out: they
    /// never were part of the document.
    pub fn diff_since(&self, sv: &StateVector) -> Vec<u8> {
        use yrs::updates::encoder::{Encoder, EncoderV1};
        let txn = self.doc.transact();
        let mut encoder = EncoderV1::new();
        txn.encode_state_as_update(sv, &mut encoder);
        let state = encoder.to_vec();
        let store = txn.store();
        let deletes = store.pending_ds().map(|deletes| {
            let mut update = vec![0]; // no blocks, then the delete set
            update.extend(deletes.encode_v1());
            update
        });
        if self.held.is_empty() && deletes.is_none() {
            return state;
        }
        let all = std::iter::once(state.as_slice())
            .chain(self.held.updates())
            .chain(deletes.as_deref());
        yrs::merge_updates_v1(all).unwrap_or(state)
    }

    /// The document's state vector (Yjs v1 encoding).
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// Applies a Yjs v1 update from elsewhere with a remote origin.
    ///
    /// yrs integrates an update block by block (retrying updates held back earlier on the way),
    /// so one it refuses halfway has still changed the document. Then the whole state is kept
    /// for storage, as a compaction would write it, so what the replica shows is what it
    /// reloads; the error is returned after that. (What the transaction itself encodes misses
    /// the held-back updates it integrated.)
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending_origin = Origin::Remote;
        let known: HashSet<Arc<str>> = self.collections.keys().cloned().collect();
        let holds_before = self.held.holds();
        let (refused, changed) = self.integrate(bytes)?;
        let relayed = self.from_server && self.server_updates.is_some();
        if self.storage_updates.is_some() || relayed {
            // blocks held here, or deletions of clocks not yet seen (which yrs keeps aside)
            let waiting = self.held.holds() != holds_before
                || self.doc.transact().store().pending_ds().is_some();
            if relayed && refused.is_none() && (changed || waiting) {
                if let Some(queue) = self.server_updates.as_mut() {
                    queue.push(bytes.to_vec());
                }
            }
        }
        if self.storage_updates.is_some() {
            let waiting = self.held.holds() != holds_before
                || self.doc.transact().store().pending_ds().is_some();
            let stored = match &refused {
                // whole, held parts too: loading it again holds them again
                None if changed || waiting => Some(bytes.to_vec()),
                None => None, // nothing new
                Some(_) if changed => Some(self.encode_state()),
                Some(_) => None,
            };
            if let (Some(queue), Some(update)) = (self.storage_updates.as_mut(), stored) {
                queue.push(update);
            }
        }
        if changed {
            self.integrate_held();
        }
        self.adopt_new_collections(&known)?;
        refused.map_or(Ok(()), |e| Err(ReplicaError::InvalidUpdate(e)))
    }

    /// Applies an update a server sent: as [`Replica::apply_update`], and kept for the other
    /// tabs while [`Replica::capture_server_updates`] is on.
    pub fn apply_server_update(&mut self, bytes: &[u8]) -> Result<()> {
        self.from_server = true;
        let applied = self.apply_update(bytes);
        self.from_server = false;
        applied
    }

    /// Starts (or stops) keeping the updates servers send that change the document, for the
    /// other tabs this one leads.
    pub fn capture_server_updates(&mut self, on: bool) {
        self.server_updates = on.then(Vec::new);
    }

    /// The updates kept by [`Replica::capture_server_updates`] since the last call.
    pub fn take_server_updates(&mut self) -> Vec<Vec<u8>> {
        self.server_updates
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Applies an update that another replica already keeps in the same local storage (a tab
    /// sharing this IndexedDB database): it is not queued for storage a second time.
    pub fn apply_update_stored_elsewhere(&mut self, bytes: &[u8]) -> Result<()> {
        let queue = self.storage_updates.take();
        let applied = self.apply_update(bytes);
        self.storage_updates = queue;
        applied
    }

    /// Hands yrs the part of an update that continues the document and holds the rest (see
    /// [`arrival`]). Returns why yrs refused it, if it did, and whether the document changed.
    fn integrate(&mut self, bytes: &[u8]) -> Result<(Option<String>, bool)> {
        let state = self.doc.transact().state_vector();
        let split = arrival::split(bytes, &state).map_err(ReplicaError::InvalidUpdate)?;
        let update = Update::decode_v1(&split.ready)
            .map_err(|e| ReplicaError::InvalidUpdate(e.to_string()))?;
        if let Some(held) = split.held {
            self.held.hold(held);
        }
        let mut txn = self.doc.transact_mut_with(REMOTE_ORIGIN);
        let applied = txn.apply_update(update);
        if split.shape.has_format {
            drop_valueless_entries(self.collections.values(), &mut txn);
        }
        if let Some(pending) = arrival::take_yrs_pending(&mut txn) {
            self.held.hold(pending);
        }
        txn.commit();
        Ok((applied.err().map(|e| e.to_string()), txn.has_changes()))
    }

    /// Integrates held updates whose predecessors have arrived, until none moves on.
    fn integrate_held(&mut self) {
        while !self.held.is_empty() {
            let state = self.doc.transact().state_vector();
            let Some(update) = self.held.take_wakeable(&state) else {
                return;
            };
            // Each round either integrates something (the clocks move on) or holds the
            // update again behind a clock the document has not reached: it ends.
            // A held part yrs refuses is dropped: it never was part of the document, and the
            // update it came from is stored whole.
            let _ = self.integrate(&update);
        }
    }

    /// How many remote updates wait for what they build on, and their size in bytes.
    pub fn held_updates(&self) -> (usize, usize) {
        (self.held.len(), self.held.bytes())
    }

    /// Collections that arrived in a remote update had no observer yet: observe them now and
    /// report all their records as inserted.
    fn adopt_new_collections(&mut self, known: &HashSet<Arc<str>>) -> Result<()> {
        let new_names: Vec<String> = {
            let txn = self.doc.transact();
            txn.root_refs()
                .map(|(name, _)| name.to_string())
                // another app may name a root "": it cannot be a collection, and refusing the
                // update for it would refuse every later one too
                .filter(|name| {
                    !name.is_empty() && name != DIRECTIVE_ROOT && !known.contains(name.as_str())
                })
                .collect()
        };
        for name in new_names {
            let map = self.collection_map(&name)?;
            let txn = self.doc.transact();
            let collection: Arc<str> = name.as_str().into();
            let mut log = self.log.borrow_mut();
            for (id, entry) in map.iter(&txn) {
                if StoredRecord::from_out(entry).is_some() {
                    log.touch(&collection, &Arc::from(id), false);
                }
            }
        }
        Ok(())
    }

    /// The JSON of a whole collection as a plain Yjs app sees it (`map.toJSON()`), for tests.
    pub fn collection_to_json(&self, name: &str) -> Option<Any> {
        let txn = self.doc.transact();
        txn.get_map(name).map(|m| m.to_json(&txn))
    }
}

/// How many updates one call of yrs' merge takes. It sorts all of its inputs again for every
/// struct it writes, so merging k small updates at once costs about k² log k (30,000 updates
/// of one field: seconds). Merged in rounds of this many, the cost is about k log k.
const MERGE_FAN_IN: usize = 8;

/// Several Yjs v1 updates as one; should merging ever fail, the originals, so none is lost.
pub fn merge_updates(updates: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    // Merging decodes them: unchecked length claims would reach yrs' reservations.
    if updates.len() <= 1 || updates.iter().any(|u| claims::check_update(u).is_err()) {
        return updates;
    }
    let Some(mut round) = merge_round(&updates) else {
        return updates;
    };
    while round.len() > 1 {
        match merge_round(&round) {
            Some(next) => round = next,
            None => return updates,
        }
    }
    round
}

/// Each run of [`MERGE_FAN_IN`] updates merged into one, in order; None if yrs refused one.
fn merge_round(updates: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    updates
        .chunks(MERGE_FAN_IN)
        .map(|group| match group {
            [single] => Some(single.clone()),
            _ => yrs::merge_updates_v1(group.iter().map(Vec::as_slice)).ok(),
        })
        .collect()
}

/// How many bytes of queued updates are merged into one at most. Merging saves storage
/// records and messages when a tick makes many small writes; large updates (the pieces of a
/// big insertMany) gain nothing from it and would take their size again in Wasm memory.
pub const MERGE_UP_TO: usize = 1 << 20;

/// Takes the updates at the front of a queue, up to [`MERGE_UP_TO`] bytes (at least one), as
/// one merged update; the rest (and leftovers, if merging failed) stay queued in order.
pub fn take_merged(queue: &mut Vec<Vec<u8>>) -> Option<Vec<u8>> {
    let mut total = 0;
    let taken = queue
        .iter()
        .take_while(|update| {
            total += update.len();
            total <= MERGE_UP_TO
        })
        .count()
        .max(1)
        .min(queue.len());
    let mut merged = merge_updates(queue.drain(..taken).collect());
    let first = (!merged.is_empty()).then(|| merged.remove(0));
    queue.splice(0..0, merged);
    first
}

/// Removes collection entries that hold no value. A formatting mark (text content) placed
/// right of a map entry takes its key, and yrs' map events then panic computing the change
/// (`keys`), which would kill the Wasm module when the transaction commits. Such an entry is
/// not data: removing it in the same transaction keeps the events computable.
fn drop_valueless_entries<'a>(
    collections: impl Iterator<Item = &'a MapRef>,
    txn: &mut TransactionMut,
) {
    for map in collections {
        let valueless: Vec<String> = map
            .keys(txn)
            .filter(|key| map.get(txn, key).is_none())
            .map(str::to_string)
            .collect();
        for key in valueless {
            map.remove(txn, &key);
        }
    }
}

fn not_found(collection: &str, id: &str) -> ReplicaError {
    ReplicaError::NotFound {
        collection: collection.into(),
        id: id.into(),
    }
}

fn record_at<T: ReadTxn>(map: &MapRef, txn: &T, id: &str) -> Option<StoredRecord> {
    map.get(txn, id).and_then(StoredRecord::from_out)
}

fn field_value<T: ReadTxn>(record: &StoredRecord, txn: &T, id: &str, field: &str) -> Option<Any> {
    if field == ID_FIELD {
        Some(Any::String(id.into()))
    } else {
        record.field(txn, field)
    }
}

/// Inserts a record as a `Y.Map` of its fields (as yrs' `MapPrelim` would, without building a
/// hash map of them first).
fn insert_record(map: &MapRef, txn: &mut TransactionMut, id: &str, fields: Fields) -> MapRef {
    let record = map.insert(txn, id, MapPrelim::default());
    for (name, value) in fields {
        record.insert(txn, name, value);
    }
    record
}

/// The `id` of a record is its key: a patch may repeat it but not change it.
fn without_own_id(mut fields: Fields, id: &str, collection: &str) -> Result<Fields> {
    // As in JSON, a name given twice means its last value.
    let given = fields.iter().rev().find(|(name, _)| &**name == ID_FIELD);
    let refused = given.is_some_and(|(_, value)| !matches!(value, Any::String(s) if &**s == id));
    fields.retain(|(name, _)| &**name != ID_FIELD);
    if refused {
        return Err(ReplicaError::InvalidValue(format!(
            "record '{id}' in '{collection}': field 'id' is the record's key and cannot be changed"
        )));
    }
    Ok(fields)
}

/// The record as a `Y.Map`; a plain-object record (written by another app) is upgraded to one.
fn shared_record(map: &MapRef, txn: &mut TransactionMut, id: &str, record: StoredRecord) -> MapRef {
    match record {
        StoredRecord::Shared(shared) => shared,
        StoredRecord::Plain(fields) => {
            let fields = fields
                .iter()
                .map(|(name, value)| (Arc::from(name.as_str()), value.clone()))
                .collect();
            insert_record(map, txn, id, fields)
        }
    }
}

fn replace_fields(
    map: &MapRef,
    txn: &mut TransactionMut,
    id: &str,
    record: StoredRecord,
    fields: Fields,
) {
    let shared = shared_record(map, txn, id, record);
    let kept: HashSet<&str> = fields.iter().map(|(name, _)| &**name).collect();
    let stale: Vec<String> = shared
        .keys(txn)
        .filter(|k| !kept.contains(*k))
        .map(str::to_string)
        .collect();
    for key in stale {
        shared.remove(txn, &key);
    }
    for (key, value) in fields {
        if shared.get(txn, &key).map(|o| out_to_any(o, txn)).as_ref() != Some(&value) {
            shared.insert(txn, key, value);
        }
    }
}
