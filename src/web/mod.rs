//! The wasm-bindgen surface the JS facade drives. It converts values and errors and
//! otherwise hands everything to the core: no policy lives here.
//!
//! Records cross the boundary as JSON text (one `JSON.stringify` / `JSON.parse` per call,
//! not a conversion per field), and every mutation returns the changes it made, which keep
//! the facade's read cache exact. Everything else that comes back (events, status, endpoint
//! health, query plans, checked options) is a type declared in [`contract`].

mod alloc;
mod contract;
mod driver;
mod errors;
pub mod idb;
mod panic;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use std::cell::RefMut;

use crate::config::SyncConfig;
use crate::replica::value::{fields_from_json, records_from_json};
use crate::replica::{pieces, ChangeKind, Filter, Query, Replica, Values};
use crate::sync::SyncEngine;
use driver::Caller;
use errors::{config_error, replica_error, JsResult};

/// Whether remote change sets carry each record's value (`setChangeValues`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeValues {
    /// Values included: the app listens to changes.
    Include = "include",
    /// Values omitted: the facade reads a value from the core when it is first asked for.
    Omit = "omit",
}

impl From<ChangeValues> for Values {
    fn from(values: ChangeValues) -> Values {
        // (a string the enum lacks arrives as a hidden invalid variant: no values)
        if values == ChangeValues::Include {
            Values::Include
        } else {
            Values::Omit
        }
    }
}

/// Every method takes `&self` (the state is behind a `RefCell`): a call that traps leaves
/// wasm-bindgen's borrow of the object taken, which would refuse any later `&mut self` call,
/// `stopSync` included, and so leave the sockets and timers of a broken replica running.
#[wasm_bindgen]
pub struct WasmReplica {
    shared: driver::SharedRef,
}

impl Default for WasmReplica {
    fn default() -> Self {
        Self::new(None)
    }
}

#[wasm_bindgen]
impl WasmReplica {
    /// `client_id`: the Yjs client id to write with. Pass a random 32-bit one, as Yjs picks:
    /// every reference to this client's items encodes it, so a 53-bit one (yrs' default) costs
    /// 3 bytes more per reference (about 8 % of a document of small records). 0: yrs' default.
    #[wasm_bindgen(constructor)]
    pub fn new(client_id: Option<u32>) -> WasmReplica {
        let core = match client_id {
            Some(id) if id != 0 => Replica::with_client_id(u64::from(id)),
            _ => Replica::new(),
        };
        WasmReplica {
            shared: Rc::new(RefCell::new(driver::Shared {
                core,
                sync: None,
                broadcast: None,
                change_values: Values::Include,
            })),
        }
    }

    /// Inserts one record given as JSON fields under `id`. Returns the record's change (see
    /// [`contract::change`]).
    pub fn insert(&self, collection: &str, id: &str, fields_json: &str) -> JsResult<JsValue> {
        let fields = fields_from_json(fields_json, || format!("insert into '{collection}'"))
            .map_err(replica_error)?;
        self.core_mut()
            .insert(collection, id, fields)
            .map_err(replica_error)?;
        Ok(self.local_change(Some(ChangeKind::Insert)))
    }

    /// Inserts records in one transaction: `ids_json` is a JSON array of ids, `records_json`
    /// a JSON array of field objects of the same length, as UTF-8 (a `TextEncoder`'s output
    /// crosses as one copy; a string is re-encoded a character at a time). Every one of them is inserted (or
    /// nothing is, with an error), so no changes are returned.
    #[wasm_bindgen(js_name = insertMany)]
    pub fn insert_many(
        &self,
        collection: &str,
        ids_json: &str,
        records_json: &[u8],
    ) -> JsResult<()> {
        let what = || format!("insertMany into '{collection}'");
        let ids: Vec<String> = serde_json::from_str(ids_json).map_err(|e| {
            errors::type_error(&format!(
                "{}: ids must be a JSON array of strings: {e}",
                what()
            ))
        })?;
        let _growth = alloc::Expect::for_json(records_json.len());
        let records = records_from_json(records_json, what).map_err(replica_error)?;
        if records.len() != ids.len() {
            let message = format!(
                "{}: {} ids for {} records",
                what(),
                ids.len(),
                records.len()
            );
            return Err(errors::type_error(&message));
        }
        let batch = ids.into_iter().zip(records).collect();
        self.core_mut()
            .insert_many(collection, batch)
            .map_err(replica_error)?;
        self.core_mut().forget_changes();
        self.after_local_write();
        Ok(())
    }

