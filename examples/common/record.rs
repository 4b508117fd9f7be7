// The record of benches/scale/records.mjs (and dev/records.mjs) for the native examples:
// its id and its 6 fields, in that order.
use yrs::any::Number;
use yrs::Any;

pub fn record(i: usize) -> (String, Vec<(String, Any)>) {
    let fields = vec![
        (
            "title".to_string(),
            Any::from(format!("Task number {i} with some words")),
        ),
        ("done".to_string(), Any::Bool(i % 3 == 0)),
        ("prio".to_string(), Any::Number(Number::Int((i % 5) as i64))),
        (
            "tags".to_string(),
            Any::from(vec![
                Any::from(format!("tag{}", i % 7)),
                Any::from(format!("tag{}", i % 11)),
            ]),
        ),
        (
            "createdAt".to_string(),
            Any::Number(Number::Float(1_700_000_000_000.0 + i as f64 * 1000.0)),
        ),
        ("owner".to_string(), Any::from(format!("user-{}", i % 97))),
    ];
    (format!("rec-{i:07}"), fields)
}
