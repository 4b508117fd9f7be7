//! Where bulk insert and single updates spend their time (native):
//! cargo run --release --example profile_insert -- [N]
use std::time::Instant;
use yreplica::replica::{Replica, Values};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let json: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"title":"Task number {i} with some words","done":{},"prio":{},"tags":["a","b"],"createdAt":{},"owner":"u{}"}}"#, i % 3 == 0, i % 5, 1_700_000_000_000u64 + i, i % 97))
        .collect();
    let all = format!("[{}]", json.join(","));
    for _ in 0..3 {
        let t = Instant::now();
        let parsed =
            yreplica::replica::value::records_from_json(all.as_bytes(), String::new).unwrap();
        let parse = t.elapsed();
        let records: Vec<(String, yreplica::replica::Fields)> = parsed
            .into_iter()
            .enumerate()
            .map(|(i, fields)| (format!("rec-{i}"), fields))
            .collect();
        let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
        plain_yrs(&records);
        let mut r = Replica::new();
        let t = Instant::now();
        r.insert_many("todos", records).unwrap();
        let insert = t.elapsed();
        let t = Instant::now();
        let c = r.take_changes_with(Values::Omit).to_json();
        let take = t.elapsed();
        // as the facade does per `update`: parse the patch, write it, forget the changes
        let t = Instant::now();
        for (i, id) in ids.iter().enumerate() {
            let patch = format!(r#"{{"prio":{}}}"#, 5 + i % 5);
            let set = yreplica::replica::value::fields_from_json(&patch, String::new).unwrap();
            r.update("todos", id, set, &[]).unwrap();
            r.forget_changes();
        }
        let update = t.elapsed();
        println!(
            "parse {parse:?} insert {insert:?} take {take:?} ({} bytes) update each {update:?}",
            c.len()
        );
    }
}

#[allow(dead_code)]
fn plain_yrs(records: &[(String, yreplica::replica::Fields)]) {
    use yrs::{In, Map, MapPrelim, Transact, WriteTxn};
    let doc = yrs::Doc::new();
    let t = Instant::now();
    {
        let mut txn = doc.transact_mut();
        let map = txn.get_or_insert_map("todos");
        for (id, fields) in records {
            let prelim: MapPrelim = fields
                .iter()
                .map(|(k, v)| (k.clone(), In::Any(v.clone())))
                .collect();
            map.insert(&mut txn, id.clone(), prelim);
        }
    }
    println!("  plain yrs insert+commit, no observers: {:?}", t.elapsed());
    let map = doc.get_or_insert_map("todos");
    let t = Instant::now();
    for (i, (id, _)) in records.iter().enumerate() {
        let mut txn = doc.transact_mut();
        if let Some(yrs::Out::YMap(record)) = map.get(&txn, id) {
            record.insert(&mut txn, "prio", (5 + i % 5) as i64);
        }
    }
    println!(
        "  plain yrs update each, own transaction: {:?}",
        t.elapsed()
    );
}
