//! Secondary indexes: queries that use one give exactly what a scan gives, after any mix of
//! local writes, batches, remote updates and records written by plain yrs; `explain` names
//! the index a query used.

mod common;

use common::{fields, sync};
use serde_json::{json, Value};
use yreplica::replica::query::compare;
use yreplica::replica::{Explained, Filter, Query, Replica};
use yrs::{Any, Array, ArrayPrelim, Map, MapRef, Transact};

/// SplitMix64: a seeded generator, so a failure names the seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

const COLLECTIONS: [&str; 2] = ["todos", "notes"];
const FIELDS: [&str; 5] = ["a", "b", "c", "d", "id"];
const IDS: [&str; 12] = [
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "", "zz",
];

/// Values of every JSON type, with numbers equal across int and float (1 and 1.0).
fn value(rng: &mut Rng) -> Value {
    let pool = [
        json!(0),
        json!(1),
        json!(1.0),
        json!(2),
        json!(2.5),
        json!(-1),
        json!(1e300),
        json!("a"),
        json!("b"),
        json!(""),
        json!("ü"),
        json!(true),
        json!(false),
        Value::Null,
        json!([1]),
        json!([1, 2]),
        json!([]),
        json!(["a", null]),
        json!({"x": 1}),
        json!({}),
        json!({"x": 1, "y": [2]}),
    ];
    rng.pick(&pool)
}

fn record(rng: &mut Rng) -> Value {
    let mut fields = serde_json::Map::new();
    for field in &FIELDS[..4] {
        if rng.chance(70) {
            fields.insert(field.to_string(), value(rng));
        }
    }
    Value::Object(fields)
}

fn condition(rng: &mut Rng) -> Value {
    let values = |rng: &mut Rng| -> Vec<Value> { (0..rng.below(4)).map(|_| value(rng)).collect() };
    match rng.below(12) {
        0 => value(rng),
        1 => json!({"$eq": value(rng)}),
        2 => json!({"$ne": value(rng)}),
        3 => json!({"$gt": value(rng)}),
        4 => json!({"$gte": value(rng)}),
        5 => json!({"$lt": value(rng)}),
        6 => json!({"$lte": value(rng)}),
        7 => json!({"$in": values(rng)}),
        8 => json!({"$nin": values(rng)}),
        9 => json!({"$exists": rng.chance(50)}),
        10 => json!({"$gte": value(rng), "$lt": value(rng)}),
        _ => json!({"$gt": value(rng), "$in": values(rng)}),
    }
}

fn query(rng: &mut Rng) -> Value {
    let mut filter = serde_json::Map::new();
    for _ in 0..rng.below(3) {
        let field = rng.pick(&FIELDS);
        let spec = if field == "id" && rng.chance(60) {
            json!({"$in": [rng.pick(&IDS), rng.pick(&IDS)]})
        } else {
            condition(rng)
        };
        filter.insert(field.to_string(), spec);
    }
    let order: Vec<String> = (0..rng.below(3))
        .map(|_| {
            let field = rng.pick(&FIELDS);
            if rng.chance(50) {
                format!("-{field}")
            } else {
                field.to_string()
            }
        })
        .collect();
    let mut q = json!({"where": filter, "orderBy": order});
    if rng.chance(60) {
        q["limit"] = json!(rng.below(6));
    }
    if rng.chance(30) {
        q["offset"] = json!(rng.below(4));
    }
    q
}

fn parse_query(q: &Value) -> Query {
    Query::from_json(&q.to_string()).expect("a valid query")
}

