#![allow(dead_code)]
use serde_json::{json, Value};
use yreplica::replica::{Change, ChangeKind, Fields, Replica};

pub fn fields(v: Value) -> Fields {
    yreplica::replica::value::fields_from_json(&v.to_string(), || "test".into())
        .expect("valid fields")
}

pub fn get(r: &mut Replica, c: &str, id: &str) -> Option<Value> {
    r.get(c, id)
        .unwrap()
        .map(|s| serde_json::from_str(&s).unwrap())
}

pub fn kinds(changes: &[Change]) -> Vec<(String, ChangeKind)> {
    changes.iter().map(|c| (c.id.clone(), c.kind)).collect()
}

/// A replica holding three todos: a (prio 1), b (prio 3), c (prio 2, done).
pub fn todos() -> Replica {
    let mut r = Replica::with_client_id(1);
    r.insert_many(
        "todos",
        vec![
            (
                "a".into(),
                fields(json!({"title": "alpha", "prio": 1, "done": false})),
            ),
            (
                "b".into(),
                fields(json!({"title": "beta", "prio": 3, "done": false, "tags": ["x"]})),
            ),
            (
                "c".into(),
                fields(json!({"title": "gamma", "prio": 2, "done": true})),
            ),
        ],
    )
    .unwrap();
    r.take_changes();
    r
}

/// Sends everything `from` has that `to` lacks.
pub fn sync(from: &Replica, to: &mut Replica) {
    let diff = from.encode_diff(&to.state_vector()).unwrap();
    to.apply_update(&diff).unwrap();
}
pub mod sim;
