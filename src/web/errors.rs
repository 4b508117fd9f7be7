//! Core errors as JS `Error` / `TypeError` objects carrying a `code`.

use wasm_bindgen::JsValue;

use crate::config::ConfigError;
use crate::replica::ReplicaError;

pub type JsResult<T> = Result<T, JsValue>;

pub fn error_with_code(message: &str, code: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    set_code(&error, code);
    error.into()
}

pub fn type_error(message: &str) -> JsValue {
    let error = js_sys::TypeError::new(message);
    set_code(&error, "INVALID_VALUE");
    error.into()
}

fn set_code(error: &js_sys::Object, code: &str) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(error, &JsValue::from_str("code"), &JsValue::from_str(code));
}

pub fn replica_error(e: ReplicaError) -> JsValue {
    // Values that are not JSON are thrown as `TypeError`, as JS itself does.
    if matches!(e, ReplicaError::InvalidValue(_)) {
        type_error(&e.to_string())
    } else {
        error_with_code(&e.to_string(), e.code())
    }
}

pub fn config_error(e: ConfigError) -> JsValue {
    error_with_code(&format!("Replica.open: {e}"), "INVALID_OPTION")
}
