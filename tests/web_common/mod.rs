//! Checks of the wasm-bindgen surface, shared by the Node and the browser runs.
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use yreplica::web::{check_sync_options, WasmReplica};

const NONE: u8 = 0;
const INSERT: u8 = 1;
const UPDATE: u8 = 2;
const DELETE: u8 = 3;

fn code(err: &JsValue) -> String {
    Reflect::get(err, &"code".into())
        .ok()
        .and_then(|c| c.as_string())
        .unwrap_or_default()
}

fn message(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON from the surface")
}

#[wasm_bindgen_test]
fn delete_many_answers_a_byte_per_id() {
    let mut r = WasmReplica::new(None);
    r.insert_many("todos", r#"["a","b","c"]"#, br#"[{},{"n":1},{}]"#)
        .unwrap();
    assert_eq!(
        r.delete_many("todos", r#"["a","x","c","a"]"#).unwrap(),
        [1, 0, 1, 0]
    );
    assert_eq!(
        json(&r.find("todos", "{}").unwrap()),
        serde_json::json!(["b"])
    );
    let refused = r.delete_many("todos", r#"["a",1]"#).unwrap_err();
    assert!(message(&refused).contains("ids must be a JSON array of strings"));
    assert_eq!(r.delete_many("todos", "[]").unwrap(), Vec::<u8>::new());
}

#[wasm_bindgen_test]
fn crud_round_trip() {
    let mut r = WasmReplica::new(None);
    r.insert("todos", "a", r#"{"title":"Buy milk","done":false}"#)
        .unwrap();
    r.insert_many(
        "todos",
        r#"["b","c"]"#,
        br#"[{"title":"b","prio":2},{"title":"c","prio":1}]"#,
    )
    .unwrap();
    assert_eq!(
        json(&r.get("todos", "c").unwrap().unwrap()),
        serde_json::json!({"id":"c","title":"c","prio":1})
    );
    assert_eq!(
        json(&r.get("todos", "a").unwrap().unwrap()),
        serde_json::json!({"id":"a","title":"Buy milk","done":false})
    );
    assert_eq!(
        r.update("todos", "a", r#"{"done":true}"#, r#"["title"]"#)
            .unwrap(),
        UPDATE
    );
    r.update("todos", "a", r#"{"done":true}"#, "").unwrap();
    assert_eq!(
        json(&r.get("todos", "a").unwrap().unwrap()),
        serde_json::json!({"id":"a","done":true})
    );
    r.replace("todos", "b", r#"{"title":"B"}"#).unwrap();
    assert_eq!(r.upsert("todos", "d", r#"{"title":"d"}"#).unwrap(), INSERT);
    assert_eq!(r.upsert("todos", "d", r#"{"title":"D"}"#).unwrap(), UPDATE);
    assert_eq!(
        r.upsert("todos", "d", r#"{"title":"D"}"#).unwrap(),
        NONE,
        "no change, no change code"
    );
    assert_eq!(r.delete("todos", "c").unwrap(), DELETE);
    assert_eq!(r.delete("todos", "c").unwrap(), NONE);
    assert_eq!(
        json(&r.find("todos", r#"{"orderBy":"-title"}"#).unwrap()),
        serde_json::json!(["d", "b", "a"])
    );
    assert_eq!(r.count("todos", r#"{"done":true}"#).unwrap(), 1);
    assert_eq!(r.collections(), vec!["todos".to_string()]);
    assert_eq!(
        json(&r.all("todos").unwrap()).as_array().map(Vec::len),
        Some(3)
    );
}

#[wasm_bindgen_test]
fn changes_come_back_from_every_mutation_and_once_per_batch() {
    let mut r = WasmReplica::new(None);
    assert_eq!(r.insert("todos", "a", r#"{"v":1}"#).unwrap(), INSERT);
    assert_eq!(r.update("todos", "a", r#"{"v":1}"#, "").unwrap(), NONE);
    r.begin_batch();
    assert_eq!(r.update("todos", "a", r#"{"v":2}"#, "").unwrap(), UPDATE);
    assert_eq!(r.delete("todos", "a").unwrap(), DELETE);
    assert_eq!(
        r.end_batch(true).as_deref().map(json),
        Some(serde_json::json!([["todos", "delete", "a", null]]))
    );
    assert!(r.end_batch(true).is_none());
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_codes() {
    let mut r = WasmReplica::new(None);
    let err = r.update("todos", "nope", "{}", "").unwrap_err();
    assert_eq!(code(&err), "NOT_FOUND");
    assert!(message(&err).contains("'nope'"), "{}", message(&err));
    let err = r.insert("todos", "x", "[1,2]").unwrap_err();
    assert!(err.is_instance_of::<js_sys::TypeError>());
    assert_eq!(code(&err), "INVALID_VALUE");
    r.insert("todos", "x", "{}").unwrap();
    assert_eq!(
        code(&r.insert("todos", "x", "{}").unwrap_err()),
        "ALREADY_EXISTS"
    );
    assert_eq!(
        code(
            &r.find("todos", r#"{"where":{"a":{"$bad":1}}}"#)
                .unwrap_err()
        ),
        "INVALID_QUERY"
    );
    assert_eq!(
        code(&r.apply_update(&[9, 9, 9]).unwrap_err()),
        "INVALID_UPDATE"
    );
    // still usable
    r.insert("todos", "y", "{}").unwrap();
    assert_eq!(r.count("todos", "{}").unwrap(), 2);
}

#[wasm_bindgen_test]
fn state_moves_between_replicas() {
    let mut a = WasmReplica::new(None);
    a.insert("notes", "n", r#"{"text":"hi"}"#).unwrap();
    let mut b = WasmReplica::new(None);
    assert_eq!(
        json(&b.apply_update(&a.encode_state()).unwrap()),
        serde_json::json!([["notes", "insert", "n", {"id":"n","text":"hi"}]])
    );
    let diff = a.encode_diff(&b.state_vector()).unwrap();
    assert_eq!(b.apply_update(&diff).unwrap(), "");
}

#[wasm_bindgen_test]
fn sync_options_are_checked() {
    let normalized =
        check_sync_options(r#"{"endpoints":["ws://127.0.0.1:1234"],"heartbeatIntervalMs":500}"#)
            .unwrap();
    assert_eq!(
        json(&normalized)["missedHeartbeats"],
        serde_json::json!(2.0)
    );
    let err = check_sync_options(r#"{"endpoints":["http://x"]}"#).unwrap_err();
    assert_eq!(code(&err), "INVALID_OPTION");
    assert!(message(&err).contains("http://x"));
}

#[wasm_bindgen_test]
fn indexes_are_declared_and_explained() {
    let mut r = WasmReplica::new(None);
    r.insert("todos", "a", r#"{"owner":"u1"}"#).unwrap();
    r.insert("todos", "b", r#"{"owner":"u2"}"#).unwrap();
    r.add_indexes("todos", vec!["owner".into()]).unwrap();
    let plan = json(&r.explain("todos", r#"{"where":{"owner":"u2"}}"#).unwrap());
    assert_eq!(plan, serde_json::json!({"index": "owner", "scanned": 1}));
    let plan = json(&r.explain("todos", r#"{"where":{"title":"x"}}"#).unwrap());
    assert_eq!(plan, serde_json::json!({"index": null, "scanned": 2}));
    let err = r.add_indexes("todos", vec!["id".into()]).unwrap_err();
    assert_eq!(code(&err), "INVALID_OPTION");
}