    /// A write of several calls announces the input bytes it will take in (0 when it is over),
    /// so that Wasm memory grows for it in one step, not once per doubling (see `alloc`).
    #[wasm_bindgen(js_name = expectInput)]
    pub fn expect_input(&self, bytes: f64) {
        let bytes = if bytes.is_finite() && bytes > 0.0 {
            bytes as usize
        } else {
            0
        };
        alloc::expect(bytes.saturating_mul(alloc::BYTES_PER_JSON_BYTE));
    }

    /// Merges the JSON fields `set_json` into a record and removes the fields listed in
    /// `unset_json` (a JSON array, or "" for none). Returns the record's change.
    pub fn update(
        &self,
        collection: &str,
        id: &str,
        set_json: &str,
        unset_json: &str,
    ) -> JsResult<JsValue> {
        let what = || format!("update of '{id}' in '{collection}'");
        let set = fields_from_json(set_json, what).map_err(replica_error)?;
        let unset: Vec<String> = if unset_json.is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(unset_json)
                .map_err(|e| errors::type_error(&format!("{}: unset: {e}", what())))?
        };
        let changed = self
            .core_mut()
            .update(collection, id, set, &unset)
            .map_err(replica_error)?;
        Ok(self.local_change(changed.then_some(ChangeKind::Update)))
    }

    /// Makes a record hold exactly the JSON fields. Returns the record's change.
    pub fn replace(&self, collection: &str, id: &str, fields_json: &str) -> JsResult<JsValue> {
        let what = || format!("replace of '{id}' in '{collection}'");
        let fields = fields_from_json(fields_json, what).map_err(replica_error)?;
        let changed = self
            .core_mut()
            .replace(collection, id, fields)
            .map_err(replica_error)?;
        Ok(self.local_change(changed.then_some(ChangeKind::Update)))
    }

    /// Inserts or replaces by id. Returns the record's change (insert, update or none).
    pub fn upsert(&self, collection: &str, id: &str, fields_json: &str) -> JsResult<JsValue> {
        let what = || format!("upsert of '{id}' in '{collection}'");
        let fields = fields_from_json(fields_json, what).map_err(replica_error)?;
        let change = self
            .core_mut()
            .upsert(collection, id, fields)
            .map_err(replica_error)?;
        Ok(self.local_change(change))
    }

    /// Deletes by id. Returns the record's change (delete, or none when there was no record).
    pub fn delete(&self, collection: &str, id: &str) -> JsResult<JsValue> {
        let deleted = self
            .core_mut()
            .delete(collection, id)
            .map_err(replica_error)?;
        Ok(self.local_change(deleted.then_some(ChangeKind::Delete)))
    }

    /// Deletes the records under the ids of `ids_json` (a JSON array of strings) in one
    /// transaction. Returns a byte per id: 1 where it deleted a record, 0 where there was none
    /// (or the id came earlier in the list). Every change is in the result, so none is kept.
    #[wasm_bindgen(js_name = deleteMany)]
    pub fn delete_many(&self, collection: &str, ids_json: &str) -> JsResult<Vec<u8>> {
        let ids: Vec<String> = serde_json::from_str(ids_json).map_err(|e| {
            errors::type_error(&format!(
                "deleteMany from '{collection}': ids must be a JSON array of strings: {e}"
            ))
        })?;
        let deleted = self
            .core_mut()
            .delete_many(collection, &ids)
            .map_err(replica_error)?;
        self.core_mut().forget_changes();
        self.after_local_write();
        Ok(deleted.into_iter().map(u8::from).collect())
    }

    /// After a write of one record, its net change. The write's result says what it did, so
    /// its log entry is only kept for an open batch.
    fn local_change(&self, change: Option<ChangeKind>) -> JsValue {
        self.core_mut().forget_changes();
        self.after_local_write();
        contract::change(change)
    }

    /// A record's JSON text, or undefined.
    pub fn get(&self, collection: &str, id: &str) -> JsResult<Option<String>> {
        self.core_mut().get(collection, id).map_err(replica_error)
    }

    /// A JSON array of every record, ordered by id. (The facade's `all()` does not call this:
    /// it reads its own cache, in the order records entered it; tests compare the two.)
    pub fn all(&self, collection: &str) -> JsResult<String> {
        self.core_mut().all(collection).map_err(replica_error)
    }

    /// A JSON array of the ids matching `{ where, orderBy, limit, offset }` (JSON), in order.
    pub fn find(&self, collection: &str, query_json: &str) -> JsResult<String> {
        let query = Query::from_json(query_json).map_err(replica_error)?;
        let ids = self
            .core_mut()
            .find(collection, &query)
            .map_err(replica_error)?;
        Ok(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
    }

    pub fn count(&self, collection: &str, where_json: &str) -> JsResult<u32> {
        let filter = Filter::from_json(where_json).map_err(replica_error)?;
        let n = self
            .core_mut()
            .count(collection, &filter)
            .map_err(replica_error)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Indexes these fields of a collection, in addition to those it has.
    #[wasm_bindgen(js_name = addIndexes)]
    pub fn add_indexes(&self, collection: &str, fields: Vec<String>) -> JsResult<()> {
        self.core_mut()
            .add_indexes(collection, &fields)
            .map_err(replica_error)
    }

    /// Runs a query (JSON) and returns its plan, `{ index, scanned }`.
    pub fn explain(&self, collection: &str, query_json: &str) -> JsResult<JsValue> {
        let query = Query::from_json(query_json).map_err(replica_error)?;
        let explained = self
            .core_mut()
            .explain(collection, &query)
            .map_err(replica_error)?;
        Ok(contract::to_js(&contract::QueryPlan {
            index: explained.index.as_deref(),
            scanned: explained.scanned,
        }))
    }

    pub fn collections(&self) -> Vec<String> {
        self.core_mut().collections()
    }

    #[wasm_bindgen(js_name = beginBatch)]
    pub fn begin_batch(&self) {
        self.core_mut().begin_batch()
    }

    /// Ends a batch; the outermost end returns the batch's net changes as a change set's JSON
    /// text ("" when nothing changed), inner ones return undefined. Without values: the
    /// facade's cache already holds what the batch wrote.
    #[wasm_bindgen(js_name = endBatch)]
    pub fn end_batch(&self) -> Option<String> {
        let net = self.core_mut().end_batch(Values::Omit);
        self.after_local_write();
        net.map(|set| {
            if set.is_empty() {
                String::new()
            } else {
                set.to_json()
            }
        })
    }

    /// Every mutation drains the core's change log before returning, so nothing is left
    /// between calls: `[[collection, kind, id, value|null], ...]` or "" when nothing changed.
    /// Values are included only for changes the facade did not make itself (remote updates),
    /// and only while it wants them (see `setChangeValues`).
    fn take_remote_changes(&self) -> String {
        let values = self.shared.borrow().change_values;
        let set = self.core_mut().take_changes_with(values);
        self.after_local_write();
        if set.is_empty() {
            String::new()
        } else {
            set.to_json()
        }
    }

    /// Whether remote change sets carry each record's value (the facade wants them while the
    /// app listens to changes; otherwise it reads values when they are asked for).
    #[wasm_bindgen(js_name = setChangeValues)]
    pub fn set_change_values(&self, values: ChangeValues) {
        self.shared.borrow_mut().change_values = values.into();
    }

    /// The records under the ids of `ids_json` (a JSON array) as a JSON array, null for ids
    /// without a record.
    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&self, collection: &str, ids_json: &str) -> JsResult<String> {
        let ids: Vec<String> = serde_json::from_str(ids_json).map_err(|e| {
            errors::type_error(&format!(
                "getMany: ids must be a JSON array of strings: {e}"
            ))
        })?;
        self.core_mut()
            .get_many(collection, &ids)
            .map_err(replica_error)
    }

    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(&self) -> Vec<u8> {
        self.core_mut().encode_state()
    }

    #[wasm_bindgen(js_name = stateVector)]
    pub fn state_vector(&self) -> Vec<u8> {
        self.core_mut().state_vector()
    }

    /// The state vector and delete set as JSON (see `replica::summary`).
    #[wasm_bindgen(js_name = stateSummary)]
    pub fn state_summary(&self) -> String {
        crate::replica::summary::state_summary_json(self.core_mut().doc())
    }

    #[wasm_bindgen(js_name = encodeDiff)]
    pub fn encode_diff(&self, state_vector: &[u8]) -> JsResult<Vec<u8>> {
        self.core_mut()
            .encode_diff(state_vector)
            .map_err(replica_error)
    }

    /// From now on keeps every update, local or remote, for local storage.
    #[wasm_bindgen(js_name = captureForStorage)]
    pub fn capture_for_storage(&self) {
        self.core_mut().capture_for_storage()
    }

    /// From now on keeps local updates for the other tabs (see `takeBroadcastUpdate`).
    #[wasm_bindgen(js_name = captureForBroadcast)]
    pub fn capture_for_broadcast(&self) {
        let mut shared = self.shared.borrow_mut();
        shared.core.capture_local_updates();
        shared.broadcast.get_or_insert_with(Vec::new);
    }

    /// Local updates since the last call, merged into one Yjs v1 update (call again until
    /// undefined).
    #[wasm_bindgen(js_name = takeBroadcastUpdate)]
    pub fn take_broadcast_update(&self) -> Option<Vec<u8>> {
        let mut shared = self.shared.borrow_mut();
        crate::replica::take_merged(shared.broadcast.as_mut()?)
    }

    /// Everything to persist since the last call, merged into one Yjs v1 update.
    #[wasm_bindgen(js_name = takeStorageUpdate)]
    pub fn take_storage_update(&self) -> Option<Vec<u8>> {
        self.core_mut().take_storage_update()
    }

    /// Applies a Yjs v1 update from local storage or another tab with a remote origin and
    /// keeps it for local storage. Returns the changes with values.
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update(&self, update: &[u8]) -> JsResult<String> {
        let _growth = alloc::Expect::for_update(update.len());
        let applied = self.core_mut().apply_update(update);
        applied.map_err(replica_error)?;
        Ok(self.take_remote_changes())
    }

    /// Applies an update another tab has already put into the same local storage (IndexedDB
    /// shared by the tabs of one origin): it is not stored a second time.
    #[wasm_bindgen(js_name = applyStoredElsewhere)]
    pub fn apply_stored_elsewhere(&self, update: &[u8]) -> JsResult<String> {
        let _growth = alloc::Expect::for_update(update.len());
        let applied = self.core_mut().apply_update_stored_elsewhere(update);
        applied.map_err(replica_error)?;
        Ok(self.take_remote_changes())
    }

    /// Applies an update another tab sent. `stored_elsewhere`: it shares this tab's IndexedDB
    /// database and stored it there. `relay`: this tab leads the others (it holds the
    /// connections), so the update goes to the servers as this tab's own writes do.
    #[wasm_bindgen(js_name = applyFromTab)]
    pub fn apply_from_tab(
        &self,
        update: &[u8],
        stored_elsewhere: bool,
        relay: bool,
    ) -> JsResult<String> {
        let changes = if stored_elsewhere {
            self.apply_stored_elsewhere(update)?
        } else {
            self.apply_update(update)?
        };
        if relay {
            let update = update.to_vec();
            driver::pump(&self.shared, Caller::Facade, |s, now| {
                if let Some(d) = s.sync.as_mut() {
                    d.engine.local_update(update, now, &s.core);
                }
            });
        }
        Ok(changes)
    }

    /// While on, the updates servers send are kept for the other tabs too
    /// (`takeBroadcastUpdate`): this tab leads them.
    #[wasm_bindgen(js_name = relayServerUpdates)]
    pub fn relay_server_updates(&self, on: bool) {
        self.core_mut().capture_server_updates(on);
    }

    /// Applies an update the app imports (`replica.applyUpdate`): like `Y.applyUpdate` next to
    /// a provider, it then goes to the server and the other tabs as a local write does, cut
    /// into pieces of at most `piece_bytes` (servers cap one message) so it can be of any size.
    #[wasm_bindgen(js_name = importUpdate)]
    pub fn import_update(&self, update: &[u8], piece_bytes: u32) -> JsResult<String> {
        let changes = self.apply_update(update)?;
        for piece in pieces::split_update(update, piece_bytes as usize) {
            self.share_update(piece);
        }
        Ok(changes)
    }
}