/// Writes through yrs directly, as another Yjs app sharing the document would.
fn write_as_plain_yjs(r: &Replica, collection: &str, rng: &mut Rng) {
    let doc = r.doc();
    let map: MapRef = doc.get_or_insert_map(collection);
    let id = rng.pick(&IDS);
    let mut txn = doc.transact_mut();
    match rng.below(5) {
        // a record as a plain object
        0 => {
            let plain = Any::from_json(&record(rng).to_string()).expect("JSON");
            map.insert(&mut txn, id, plain);
        }
        // an entry that is not a record
        1 => {
            map.insert(&mut txn, id, Any::from(7.0));
        }
        // a field holding a shared array, then pushes into it (a nested change)
        2 => {
            if let Some(yrs::Out::YMap(record)) = map.get(&txn, id) {
                match record.get(&txn, "a") {
                    Some(yrs::Out::YArray(array)) => {
                        array.push_back(&mut txn, Any::from(3.0));
                    }
                    _ => {
                        record.insert(&mut txn, "a", ArrayPrelim::from([Any::from(1.0)]));
                    }
                }
            }
        }
        // a field edited in place
        3 => {
            if let Some(yrs::Out::YMap(record)) = map.get(&txn, id) {
                let v = Any::from_json(&value(rng).to_string()).expect("JSON");
                record.insert(&mut txn, rng.pick(&["a", "b", "c"]), v);
            }
        }
        _ => {
            map.remove(&mut txn, id);
        }
    }
}

/// One random write to `r` (local, in or out of a batch, or as another app); errors such as
/// a taken id are part of the game.
fn random_write(r: &mut Replica, peer: &mut Replica, rng: &mut Rng) {
    let collection = rng.pick(&COLLECTIONS);
    let id = rng.pick(&IDS[..11]); // local writes refuse the empty id
    let _ = match rng.below(11) {
        0 => r.insert(collection, id, fields(record(rng))),
        1 => {
            let batch = (0..1 + rng.below(3))
                .map(|i| (format!("{id}-{i}"), fields(record(rng))))
                .collect();
            r.insert_many(collection, batch)
        }
        2 | 3 => {
            // may change a field's type; unsets some
            let mut set = serde_json::Map::new();
            set.insert(rng.pick(&["a", "b", "c", "d"]).to_string(), value(rng));
            let unset: Vec<String> = (0..rng.below(2))
                .map(|_| rng.pick(&["a", "b", "c", "d"]).to_string())
                .collect();
            r.update(collection, id, fields(Value::Object(set)), &unset)
                .map(|_| ())
        }
        4 => r.replace(collection, id, fields(record(rng))).map(|_| ()),
        5 => r.upsert(collection, id, fields(record(rng))).map(|_| ()),
        6 => r.delete(collection, id).map(|_| ()),
        7 => {
            // a remote writer that knows our state changes a record and sends it back
            sync(r, peer);
            match rng.below(3) {
                0 => peer.upsert(collection, id, fields(record(rng))).map(|_| ()),
                1 => peer.delete(collection, id).map(|_| ()),
                _ => peer
                    .update(collection, id, fields(json!({"b": value(rng)})), &[])
                    .map(|_| ()),
            }
            .ok();
            sync(peer, r);
            Ok(())
        }
        8 => {
            write_as_plain_yjs(r, collection, rng);
            Ok(())
        }
        9 => {
            // draining the change log must not drain what indexes still need
            if rng.chance(50) {
                r.take_changes();
            } else {
                r.forget_changes();
            }
            Ok(())
        }
        _ => {
            if r.in_batch() {
                r.end_batch(yreplica::replica::Values::Omit);
            } else {
                r.begin_batch();
            }
            Ok(())
        }
    };
}

/// Runs random writes on an indexed replica; after each, random queries must give what the
/// same queries give on an index-free copy of the document (a scan).
fn check_against_scan(seed: u64, steps: usize) -> (usize, usize) {
    let mut rng = Rng(seed);
    let mut r = Replica::with_client_id(1);
    let mut peer = Replica::with_client_id(2);
    r.add_indexes("todos", &["a".into(), "b".into()]).unwrap();
    let (mut indexed_plans, mut queries) = (0, 0);
    for step in 0..steps {
        random_write(&mut r, &mut peer, &mut rng);
        if step == steps / 3 {
            // indexes added later, to a collection that already holds records
            r.add_indexes("todos", &["c".into(), "a".into()]).unwrap();
            r.add_indexes("notes", &["b".into(), "d".into()]).unwrap();
        }
        let mut scan = Replica::with_client_id(3);
        sync(&r, &mut scan);
        for _ in 0..4 {
            let q = query(&mut rng);
            let collection = rng.pick(&COLLECTIONS);
            let parsed = parse_query(&q);
            let found = r.search(collection, &parsed).unwrap();
            let expected = scan.find(collection, &parsed).unwrap();
            assert_eq!(
                found.ids, expected,
                "seed {seed}, step {step}, {collection}: {q} (plan {:?})",
                found.explained
            );
            let filter = Filter::from_json(&q["where"].to_string()).unwrap();
            assert_eq!(
                r.count(collection, &filter).unwrap(),
                scan.count(collection, &filter).unwrap(),
                "seed {seed}, step {step}, {collection}: count {}",
                q["where"]
            );
            queries += 1;
            if matches!(found.explained.index.as_deref(), Some(f) if f != "id") {
                indexed_plans += 1;
            }
        }
    }
    (indexed_plans, queries)
}

