//! Secondary indexes: for each indexed field of a collection, every record ordered by that
//! field's value in the total order of queries (missing < null < booleans < numbers < strings
//! < arrays < objects), then by id.
//!
//! An index holds entries `(value, id)` in a B-tree and each record's current value by id, so
//! a record that changes can be moved. It never reads the document itself: the replica hands
//! it the records touched since it last looked (see [`super::changes::ChangeLog`]) before
//! every query, which keeps it exact after local writes and remote updates alike.

use std::cmp::{Ordering, Reverse};
use std::collections::{btree_set, BTreeSet, BinaryHeap};
use std::ops::Bound;
use std::sync::Arc;

use foldhash::HashMap;
use yrs::Any;

use super::query::compare;

/// A field's value as an index orders it; `None` when the record lacks the field.
/// Values equal in the query order (`1` and `1.0`) are equal keys.
#[derive(Debug, Clone)]
pub(crate) struct IndexKey(pub(crate) Option<Any>);

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
pub(crate) struct Interval {
    pub(crate) lower: Bound<IndexKey>,
    pub(crate) upper: Bound<IndexKey>,
}

impl Interval {
    pub(crate) fn all() -> Self {
        Interval {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }

    pub(crate) fn point(key: IndexKey) -> Self {
        Interval {
            lower: Bound::Included(key.clone()),
            upper: Bound::Included(key),
        }
    }
}

type KeysById = HashMap<Arc<str>, IndexKey>;

/// One field's index over one collection.
#[derive(Debug)]
pub(crate) struct FieldIndex {
    entries: BTreeSet<Entry>,
    keys: KeysById,
    /// The empty id, kept to bound ranges from below without allocating.
    no_id: Arc<str>,
}

impl FieldIndex {
    /// Records that the record `id` now has `key`, or no longer exists (`None`). The id should
    /// be the `Arc` the index already holds for it, if any (see [`FieldIndex::shared_id`]).
    /// The entry to add, if any, goes to `added`, for [`FieldIndex::add_entries`].
    fn set(&mut self, id: &Arc<str>, key: Option<IndexKey>, added: &mut Vec<Entry>) {
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
            added.push(entry(key, id));
        }
    }

    /// Adds entries one by one, or many at once by merging them in sorted (as after a large
    /// `insertMany`: one search per entry would cost more than one pass over the tree).
    fn add_entries(&mut self, added: Vec<Entry>) {
        if added.len() < self.entries.len() / 8 {
            self.entries.extend(added);
        } else {
            let mut sorted: BTreeSet<Entry> = added.into_iter().collect();
            self.entries.append(&mut sorted);
        }
    }

    /// The key a record has in this index, if it is a record.
    pub(crate) fn key_of(&self, id: &str) -> Option<&IndexKey> {
        self.keys.get(id)
    }

    /// The `Arc` this index holds for an id, so other indexes can share it.
    fn shared_id(&self, id: &str) -> Option<&Arc<str>> {
        self.keys.get_key_value(id).map(|(id, _)| id)
    }

    /// The entries whose keys lie in `intervals` (sorted, disjoint), in `order`.
    pub(crate) fn walk(&self, intervals: &[Interval], order: WalkOrder) -> Walk<'_> {
        let mut bounds: Vec<_> = intervals.iter().map(|i| self.entry_bounds(i)).collect();
        if order == WalkOrder::Descending {
            bounds.reverse();
        }
        let merge = (order == WalkOrder::ById).then(|| MergeById::new(self, &bounds));
        Walk {
            index: self,
            pending: bounds.into_iter(),
            descending: order == WalkOrder::Descending,
            lower: Bound::Unbounded,
            entries: None,
            peeked: None,
            group: None,
            merge,
        }
    }

    /// The bound just below every entry of `key`.
    fn first_of(&self, key: &IndexKey) -> Entry {
        Entry {
            key: key.clone(),
            tie: Tie::Id(self.no_id.clone()),
        }
    }

    /// Key bounds as entry bounds that take in or leave out every id of the bounding key.
    fn entry_bounds(&self, interval: &Interval) -> (Bound<Entry>, Bound<Entry>) {
        let first = |key: &IndexKey| self.first_of(key);
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

/// The order of a walk over an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkOrder {
    /// By key, and among equal keys by id: the order of results sorted by this field.
    Ascending,
    /// By key descending, and among equal keys by ascending id (as results sorted by
    /// `-field`).
    Descending,
    /// By id across all keys, for single-key intervals only (an equality or `$in`): the
    /// order of results without `orderBy`.
    ById,
}

