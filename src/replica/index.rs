//! Secondary indexes: for each indexed field of a collection, every record ordered by that
//! field's value in the total order of queries (missing < null < booleans < numbers < strings
//! < arrays < objects), then by id.
//!
//! An index holds entries `(value, id)` in a B-tree and each record's current value by id, so
//! a record that changes can be moved. It never reads the document itself: the replica hands
//! it the records touched since it last looked (see [`super::changes::ChangeLog`]) before
//! every query, which keeps it exact after local writes and remote updates alike.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::ops::{Bound, ControlFlow};
use std::sync::Arc;

use yrs::Any;

use super::query::compare;

/// A field's value as an index orders it; `None` when the record lacks the field.
/// Values equal in the query order (`1` and `1.0`) are equal keys.
#[derive(Debug, Clone)]
pub struct IndexKey(pub Option<Any>);

impl Ord for IndexKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self.0.as_ref(), other.0.as_ref())
    }
}

impl PartialOrd for IndexKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for IndexKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for IndexKey {}

/// The id half of an entry. `AfterEveryId` only bounds ranges ("every entry of this key");
/// the empty id sorts before every other one and bounds them from below.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Tie {
    Id(Arc<str>),
    AfterEveryId,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    key: IndexKey,
    tie: Tie,
}

/// A set of keys: from `lower` to `upper`, each bound included, excluded or open.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub lower: Bound<IndexKey>,
    pub upper: Bound<IndexKey>,
}

impl Interval {
    pub fn all() -> Self {
        Interval {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }

    pub fn point(key: IndexKey) -> Self {
        Interval {
            lower: Bound::Included(key.clone()),
            upper: Bound::Included(key),
        }
    }
}

/// One field's index over one collection.
#[derive(Debug, Default)]
pub struct FieldIndex {
    entries: BTreeSet<Entry>,
    keys: HashMap<Arc<str>, IndexKey>,
    /// The empty id, kept to bound ranges from below without allocating.
    no_id: Arc<str>,
}

impl FieldIndex {
    /// Records that the record `id` now has `key`, or no longer exists (`None`). The id should
    /// be the `Arc` the index already holds for it, if any (see [`FieldIndex::shared_id`]).
    pub fn set(&mut self, id: &Arc<str>, key: Option<IndexKey>) {
        let old = match &key {
            Some(key) => self.keys.insert(id.clone(), key.clone()),
            None => self.keys.remove(id),
        };
        if old == key {
            return;
        }
        if let Some(old) = old {
            self.entries.remove(&entry(old, id));
        }
        if let Some(key) = key {
            self.entries.insert(entry(key, id));
        }
    }

    /// The key a record has in this index, if it is a record.
    pub fn key_of(&self, id: &str) -> Option<&IndexKey> {
        self.keys.get(id)
    }