#[test]
fn indexed_queries_equal_a_scan_after_random_operations() {
    let mut indexed = 0;
    let mut total = 0;
    for seed in 1..=12 {
        let (i, t) = check_against_scan(seed, 400);
        indexed += i;
        total += t;
    }
    // the queries must exercise the indexes, not only scans
    assert!(indexed * 4 > total, "{indexed} of {total} used an index");
}

// ---- plans ---------------------------------------------------------------------------------

fn tasks() -> Replica {
    let mut r = Replica::with_client_id(1);
    let records: Vec<(String, _)> = (0..100)
        .map(|i| {
            let mut fields = json!({"owner": format!("u{}", i % 10), "prio": i % 5, "n": i});
            if i % 20 == 0 {
                fields["prio"] = json!("high"); // another type in the same field
            }
            if i % 25 == 0 {
                fields.as_object_mut().unwrap().remove("owner");
            }
            (format!("t{i:03}"), common::fields(fields))
        })
        .collect();
    r.insert_many("tasks", records).unwrap();
    r.add_indexes("tasks", &["owner".into(), "prio".into(), "n".into()])
        .unwrap();
    r
}

fn explain(r: &mut Replica, q: Value) -> (Option<String>, usize) {
    let Explained { index, scanned } = r.explain("tasks", &parse_query(&q)).unwrap();
    (index, scanned)
}

#[test]
fn explain_names_the_index_a_query_uses() {
    let mut r = tasks();
    let some = |field: &str| Some(field.to_string());
    // equality: only that owner's records
    assert_eq!(
        explain(&mut r, json!({"where": {"owner": "u3"}})),
        (some("owner"), 10)
    );
    // $in: both owners' records
    assert_eq!(
        explain(
            &mut r,
            json!({"where": {"owner": {"$in": ["u1", "u2", "u1"]}}})
        ),
        (some("owner"), 20)
    );
    // equality wins over a range, whatever the order of declaration
    assert_eq!(
        explain(&mut r, json!({"where": {"n": {"$gte": 50}, "prio": 1}})).0,
        some("prio")
    );
    // a range: numbers only, the string "high" is another type
    assert_eq!(
        explain(&mut r, json!({"where": {"prio": {"$gte": 3}}})),
        (some("prio"), 40)
    );
    assert_eq!(
        explain(&mut r, json!({"where": {"prio": {"$gte": "a"}}})),
        (some("prio"), 5)
    );
    assert_eq!(
        explain(&mut r, json!({"where": {"n": {"$gt": 10, "$lte": 20}}})),
        (some("n"), 10)
    );
    // orderBy on an indexed field with a limit walks the index and stops
    assert_eq!(
        explain(&mut r, json!({"orderBy": "-n", "limit": 5})),
        (some("n"), 5)
    );
    assert_eq!(
        explain(&mut r, json!({"orderBy": "n", "limit": 5, "offset": 3})),
        (some("n"), 8)
    );
    // equality with a limit and no orderBy: records of one key arrive by id
    assert_eq!(
        explain(&mut r, json!({"where": {"owner": "u3"}, "limit": 2})),
        (some("owner"), 2)
    );
    // $in with a limit and no orderBy: the owners' records merged by id
    assert_eq!(
        explain(
            &mut r,
            json!({"where": {"owner": {"$in": ["u2", "u1"]}}, "limit": 3})
        ),
        (some("owner"), 3)
    );
    // a range walked in the order asked for stops early too
    assert_eq!(
        explain(
            &mut r,
            json!({"where": {"n": {"$lt": 50}}, "orderBy": "-n", "limit": 3})
        ),
        (some("n"), 3)
    );
    // an equality and an orderBy on another index, with a limit: both plans run side by
    // side, one record each in turn, and the first to have all it needs gives the result
    // (10 records of u3 against a walk down n that needs two of them: u3 ends first)
    assert_eq!(
        explain(
            &mut r,
            json!({"where": {"owner": "u3"}, "orderBy": "-n", "limit": 2})
        ),
        (some("owner"), 20)
    );
    // (95 numbers against a walk down n whose first three records match: the walk ends first)
    assert_eq!(
        explain(
            &mut r,
            json!({"where": {"prio": {"$gte": 0}}, "orderBy": "-n", "limit": 3})
        ),
        (some("n"), 7)
    );
    // by id: records are keyed by it
    assert_eq!(
        explain(
            &mut r,
            json!({"where": {"id": {"$in": ["t001", "t002", "nope"]}}})
        ),
        (some("id"), 2)
    );
    // nothing an index serves: every record
    for q in [
        json!({}),
        json!({"where": {"title": "x"}}),
        json!({"where": {"owner": {"$ne": "u1"}}}),
        json!({"where": {"owner": {"$exists": false}}}),
        json!({"orderBy": "n"}),
        json!({"orderBy": "title", "limit": 3}),
    ] {
        assert_eq!(explain(&mut r, q.clone()), (None, 100), "{q}");
    }
}