/// A walk over an index (see [`FieldIndex::walk`]), yielding `(key, id)`.
pub(crate) struct Walk<'a> {
    index: &'a FieldIndex,
    /// Entry bounds of the intervals not started yet, in walk order.
    pending: std::vec::IntoIter<(Bound<Entry>, Bound<Entry>)>,
    descending: bool,
    /// The lower bound of the interval being walked.
    lower: Bound<Entry>,
    /// The entries of that interval not reached yet.
    entries: Option<btree_set::Range<'a, Entry>>,
    /// Descending: an entry taken from the back of `entries`, not given out yet.
    peeked: Option<&'a Entry>,
    /// Descending: the entries of a key that several records share, walked forwards.
    group: Option<btree_set::Range<'a, Entry>>,
    /// By id: the keys' entries, each in id order, merged.
    merge: Option<MergeById<'a>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = (&'a IndexKey, &'a Arc<str>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(merge) = &mut self.merge {
            return merge.next();
        }
        loop {
            let entry = if self.descending {
                self.next_down()
            } else {
                self.entries.as_mut().and_then(Iterator::next)
            };
            match entry {
                Some(Entry {
                    key,
                    tie: Tie::Id(id),
                }) => return Some((key, id)),
                Some(_) => {}
                None => self.start_interval()?,
            }
        }
    }
}

impl<'a> Walk<'a> {
    fn start_interval(&mut self) -> Option<()> {
        loop {
            let (lower, upper) = self.pending.next()?;
            if is_valid_range(&lower, &upper) {
                self.entries = Some(self.index.entries.range((lower.clone(), upper)));
                self.lower = lower;
                return Some(());
            }
        }
    }

    /// Descending by key, each key's entries by ascending id. Taken from the back, an entry
    /// whose key differs from the next one's is a key of its own (the common case for
    /// dates and counters); a key several records share is walked forwards from its first
    /// entry, then the walk goes on below it.
    fn next_down(&mut self) -> Option<&'a Entry> {
        if let Some(entry) = self.group.as_mut().and_then(Iterator::next) {
            return Some(entry);
        }
        self.group = None;
        let entries = self.entries.as_mut()?;
        let entry = self.peeked.take().or_else(|| entries.next_back())?;
        let below = entries.next_back();
        if below.is_none_or(|below| below.key != entry.key) {
            self.peeked = below;
            return Some(entry);
        }
        let first = self.index.first_of(&entry.key);
        let after = Entry {
            key: entry.key.clone(),
            tie: Tie::AfterEveryId,
        };
        let below = (self.lower.clone(), Bound::Excluded(first.clone()));
        self.entries = is_valid_range(&below.0, &below.1).then(|| self.index.entries.range(below));
        let mut group = self
            .index
            .entries
            .range((Bound::Included(first), Bound::Included(after)));
        let entry = group.next();
        self.group = Some(group);
        entry
    }
}

/// Several keys' entries (each key's in id order) as one walk in id order: the next entry
/// is the least id at the head of a key's entries.
struct MergeById<'a> {
    keys: Vec<btree_set::Range<'a, Entry>>,
    /// The first entry not yet given out of each key: (its id, which key, the key).
    heads: BinaryHeap<Reverse<(&'a Arc<str>, usize, &'a IndexKey)>>,
}

