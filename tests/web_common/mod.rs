//! Checks of the wasm-bindgen surface, shared by the Node and the browser runs.
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use yreplica::web::{check_sync_options, WasmReplica};

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
fn crud_round_trip() {
    let mut r = WasmReplica::new();
    r.insert("todos", "a", r#"{"title":"Buy milk","done":false}"#)
        .unwrap();
    r.insert_many(
        "todos",
        r#"["b","c"]"#,
        r#"[{"title":"b","prio":2},{"title":"c","prio":1}]"#,
    )
    .unwrap();
    assert_eq!(
        json(&r.get("todos", "a").unwrap().unwrap()),
        serde_json::json!({"id":"a","title":"Buy milk","done":false})
    );
    r.update("todos", "a", r#"{"done":true}"#, vec!["title".into()])
        .unwrap();
    assert_eq!(
        json(&r.get("todos", "a").unwrap().unwrap()),
        serde_json::json!({"id":"a","done":true})
    );
    r.replace("todos", "b", r#"{"title":"B"}"#).unwrap();
    assert!(!r.upsert("todos", "d", r#"{"title":"d"}"#).unwrap());
    assert!(r.upsert("todos", "d", r#"{"title":"D"}"#).unwrap());
    assert!(r.delete("todos", "c").unwrap());
    assert!(!r.delete("todos", "c").unwrap());
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
fn change_sets_arrive_after_each_write_and_once_per_batch() {
    let mut r = WasmReplica::new();
    r.insert("todos", "a", r#"{"v":1}"#).unwrap();
    assert_eq!(
        json(&r.take_changes(true)),
        serde_json::json!([["todos", "insert", "a", {"id":"a","v":1}]])
    );
    assert_eq!(r.take_changes(true), "");
    r.begin_batch();
    r.update("todos", "a", r#"{"v":2}"#, vec![]).unwrap();
    r.delete("todos", "a").unwrap();
    r.take_changes(true);
    let net = r
        .end_batch(true)
        .expect("outermost batch returns its changes");
    assert_eq!(
        json(&net),
        serde_json::json!([["todos", "delete", "a", null]])
    );
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_codes() {
    let mut r = WasmReplica::new();
    let err = r.update("todos", "nope", "{}", vec![]).unwrap_err();
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
    let mut a = WasmReplica::new();
    a.insert("notes", "n", r#"{"text":"hi"}"#).unwrap();
    let mut b = WasmReplica::new();
    b.apply_update(&a.encode_state()).unwrap();
    assert_eq!(
        json(&b.take_changes(true)),
        serde_json::json!([["notes", "insert", "n", {"id":"n","text":"hi"}]])
    );
    let diff = a.encode_diff(&b.state_vector()).unwrap();
    b.apply_update(&diff).unwrap();
    assert_eq!(b.take_changes(true), "");
}

#[wasm_bindgen_test]
fn sync_options_are_checked() {
    let ok =
        js_sys::JSON::parse(r#"{"endpoints":["ws://127.0.0.1:1234"],"heartbeatIntervalMs":500}"#)
            .unwrap();
    let normalized = check_sync_options(ok).unwrap();
    let missed = Reflect::get(&normalized, &"missedHeartbeats".into()).unwrap();
    assert_eq!(missed.as_f64(), Some(2.0));
    let bad = js_sys::JSON::parse(r#"{"endpoints":["http://x"]}"#).unwrap();
    let err = check_sync_options(bad).unwrap_err();
    assert_eq!(code(&err), "INVALID_OPTION");
    assert!(message(&err).contains("http://x"));
}
