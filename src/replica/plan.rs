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

use super::index::{IndexKey, Interval, WalkOrder};
use super::query::{compare, json_eq, rank, Condition, Filter, Query};
use super::value::ID_FIELD;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// Every record of the collection.
    Scan,
    /// The records with these ids (distinct).
    Ids(Vec<String>),
    /// The records an index holds within `intervals` (sorted, disjoint), in `order`.
    Index {
        field: String,
        intervals: Vec<Interval>,
        order: WalkOrder,
    },
}

/// When a plan has seen enough candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Only after every candidate.
    Never,
    /// After this many matches: candidates arrive in result order.
    AfterMatches(usize),
    /// After this many matches and every other candidate with the last one's index key:
    /// candidates arrive ordered by the first sort key only.
    AfterMatchesAndTies(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) source: Source,
    pub(crate) stop: Stop,
    /// The conditions candidates must still be tested against: the filter without those
    /// the source guarantees (an equality served by an index holds for each of its records).
    pub(crate) residual: Filter,
}

/// A condition by position: its field's place in the filter, its place among the field's.
type ConditionAt = (usize, usize);

/// What an index can do for a query: the keys to walk and the conditions they guarantee.
struct Access {
    field: String,
    intervals: Vec<Interval>,
    served: Vec<ConditionAt>,
}

impl Plan {
    /// The plan for `query` over a collection with indexes on `indexed` (declaration order).
    pub(crate) fn for_query(query: &Query, indexed: &[String]) -> Plan {
        let filter = &query.filter;
        if let Some((ids, served)) = ids_wanted(filter) {
            return Plan {
                source: Source::Ids(ids),
                stop: Stop::Never,
                residual: without(filter, &served),
            };
        }
        let chosen = first_indexed(indexed, |field| equality(filter, field))
            .or_else(|| first_indexed(indexed, |field| one_of(filter, field)))
            .or_else(|| first_indexed(indexed, |field| range(filter, field)))
            .or_else(|| sorted_walk(query, indexed));
        match chosen {
            Some(access) => Plan::walking(query, access),
            None => Plan {
                source: Source::Scan,
                stop: Stop::Never,
                residual: filter.clone(),
            },
        }
    }

    /// With a limit, when `chosen` uses an index other than the first sort field's, a plan
    /// walking that field's index in order, to run side by side with `chosen`: whichever
    /// finishes first gives the result, so a query costs at most twice the better plan
    /// whatever the data (an owner with half the records, sorted by date, stops after the
    /// first page; an owner with three records is done after three). A chosen plan that
    /// examines all its candidates anyway only gathers them during the race, so when the
    /// rival wins the query costs little more than the rival alone.
    pub(crate) fn rival(query: &Query, indexed: &[String], chosen: &Plan) -> Option<Plan> {
        let Source::Index { field: used, .. } = &chosen.source else {
            return None;
        };
        let walk = sorted_walk(query, indexed)?;
        if walk.field == *used {
            return None;
        }
        let filter = &query.filter;
        let access = equality(filter, &walk.field)
            .or_else(|| one_of(filter, &walk.field))
            .or_else(|| range(filter, &walk.field))
            .unwrap_or(walk);
        Some(Plan::walking(query, access))
    }

    fn walking(query: &Query, access: Access) -> Plan {
        let (order, stop) = walk_order(query, &access.field, &access.intervals);
        Plan {
            residual: without(&query.filter, &access.served),
            source: Source::Index {
                field: access.field,
                intervals: access.intervals,
                order,
            },
            stop,
        }
    }

    /// The plan for counting the records that match `filter`.
    pub(crate) fn for_filter(filter: &Filter, indexed: &[String]) -> Plan {
        let query = Query {
            filter: filter.clone(),
            ..Query::default()
        };
        Plan::for_query(&query, indexed)
    }

    /// The index the plan uses: a field name, `"id"` for lookups by key, or None for a scan.
    pub(crate) fn index(&self) -> Option<&str> {
        match &self.source {
            Source::Scan => None,
            Source::Ids(_) => Some(ID_FIELD),
            Source::Index { field, .. } => Some(field),
        }
    }
}

/// The conditions on `field`, with their positions.
fn conditions<'a>(
    filter: &'a Filter,
    field: &'a str,
) -> impl Iterator<Item = (ConditionAt, &'a Condition)> {
    filter
        .fields
        .iter()
        .enumerate()
        .filter(move |(_, (f, _))| f == field)
        .flat_map(|(i, (_, conditions))| {
            conditions
                .iter()
                .enumerate()
                .map(move |(j, condition)| ((i, j), condition))
        })
}

/// `filter` without the conditions at `served`.
fn without(filter: &Filter, served: &[ConditionAt]) -> Filter {
    let fields = filter
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, (field, conditions))| {
            let left: Vec<Condition> = conditions
                .iter()
                .enumerate()
                .filter(|(j, _)| !served.contains(&(i, *j)))
                .map(|(_, condition)| condition.clone())
                .collect();
            (!left.is_empty()).then(|| (field.clone(), left))
        })
        .collect();
    Filter { fields }
}