impl WasmReplica {
    fn core_mut(&self) -> RefMut<'_, Replica> {
        RefMut::map(self.shared.borrow_mut(), |s| &mut s.core)
    }

    /// Hands the updates of a local write to the other tabs and the sync engine.
    fn after_local_write(&self) {
        let syncing = {
            let mut guard = self.shared.borrow_mut();
            let shared = &mut *guard;
            if shared.sync.is_none() {
                let updates = shared.core.take_local_updates();
                if let Some(queue) = shared.broadcast.as_mut() {
                    queue.extend(updates);
                }
            }
            shared.sync.is_some()
        };
        if syncing {
            driver::pump(&self.shared, Caller::Facade, |s, now| {
                let updates = s.core.take_local_updates();
                if let Some(queue) = s.broadcast.as_mut() {
                    queue.extend(updates.iter().cloned());
                }
                if let Some(d) = s.sync.as_mut() {
                    for update in updates {
                        d.engine.local_update(update, now, &s.core);
                    }
                }
            });
        }
    }

    /// Sends an applied update on as if it were a local write.
    fn share_update(&self, update: Vec<u8>) {
        let syncing = {
            let mut shared = self.shared.borrow_mut();
            if let Some(queue) = shared.broadcast.as_mut() {
                queue.push(update.clone());
            }
            shared.sync.is_some()
        };
        if syncing {
            driver::pump(&self.shared, Caller::Facade, |s, now| {
                if let Some(d) = s.sync.as_mut() {
                    d.engine.local_update(update, now, &s.core);
                }
            });
        }
    }

    fn with_engine(&self, command: impl FnOnce(&mut SyncEngine, &Replica, u64)) {
        driver::pump(&self.shared, Caller::Facade, |s, now| {
            if let Some(d) = s.sync.as_mut() {
                command(&mut d.engine, &s.core, now);
            }
        });
    }
}

