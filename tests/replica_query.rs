mod common;

use common::{fields, todos};
use serde_json::json;
use yreplica::replica::{Filter, Query, Replica};

fn find(r: &mut Replica, q: serde_json::Value) -> Vec<String> {
    r.find("todos", &Query::from_json(&q.to_string()).unwrap())
        .unwrap()
}

fn count(r: &mut Replica, w: serde_json::Value) -> usize {
    r.count("todos", &Filter::from_json(&w.to_string()).unwrap())
        .unwrap()
}

#[test]
fn equality_and_each_operator() {
    let mut r = todos();
    assert_eq!(find(&mut r, json!({"where": {"done": false}})), ["a", "b"]);
    assert_eq!(find(&mut r, json!({"where": {"prio": {"$eq": 2}}})), ["c"]);
    assert_eq!(
        find(&mut r, json!({"where": {"prio": {"$ne": 2}}})),
        ["a", "b"]
    );
    assert_eq!(
        find(&mut r, json!({"where": {"prio": {"$gt": 1}}})),
        ["b", "c"]
    );
    assert_eq!(
        find(&mut r, json!({"where": {"prio": {"$gte": 2}}})),
        ["b", "c"]
    );
    assert_eq!(find(&mut r, json!({"where": {"prio": {"$lt": 2}}})), ["a"]);
    assert_eq!(
        find(&mut r, json!({"where": {"prio": {"$lte": 2}}})),
        ["a", "c"]
    );
    assert_eq!(
        find(
            &mut r,
            json!({"where": {"title": {"$in": ["alpha", "gamma", 7]}}})
        ),
        ["a", "c"]
    );
    assert_eq!(
        find(&mut r, json!({"where": {"title": {"$nin": ["alpha"]}}})),
        ["b", "c"]
    );
    assert_eq!(
        find(&mut r, json!({"where": {"tags": {"$exists": true}}})),
        ["b"]
    );
    assert_eq!(
        find(&mut r, json!({"where": {"tags": {"$exists": false}}})),
        ["a", "c"]
    );
    assert_eq!(
        find(&mut r, json!({"where": {"prio": {"$gte": 2, "$lt": 3}}})),
        ["c"]
    );
    assert_eq!(
        find(
            &mut r,
            json!({"where": {"done": false, "prio": {"$gte": 2}}})
        ),
        ["b"]
    );
    assert_eq!(find(&mut r, json!({"where": {"id": "b"}})), ["b"]);
}

#[test]
fn missing_fields_nulls_and_type_brackets() {
    let mut r = todos();
    r.insert("todos", "n", fields(json!({"prio": null, "title": "5"})))
        .unwrap();
    // null matches only null, not a missing field
    assert_eq!(find(&mut r, json!({"where": {"prio": null}})), ["n"]);
    assert_eq!(
        find(&mut r, json!({"where": {"tags": null}})),
        Vec::<String>::new()
    );
    // $ne and $nin match missing fields
    assert_eq!(
        find(&mut r, json!({"where": {"tags": {"$ne": ["x"]}}})),
        ["a", "c", "n"]
    );
    // range operators compare within one type only
    assert_eq!(
        find(&mut r, json!({"where": {"title": {"$gt": 1}}})),
        Vec::<String>::new()
    );
    assert_eq!(
        find(&mut r, json!({"where": {"prio": {"$gt": "0"}}})),
        Vec::<String>::new()
    );
    // deep equality for arrays and objects, numbers by value
    assert_eq!(find(&mut r, json!({"where": {"tags": ["x"]}})), ["b"]);
    assert_eq!(find(&mut r, json!({"where": {"prio": 3.0}})), ["b"]);
}

#[test]
fn order_by_several_keys_limit_and_offset() {
    let mut r = Replica::new();
    let rows = [
        ("1", "b", 2),
        ("2", "a", 2),
        ("3", "c", 1),
        ("4", "a", 3),
        ("5", "a", 2),
    ];
    for (id, title, prio) in rows {
        r.insert("todos", id, fields(json!({"title": title, "prio": prio})))
            .unwrap();
    }
    assert_eq!(
        find(&mut r, json!({"orderBy": ["-prio", "title"]})),
        ["4", "2", "5", "1", "3"]
    );
    assert_eq!(
        find(&mut r, json!({"orderBy": ["title", "-prio"]})),
        ["4", "2", "5", "1", "3"]
    );
    assert_eq!(
        find(&mut r, json!({"orderBy": "prio"})),
        ["3", "1", "2", "5", "4"]
    );
    assert_eq!(
        find(
            &mut r,
            json!({"orderBy": ["-prio", "title"], "limit": 2, "offset": 1})
        ),
        ["2", "5"]
    );
    assert_eq!(
        find(&mut r, json!({"orderBy": "title", "offset": 10})),
        Vec::<String>::new()
    );
    assert_eq!(find(&mut r, json!({"limit": 0})), Vec::<String>::new());
}

#[test]
fn sort_order_across_types_is_total() {
    let mut r = Replica::new();
    let values = [
        json!("s"),
        json!(1),
        json!(null),
        json!(true),
        json!([1]),
        json!({"a": 1}),
    ];
    for (i, v) in values.iter().enumerate() {
        r.insert("todos", &format!("r{i}"), fields(json!({"v": v})))
            .unwrap();
    }
    r.insert("todos", "missing", fields(json!({}))).unwrap();
    assert_eq!(
        find(&mut r, json!({"orderBy": "v"})),
        ["missing", "r2", "r3", "r1", "r0", "r4", "r5"]
    );
    assert_eq!(
        find(&mut r, json!({"orderBy": "-v"})),
        ["r5", "r4", "r0", "r1", "r3", "r2", "missing"]
    );
}

#[test]
fn count_with_and_without_filter() {
    let mut r = todos();
    assert_eq!(count(&mut r, json!({})), 3);
    assert_eq!(count(&mut r, json!(null)), 3);
    assert_eq!(count(&mut r, json!({"done": false})), 2);
    assert_eq!(r.count("nothing", &Filter::default()).unwrap(), 0);
}

#[test]
fn invalid_queries_are_rejected_with_a_reason() {
    for (q, needle) in [
        (
            json!({"where": {"a": {"$foo": 1}}}),
            "unknown operator '$foo'",
        ),
        (json!({"where": {"a": {"$in": 1}}}), "$in needs an array"),
        (
            json!({"where": {"a": {"$exists": 1}}}),
            "$exists needs true or false",
        ),
        (
            json!({"where": {"a": {"$gt": 1, "b": 2}}}),
            "cannot be mixed",
        ),
        (json!({"where": 5}), "'where' must be an object"),
        (json!({"limit": -1}), "limit must be a non-negative integer"),
        (
            json!({"offset": 1.5}),
            "offset must be a non-negative integer",
        ),
        (json!({"orderBy": [1]}), "orderBy takes a field name"),
        (json!({"orderBy": "-"}), "empty field name"),
        (json!({"sort": "a"}), "unknown option 'sort'"),
        (json!([]), "must be an object"),
    ] {
        let err = Query::from_json(&q.to_string()).unwrap_err();
        assert_eq!(err.code(), "INVALID_QUERY");
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
    }
}
