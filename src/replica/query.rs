//! Queries: `where` filters, `orderBy`, `limit` and `offset` over records.
//!
//! Semantics (documented in the README):
//! - a plain value means equality (deep for arrays and objects); `null` matches only `null`;
//! - `$ne` and `$nin` match records without the field, the other operators do not;
//! - `$gt $gte $lt $lte` compare values of the same JSON type only;
//! - sorting uses one total order: missing < null < booleans < numbers < strings < arrays
//!   < objects; ties are broken by id, so results are deterministic.

use std::borrow::Borrow;
use std::cmp::Ordering;

use std::collections::HashMap;

use yrs::{Any, Number};

use super::error::{ReplicaError, Result};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Eq(Any),
    Ne(Any),
    Gt(Any),
    Gte(Any),
    Lt(Any),
    Lte(Any),
    In(Vec<Any>),
    Nin(Vec<Any>),
    Exists(bool),
}

/// All conditions on one field must hold; all fields must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub(crate) fields: Vec<(String, Vec<Condition>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortKey {
    pub(crate) field: String,
    pub(crate) descending: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub(crate) filter: Filter,
    pub(crate) order_by: Vec<SortKey>,
    pub(crate) limit: Option<usize>,
    pub(crate) offset: usize,
}

impl Query {
    /// How many rows in query order the page needs (`offset + limit`), if there is a limit.
    pub(crate) fn page_end(&self) -> Option<usize> {
        self.limit.map(|limit| self.offset.saturating_add(limit))
    }

    /// Parses `{ where, orderBy, limit, offset }` (JSON text); every part is optional.
    pub fn from_json(json: &str) -> Result<Query> {
        Query::from_any(&parse(json)?)
    }

    fn from_any(value: &Any) -> Result<Query> {
        let options = match value {
            Any::Null | Any::Undefined => return Ok(Query::default()),
            Any::Map(options) => options,
            _ => return Err(invalid("the query must be an object")),
        };
        let mut query = Query::default();
        for (key, part) in options.iter() {
            match key.as_str() {
                "where" => query.filter = Filter::from_any(part)?,
                "orderBy" => query.order_by = parse_order_by(part)?,
                "limit" => query.limit = parse_count(part, "limit")?,
                "offset" => query.offset = parse_count(part, "offset")?.unwrap_or(0),
                other => {
                    return Err(invalid(&format!(
                        "unknown option '{other}' (expected where, orderBy, limit, offset)"
                    )))
                }
            }
        }
        Ok(query)
    }
}

fn parse(json: &str) -> Result<Any> {
    Any::from_json(json).map_err(|e| ReplicaError::InvalidQuery(format!("not valid JSON: {e}")))
}

impl Filter {
    /// Parses a `where` object (JSON text).
    pub fn from_json(json: &str) -> Result<Filter> {
        Filter::from_any(&parse(json)?)
    }

    fn from_any(value: &Any) -> Result<Filter> {
        let entries = match value {
            Any::Null | Any::Undefined => return Ok(Filter::default()),
            Any::Map(entries) => entries,
            _ => return Err(invalid("'where' must be an object of field conditions")),
        };
        let mut fields = Vec::with_capacity(entries.len());
        for (field, spec) in entries.iter() {
            fields.push((field.clone(), parse_conditions(field, spec)?));
        }
        Ok(Filter { fields })
    }

    /// Tests one record; `lookup` returns a field's value (or None when absent).
    pub(crate) fn matches(&self, mut lookup: impl FnMut(&str) -> Option<Any>) -> bool {
        self.fields.iter().all(|(field, conditions)| {
            let value = lookup(field);
            conditions.iter().all(|c| c.matches(value.as_ref()))
        })
    }
}

impl Condition {
    fn matches(&self, value: Option<&Any>) -> bool {
        match self {
            Condition::Eq(expected) => value.is_some_and(|v| json_eq(v, expected)),
            Condition::Ne(expected) => !value.is_some_and(|v| json_eq(v, expected)),
            Condition::Gt(bound) => same_type_cmp(value, bound).is_some_and(|o| o.is_gt()),
            Condition::Gte(bound) => same_type_cmp(value, bound).is_some_and(|o| o.is_ge()),
            Condition::Lt(bound) => same_type_cmp(value, bound).is_some_and(|o| o.is_lt()),
            Condition::Lte(bound) => same_type_cmp(value, bound).is_some_and(|o| o.is_le()),
            Condition::In(options) => value.is_some_and(|v| options.iter().any(|o| json_eq(v, o))),
            Condition::Nin(options) => {
                !value.is_some_and(|v| options.iter().any(|o| json_eq(v, o)))
            }
            Condition::Exists(wanted) => value.is_some() == *wanted,
        }
    }
}

fn parse_conditions(field: &str, spec: &Any) -> Result<Vec<Condition>> {
    let operators: &HashMap<String, Any> = match spec {
        Any::Map(map) if map.keys().any(|k| k.starts_with('$')) => map,
        literal => return Ok(vec![Condition::Eq(literal.clone())]),
    };
    // Sorted so that error messages do not depend on hash order.
    let mut operators: Vec<(&String, &Any)> = operators.iter().collect();
    operators.sort_by(|a, b| a.0.cmp(b.0));
    let mut conditions = Vec::with_capacity(operators.len());
    for (op, operand) in operators {
        let condition = match op.as_str() {
            "$eq" => Condition::Eq(operand.clone()),
            "$ne" => Condition::Ne(operand.clone()),
            "$gt" => Condition::Gt(operand.clone()),
            "$gte" => Condition::Gte(operand.clone()),
            "$lt" => Condition::Lt(operand.clone()),
            "$lte" => Condition::Lte(operand.clone()),
            "$in" | "$nin" => {
                let Any::Array(items) = operand else {
                    return Err(invalid(&format!("field '{field}': {op} needs an array")));
                };
                let items = items.to_vec();
                if op == "$in" {
                    Condition::In(items)
                } else {
                    Condition::Nin(items)
                }
            }
            "$exists" => match operand {
                Any::Bool(flag) => Condition::Exists(*flag),
                _ => {
                    return Err(invalid(&format!(
                        "field '{field}': $exists needs true or false"
                    )))
                }
            },
            other => {
                let hint = if other.starts_with('$') {
                    "unknown operator"
                } else {
                    "operators cannot be mixed with plain keys"
                };
                return Err(invalid(&format!("field '{field}': {hint} '{other}'")));
            }
        };
        conditions.push(condition);
    }
    Ok(conditions)
}

