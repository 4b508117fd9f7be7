//! Where a query without an index spends its time (native):
//! cargo run --release --example profile_find -- 1000000 [--indexes]
use std::time::Instant;
use yreplica::replica::{Query, Replica};
use yrs::{Any, Map, Out, ReadTxn, Transact};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut replica = Replica::new();
    for from in (0..n).step_by(100_000) {
        let json: Vec<String> = (from..(from + 100_000).min(n))
            .map(|i| format!(r#"{{"title":"Task number {i} with some words","done":{},"prio":{},"tags":["a","b"],"createdAt":{},"owner":"user-{}"}}"#, i % 3 == 0, i % 5, 1_700_000_000_000u64 + i, i % 97))
            .collect();
        let fields = yreplica::replica::value::records_from_json(
            format!("[{}]", json.join(",")).as_bytes(),
            String::new,
        )
        .expect("records");
        let records = (from..)
            .zip(fields)
            .map(|(i, f)| (format!("rec-{i:07}"), f))
            .collect();
        replica.insert_many("todos", records).expect("insert");
    }
    let queries = [
        (
            "scan",
            r#"{"where":{"done":false,"prio":{"$gte":2}},"orderBy":["-prio","title"],"limit":20}"#,
        ),
        (
            "owner",
            r#"{"where":{"owner":"user-42"},"orderBy":"-createdAt","limit":20}"#,
        ),
    ];
    let indexed = std::env::args().nth(2).is_some_and(|a| a == "--indexes");
    if indexed {
        let t = Instant::now();
        replica
            .add_indexes("todos", &["owner".into(), "createdAt".into()])
            .expect("indexes");
        println!("indexes built in {:?}", t.elapsed());
    }
    // The floor: the owner filter by hand on yrs, no sort (what any scan must at least do).
    for _ in 0..3 {
        let t = Instant::now();
        let txn = replica.doc().transact();
        let todos = txn.get_map("todos").expect("collection");
        let owner = Out::Any(Any::String("user-42".into()));
        let matching = todos
            .iter(&txn)
            .filter(|(_, record)| match record {
                Out::YMap(fields) => fields.get(&txn, "owner").as_ref() == Some(&owner),
                _ => false,
            })
            .count();
        println!(
            "plain yrs owner filter: {:?} ({matching} match)",
            t.elapsed()
        );
    }
    for (name, json) in queries {
        let query = Query::from_json(json).expect("query");
        let repeat = if indexed && name == "owner" { 300 } else { 3 };
        for _ in 0..repeat {
            let t = Instant::now();
            let ids = replica.find("todos", &query).expect("find");
            let explained = replica.explain("todos", &query).expect("explain");
            println!(
                "{name}: {:?} ({} ids, index {:?}, {} scanned)",
                t.elapsed(),
                ids.len(),
                explained.index,
                explained.scanned
            );
        }
    }
}