fn first_indexed(indexed: &[String], access: impl Fn(&str) -> Option<Access>) -> Option<Access> {
    indexed.iter().find_map(|field| access(field))
}

/// The ids an `id` equality or `$in` allows (a non-string allows none), and that condition.
fn ids_wanted(filter: &Filter) -> Option<(Vec<String>, Vec<ConditionAt>)> {
    let equal = conditions(filter, ID_FIELD).find_map(|(at, c)| match c {
        Condition::Eq(value) => Some((vec![value.clone()], at)),
        _ => None,
    });
    let (values, at) = equal.or_else(|| {
        conditions(filter, ID_FIELD).find_map(|(at, c)| match c {
            Condition::In(options) => Some((options.clone(), at)),
            _ => None,
        })
    })?;
    let mut ids: Vec<String> = values
        .into_iter()
        .filter_map(|value| match value {
            Any::String(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    Some((ids, vec![at]))
}

fn equality(filter: &Filter, field: &str) -> Option<Access> {
    conditions(filter, field).find_map(|(at, c)| match c {
        Condition::Eq(value) => Some(Access {
            field: field.to_string(),
            intervals: vec![Interval::point(IndexKey(Some(value.clone())))],
            served: vec![at],
        }),
        _ => None,
    })
}

fn one_of(filter: &Filter, field: &str) -> Option<Access> {
    conditions(filter, field).find_map(|(at, c)| match c {
        Condition::In(options) => {
            let mut values = options.clone();
            values.sort_by(|a, b| compare(Some(a), Some(b)));
            // 1 and 1.0 are one key: looking both up would find its records twice
            values.dedup_by(|a, b| json_eq(a, b));
            Some(Access {
                field: field.to_string(),
                intervals: values
                    .into_iter()
                    .map(|value| Interval::point(IndexKey(Some(value))))
                    .collect(),
                served: vec![at],
            })
        }
        _ => None,
    })
}

/// The keys a field's range conditions allow. They compare values of their own JSON type
/// only, so the interval stays within the type of the first bound: a record matching every
/// condition has a value of that type (bounds of other types then match nothing, which the
/// residual filter finds out).
fn range(filter: &Filter, field: &str) -> Option<Access> {
    let bounds: Vec<(ConditionAt, &Condition, &Any)> = conditions(filter, field)
        .filter_map(|(at, c)| bound_value(c).map(|value| (at, c, value)))
        .collect();
    let kind = rank(Some(bounds.first()?.2));
    let mut lower = Bound::Included(IndexKey(Some(smallest_of_rank(kind)?)));
    let mut upper = smallest_of_rank(kind + 1).map_or(Bound::Unbounded, |next| {
        Bound::Excluded(IndexKey(Some(next)))
    });
    let mut served = Vec::new();
    for (at, condition, value) in bounds {
        if rank(Some(value)) != kind {
            continue;
        }
        let key = IndexKey(Some(value.clone()));
        match condition {
            Condition::Gt(_) => lower = tighter(lower, Bound::Excluded(key), Ordering::Greater),
            Condition::Gte(_) => lower = tighter(lower, Bound::Included(key), Ordering::Greater),
            Condition::Lt(_) => upper = tighter(upper, Bound::Excluded(key), Ordering::Less),
            Condition::Lte(_) => upper = tighter(upper, Bound::Included(key), Ordering::Less),
            _ => continue,
        }
        // every key in the interval is of this type and within this bound
        served.push(at);
    }
    Some(Access {
        field: field.to_string(),
        intervals: vec![Interval { lower, upper }],
        served,
    })
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
fn sorted_walk(query: &Query, indexed: &[String]) -> Option<Access> {
    let first = query.order_by.first()?;
    query.limit?;
    indexed
        .iter()
        .find(|field| **field == first.field)
        .map(|field| Access {
            field: field.clone(),
            intervals: vec![Interval::all()],
            served: Vec::new(),
        })
}

/// The order to walk an index on `field` in and when the walk may stop.
fn walk_order(query: &Query, field: &str, intervals: &[Interval]) -> (WalkOrder, Stop) {
    let enough = query.page_end();
    let by_key = |descending: bool| {
        if descending {
            WalkOrder::Descending
        } else {
            WalkOrder::Ascending
        }
    };
    match (query.order_by.first(), enough) {
        (Some(first), Some(enough)) if first.field == field => {
            let stop = if query.order_by.len() == 1 {
                Stop::AfterMatches(enough)
            } else {
                Stop::AfterMatchesAndTies(enough)
            };
            (by_key(first.descending), stop)
        }
        (Some(first), None) if first.field == field => (by_key(first.descending), Stop::Never),
        // single keys: their records merged by id, the order of results without orderBy
        (None, Some(enough)) if all_single_keys(intervals) => {
            (WalkOrder::ById, Stop::AfterMatches(enough))
        }
        _ => (WalkOrder::Ascending, Stop::Never),
    }
}

fn all_single_keys(intervals: &[Interval]) -> bool {
    intervals.iter().all(|interval| {
        matches!(interval, Interval { lower: Bound::Included(a), upper: Bound::Included(b) } if a == b)
    })
}