fn parse_order_by(value: &Any) -> Result<Vec<SortKey>> {
    let names: Vec<&Any> = match value {
        Any::Null | Any::Undefined => return Ok(Vec::new()),
        Any::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    names
        .into_iter()
        .map(|name| match name {
            Any::String(s) => {
                let (field, descending) = match s.strip_prefix('-') {
                    Some(rest) => (rest, true),
                    None => (&**s, false),
                };
                if field.is_empty() {
                    Err(invalid("orderBy: empty field name"))
                } else {
                    Ok(SortKey {
                        field: field.to_string(),
                        descending,
                    })
                }
            }
            _ => Err(invalid(
                "orderBy takes a field name or a list of field names",
            )),
        })
        .collect()
}

fn parse_count(value: &Any, what: &str) -> Result<Option<usize>> {
    let error = || invalid(&format!("{what} must be a non-negative integer"));
    match value {
        Any::Null | Any::Undefined => Ok(None),
        Any::Number(Number::Int(n)) => usize::try_from(*n).map(Some).map_err(|_| error()),
        Any::Number(Number::Float(f)) if f.fract() == 0.0 && *f >= 0.0 => Ok(Some(*f as usize)),
        _ => Err(error()),
    }
}

fn invalid(message: &str) -> ReplicaError {
    ReplicaError::InvalidQuery(message.to_string())
}

fn as_f64(n: &Number) -> f64 {
    match n {
        Number::Int(i) => *i as f64,
        Number::Float(f) => *f,
    }
}

/// Position of a value's type in the total sort order.
pub(crate) fn rank(value: Option<&Any>) -> u8 {
    match value {
        None => 0,
        Some(Any::Null | Any::Undefined) => 1,
        Some(Any::Bool(_)) => 2,
        Some(Any::Number(_)) => 3,
        Some(Any::String(_)) => 4,
        Some(Any::Buffer(_) | Any::Array(_)) => 5,
        Some(Any::Map(_)) => 6,
    }
}

/// JSON equality: numbers by value (1 == 1.0), arrays and objects deeply.
pub(crate) fn json_eq(a: &Any, b: &Any) -> bool {
    compare(Some(a), Some(b)) == Ordering::Equal
}

fn same_type_cmp(value: Option<&Any>, bound: &Any) -> Option<Ordering> {
    let value = value?;
    (rank(Some(value)) == rank(Some(bound))).then(|| compare(Some(value), Some(bound)))
}

/// The total order used by `orderBy`.
pub fn compare(a: Option<&Any>, b: Option<&Any>) -> Ordering {
    let by_rank = rank(a).cmp(&rank(b));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    match (a, b) {
        (Some(Any::Bool(x)), Some(Any::Bool(y))) => x.cmp(y),
        (Some(Any::Number(x)), Some(Any::Number(y))) => as_f64(x).total_cmp(&as_f64(y)),
        (Some(Any::String(x)), Some(Any::String(y))) => x.cmp(y),
        (Some(Any::Array(x)), Some(Any::Array(y))) => compare_seq(x.iter(), y.iter()),
        (Some(Any::Buffer(x)), Some(Any::Buffer(y))) => x.cmp(y),
        // Binary data (from other Yjs apps) reads as an array of byte values, and compares
        // as one: calling it equal to every array would break the order's transitivity,
        // which sorting and indexes rely on.
        (Some(Any::Array(x)), Some(Any::Buffer(y))) => {
            compare_seq(x.iter(), y.iter().map(|b| byte_value(*b)))
        }
        (Some(Any::Buffer(x)), Some(Any::Array(y))) => {
            compare_seq(x.iter().map(|b| byte_value(*b)), y.iter())
        }
        (Some(Any::Map(x)), Some(Any::Map(y))) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(ys.iter()) {
                let o = kx.cmp(ky).then_with(|| compare(Some(vx), Some(vy)));
                if o != Ordering::Equal {
                    return o;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => Ordering::Equal,
    }
}

fn byte_value(byte: u8) -> Any {
    Any::Number(Number::Int(i64::from(byte)))
}

fn compare_seq<A: Borrow<Any>, B: Borrow<Any>>(
    x: impl Iterator<Item = A>,
    y: impl Iterator<Item = B>,
) -> Ordering {
    let (mut x, mut y) = (x, y);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) => {
                let o = compare(Some(a.borrow()), Some(b.borrow()));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// The order of two rows `(id, sort values)`: by the keys, then by id.
pub(crate) fn compare_rows<Id: Ord>(
    (id_a, a): &(Id, Vec<Option<Any>>),
    (id_b, b): &(Id, Vec<Option<Any>>),
    keys: &[SortKey],
) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let o = compare(a[i].as_ref(), b[i].as_ref());
        let o = if key.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    id_a.cmp(id_b)
}