#[test]
fn plans_give_the_results_a_scan_gives() {
    let mut r = tasks();
    let mut scan = Replica::with_client_id(9);
    sync(&r, &mut scan);
    for q in [
        json!({"where": {"owner": "u3"}, "orderBy": ["-prio", "n"], "limit": 4}),
        json!({"where": {"prio": {"$in": [1, 1.0, "high", 7]}}, "orderBy": "-prio"}),
        json!({"where": {"prio": {"$gt": 1, "$lt": "z"}}}),
        json!({"where": {"prio": {"$gt": 5, "$lt": 2}}}),
        json!({"where": {"n": {"$gte": 90}}, "orderBy": "-n", "limit": 3, "offset": 2}),
        json!({"orderBy": ["prio", "-n"], "limit": 7}),
        json!({"orderBy": "-prio", "limit": 25}),
        json!({"where": {"owner": {"$in": []}}}),
        json!({"where": {"owner": "u1"}, "limit": 0}),
        json!({"where": {"owner": {"$in": ["u2", "u1", "u9"]}}, "limit": 4, "offset": 3}),
        json!({"where": {"prio": {"$in": [1, "high"]}}, "limit": 6}),
        // races: the equality gathers its records while the walk down n runs; it wins
        // (all of u3's 10 are needed), or the walk does
        json!({"where": {"owner": "u3"}, "orderBy": "-n", "limit": 2}),
        json!({"where": {"owner": "u3"}, "orderBy": "n", "limit": 12}),
        json!({"where": {"prio": 1}, "orderBy": ["-n"], "limit": 3, "offset": 1}),
        json!({"where": {"prio": {"$gte": 0}}, "orderBy": "-n", "limit": 3}),
        json!({"where": {"owner": {"$in": ["u1", "u4"]}, "prio": 4}, "orderBy": ["n"], "limit": 3}),
    ] {
        let query = parse_query(&q);
        assert_eq!(
            r.find("tasks", &query).unwrap(),
            scan.find("tasks", &query).unwrap(),
            "{q}"
        );
    }
}

#[test]
fn an_index_follows_each_kind_of_change_at_once() {
    let mut r = tasks();
    let owner = |r: &mut Replica, o: &str| -> Vec<String> {
        r.find("tasks", &parse_query(&json!({"where": {"owner": o}})))
            .unwrap()
    };
    r.update("tasks", "t003", fields(json!({"owner": "new"})), &[])
        .unwrap();
    assert_eq!(owner(&mut r, "new"), ["t003"]);
    r.begin_batch();
    r.upsert("tasks", "x", fields(json!({"owner": "new"})))
        .unwrap();
    assert_eq!(owner(&mut r, "new"), ["t003", "x"]);
    r.delete("tasks", "t003").unwrap();
    r.end_batch(yreplica::replica::Values::Omit);
    assert_eq!(owner(&mut r, "new"), ["x"]);
    // a remote change
    let mut peer = Replica::with_client_id(2);
    sync(&r, &mut peer);
    peer.update("tasks", "x", fields(json!({"owner": "u3"})), &[])
        .unwrap();
    sync(&peer, &mut r);
    assert!(owner(&mut r, "new").is_empty());
    assert_eq!(owner(&mut r, "u3").len(), 10); // t003 left, x came
}

