//! IndexedDB storage with the y-indexeddb layout: a database named after the replica with the
//! object stores `updates` (auto-increment keys, Yjs v1 update bytes) and `custom`.
//!
//! The database is opened by `js/idb-open.js`. Each call is one IndexedDB transaction whose
//! requests are all issued synchronously (nothing but IndexedDB requests is awaited inside it);
//! a write resolves when its transaction has completed. Requests and transactions settle JS promises whose resolve/reject functions are
//! the event handlers themselves, so no Rust closure outlives a call.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{IdbDatabase, IdbTransaction};

const UPDATES: &str = "updates";

#[wasm_bindgen]
extern "C" {
    /// IDBDatabase, bound here for `transaction(store, mode, { durability })`, which web-sys
    /// has only behind its unstable-APIs flag. Browsers without the option ignore it.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type RawDatabase;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &RawDatabase,
        store: &str,
        mode: &str,
        options: &js_sys::Object,
    ) -> Result<IdbTransaction, JsValue>;
}

fn error(message: &str, code: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

/// An IndexedDB failure as an Error with a code ('QUOTA_EXCEEDED' for QuotaExceededError).
fn storage_error(what: &str, cause: &JsValue) -> JsValue {
    let dom = cause
        .dyn_ref::<web_sys::DomException>()
        .cloned()
        .or_else(|| {
            // error events carry the failing request or transaction as target
            let target = Reflect::get(cause, &"target".into()).ok()?;
            let error = Reflect::get(&target, &"error".into()).ok()?;
            error.dyn_into::<web_sys::DomException>().ok()
        });
    match dom {
        Some(dom) if dom.name() == "QuotaExceededError" => error(
            &format!(
                "IndexedDB {what}: the storage quota is exceeded ({})",
                dom.message()
            ),
            "QUOTA_EXCEEDED",
        ),
        Some(dom) => error(
            &format!("IndexedDB {what} failed: {}: {}", dom.name(), dom.message()),
            "STORAGE_FAILED",
        ),
        None => error(&format!("IndexedDB {what} failed"), "STORAGE_FAILED"),
    }
}

/// Resolves when the transaction completes, rejects when it fails or aborts.
async fn completed(tx: &IdbTransaction, what: &str) -> Result<(), JsValue> {
    let done = Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    });
    JsFuture::from(done).await.map(|_| ()).map_err(|e| {
        let cause = tx.error().map(JsValue::from).unwrap_or(e);
        storage_error(what, &cause)
    })
}

/// A readwrite transaction on `updates` that completes only once the data is on disk: a write
/// whose promise resolved must survive a power cut (Chromium's default durability is relaxed).
fn durable_write(db: &IdbDatabase) -> Result<IdbTransaction, JsValue> {
    let options = js_sys::Object::new();
    Reflect::set(&options, &"durability".into(), &"strict".into())?;
    db.unchecked_ref::<RawDatabase>()
        .transaction_with_options(UPDATES, "readwrite", &options)
}

#[wasm_bindgen]
pub struct IdbStore {
    db: IdbDatabase,
    name: String,
    /// Keys of the entries this replica has loaded or written. Compaction deletes only these:
    /// entries another tab appended meanwhile (and may not have broadcast yet) stay.
    keys: Rc<RefCell<Vec<JsValue>>>,
    /// Closes the database when another tab upgrades it, instead of blocking that tab.
    _on_version_change: Closure<dyn FnMut()>,
}

#[wasm_bindgen]
impl IdbStore {
    /// Wraps a database opened by `js/idb-open.js` (which creates the stores and handles a
    /// blocked, slow or late open).
    #[wasm_bindgen(constructor)]
    pub fn new(db: IdbDatabase, name: String) -> IdbStore {
        let on_version_change = Closure::<dyn FnMut()>::new({
            let db = db.clone();
            move || db.close()
        });
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        IdbStore {
            db,
            name,
            keys: Rc::default(),
            _on_version_change: on_version_change,
        }
    }

    /// Every stored update, in key order.
    pub fn load(&self) -> Promise {
        let db = self.db.clone();
        let keys = self.keys.clone();
        future_to_promise(async move {
            let tx = db.transaction_with_str(UPDATES)?;
            let store = tx.object_store(UPDATES)?;
            let request = store.get_all()?;
            let key_request = store.get_all_keys()?;
            completed(&tx, "load").await?;
            let loaded: Array = key_request.result()?.unchecked_into();
            keys.borrow_mut().extend(loaded.iter());
            let values: Array = request.result()?.unchecked_into();
            let updates = Array::new();
            for value in values.iter() {
                if value.is_instance_of::<Uint8Array>() {
                    updates.push(&value);
                } else if value.is_instance_of::<js_sys::ArrayBuffer>() {
                    updates.push(&Uint8Array::new(&value));
                }
            }
            Ok(updates.into())
        })
    }

    /// Appends one update in one transaction.
    pub fn append(&self, update: Uint8Array) -> Promise {
        let db = self.db.clone();
        let keys = self.keys.clone();
        future_to_promise(async move {
            let tx = durable_write(&db)?;
            let request = tx.object_store(UPDATES)?.add(&update)?;
            completed(&tx, "write").await?;
            keys.borrow_mut().push(request.result()?);
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Replaces this replica's entries with one snapshot, atomically (one transaction).
    pub fn compact(&self, state: Uint8Array) -> Promise {
        let db = self.db.clone();
        let keys = self.keys.clone();
        future_to_promise(async move {
            let tx = durable_write(&db)?;
            let store = tx.object_store(UPDATES)?;
            let replaced: Vec<JsValue> = keys.borrow().clone();
            let request = store.add(&state)?;
            for key in &replaced {
                store.delete(key)?;
            }
            completed(&tx, "compaction").await?;
            *keys.borrow_mut() = vec![request.result()?];
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn close(&self) {
        self.db.set_onversionchange(None);
        self.db.close();
    }

    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }
}