impl<'a> MergeById<'a> {
    fn new(index: &'a FieldIndex, bounds: &[(Bound<Entry>, Bound<Entry>)]) -> Self {
        let mut merge = MergeById {
            keys: Vec::with_capacity(bounds.len()),
            heads: BinaryHeap::with_capacity(bounds.len()),
        };
        for (lower, upper) in bounds {
            if is_valid_range(lower, upper) {
                merge
                    .keys
                    .push(index.entries.range((lower.clone(), upper.clone())));
                merge.advance(merge.keys.len() - 1);
            }
        }
        merge
    }

    /// Puts the next entry of key `which` among the heads.
    fn advance(&mut self, which: usize) {
        if let Some(Entry {
            key,
            tie: Tie::Id(id),
        }) = self.keys[which].next()
        {
            self.heads.push(Reverse((id, which, key)));
        }
    }

    fn next(&mut self) -> Option<(&'a IndexKey, &'a Arc<str>)> {
        // ids are unique in an index: the heads never tie
        let Reverse((id, which, key)) = self.heads.pop()?;
        self.advance(which);
        Some((key, id))
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
pub(crate) struct CollectionIndexes {
    fields: Vec<String>,
    indexes: Vec<FieldIndex>,
}

impl CollectionIndexes {
    /// The indexed fields, in declaration order.
    pub(crate) fn fields(&self) -> &[String] {
        &self.fields
    }

    pub(crate) fn get(&self, field: &str) -> Option<&FieldIndex> {
        self.fields
            .iter()
            .position(|f| f == field)
            .map(|i| &self.indexes[i])
    }

    pub(crate) fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f == field)
    }

    /// Adds indexes on `fields` (not yet indexed), built from every record of the collection:
    /// `records` yields each record's id and its values of `fields`, in that order.
    pub(crate) fn add<'a>(
        &mut self,
        fields: Vec<String>,
        records: impl Iterator<Item = (&'a str, Vec<Option<Any>>)>,
    ) {
        // per new index: its entries, unsorted, and each record's key
        let mut built: Vec<(Vec<Entry>, KeysById)> =
            fields.iter().map(|_| Default::default()).collect();
        for (id, values) in records {
            let id = self.shared_id(id);
            for ((entries, keys), value) in built.iter_mut().zip(values) {
                let key = IndexKey(value);
                entries.push(entry(key.clone(), &id));
                keys.insert(id.clone(), key);
            }
        }
        for (entries, keys) in built {
            // from sorted entries a B-tree is built in one pass, not by one search per entry
            self.indexes.push(FieldIndex {
                entries: entries.into_iter().collect(),
                keys,
                no_id: Arc::from(""),
            });
        }
        self.fields.extend(fields);
    }

    /// Brings every index up to date for records touched since the last call: `read` gives a
    /// record's values of the indexed fields (in [`CollectionIndexes::fields`] order), or
    /// `None` if there is no such record any more.
    pub(crate) fn refresh(
        &mut self,
        touched: impl IntoIterator<Item = Arc<str>>,
        mut read: impl FnMut(&str, &[String]) -> Option<Vec<Option<Any>>>,
    ) {
        let mut added: Vec<Vec<Entry>> = self.indexes.iter().map(|_| Vec::new()).collect();
        for id in touched {
            let id = self
                .indexes
                .first()
                .and_then(|index| index.shared_id(&id))
                .cloned()
                .unwrap_or(id); // a record new to the indexes: the change log's Arc will do
            let values = read(&id, &self.fields);
            for (i, index) in self.indexes.iter_mut().enumerate() {
                let value = values
                    .as_ref()
                    .map(|values| IndexKey(values.get(i).cloned().flatten()));
                index.set(&id, value, &mut added[i]);
            }
        }
        for (index, added) in self.indexes.iter_mut().zip(added) {
            index.add_entries(added);
        }
    }

    /// The `Arc` the indexes hold for an id, or a new one: ids are shared by all indexes.
    fn shared_id(&self, id: &str) -> Arc<str> {
        self.indexes
            .first()
            .and_then(|index| index.shared_id(id))
            .cloned()
            .unwrap_or_else(|| Arc::from(id))
    }
}
