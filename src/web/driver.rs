//! Drives the sans-IO [`SyncEngine`]: executes its outputs on real WebSockets, feeds socket
//! events and one timer back in with `Date.now()`, and queues what the JS facade must hear.
//!
//! Every closure handed to JS is owned by the socket (or the driver) it serves and dropped
//! with it; a replaced socket's handlers are detached first, so its late events never reach
//! the engine. JS is never called while the shared state is borrowed: socket and timer
//! events end by calling the facade's `wake` callback, which then drains the queued events.
//!
//! Under a flood of frames (Node's `ws` delivers all frames of a TCP read in one go) the work
//! is chunked: one run of the event loop handles frames for at most [`FRAME_BUDGET_MS`]; the
//! rest wait in an inbox for the next turn, so the app's timers and I/O are not starved.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::replica::{Replica, Values};
use crate::sync::{ConnId, Output, Status, SyncEngine};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// How long one turn of the event loop may spend on incoming frames before yielding.
const FRAME_BUDGET_MS: u64 = 8;

/// A socket event waiting in the inbox, in arrival order.
enum Inbound {
    Frame(ConnId, Vec<u8>),
    Text(ConnId),
    Closed(ConnId),
}

/// What the wasm object and the socket/timer callbacks share.
pub struct Shared {
    pub core: Replica,
    pub sync: Option<Driver>,
    /// Local updates for the other tabs (BroadcastChannel), when the facade asked for them.
    pub broadcast: Option<Vec<Vec<u8>>>,
    /// Whether remote change sets carry the records' values: only when the app listens to
    /// changes (otherwise the facade fetches a value when it is first read).
    pub change_values: Values,
}

pub type SharedRef = Rc<RefCell<Shared>>;

pub struct Driver {
    pub engine: SyncEngine,
    sockets: HashMap<ConnId, Socket>,
    timer: Option<JsValue>,
    timer_callback: Option<Closure<dyn FnMut()>>,
    websocket: Function,
    wake: Function,
    /// JSON events for the facade, drained by `WasmReplica::drain`.
    pub events: Vec<String>,
    /// Frames (and closes behind them) left for a later turn of the event loop.
    inbox: VecDeque<Inbound>,
    /// When this turn began handling frames; cleared by the `turn` timer.
    turn_started: Option<u64>,
    turn: Option<JsValue>,
    turn_callback: Option<Closure<dyn FnMut()>>,
}

/// A WebSocket and the handlers it owns.
struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Detach first: a replaced socket must never touch the replica again (y-websocket#204).
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // onerror keeps the facade's `wake` (a JS function, not a Rust closure): Node's `ws`
        // throws on an 'error' event without a listener, e.g. when closed while connecting.
        let _ = self.ws.close();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The timer's closure dies with the driver: the timer must not fire after it.
        if let Some(handle) = self.timer.take() {
            clear_timeout(&handle);
        }
        if let Some(handle) = self.turn.take() {
            clear_timeout(&handle);
        }
    }
}

pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

impl Driver {
    pub fn new(engine: SyncEngine, websocket: Function, wake: Function) -> Driver {
        Driver {
            engine,
            sockets: HashMap::new(),
            timer: None,
            timer_callback: None,
            websocket,
            wake,
            events: Vec::new(),
            inbox: VecDeque::new(),
            turn_started: None,
            turn: None,
            turn_callback: None,
        }
    }

    /// Stops syncing: closes every socket and the timer.
    pub fn shutdown(&mut self) {
        self.engine.stop();
        while self.engine.poll_output().is_some() {}
        self.sockets.clear();
        self.inbox.clear();
        for handle in [self.timer.take(), self.turn.take()].into_iter().flatten() {
            clear_timeout(&handle);
        }
        self.timer_callback = None;
        self.turn_callback = None;
    }
}

/// Runs `input` against the shared state, executes what the engine asks for, and, when called
/// from a JS event (not from a facade call), wakes the facade if there is news.
pub fn pump(shared: &SharedRef, from_event: bool, input: impl FnOnce(&mut Shared, u64)) {
    let wake = {
        let Ok(mut guard) = shared.try_borrow_mut() else {
            return;
        };
        let now = now();
        input(&mut guard, now);
        execute(&mut guard, shared, now);
        guard
            .sync
            .as_ref()
            .filter(|d| from_event && !d.events.is_empty())
            .map(|d| d.wake.clone())
    };
    if let Some(wake) = wake {
        let _ = wake.call0(&JsValue::NULL);
    }
}

