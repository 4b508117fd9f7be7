use std::time::Instant;
use yreplica::replica::value::fields_from_json;
use yreplica::replica::Replica;

fn main() {
    let n = 10_000;
    let mut r = Replica::new();
    let recs: Vec<(String, _)> = (0..n)
        .map(|i| {
            let json = format!(r#"{{"title":"Task number {i} with some words","done":{},"prio":{},"tags":["a","b"],"createdAt":{},"owner":"u{}"}}"#, i % 3 == 0, i % 5, 1_700_000_000_000u64 + i, i % 97);
            (format!("rec-{i}"), fields_from_json(&json, "x").unwrap())
        })
        .collect();
    let ids: Vec<String> = recs.iter().map(|(id, _)| id.clone()).collect();
    let t = Instant::now();
    r.insert_many("todos", recs).unwrap();
    println!("insert_many {:?}", t.elapsed());
    let t = Instant::now();
    let c = r.take_changes();
    println!("take_changes {:?} {}", t.elapsed(), c.changes.len());
    let t = Instant::now();
    for id in &ids {
        r.get("todos", id).unwrap();
    }
    println!("get x n {:?}", t.elapsed());
    breakdown(&r, &ids);
    let t = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let f = fields_from_json(&format!("{{\"prio\":{}}}", i + 10), "x").unwrap();
        r.update("todos", id, f, &[]).unwrap();
        r.take_changes();
    }
    println!("update+take x n {:?}", t.elapsed());
}

#[allow(dead_code)]
pub fn breakdown(r: &Replica, ids: &[String]) {
    use yrs::{Map, ReadTxn, Transact};
    use yreplica::replica::StoredRecord;
    let txn = r.doc().transact();
    let map = txn.get_map("todos").unwrap();
    let t = Instant::now();
    let mut recs = Vec::new();
    for id in ids {
        recs.push(map.get(&txn, id).unwrap());
    }
    println!("  map.get x n {:?}", t.elapsed());
    let recs: Vec<StoredRecord> = recs.into_iter().map(|o| StoredRecord::from_out(o).unwrap()).collect();
    let t = Instant::now();
    let mut all = Vec::new();
    for rec in &recs {
        all.push(rec.fields(&txn));
    }
    println!("  fields x n {:?}", t.elapsed());
    let t = Instant::now();
    for (rec, id) in recs.iter().zip(ids) {
        yreplica::replica::value::record_json(id, rec, &txn);
    }
    println!("  record_json x n {:?}", t.elapsed());
    let t = Instant::now();
    for _ in 0..ids.len() {
        let _t = r.doc().transact();
    }
    println!("  transact x n {:?}", t.elapsed());
}
