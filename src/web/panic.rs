//! Rust panics as readable errors. The release build aborts on panic, which JS sees as a bare
//! `RuntimeError: unreachable`; the hook first logs the panic's message and keeps it, so the
//! facade can reject with an `INTERNAL` error that says what went wrong and where.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

#[wasm_bindgen(start)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("yreplica: internal error (a Rust panic): {info}");
        console_error(&message);
        // The first panic not yet taken is kept: it is the cause, and a later one (a call into
        // a module left in a broken state) would hide it.
        LAST_PANIC.with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                last.get_or_insert(message);
            }
        });
    }));
}

/// The message of the first panic since the last call, once (None if there was none).
#[wasm_bindgen(js_name = takePanicMessage)]
pub fn take_panic_message() -> Option<String> {
    LAST_PANIC.with(|last| last.try_borrow_mut().ok().and_then(|mut last| last.take()))
}
