//! Running queries: declaring indexes, keeping them current, and executing a [`Plan`].

use std::cell::OnceCell;
use std::collections::VecDeque;
use std::sync::Arc;

use yrs::types::map::MapIter;
use yrs::{Any, Map, MapRef, ReadTxn, Transact};

use super::error::{ReplicaError, Result};
use super::index::{CollectionIndexes, IndexKey, Walk};
use super::plan::{Plan, Source, Stop};
use super::query::{compare_rows, Filter, Query};
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
        let mut new: Vec<String> = Vec::new();
        for field in fields {
            let indexed = self.indexes.get(collection).is_some_and(|i| i.has(field));
            if !indexed && !new.contains(field) {
                new.push(field.clone());
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let name: Arc<str> = collection.into();
        self.log.borrow_mut().track_for_indexes(&name);
        let indexes = self.indexes.entry(name).or_default();
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
        let indexed = indexes.map_or(&[][..], |i| i.fields());
        let chosen = Plan::for_query(query, indexed);
        let rival = Plan::rival(query, indexed, &chosen);
        let txn = self.doc.transact();
        let mut run = Run::new(&chosen, &map, &txn, indexes, matching_row(query));
        let mut scanned = 0;
        if let Some(rival) = &rival {
            let mut other = Run::new(rival, &map, &txn, indexes, matching_row(query));
            // One candidate each in turn, until one of them has all it needs. A chosen plan
            // that examines every candidate anyway only gathers them meanwhile (the next
            // index entry, no lookup): it examines them if it wins, so a race the rival wins
            // costs little more than the rival's walk.
            let rival_won = loop {
                if !run.race_step() {
                    break false;
                }
                if !other.step() {
                    break true;
                }
            };
            if rival_won {
                std::mem::swap(&mut run, &mut other);
            }
            scanned += other.scanned + other.gathered.len();
        }
        run.finish_keeping_page(query);
        scanned += run.scanned;
        let ids = page(run.rows, query);
        Ok(Found {
            ids,
            explained: Explained {
                index: run.plan.index().map(str::to_string),
                scanned,
            },
        })
    }

    /// How many records match `filter`.
    pub(crate) fn count_matching(&mut self, collection: &str, filter: &Filter) -> Result<usize> {
        let map = self.collection_map(collection)?;
        self.refresh_indexes(collection);
        let indexes = self.indexes.get(collection);
        let plan = Plan::for_filter(filter, indexes.map_or(&[], |i| i.fields()));
        let txn = self.doc.transact();
        let mut run = Run::new(&plan, &map, &txn, indexes, |residual, candidate| {
            residual
                .matches(|field| candidate.field(field))
                .then_some(())
        });
        run.finish();
        Ok(run.rows.len())
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

/// A record that matched: its id and its values of the sort fields.
type Row<'a> = (&'a str, Vec<Option<Any>>);

/// For a candidate that matches, the row to sort.
fn matching_row<'a, T: ReadTxn>(
    query: &'a Query,
) -> impl Fn(&Filter, &Candidate<'a, T>) -> Option<Row<'a>> {
    move |residual, candidate| {
        let lookup = |field: &str| candidate.field(field);
        residual.matches(lookup).then(|| {
            let keys = query.order_by.iter().map(|k| lookup(&k.field)).collect();
            (candidate.id, keys)
        })
    }
}

/// A plan being carried out: its candidates, one at a time, tested by `matching` (which
/// gives a row for a record that matches), until the plan has all it needs.
struct Run<'a, T: ReadTxn, R, F> {
    plan: &'a Plan,
    candidates: Candidates<'a, T>,
    matching: F,
    rows: Vec<R>,
    /// Candidates taken from the source but not examined yet (see [`Run::gather_next`]).
    gathered: VecDeque<Candidate<'a, T>>,
    /// Records examined.
    scanned: usize,
    /// The index key of the last candidate, for stopping between keys.
    last_key: Option<&'a IndexKey>,
    done: bool,
}

