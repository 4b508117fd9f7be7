//! Where deleting many records spends its time: plain yrs, native, no replica around it. A
//! root map of N nested maps (6 fields each, as benches/scale), then every record removed;
//! the removals and the commit are timed apart.
//!
//! cargo run --release --example profile_delete -- 20000 [layout] [order] [transactions]
//!
//! - `layout`: `together` (the default: each record's map, then its fields, as a `MapPrelim`
//!   or Yjs' `new Y.Map(entries)` writes it) or `maps-first` (every record's map, then every
//!   record's fields, as `Replica::insert_many` writes each group of `RECORDS_PER_RUN`);
//! - `order`: `forward` (insertion order, the default) or `reverse`;
//! - `transactions`: `one` (the default: every removal in one transaction) or `each`.
//!
//! Prints one JSON line. With `together`, the commit of one transaction grows with the square
//! of N: yrs 0.28.1 merges each record's deleted fields (one block once collected) with a
//! `Vec::drain` that shifts every later block of the client (`ClientBlockList::
//! squash_left_range_compaction`, from `DeleteSet::try_squash_with` in `commit`). With
//! `maps-first`, the fields of all the records form one run, merged by one drain.
#[path = "common/record.rs"]
mod common_record;

use common_record::record;
use std::time::Instant;

use yrs::{Doc, In, Map, MapPrelim, MapRef, Transact};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let usage =
        "usage: profile_delete <records> [together|maps-first] [forward|reverse] [one|each]";
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let layout = args.next().unwrap_or_else(|| "together".into());
    let order = args.next().unwrap_or_else(|| "forward".into());
    let transactions = args.next().unwrap_or_else(|| "one".into());

    let doc = Doc::with_client_id(2_718_281_828);
    let todos: MapRef = doc.get_or_insert_map("todos");
    let records: Vec<_> = (0..n).map(record).collect();
    let mut ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    {
        let mut txn = doc.transact_mut();
        match layout.as_str() {
            "together" => {
                for (id, fields) in records {
                    let prelim: MapPrelim =
                        fields.into_iter().map(|(k, v)| (k, In::Any(v))).collect();
                    todos.insert(&mut txn, id, prelim);
                }
            }
            "maps-first" => {
                let maps: Vec<MapRef> = ids
                    .iter()
                    .map(|id| todos.insert(&mut txn, id.as_str(), MapPrelim::default()))
                    .collect();
                for (map, (_, fields)) in maps.iter().zip(records) {
                    for (k, v) in fields {
                        map.insert(&mut txn, k, v);
                    }
                }
            }
            other => panic!("unknown layout {other}: {usage}"),
        }
    }
    match order.as_str() {
        "forward" => {}
        "reverse" => ids.reverse(),
        other => panic!("unknown order {other}: {usage}"),
    }

    let start = Instant::now();
    let (removed, committed) = match transactions.as_str() {
        "one" => {
            let mut txn = doc.transact_mut();
            for id in &ids {
                todos.remove(&mut txn, id);
            }
            let removed = start.elapsed();
            let commit = Instant::now();
            txn.commit();
            (removed, commit.elapsed())
        }
        "each" => {
            for id in &ids {
                todos.remove(&mut doc.transact_mut(), id);
            }
            (start.elapsed(), Default::default())
        }
        other => panic!("unknown transactions {other}: {usage}"),
    };
    let total = start.elapsed();
    println!(
        "{{\"n\":{n},\"layout\":\"{layout}\",\"order\":\"{order}\",\"transactions\":\"{transactions}\",\"removeMs\":{:.1},\"commitMs\":{:.1},\"totalMs\":{:.1}}}",
        ms(removed),
        ms(committed),
        ms(total),
    );
}