/// Executes the engine's outputs and re-arms the one timer at its next deadline.
pub fn execute(state: &mut Shared, shared: &SharedRef, now: u64) {
    let Shared {
        core,
        sync,
        change_values,
        ..
    } = state;
    let Some(driver) = sync.as_mut() else { return };
    let remote = core.take_changes_with(*change_values);
    if !remote.is_empty() {
        driver
            .events
            .push(format!("[\"changes\",{}]", remote.to_json()));
    }
    while let Some(output) = driver.engine.poll_output() {
        match output {
            Output::Connect { conn, url } => match open_socket(driver, shared, conn, &url) {
                Ok(socket) => {
                    driver.sockets.insert(conn, socket);
                }
                Err(message) => {
                    driver.events.push(event_error("CONNECT_FAILED", &message));
                    driver.engine.handle_closed(conn, now);
                }
            },
            Output::Send { conn, data } => {
                if let Some(socket) = driver.sockets.get(&conn) {
                    // A failed send means the socket is closing; its close event follows.
                    let _ = socket.ws.send_with_u8_array(&data);
                }
            }
            Output::Close { conn } => {
                driver.sockets.remove(&conn);
            }
            Output::Status(status) => driver
                .events
                .push(format!("[\"status\",{}]", status_json(&status))),
            Output::Failover {
                from,
                to,
                reason,
                at,
            } => driver.events.push(format!(
                "[\"failover\",{{\"from\":{},\"to\":{},\"reason\":\"{}\",\"at\":{at}}}]",
                json_str(&from),
                json_str(&to),
                reason.as_str()
            )),
            Output::Error { code, message } => driver.events.push(event_error(code, &message)),
            Output::FlushResolved { id } => driver.events.push(format!("[\"flush\",{id},true]")),
            Output::FlushTimedOut { id } => driver.events.push(format!("[\"flush\",{id},false]")),
            Output::FlushRejected { id } => {
                driver.events.push(format!("[\"flush\",{id},\"rejected\"]"))
            }
            Output::Presence => driver
                .events
                .push(format!("[\"presence\",{}]", driver.engine.presence_json())),
        }
    }
    arm_timer(driver, shared, now);
}

fn arm_timer(driver: &mut Driver, shared: &SharedRef, now: u64) {
    if let Some(handle) = driver.timer.take() {
        clear_timeout(&handle);
    }
    let Some(deadline) = driver.engine.poll_timeout() else {
        return;
    };
    let callback = driver.timer_callback.get_or_insert_with(|| {
        let weak = Rc::downgrade(shared);
        Closure::new(move || {
            if let Some(shared) = weak.upgrade() {
                pump(&shared, true, |s, now| {
                    if let Some(driver) = s.sync.as_mut() {
                        driver.timer = None;
                        driver.engine.handle_timeout(now, &s.core);
                    }
                });
            }
        })
    });
    let delay = deadline.saturating_sub(now) as f64;
    driver.timer = Some(set_timeout(callback.as_ref().unchecked_ref(), delay));
}