impl<'a, T: ReadTxn, R, F> Run<'a, T, R, F>
where
    F: FnMut(&Filter, &Candidate<'a, T>) -> Option<R>,
{
    fn new(
        plan: &'a Plan,
        map: &'a MapRef,
        txn: &'a T,
        indexes: Option<&'a CollectionIndexes>,
        matching: F,
    ) -> Self {
        Run {
            plan,
            candidates: Candidates::new(&plan.source, map, txn, indexes),
            matching,
            rows: Vec::new(),
            gathered: VecDeque::new(),
            scanned: 0,
            last_key: None,
            done: false,
        }
    }

    /// Examines the next candidate; false once the plan needs no more.
    fn step(&mut self) -> bool {
        if self.done {
            return false;
        }
        let next = self.gathered.pop_front();
        let Some(candidate) = next.or_else(|| self.candidates.next()) else {
            self.done = true;
            return false;
        };
        self.done = match self.plan.stop {
            Stop::Never => false,
            Stop::AfterMatches(n) => self.rows.len() >= n,
            Stop::AfterMatchesAndTies(n) => self.rows.len() >= n && self.last_key != candidate.key,
        };
        if self.done {
            return false;
        }
        self.scanned += 1;
        self.last_key = candidate.key;
        if let Some(row) = (self.matching)(&self.plan.residual, &candidate) {
            self.rows.push(row);
        }
        true
    }

    fn finish(&mut self) {
        while self.step() {}
    }

    /// One turn of the chosen plan in a race: a plan that examines every candidate anyway
    /// only gathers the next one; others step.
    fn race_step(&mut self) -> bool {
        if self.plan.stop == Stop::Never {
            self.gather_next()
        } else {
            self.step()
        }
    }

    /// Takes the next candidate from the source to examine later (the next [`Run::step`]s
    /// examine gathered ones first); false when the source has no more.
    fn gather_next(&mut self) -> bool {
        match self.candidates.next() {
            Some(candidate) => {
                self.gathered.push_back(candidate);
                true
            }
            None => false,
        }
    }
}

impl<'a, T: ReadTxn, F> Run<'a, T, Row<'a>, F>
where
    F: FnMut(&Filter, &Candidate<'a, T>) -> Option<Row<'a>>,
{
    /// [`Run::finish`], keeping only the rows that can still be on the query's page when the
    /// plan looks at every candidate: a scan with a limit then holds at most twice the page,
    /// not every match (the order is total, ties broken by id, so the page is the same).
    fn finish_keeping_page(&mut self, query: &Query) {
        let keep = match (self.plan.stop, query.page_end()) {
            (Stop::Never, Some(end)) => end,
            _ => return self.finish(),
        };
        let bound = keep.saturating_mul(2).max(64);
        while self.step() {
            if self.rows.len() >= bound {
                trim_to_page(&mut self.rows, keep, query);
            }
        }
    }
}

/// Keeps the first `keep` rows in query order (in no particular order among themselves).
fn trim_to_page(rows: &mut Vec<Row<'_>>, keep: usize, query: &Query) {
    if keep == 0 {
        rows.clear();
    } else if keep < rows.len() {
        rows.select_nth_unstable_by(keep - 1, |a, b| compare_rows(a, b, &query.order_by));
        rows.truncate(keep);
    }
}

/// A record a plan looks at. Its indexed fields are read from the indexes (current since
/// the query began), which costs one lookup instead of several in the document; the record
/// itself is read only for other fields.
struct Candidate<'a, T: ReadTxn> {
    id: &'a str,
    /// The field of the index walked, if any, and the candidate's key there.
    walked: Option<&'a str>,
    key: Option<&'a IndexKey>,
    record: OnceCell<Option<StoredRecord>>,
    map: &'a MapRef,
    txn: &'a T,
    indexes: Option<&'a CollectionIndexes>,
}

impl<T: ReadTxn> Candidate<'_, T> {
    fn field(&self, name: &str) -> Option<Any> {
        if name == ID_FIELD {
            return Some(Any::String(self.id.into()));
        }
        // (a key equal in the query order to the value: 1.0 for 1 is the same to queries)
        if self.walked == Some(name) {
            return self.key.and_then(|key| key.0.clone());
        }
        if self.record.get().is_none() {
            if let Some(index) = self.indexes.and_then(|indexes| indexes.get(name)) {
                return index.key_of(self.id).and_then(|key| key.0.clone());
            }
        }
        self.record
            .get_or_init(|| record_at(self.map, self.txn, self.id))
            .as_ref()
            .and_then(|record| record.field(self.txn, name))
    }
}

