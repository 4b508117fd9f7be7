//! Running queries: declaring indexes, keeping them current, and executing a [`Plan`].

use std::ops::ControlFlow;
use std::sync::Arc;

use yrs::{Any, Map, MapRef, ReadTxn, Transact};

use super::error::{ReplicaError, Result};
use super::index::CollectionIndexes;
use super::plan::{Plan, Source, Stop};
use super::query::{sort_rows, Filter, Query};
use super::value::{StoredRecord, ID_FIELD};
use super::{field_value, record_at, Replica};

/// What `explain` reports: the index a query used (`"id"` for lookups by key, None for a
/// scan) and how many records it examined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub index: Option<String>,
    pub scanned: usize,
}

/// The result of a query and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub ids: Vec<String>,
    pub explained: Explained,
}

impl Replica {
    /// Indexes `fields` of a collection, in addition to those it has; a field already
    /// indexed is left as it is. Each new index is built with one pass over the records.
    pub fn add_indexes(&mut self, collection: &str, fields: &[String]) -> Result<()> {
        for field in fields {
            if field.is_empty() {
                return Err(invalid_index(collection, "a field name must be non-empty"));
            }
            if field == ID_FIELD {
                return Err(invalid_index(
                    collection,
                    "'id' needs no index: records are looked up by id directly",
                ));
            }
        }
        let map = self.collection_map(collection)?;
        self.refresh_indexes(collection);
        let name: Arc<str> = collection.into();
        let indexes = self.indexes.entry(name.clone()).or_default();
        let mut new: Vec<String> = Vec::new();
        for field in fields {
            if !indexes.has(field) && !new.contains(field) {
                new.push(field.clone());
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        self.log.borrow_mut().track_for_indexes(&name);
        let txn = self.doc.transact();
        let records = map.iter(&txn).filter_map(|(id, entry)| {
            let record = StoredRecord::from_out(entry)?;
            let values = new
                .iter()
                .map(|field| field_value(&record, &txn, id, field))
                .collect();
            Some((id, values))
        });
        indexes.add(new.clone(), records);
        Ok(())
    }

    /// The indexed fields of a collection, in declaration order.
    pub fn indexed_fields(&self, collection: &str) -> Vec<String> {
        self.indexes
            .get(collection)
            .map_or_else(Vec::new, |indexes| indexes.fields().to_vec())
    }

    /// Runs `query` and says which index it used and how many records it examined.
    pub fn explain(&mut self, collection: &str, query: &Query) -> Result<Explained> {
        Ok(self.search(collection, query)?.explained)
    }

    /// Ids of the records matching `query`, in query order, and what finding them cost.
    pub fn search(&mut self, collection: &str, query: &Query) -> Result<Found> {
        let map = self.collection_map(collection)?;
        self.refresh_indexes(collection);
        let indexes = self.indexes.get(collection);
        let plan = Plan::for_query(query, indexes.map_or(&[], |i| i.fields()));
        let txn = self.doc.transact();
        let mut rows: Vec<(String, Vec<Option<Any>>)> = Vec::new();
        let scanned = examine(&plan, &map, &txn, indexes, |id, record| {
            let lookup = |field: &str| field_value(record, &txn, id, field);
            if !query.filter.matches(lookup) {
                return false;
            }
            let keys = query.order_by.iter().map(|k| lookup(&k.field)).collect();
            rows.push((id.to_string(), keys));
            true
        });
        sort_rows(&mut rows, &query.order_by);
        let end = query
            .limit
            .map_or(rows.len(), |l| query.offset.saturating_add(l));
        let ids = rows
            .into_iter()
            .take(end)
            .skip(query.offset)
            .map(|(id, _)| id)
            .collect();
        Ok(Found {
            ids,
            explained: Explained {
                index: plan.index().map(str::to_string),
                scanned,
            },
        })
    }

    /// How many records match `filter`.
    pub fn count_matching(&mut self, collection: &str, filter: &Filter) -> Result<usize> {
        let map = self.collection_map(collection)?;
        self.refresh_indexes(collection);
        let indexes = self.indexes.get(collection);
        let plan = Plan::for_filter(filter, indexes.map_or(&[], |i| i.fields()));
        let txn = self.doc.transact();
        let mut matching = 0;
        examine(&plan, &map, &txn, indexes, |id, record| {
            let matched = filter.matches(|field| field_value(record, &txn, id, field));
            matching += usize::from(matched);
            matched
        });
        Ok(matching)
    }

    /// Brings a collection's indexes up to date with the records touched since they last
    /// looked (local writes, remote updates, records adopted with a new collection).
    fn refresh_indexes(&mut self, collection: &str) {
        let Some(indexes) = self.indexes.get_mut(collection) else {
            return;
        };
        let touched = self.log.borrow_mut().take_unindexed(collection);
        if touched.is_empty() {
            return;
        }
        let Some(map) = self.collections.get(collection) else {
            return;
        };
        let txn = self.doc.transact();
        indexes.refresh(touched, |id, fields| {
            let record = record_at(map, &txn, id)?;
            Some(
                fields
                    .iter()
                    .map(|field| field_value(&record, &txn, id, field))
                    .collect(),
            )
        });
    }
}

fn invalid_index(collection: &str, why: &str) -> ReplicaError {
    ReplicaError::InvalidOption(format!("indexes of '{collection}': {why}"))
}

/// Hands each candidate record of `plan` to `test` (which says whether it matched) until the
/// plan may stop. Returns how many records were examined.
fn examine<T: ReadTxn>(
    plan: &Plan,
    map: &MapRef,
    txn: &T,
    indexes: Option<&CollectionIndexes>,
    mut test: impl FnMut(&str, &StoredRecord) -> bool,
) -> usize {
    let mut scanned = 0;
    let mut examine_one = |id: &str, record: &StoredRecord| {
        scanned += 1;
        test(id, record)
    };
    let walked = match &plan.source {
        Source::Index {
            field,
            intervals,
            descending,
        } => indexes.and_then(|indexes| indexes.get(field)).map(|index| {
            let mut matches = 0;
            let mut last_key = None;
            index.walk(intervals, *descending, |key, id| {
                let enough = match plan.stop {
                    Stop::Never => false,
                    Stop::AfterMatches(n) => matches >= n,
                    Stop::AfterMatchesAndTies(n) => matches >= n && last_key != Some(key),
                };
                if enough {
                    return ControlFlow::Break(());
                }
                if let Some(record) = record_at(map, txn, id) {
                    matches += usize::from(examine_one(id, &record));
                }
                last_key = Some(key);
                ControlFlow::Continue(())
            });
        }),
        Source::Ids(ids) => {
            for id in ids {
                if let Some(record) = record_at(map, txn, id) {
                    examine_one(id, &record);
                }
            }
            Some(())
        }
        Source::Scan => None,
    };
    if walked.is_none() {
        for (id, entry) in map.iter(txn) {
            if let Some(record) = StoredRecord::from_out(entry) {
                examine_one(id, &record);
            }
        }
    }
    scanned
}