fn open_socket(
    driver: &Driver,
    shared: &SharedRef,
    conn: ConnId,
    url: &str,
) -> Result<Socket, String> {
    let args = Array::of1(&JsValue::from_str(url));
    let ws: WebSocket = Reflect::construct(&driver.websocket, &args)
        .map_err(|e| {
            // The URL's query holds `params` (tokens): never show it.
            let shown = without_query(url);
            let reason = describe(&e).replace(url, &shown);
            format!("cannot open {shown}: {reason}")
        })?
        .unchecked_into();
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = handler(shared, move |s, now| {
        if let Some(d) = s.sync.as_mut() {
            d.engine.handle_open(conn, now, &s.core)
        }
    });
    let weak = Rc::downgrade(shared);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(shared) = weak.upgrade() else { return };
        let data = event.data();
        let view = if data.is_instance_of::<js_sys::ArrayBuffer>() {
            Uint8Array::new(&data)
        } else if data.is_instance_of::<Uint8Array>() {
            data.unchecked_into::<Uint8Array>()
        } else {
            // text frames are not part of the protocol
            if let Some(event) = queue_or_return(&shared, Inbound::Text(conn)) {
                handle_inbound(&shared, event);
            }
            return;
        };
        // Checked before the copy: Wasm memory grows for good, so an oversized frame must
        // never be brought in.
        let len = view.length() as usize;
        let too_large = shared
            .try_borrow()
            .ok()
            .and_then(|s| s.sync.as_ref().map(|d| len > d.engine.max_frame_bytes()))
            .unwrap_or(false);
        if too_large {
            pump(&shared, true, |s, now| {
                if let Some(d) = s.sync.as_mut() {
                    d.engine.handle_oversized_frame(conn, len, now)
                }
            });
            return;
        }
        if let Some(event) = queue_or_return(&shared, Inbound::Frame(conn, view.to_vec())) {
            handle_inbound(&shared, event);
        }
    });
    let weak = Rc::downgrade(shared);
    let on_close = Closure::<dyn FnMut()>::new(move || {
        let Some(shared) = weak.upgrade() else { return };
        if let Some(event) = queue_or_return(&shared, Inbound::Closed(conn)) {
            handle_inbound(&shared, event);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // An error is always followed by a close; the close handler does the work.
    ws.set_onerror(Some(&driver.wake));
    Ok(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    })
}

fn handle_inbound(shared: &SharedRef, event: Inbound) {
    pump(shared, true, |s, now| {
        if let Some(d) = s.sync.as_mut() {
            match event {
                Inbound::Frame(conn, bytes) => {
                    d.engine.handle_frame(conn, &bytes, now, &mut s.core)
                }
                Inbound::Text(conn) => d.engine.handle_text_frame(conn, now),
                Inbound::Closed(conn) => d.engine.handle_closed(conn, now),
            }
        }
    });
}

/// Puts `event` in the inbox when this turn has used its budget (or earlier events wait
/// there: order is kept); otherwise hands it back to be handled now.
fn queue_or_return(shared: &SharedRef, event: Inbound) -> Option<Inbound> {
    let Ok(mut guard) = shared.try_borrow_mut() else {
        return Some(event);
    };
    let Some(d) = guard.sync.as_mut() else {
        return Some(event);
    };
    let now = now();
    let started = *d.turn_started.get_or_insert(now);
    if d.inbox.is_empty() && now.saturating_sub(started) < FRAME_BUDGET_MS {
        ensure_turn_timer(d, shared);
        return Some(event);
    }
    if let Inbound::Frame(conn, _) = &event {
        // the server is alive even if its frame waits: no heartbeat miss for a backlog
        d.engine.handle_activity(*conn, now);
    }
    d.inbox.push_back(event);
    ensure_turn_timer(d, shared);
    None
}

/// Arms the zero-delay timer that marks the next turn of the event loop (and continues the
/// inbox there).
fn ensure_turn_timer(d: &mut Driver, shared: &SharedRef) {
    if d.turn.is_some() {
        return;
    }
    let callback = d.turn_callback.get_or_insert_with(|| {
        let weak = Rc::downgrade(shared);
        Closure::new(move || {
            if let Some(shared) = weak.upgrade() {
                next_turn(&shared);
            }
        })
    });
    d.turn = Some(set_timeout(callback.as_ref().unchecked_ref(), 0.0));
}

/// A new turn: handles queued events for up to the budget, then yields again if any remain.
fn next_turn(shared: &SharedRef) {
    let started = now();
    match shared.try_borrow_mut() {
        Ok(mut guard) => {
            let Some(d) = guard.sync.as_mut() else { return };
            d.turn = None;
            d.turn_started = Some(started);
        }
        Err(_) => return,
    }
    loop {
        let event = {
            let Ok(mut guard) = shared.try_borrow_mut() else {
                return;
            };
            let Some(d) = guard.sync.as_mut() else { return };
            if now().saturating_sub(started) >= FRAME_BUDGET_MS {
                if !d.inbox.is_empty() {
                    ensure_turn_timer(d, shared);
                }
                return;
            }
            match d.inbox.pop_front() {
                Some(event) => event,
                None => {
                    // the turn is over: the next frame starts a fresh budget
                    d.turn_started = None;
                    return;
                }
            }
        };
        handle_inbound(shared, event);
    }
}

fn handler(shared: &SharedRef, input: impl Fn(&mut Shared, u64) + 'static) -> Closure<dyn FnMut()> {
    let weak: Weak<RefCell<Shared>> = Rc::downgrade(shared);
    Closure::new(move || {
        if let Some(shared) = weak.upgrade() {
            pump(&shared, true, &input);
        }
    })
}

fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// `url` with its query (the `params`, which may hold secrets) cut off.
fn without_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn event_error(code: &str, message: &str) -> String {
    format!(
        "[\"error\",{{\"code\":\"{code}\",\"message\":{}}}]",
        json_str(message)
    )
}

pub fn status_json(status: &Status) -> String {
    format!(
        "{{\"connection\":\"{}\",\"endpoint\":{},\"pending\":{}}}",
        status.connection.as_str(),
        status
            .endpoint
            .as_deref()
            .map_or("null".to_string(), json_str),
        status.pending
    )
}
