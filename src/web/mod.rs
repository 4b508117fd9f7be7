//! The wasm-bindgen surface the JS facade drives. It converts values and errors and
//! otherwise hands everything to the core: no policy lives here.
//!
//! Records cross the boundary as JSON text (one `JSON.stringify` / `JSON.parse` per call,
//! not a conversion per field), and every mutation returns the changes it made, which keep
//! the facade's read cache exact.

mod errors;

use wasm_bindgen::prelude::*;

use crate::config::SyncConfig;
use crate::replica::value::{fields_from_json, parse_any, type_name};
use crate::replica::{ChangeKind, Filter, Query, Replica, Values};
use errors::{config_error, replica_error, JsResult};
use yrs::Any;

#[wasm_bindgen]
pub struct WasmReplica {
    core: Replica,
}

impl Default for WasmReplica {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl WasmReplica {
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmReplica {
        WasmReplica {
            core: Replica::new(),
        }
    }

    /// Inserts one record given as JSON fields under `id`. Returns the change code (see
    /// [`WasmReplica::take_single_change`]).
    pub fn insert(&mut self, collection: &str, id: &str, fields_json: &str) -> JsResult<u8> {
        let fields = fields_from_json(fields_json, || format!("insert into '{collection}'"))
            .map_err(replica_error)?;
        self.core
            .insert(collection, id, fields)
            .map_err(replica_error)?;
        Ok(self.take_single_change())
    }

    /// Inserts records in one transaction: `ids_json` is a JSON array of ids, `records_json`
    /// a JSON array of field objects of the same length. Returns the changes without values.
    #[wasm_bindgen(js_name = insertMany)]
    pub fn insert_many(
        &mut self,
        collection: &str,
        ids_json: &str,
        records_json: &str,
    ) -> JsResult<String> {
        let what = || format!("insertMany into '{collection}'");
        let ids: Vec<String> = serde_json::from_str(ids_json).map_err(|e| {
            errors::type_error(&format!(
                "{}: ids must be a JSON array of strings: {e}",
                what()
            ))
        })?;
        let records: Vec<Any> = match parse_any(records_json, what).map_err(replica_error)? {
            // Copying the slice clones only Arcs; dropping it leaves each record's map unshared,
            // so it moves out below instead of being copied.
            Any::Array(items) if items.len() == ids.len() => items.to_vec(),
            other => {
                let message = format!(
                    "{}: expected an array of {} records, got {}",
                    what(),
                    ids.len(),
                    type_name(&other)
                );
                return Err(errors::type_error(&message));
            }
        };
        let mut batch = Vec::with_capacity(records.len());
        for (i, (id, record)) in ids.into_iter().zip(records).enumerate() {
            let Any::Map(fields) = record else {
                let message = format!(
                    "{}, record {i}: a record must be a plain object, got {}",
                    what(),
                    type_name(&record)
                );
                return Err(errors::type_error(&message));
            };
            batch.push((id, std::sync::Arc::unwrap_or_clone(fields)));
        }
        self.core
            .insert_many(collection, batch)
            .map_err(replica_error)?;
        Ok(self.take_changes(false))
    }

    /// Merges the JSON fields `set_json` into a record and removes the fields listed in
    /// `unset_json` (a JSON array, or "" for none). Returns the change code.
    pub fn update(
        &mut self,
        collection: &str,
        id: &str,
        set_json: &str,
        unset_json: &str,
    ) -> JsResult<u8> {
        let what = || format!("update of '{id}' in '{collection}'");
        let set = fields_from_json(set_json, what).map_err(replica_error)?;
        let unset: Vec<String> = if unset_json.is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(unset_json)
                .map_err(|e| errors::type_error(&format!("{}: unset: {e}", what())))?
        };
        self.core
            .update(collection, id, set, &unset)
            .map_err(replica_error)?;
        Ok(self.take_single_change())
    }

    /// Makes a record hold exactly the JSON fields. Returns the change code.
    pub fn replace(&mut self, collection: &str, id: &str, fields_json: &str) -> JsResult<u8> {
        let what = || format!("replace of '{id}' in '{collection}'");
        let fields = fields_from_json(fields_json, what).map_err(replica_error)?;
        self.core
            .replace(collection, id, fields)
            .map_err(replica_error)?;
        Ok(self.take_single_change())
    }

    /// Inserts or replaces by id. Returns the change code (insert, update or none).
    pub fn upsert(&mut self, collection: &str, id: &str, fields_json: &str) -> JsResult<u8> {
        let what = || format!("upsert of '{id}' in '{collection}'");
        let fields = fields_from_json(fields_json, what).map_err(replica_error)?;
        self.core
            .upsert(collection, id, fields)
            .map_err(replica_error)?;
        Ok(self.take_single_change())
    }