    /// The `Arc` this index holds for an id, so other indexes can share it.
    pub fn shared_id(&self, id: &str) -> Option<&Arc<str>> {
        self.keys.get_key_value(id).map(|(id, _)| id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Visits the entries whose keys lie in `intervals` (sorted, disjoint), in key order
    /// (reversed if `descending`) and, among equal keys, always by ascending id: the order
    /// of query results sorted by this field alone. `visit` may stop the walk.
    pub fn walk<'a>(
        &'a self,
        intervals: &[Interval],
        descending: bool,
        mut visit: impl FnMut(&'a IndexKey, &'a Arc<str>) -> ControlFlow<()>,
    ) {
        let mut walk_one = |interval: &Interval| {
            let (lower, upper) = self.entry_bounds(interval);
            if descending {
                self.walk_down(lower, upper, &mut visit)
            } else {
                self.walk_range(lower, upper, &mut visit)
            }
        };
        // a visitor that stops the walk ends it: nothing is left to do either way
        let _stopped = if descending {
            intervals.iter().rev().try_for_each(&mut walk_one)
        } else {
            intervals.iter().try_for_each(&mut walk_one)
        };
    }

    fn walk_range<'a>(
        &'a self,
        lower: Bound<Entry>,
        upper: Bound<Entry>,
        visit: &mut impl FnMut(&'a IndexKey, &'a Arc<str>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if !is_valid_range(&lower, &upper) {
            return ControlFlow::Continue(());
        }
        for Entry { key, tie } in self.entries.range((lower, upper)) {
            if let Tie::Id(id) = tie {
                visit(key, id)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Descending by key, but each key's entries by ascending id: find the greatest key left,
    /// walk its entries forwards, then continue below it.
    fn walk_down<'a>(
        &'a self,
        lower: Bound<Entry>,
        mut upper: Bound<Entry>,
        visit: &mut impl FnMut(&'a IndexKey, &'a Arc<str>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        loop {
            if !is_valid_range(&lower, &upper) {
                return ControlFlow::Continue(());
            }
            let Some(last) = self
                .entries
                .range((lower.clone(), upper.clone()))
                .next_back()
            else {
                return ControlFlow::Continue(());
            };
            let key = last.key.clone();
            let group = self.entry_bounds(&Interval::point(key.clone()));
            self.walk_range(group.0, group.1, visit)?;
            upper = Bound::Excluded(Entry {
                key,
                tie: Tie::Id(self.no_id.clone()),
            });
        }
    }

    /// Key bounds as entry bounds that take in or leave out every id of the bounding key.
    fn entry_bounds(&self, interval: &Interval) -> (Bound<Entry>, Bound<Entry>) {
        let first = |key: &IndexKey| Entry {
            key: key.clone(),
            tie: Tie::Id(self.no_id.clone()),
        };
        let last = |key: &IndexKey| Entry {
            key: key.clone(),
            tie: Tie::AfterEveryId,
        };
        let lower = match &interval.lower {
            Bound::Included(key) => Bound::Included(first(key)),
            Bound::Excluded(key) => Bound::Excluded(last(key)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let upper = match &interval.upper {
            Bound::Included(key) => Bound::Included(last(key)),
            Bound::Excluded(key) => Bound::Excluded(first(key)),
            Bound::Unbounded => Bound::Unbounded,
        };
        (lower, upper)
    }
}

fn entry(key: IndexKey, id: &Arc<str>) -> Entry {
    Entry {
        key,
        tie: Tie::Id(id.clone()),
    }
}

/// `BTreeSet::range` panics on a range whose start lies after its end (a query such as
/// `{ $gt: 5, $lt: 3 }`): such a range is empty.
fn is_valid_range(lower: &Bound<Entry>, upper: &Bound<Entry>) -> bool {
    match (lower, upper) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => true,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            match a.cmp(b) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => {
                    matches!(lower, Bound::Included(_)) && matches!(upper, Bound::Included(_))
                }
            }
        }
    }
}

/// The indexes of one collection, in the order they were declared.
#[derive(Debug, Default)]
pub struct CollectionIndexes {
    fields: Vec<String>,
    indexes: Vec<FieldIndex>,
}

impl CollectionIndexes {
    /// The indexed fields, in declaration order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    pub fn get(&self, field: &str) -> Option<&FieldIndex> {
        self.fields
            .iter()
            .position(|f| f == field)
            .map(|i| &self.indexes[i])
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f == field)
    }

    /// Adds indexes on `fields` (not yet indexed), built from every record of the collection:
    /// `records` yields each record's id and its values of `fields`, in that order.
    pub fn add<'a>(
        &mut self,
        fields: Vec<String>,
        records: impl Iterator<Item = (&'a str, Vec<Option<Any>>)>,
    ) {
        let first = self.indexes.len();
        self.indexes
            .extend(fields.iter().map(|_| FieldIndex::default()));
        self.fields.extend(fields);
        for (id, values) in records {
            let id = self.shared_id(id);
            for (index, value) in self.indexes[first..].iter_mut().zip(values) {
                index.set(&id, Some(IndexKey(value)));
            }
        }
    }

    /// Brings every index up to date for records touched since the last call: `read` gives a
    /// record's values of the indexed fields (in [`CollectionIndexes::fields`] order), or
    /// `None` if there is no such record any more.
    pub fn refresh(
        &mut self,
        touched: impl IntoIterator<Item = Arc<str>>,
        mut read: impl FnMut(&str, &[String]) -> Option<Vec<Option<Any>>>,
    ) {
        for id in touched {
            let id = self
                .indexes
                .first()
                .and_then(|index| index.shared_id(&id))
                .cloned()
                .unwrap_or(id);
            match read(&id, &self.fields) {
                Some(values) => {
                    for (index, value) in self.indexes.iter_mut().zip(values) {
                        index.set(&id, Some(IndexKey(value)));
                    }
                }
                None => {
                    for index in &mut self.indexes {
                        index.set(&id, None);
                    }
                }
            }
        }
    }

    fn shared_id(&self, id: &str) -> Arc<str> {
        self.indexes
            .first()
            .and_then(|index| index.shared_id(id))
            .cloned()
            .unwrap_or_else(|| Arc::from(id))
    }
}