#[test]
fn indexes_drop_the_records_of_a_delete_many() {
    let mut r = tasks();
    let owner = |r: &mut Replica, o: &str| -> Vec<String> {
        r.find("tasks", &parse_query(&json!({"where": {"owner": o}})))
            .unwrap()
    };
    assert_eq!(owner(&mut r, "u3").len(), 10);
    let ids: Vec<String> = (0..100)
        .filter(|i| i % 10 == 3 || i % 2 == 0)
        .map(|i| format!("t{i:03}"))
        .collect();
    let deleted = r.delete_many("tasks", &ids).unwrap();
    assert!(deleted.iter().all(|d| *d));
    assert!(owner(&mut r, "u3").is_empty());
    assert!(owner(&mut r, "u2").is_empty());
    assert_eq!(owner(&mut r, "u1").len(), 10);
    let found = |r: &mut Replica, q: Value| r.find("tasks", &parse_query(&q)).unwrap();
    assert_eq!(found(&mut r, json!({})).len(), 40);
    assert_eq!(
        found(&mut r, json!({"where": {"n": {"$lt": 10}}})),
        ["t001", "t005", "t007", "t009"]
    );
}

#[test]
fn declaring_indexes_again_adds_the_new_ones() {
    let mut r = tasks();
    r.add_indexes("tasks", &["owner".into(), "title".into()])
        .unwrap();
    assert_eq!(r.indexed_fields("tasks"), ["owner", "prio", "n", "title"]);
    // declaring none changes nothing
    r.add_indexes("tasks", &[]).unwrap();
    assert_eq!(r.indexed_fields("tasks").len(), 4);
}

#[test]
fn an_index_on_id_or_on_no_name_is_refused() {
    let mut r = tasks();
    for bad in ["id", ""] {
        let error = r.add_indexes("tasks", &[bad.to_string()]).unwrap_err();
        assert_eq!(error.code(), "INVALID_OPTION", "{error}");
    }
    assert_eq!(r.indexed_fields("tasks"), ["owner", "prio", "n"]);
}

#[test]
fn an_index_declared_before_records_arrive_takes_them_in() {
    let mut r = Replica::with_client_id(1);
    r.add_indexes("late", &["k".into()]).unwrap();
    let mut peer = Replica::with_client_id(2);
    peer.insert("late", "a", fields(json!({"k": 1}))).unwrap();
    peer.insert("other", "b", fields(json!({"k": 1}))).unwrap();
    sync(&peer, &mut r);
    let q = parse_query(&json!({"where": {"k": 1}}));
    assert_eq!(r.find("late", &q).unwrap(), ["a"]);
    // a collection adopted from the update, indexed afterwards
    r.add_indexes("other", &["k".into()]).unwrap();
    let found = r.search("other", &q).unwrap();
    assert_eq!(found.ids, ["b"]);
    assert_eq!(found.explained.index.as_deref(), Some("k"));
}

#[test]
fn binary_values_order_as_arrays_of_bytes() {
    let bytes = |b: &[u8]| Any::Buffer(b.into());
    let array = |items: &[f64]| Any::Array(items.iter().map(|n| Any::from(*n)).collect());
    use std::cmp::Ordering::*;
    // [1] < bytes [1, 5] < [2]: a total order, as sorting and indexes need
    assert_eq!(compare(Some(&array(&[1.0])), Some(&bytes(&[1, 5]))), Less);
    assert_eq!(compare(Some(&bytes(&[1, 5])), Some(&array(&[2.0]))), Less);
    assert_eq!(compare(Some(&array(&[1.0])), Some(&array(&[2.0]))), Less);
    assert_eq!(compare(Some(&bytes(&[1])), Some(&array(&[1.0]))), Equal);
}
