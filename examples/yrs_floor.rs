//! The floor for `npm run bench:scale`: plain yrs, native, doing what the benchmark asks of
//! yreplica and Yjs on the same records (one nested map of 6 fields per record), with no
//! replica around it: insert N records in one transaction, update one field of each in its
//! own transaction, encode the whole state, load it into a fresh document.
//!
//! cargo run --release --example yrs_floor -- 100000
//! Prints one JSON line: milliseconds per operation, state bytes, and the bytes the
//! document holds on the heap per record (counted by the global allocator).
#[path = "common/record.rs"]
mod common_record;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use yrs::any::Number;
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, In, Map, MapPrelim, MapRef, ReadTxn, StateVector, Transact, Update};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
            ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// The same records as benches/scale/records.mjs, fields in a map as `MapPrelim` takes them.
fn record(i: usize) -> (String, HashMap<String, Any>) {
    let (id, fields) = common_record::record(i);
    (id, fields.into_iter().collect())
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: yrs_floor <number of records>");
    // A 32-bit client id, as Yjs and yreplica pick (yrs' default is 53 bits: 3 more bytes in
    // every reference to a block, and a larger state).
    let doc = Doc::with_client_id(2_718_281_828);
    let todos: MapRef = doc.get_or_insert_map("todos");
    // Counted from before the records exist: insertion consumes them, so what is still
    // allocated afterwards is what the document holds.
    let before = allocated();
    let records: Vec<_> = (0..n).map(record).collect();
    let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    let ids_bytes: usize = ids.iter().map(|id| id.capacity()).sum::<usize>()
        + ids.capacity() * std::mem::size_of::<String>();
    let start = Instant::now();
    {
        let mut txn = doc.transact_mut();
        for (id, fields) in records {
            let prelim: MapPrelim = fields.into_iter().map(|(k, v)| (k, In::Any(v))).collect();
            todos.insert(&mut txn, id, prelim);
        }
    }
    let insert = ms(start);
    let heap_per_record = (allocated() - before - ids_bytes) as f64 / n as f64;

    let start = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let mut txn = doc.transact_mut();
        let Some(yrs::Out::YMap(record)) = todos.get(&txn, id) else {
            panic!("record {id} is missing")
        };
        record.insert(
            &mut txn,
            "prio",
            Any::Number(Number::Int((5 + i % 5) as i64)),
        );
    }
    let update = ms(start);

    let start = Instant::now();
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let encode = ms(start);

    let fresh = Doc::with_client_id(3_141_592_653);
    let start = Instant::now();
    {
        let update = Update::decode_v1(&state).expect("the encoded state decodes");
        fresh
            .transact_mut()
            .apply_update(update)
            .expect("the state applies");
    }
    let load = ms(start);
    let loaded = {
        let txn = fresh.transact();
        txn.get_map("todos").map(|m| m.len(&txn)).unwrap_or(0) as usize
    };
    assert_eq!(loaded, n, "the loaded document holds every record");

    println!(
        "{{\"n\":{n},\"insert\":{insert:.3},\"update\":{update:.3},\"encode\":{encode:.3},\"load\":{load:.3},\"stateBytes\":{},\"heapBytesPerRecord\":{heap_per_record:.1}}}",
        state.len()
    );
}