/// Sync with servers: the driver and the engine behind `replica.status`, `flush()`, ….
#[wasm_bindgen]
impl WasmReplica {
    /// Starts syncing with the endpoints of `options_json` (checked sync options). `websocket`
    /// is the WebSocket constructor to use; `wake()` is called after socket or timer events
    /// that produced news, which `drain()` then returns.
    #[wasm_bindgen(js_name = startSync)]
    pub fn start_sync(
        &self,
        options_json: &str,
        room: &str,
        websocket: js_sys::Function,
        wake: js_sys::Function,
        seed: f64,
    ) -> JsResult<()> {
        let config = SyncConfig::from_json(options_json).map_err(config_error)?;
        if config.endpoints.is_empty() {
            return Ok(());
        }
        {
            let mut shared = self.shared.borrow_mut();
            if shared.sync.is_some() {
                return Err(errors::error_with_code(
                    "sync is already running",
                    "INVALID_STATE",
                ));
            }
            shared.core.capture_local_updates();
            let engine = SyncEngine::new(&config, room, seed as u64);
            shared.sync = Some(driver::Driver::new(engine, websocket, wake));
        }
        // the directive the replica loaded decides where it connects first
        driver::pump(&self.shared, Caller::Facade, |s, now| {
            let directive = s.core.directive_changed();
            if let Some(d) = s.sync.as_mut() {
                if let Some(directive) = directive {
                    d.engine
                        .set_directive(directive.as_ref().map(driver::engine_directive), now);
                    d.events
                        .push(contract::SyncEvent::directive(directive.as_ref()));
                }
                d.engine.start(now);
            }
        });
        Ok(())
    }