    /// Deletes by id. Returns the change code (delete, or none when there was no record).
    pub fn delete(&mut self, collection: &str, id: &str) -> JsResult<u8> {
        self.core.delete(collection, id).map_err(replica_error)?;
        Ok(self.take_single_change())
    }

    /// After a write of one record: its net change as a code, 0 none, 1 insert, 2 update,
    /// 3 delete. Such a write touches only that record (every call drains the log), so no ids
    /// need to cross.
    fn take_single_change(&mut self) -> u8 {
        let set = self.core.take_changes_with(Values::Omit);
        debug_assert!(
            set.changes.len() <= 1,
            "a single-record write touched {:?}",
            set.changes
        );
        set.changes.first().map_or(0, |change| match change.kind {
            ChangeKind::Insert => 1,
            ChangeKind::Update => 2,
            ChangeKind::Delete => 3,
        })
    }

    /// A record's JSON text, or undefined.
    pub fn get(&mut self, collection: &str, id: &str) -> JsResult<Option<String>> {
        self.core.get(collection, id).map_err(replica_error)
    }

    /// A JSON array of every record, ordered by id.
    pub fn all(&mut self, collection: &str) -> JsResult<String> {
        self.core.all(collection).map_err(replica_error)
    }

    /// A JSON array of the ids matching `{ where, orderBy, limit, offset }` (JSON), in order.
    pub fn find(&mut self, collection: &str, query_json: &str) -> JsResult<String> {
        let query = Query::from_json(query_json).map_err(replica_error)?;
        let ids = self.core.find(collection, &query).map_err(replica_error)?;
        Ok(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
    }

    pub fn count(&mut self, collection: &str, where_json: &str) -> JsResult<u32> {
        let filter = Filter::from_json(where_json).map_err(replica_error)?;
        let n = self
            .core
            .count(collection, &filter)
            .map_err(replica_error)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub fn collections(&self) -> Vec<String> {
        self.core.collections()
    }

    #[wasm_bindgen(js_name = beginBatch)]
    pub fn begin_batch(&mut self) {
        self.core.begin_batch()
    }

    /// Ends a batch; the outermost end returns the batch's net changes (same form as
    /// the other mutations), inner ones return undefined.
    #[wasm_bindgen(js_name = endBatch)]
    pub fn end_batch(&mut self, with_values: bool) -> Option<String> {
        self.core.end_batch(values(with_values)).map(|set| {
            if set.is_empty() {
                String::new()
            } else {
                set.to_json()
            }
        })
    }

    /// Every mutation drains the core's change log before returning, so nothing is left
    /// between calls: `[[collection, kind, id, value|null], ...]` or "" when nothing changed.
    /// Values are included only for changes the facade did not make itself (remote updates).
    fn take_changes(&mut self, with_values: bool) -> String {
        let set = self.core.take_changes_with(values(with_values));
        if set.is_empty() {
            String::new()
        } else {
            set.to_json()
        }
    }

    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(&self) -> Vec<u8> {
        self.core.encode_state()
    }

    #[wasm_bindgen(js_name = stateVector)]
    pub fn state_vector(&self) -> Vec<u8> {
        self.core.state_vector()
    }

    #[wasm_bindgen(js_name = encodeDiff)]
    pub fn encode_diff(&self, state_vector: &[u8]) -> JsResult<Vec<u8>> {
        self.core.encode_diff(state_vector).map_err(replica_error)
    }

    /// Applies a Yjs v1 update with a remote origin. Returns the changes with values.
    #[wasm_bindgen(js_name = applyUpdate)]
    pub fn apply_update(&mut self, update: &[u8]) -> JsResult<String> {
        self.core.apply_update(update).map_err(replica_error)?;
        Ok(self.take_changes(true))
    }
}

fn values(with_values: bool) -> Values {
    if with_values {
        Values::Include
    } else {
        Values::Omit
    }
}

/// Checks the sync options of `Replica.open` (JSON text) and returns them, with defaults
/// filled in, as JSON text.
#[wasm_bindgen(js_name = checkSyncOptions)]
pub fn check_sync_options(options_json: &str) -> JsResult<String> {
    let config = SyncConfig::from_json(options_json).map_err(config_error)?;
    serde_json::to_string(&config)
        .map_err(|e| errors::error_with_code(&e.to_string(), "INVALID_OPTION"))
}
