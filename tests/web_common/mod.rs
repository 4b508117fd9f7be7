//! Checks of the wasm-bindgen surface, shared by the Node and the browser runs.
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use yreplica::replica::ChangeKind;
use yreplica::web::{check_sync_options, sync_option_names, ChangeValues, WasmReplica};

/// What a single-record write returns: the name of its change kind, undefined for none.
fn kind(result: Result<JsValue, JsValue>) -> Option<String> {
    let value = result.expect("the write succeeds");
    assert!(value.is_undefined() || value.is_string(), "{value:?}");
    value.as_string()
}

const NONE: Option<String> = None;
fn insert() -> Option<String> {
    Some(ChangeKind::Insert.as_str().into())
}
fn update() -> Option<String> {
    Some(ChangeKind::Update.as_str().into())
}
fn delete() -> Option<String> {
    Some(ChangeKind::Delete.as_str().into())
}

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

/// A value of the contract (src/web/contract.rs) as JSON, to compare with `json!`.
fn object(value: &JsValue) -> serde_json::Value {
    let text = js_sys::JSON::stringify(value).expect("a plain JS value");
    json(&String::from(text))
}

#[wasm_bindgen_test]
fn delete_many_answers_a_byte_per_id() {
    let r = WasmReplica::new(None);
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
    let r = WasmReplica::new(None);
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
        kind(r.update("todos", "a", r#"{"done":true}"#, r#"["title"]"#)),
        update()
    );
    r.update("todos", "a", r#"{"done":true}"#, "").unwrap();
    assert_eq!(
        json(&r.get("todos", "a").unwrap().unwrap()),
        serde_json::json!({"id":"a","done":true})
    );
    r.replace("todos", "b", r#"{"title":"B"}"#).unwrap();
    assert_eq!(kind(r.upsert("todos", "d", r#"{"title":"d"}"#)), insert());
    assert_eq!(kind(r.upsert("todos", "d", r#"{"title":"D"}"#)), update());
    assert_eq!(
        kind(r.upsert("todos", "d", r#"{"title":"D"}"#)),
        NONE,
        "no change, no change kind"
    );
    assert_eq!(kind(r.delete("todos", "c")), delete());
    assert_eq!(kind(r.delete("todos", "c")), NONE);
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
    let r = WasmReplica::new(None);
    assert_eq!(kind(r.insert("todos", "a", r#"{"v":1}"#)), insert());
    assert_eq!(kind(r.update("todos", "a", r#"{"v":1}"#, "")), NONE);
    r.begin_batch();
    assert_eq!(kind(r.update("todos", "a", r#"{"v":2}"#, "")), update());
    assert_eq!(kind(r.insert("todos", "b", r#"{"v":1}"#)), insert());
    assert_eq!(kind(r.delete("todos", "a")), delete());
    // the batch's net changes, without values (the facade's cache holds them)
    assert_eq!(
        r.end_batch().as_deref().map(json),
        Some(serde_json::json!([
            ["todos", "delete", "a", null],
            ["todos", "insert", "b", null]
        ]))
    );
    assert!(r.end_batch().is_none(), "no batch is open");
    r.begin_batch();
    assert_eq!(r.end_batch().as_deref(), Some(""), "an empty batch");
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_codes() {
    let r = WasmReplica::new(None);
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
    let a = WasmReplica::new(None);
    a.insert("notes", "n", r#"{"text":"hi"}"#).unwrap();
    let b = WasmReplica::new(None);
    assert_eq!(
        json(&b.apply_update(&a.encode_state()).unwrap()),
        serde_json::json!([["notes", "insert", "n", {"id":"n","text":"hi"}]])
    );
    let diff = a.encode_diff(&b.state_vector()).unwrap();
    assert_eq!(b.apply_update(&diff).unwrap(), "");
    // without values while nobody listens: the facade reads them when asked
    a.update("notes", "n", r#"{"text":"ho"}"#, "").unwrap();
    b.set_change_values(ChangeValues::Omit);
    assert_eq!(
        json(&b.apply_update(&a.encode_state()).unwrap()),
        serde_json::json!([["notes", "update", "n", null]])
    );
}

#[wasm_bindgen_test]
fn status_and_endpoints_of_a_replica_that_does_not_sync() {
    let r = WasmReplica::new(None);
    assert_eq!(
        object(&r.sync_status()),
        serde_json::json!({"connection": "offline", "endpoint": null, "pending": 0, "servers": 0})
    );
    assert_eq!(object(&r.endpoints()), serde_json::json!([]));
    assert!(r.drain().is_undefined(), "no events");
}

#[wasm_bindgen_test]
fn sync_options_are_checked() {
    let normalized = object(
        &check_sync_options(r#"{"endpoints":["ws://127.0.0.1:1234"],"heartbeatIntervalMs":500}"#)
            .unwrap(),
    );
    assert_eq!(normalized["missedHeartbeats"], serde_json::json!(2));
    assert_eq!(normalized["heartbeatIntervalMs"], serde_json::json!(500));
    assert_eq!(
        normalized["token"],
        serde_json::Value::Null,
        "null, not absent"
    );
    assert_eq!(
        normalized["params"],
        serde_json::json!({}),
        "an object, not a Map"
    );
    let mut names: Vec<String> = normalized.as_object().unwrap().keys().cloned().collect();
    names.sort();
    let mut listed = sync_option_names();
    listed.sort();
    assert_eq!(
        listed, names,
        "syncOptionNames() lists every checked option"
    );
    let err = check_sync_options(r#"{"endpoints":["http://x"]}"#).unwrap_err();
    assert_eq!(code(&err), "INVALID_OPTION");
    assert!(message(&err).contains("http://x"));
    // an endpoint's query may hold a token: a refused one is shown without it
    let err = check_sync_options(r#"{"endpoints":["ws://x/?token=s3cret"]}"#).unwrap_err();
    assert_eq!(code(&err), "INVALID_OPTION");
    assert!(message(&err).contains("'ws://x/?…'"), "{}", message(&err));
    assert!(!message(&err).contains("s3cret"), "{}", message(&err));
}

#[wasm_bindgen_test]
fn indexes_are_declared_and_explained() {
    let r = WasmReplica::new(None);
    r.insert("todos", "a", r#"{"owner":"u1"}"#).unwrap();
    r.insert("todos", "b", r#"{"owner":"u2"}"#).unwrap();
    r.add_indexes("todos", vec!["owner".into()]).unwrap();
    let plan = object(&r.explain("todos", r#"{"where":{"owner":"u2"}}"#).unwrap());
    assert_eq!(plan, serde_json::json!({"index": "owner", "scanned": 1}));
    let plan = object(&r.explain("todos", r#"{"where":{"title":"x"}}"#).unwrap());
    assert_eq!(plan, serde_json::json!({"index": null, "scanned": 2}));
    let err = r.add_indexes("todos", vec!["id".into()]).unwrap_err();
    assert_eq!(code(&err), "INVALID_OPTION");
}