    /// The room's operator directive as JSON text, or undefined (see `replica::directive`).
    pub fn directive(&self) -> Option<String> {
        self.shared.borrow().core.directive().map(|d| d.to_json())
    }

    /// Writes the room's operator directive, given as JSON text, as a local write.
    #[wasm_bindgen(js_name = setDirective)]
    pub fn set_directive(&self, json: &str) -> JsResult<()> {
        let directive = crate::replica::Directive::from_json(json)
            .map_err(|e| errors::type_error(&format!("setDirective: {e}")))?;
        self.core_mut()
            .set_directive(Some(&directive))
            .map_err(replica_error)?;
        self.after_local_write();
        Ok(())
    }

    /// Removes the room's operator directive, as a local write.
    #[wasm_bindgen(js_name = clearDirective)]
    pub fn clear_directive(&self) -> JsResult<()> {
        self.core_mut().set_directive(None).map_err(replica_error)?;
        self.after_local_write();
        Ok(())
    }

    /// Events since the last call, as an array of [`contract::SyncEvent`]s (`{ kind, ... }`),
    /// or undefined when there are none.
    pub fn drain(&self) -> JsValue {
        let mut shared = self.shared.borrow_mut();
        match shared.sync.as_mut() {
            Some(d) if !d.events.is_empty() => contract::to_js(&std::mem::take(&mut d.events)),
            _ => JsValue::UNDEFINED,
        }
    }

