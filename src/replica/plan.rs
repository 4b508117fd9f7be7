//! Query plans: which records a query looks at, in which order, and when it may stop.
//!
//! A plan only narrows the records a query examines; every examined record is still tested
//! against the whole filter and the results get the full sort, so a plan can never change a
//! result, only its cost. The choice, first that applies:
//! 1. `id` equality or `$in`: those records, looked up by key (records are keyed by id);
//! 2. equality on an indexed field;
//! 3. `$in` on an indexed field;
//! 4. a range (`$gt $gte $lt $lte`) on an indexed field;
//! 5. `orderBy` whose first field is indexed, with a `limit`: the index in that order;
//!
//! otherwise every record. Within a rule, indexes are tried in the order they were declared.
//! When the index walked is the first sort key (or, with no `orderBy`, a single equality),
//! candidates arrive in result order and a query with a `limit` stops early.

use std::cmp::Ordering;
use std::ops::Bound;

use yrs::{Any, Number};

use super::index::{IndexKey, Interval};
use super::query::{compare, json_eq, rank, Condition, Filter, Query};
use super::value::ID_FIELD;

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Every record of the collection.
    Scan,
    /// The records with these ids (distinct).
    Ids(Vec<String>),
    /// The records an index holds within `intervals` (sorted, disjoint), in key order,
    /// reversed if `descending`.
    Index {
        field: String,
        intervals: Vec<Interval>,
        descending: bool,
    },
}

/// When a plan has seen enough candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Only after every candidate.
    Never,
    /// After this many matches: candidates arrive in result order.
    AfterMatches(usize),
    /// After this many matches and every other candidate with the last one's index key:
    /// candidates arrive ordered by the first sort key only.
    AfterMatchesAndTies(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub source: Source,
    pub stop: Stop,
}

impl Plan {
    /// The plan for `query` over a collection with indexes on `indexed` (declaration order).
    pub fn for_query(query: &Query, indexed: &[String]) -> Plan {
        if let Some(ids) = ids_wanted(&query.filter) {
            return Plan {
                source: Source::Ids(ids),
                stop: Stop::Never,
            };
        }
        let chosen = first_indexed(indexed, |field| equality(&query.filter, field))
            .or_else(|| first_indexed(indexed, |field| one_of(&query.filter, field)))
            .or_else(|| first_indexed(indexed, |field| range(&query.filter, field)))
            .or_else(|| sorted_walk(query, indexed));
        let Some((field, intervals)) = chosen else {
            return Plan {
                source: Source::Scan,
                stop: Stop::Never,
            };
        };
        let (descending, stop) = walk_order(query, &field, &intervals);
        Plan {
            source: Source::Index {
                field,
                intervals,
                descending,
            },
            stop,
        }
    }

    /// The plan for counting the records that match `filter`.
    pub fn for_filter(filter: &Filter, indexed: &[String]) -> Plan {
        let query = Query {
            filter: filter.clone(),
            ..Query::default()
        };
        Plan::for_query(&query, indexed)
    }

    /// The index the plan uses: a field name, `"id"` for lookups by key, or None for a scan.
    pub fn index(&self) -> Option<&str> {
        match &self.source {
            Source::Scan => None,
            Source::Ids(_) => Some(ID_FIELD),
            Source::Index { field, .. } => Some(field),
        }
    }
}

fn conditions<'a>(filter: &'a Filter, field: &'a str) -> impl Iterator<Item = &'a Condition> {
    filter
        .fields
        .iter()
        .filter(move |(f, _)| f == field)
        .flat_map(|(_, conditions)| conditions)
}

fn first_indexed(
    indexed: &[String],
    intervals: impl Fn(&str) -> Option<Vec<Interval>>,
) -> Option<(String, Vec<Interval>)> {
    indexed
        .iter()
        .find_map(|field| intervals(field).map(|found| (field.clone(), found)))
}