/// The records a plan looks at, in its order.
struct Candidates<'a, T: ReadTxn> {
    source: CandidateSource<'a, T>,
    walked: Option<&'a str>,
    map: &'a MapRef,
    txn: &'a T,
    indexes: Option<&'a CollectionIndexes>,
}

enum CandidateSource<'a, T: ReadTxn> {
    Scan(MapIter<'a, &'a T, T>),
    Ids(std::slice::Iter<'a, String>),
    /// An index holds only records, so they need no reading to be known.
    Index(Box<Walk<'a>>),
}

impl<'a, T: ReadTxn> Candidates<'a, T> {
    fn new(
        source: &'a Source,
        map: &'a MapRef,
        txn: &'a T,
        indexes: Option<&'a CollectionIndexes>,
    ) -> Self {
        let mut walked = None;
        let source = match source {
            Source::Scan => CandidateSource::Scan(map.iter(txn)),
            Source::Ids(ids) => CandidateSource::Ids(ids.iter()),
            Source::Index {
                field,
                intervals,
                order,
            } => match indexes.and_then(|indexes| indexes.get(field)) {
                Some(index) => {
                    walked = Some(field.as_str());
                    CandidateSource::Index(Box::new(index.walk(intervals, *order)))
                }
                // plans only name indexes the collection has
                None => CandidateSource::Scan(map.iter(txn)),
            },
        };
        Candidates {
            source,
            walked,
            map,
            txn,
            indexes,
        }
    }
}

impl<'a, T: ReadTxn> Iterator for Candidates<'a, T> {
    type Item = Candidate<'a, T>;

    fn next(&mut self) -> Option<Candidate<'a, T>> {
        loop {
            let (id, record, key) = match &mut self.source {
                CandidateSource::Scan(entries) => {
                    let (id, entry) = entries.next()?;
                    (id, Some(StoredRecord::from_out(entry)), None)
                }
                CandidateSource::Ids(ids) => {
                    let id = ids.next()?;
                    (id.as_str(), Some(record_at(self.map, self.txn, id)), None)
                }
                CandidateSource::Index(walk) => {
                    let (key, id) = walk.next()?;
                    (&**id, None, Some(key))
                }
            };
            // entries that are not records are no candidates
            if matches!(record, Some(None)) {
                continue;
            }
            return Some(Candidate {
                id,
                walked: self.walked,
                key,
                record: record.map_or_else(OnceCell::new, OnceCell::from),
                map: self.map,
                txn: self.txn,
                indexes: self.indexes,
            });
        }
    }
}

/// The ids of the page `offset..offset + limit` of matching rows, in query order. With a
/// limit only that page and what comes before it are sorted.
fn page(mut rows: Vec<Row<'_>>, query: &Query) -> Vec<String> {
    if let Some(end) = query.page_end() {
        trim_to_page(&mut rows, end, query);
    }
    rows.sort_by(|a, b| compare_rows(a, b, &query.order_by));
    rows.into_iter()
        .skip(query.offset)
        .map(|(id, _)| id.to_string())
        .collect()
}