    /// `{ connection, endpoint, pending }` ([`contract::StatusRecord`]).
    #[wasm_bindgen(js_name = syncStatus)]
    pub fn sync_status(&self) -> JsValue {
        let shared = self.shared.borrow();
        match shared.sync.as_ref() {
            Some(d) => contract::to_js(&contract::StatusRecord::from(d.engine.status())),
            None => contract::to_js(&contract::StatusRecord::OFFLINE),
        }
    }

    /// Per-endpoint health, in priority order ([`contract::EndpointRecord`]s).
    pub fn endpoints(&self) -> JsValue {
        let shared = self.shared.borrow();
        let views = shared
            .sync
            .as_ref()
            .map(|d| d.engine.endpoints())
            .unwrap_or_default();
        let records: Vec<_> = views.iter().map(contract::EndpointRecord::from).collect();
        contract::to_js(&records)
    }

    /// Asks for an acknowledgement of everything written so far by `write_concern` servers
    /// (0: the `writeConcern` option; the facade checked it is at most `servers`); the answer
    /// arrives as a `flush` event with this id.
    pub fn flush(&self, id: f64, timeout_ms: f64, write_concern: u32) {
        let concern = (write_concern > 0).then_some(write_concern);
        self.with_engine(|engine, core, now| {
            engine.flush(id as u64, timeout_ms as u64, concern, now, core)
        });
    }

    pub fn failover(&self) {
        self.with_engine(|engine, _, now| engine.failover(now));
    }

    #[wasm_bindgen(js_name = switchTo)]
    pub fn switch_to(&self, url: &str) -> JsResult<()> {
        let mut result = Ok(());
        self.with_engine(|engine, _, now| result = engine.switch_to(url, now));
        result.map_err(|message| errors::error_with_code(&message, "UNKNOWN_ENDPOINT"))
    }

    pub fn unpin(&self) {
        self.with_engine(|engine, _, now| engine.unpin(now));
    }

    /// Sets this replica's presence state (JSON text; undefined clears it).
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(&self, state_json: Option<String>) {
        self.with_engine(|engine, core, now| {
            engine.set_presence(state_json, core.doc().client_id().get(), now)
        });
    }

    /// The other clients' presence states: `[{ clientId, state }, ...]` as JSON.
    pub fn presence(&self) -> String {
        let shared = self.shared.borrow();
        shared
            .sync
            .as_ref()
            .map_or_else(|| "[]".into(), |d| d.engine.presence_json())
    }

    /// Stops syncing and closes every socket. (Left borrowed by a call that trapped, the state
    /// cannot be reached: nothing can run the engine then either.)
    #[wasm_bindgen(js_name = stopSync)]
    pub fn stop_sync(&self) {
        let Ok(mut shared) = self.shared.try_borrow_mut() else {
            return;
        };
        let driver = shared.sync.take();
        drop(shared);
        if let Some(mut driver) = driver {
            driver.shutdown();
        }
    }
}

/// Checks the sync options of `Replica.open` and returns them with defaults filled in. They go
/// in as JSON text, so that they follow JSON's rules as the app wrote them (a field given as
/// `undefined` is absent), and come back as an object.
#[wasm_bindgen(js_name = checkSyncOptions)]
pub fn check_sync_options(options_json: &str) -> JsResult<JsValue> {
    let config = SyncConfig::from_json(options_json).map_err(config_error)?;
    Ok(contract::to_js(&config))
}

/// The names of the sync options `checkSyncOptions` reads (the fields of [`SyncConfig`]): the
/// facade's list of known options is these and its own.
#[wasm_bindgen(js_name = syncOptionNames)]
pub fn sync_option_names() -> Vec<String> {
    SyncConfig::option_names()
}

/// The size of the module's Wasm memory in bytes (it grows, never shrinks), for benchmarks and
/// memory reports.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65536) as f64
}

/// `{ reserved, inUse, peakInUse }` in bytes: the Wasm memory (which never shrinks), what the
/// allocator has handed out and not taken back (freed memory is reused), and the most ever.
#[wasm_bindgen(js_name = wasmMemoryStats)]
pub fn wasm_memory_stats() -> String {
    let (in_use, peak) = alloc::heap_usage();
    format!(
        r#"{{"reserved":{},"inUse":{in_use},"peakInUse":{peak}}}"#,
        wasm_memory_bytes()
    )
}