/// The ids an `id` equality or `$in` allows (a non-string allows none).
fn ids_wanted(filter: &Filter) -> Option<Vec<String>> {
    let mut values = conditions(filter, ID_FIELD).find_map(|c| match c {
        Condition::Eq(value) => Some(vec![value.clone()]),
        _ => None,
    });
    if values.is_none() {
        values = conditions(filter, ID_FIELD).find_map(|c| match c {
            Condition::In(options) => Some(options.clone()),
            _ => None,
        });
    }
    let mut ids: Vec<String> = values?
        .into_iter()
        .filter_map(|value| match value {
            Any::String(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    Some(ids)
}

fn equality(filter: &Filter, field: &str) -> Option<Vec<Interval>> {
    conditions(filter, field).find_map(|c| match c {
        Condition::Eq(value) => Some(vec![Interval::point(IndexKey(Some(value.clone())))]),
        _ => None,
    })
}

fn one_of(filter: &Filter, field: &str) -> Option<Vec<Interval>> {
    conditions(filter, field).find_map(|c| match c {
        Condition::In(options) => {
            let mut values = options.clone();
            values.sort_by(|a, b| compare(Some(a), Some(b)));
            // 1 and 1.0 are one key: looking both up would find its records twice
            values.dedup_by(|a, b| json_eq(a, b));
            Some(
                values
                    .into_iter()
                    .map(|value| Interval::point(IndexKey(Some(value))))
                    .collect(),
            )
        }
        _ => None,
    })
}

/// The keys a field's range conditions allow. They compare values of their own JSON type
/// only, so the interval stays within the type of the first bound: a record matching every
/// condition has a value of that type (bounds of other types then match nothing, which the
/// filter finds out).
fn range(filter: &Filter, field: &str) -> Option<Vec<Interval>> {
    let bounds: Vec<&Condition> = conditions(filter, field)
        .filter(|c| {
            matches!(
                c,
                Condition::Gt(_) | Condition::Gte(_) | Condition::Lt(_) | Condition::Lte(_)
            )
        })
        .collect();
    let kind = rank(Some(bound_value(bounds.first()?)?));
    let mut lower = Bound::Included(IndexKey(Some(smallest_of_rank(kind)?)));
    let mut upper = smallest_of_rank(kind + 1).map_or(Bound::Unbounded, |next| {
        Bound::Excluded(IndexKey(Some(next)))
    });
    for condition in bounds {
        let Some(value) = bound_value(condition).filter(|v| rank(Some(v)) == kind) else {
            continue;
        };
        let key = IndexKey(Some(value.clone()));
        match condition {
            Condition::Gt(_) => lower = tighter(lower, Bound::Excluded(key), Ordering::Greater),
            Condition::Gte(_) => lower = tighter(lower, Bound::Included(key), Ordering::Greater),
            Condition::Lt(_) => upper = tighter(upper, Bound::Excluded(key), Ordering::Less),
            Condition::Lte(_) => upper = tighter(upper, Bound::Included(key), Ordering::Less),
            _ => {}
        }
    }
    Some(vec![Interval { lower, upper }])
}

fn bound_value(condition: &Condition) -> Option<&Any> {
    match condition {
        Condition::Gt(v) | Condition::Gte(v) | Condition::Lt(v) | Condition::Lte(v) => Some(v),
        _ => None,
    }
}

/// Of two lower bounds (`inward` Greater) or two upper bounds (Less), the one that allows
/// less; on the same key an excluding bound allows less.
fn tighter(a: Bound<IndexKey>, b: Bound<IndexKey>, inward: Ordering) -> Bound<IndexKey> {
    let key = |bound: &Bound<IndexKey>| match bound {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    match (key(&a), key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => match x.cmp(&y) {
            Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
            Ordering::Equal => b,
            order if order == inward => a,
            _ => b,
        },
    }
}

/// The least value of a type in the query order (types ranked as in [`rank`]), or None past
/// the last type.
fn smallest_of_rank(kind: u8) -> Option<Any> {
    match kind {
        1 => Some(Any::Null),
        2 => Some(Any::Bool(false)),
        // the least f64 in `total_cmp` order is the negative NaN with every bit set
        3 => Some(Any::Number(Number::Float(f64::from_bits(u64::MAX)))),
        4 => Some(Any::String("".into())),
        5 => Some(Any::Array(Vec::new().into())),
        6 => Some(Any::Map(Default::default())),
        _ => None,
    }
}

/// With a limit and no condition an index serves, an index on the first sort field still
/// gives the records in order.
fn sorted_walk(query: &Query, indexed: &[String]) -> Option<(String, Vec<Interval>)> {
    let first = query.order_by.first()?;
    query.limit?;
    indexed
        .iter()
        .find(|field| **field == first.field)
        .map(|field| (field.clone(), vec![Interval::all()]))
}

/// The direction to walk an index on `field` and when the walk may stop.
fn walk_order(query: &Query, field: &str, intervals: &[Interval]) -> (bool, Stop) {
    let enough = query.limit.map(|limit| query.offset.saturating_add(limit));
    match (query.order_by.first(), enough) {
        (Some(first), Some(enough)) if first.field == field => {
            let stop = if query.order_by.len() == 1 {
                Stop::AfterMatches(enough)
            } else {
                Stop::AfterMatchesAndTies(enough)
            };
            (first.descending, stop)
        }
        (Some(first), None) if first.field == field => (first.descending, Stop::Never),
        // one key: its records arrive by id, the order of results without orderBy
        (None, Some(enough)) if is_single_key(intervals) => (false, Stop::AfterMatches(enough)),
        _ => (false, Stop::Never),
    }
}

fn is_single_key(intervals: &[Interval]) -> bool {
    matches!(intervals, [Interval { lower: Bound::Included(a), upper: Bound::Included(b) }] if a == b)
}
