//! Drives the sans-IO [`SyncEngine`]: executes its outputs on real WebSockets, feeds socket
//! events and one timer (`gloo-timers`) back in with a monotonic clock (`performance.now()`),
//! and queues what the JS facade must hear ([`SyncEvent`]s).
//!
//! Every closure handed to JS is owned by the socket (or the driver) it serves and dropped
//! with it; a replaced socket's handlers are detached first, so its late events never reach
//! the engine. JS is never called while the shared state is borrowed: socket and timer
//! events end by calling the facade's `wake` callback, which then drains the queued events.
//!
//! Under a flood of frames (Node's `ws` delivers all frames of a TCP read in one go) the work
//! is chunked: one run of the event loop handles frames for at most [`FRAME_BUDGET_MS`]; the
//! rest wait in an inbox for the next turn, so the app's timers and I/O are not starved.
//!
//! What a server sends enters Wasm memory (which never shrinks) only when it is taken in:
//! a frame's size and kind are checked first ([`SyncEngine::admit_frame`]), frames waiting in
//! the inbox stay JS objects, bounded per connection by `maxBacklogBytes`
//! ([`SyncEngine::handle_frame_queued`]), and a dropped connection's waiting frames go with it.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use super::contract::SyncEvent;
use crate::replica::{Replica, Values};
use crate::sync::{ConnId, Output, SyncEngine};

#[wasm_bindgen]
extern "C" {
    /// Monotonic milliseconds (browsers, workers and Node all have `performance`).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The longest delay `setTimeout` honours: a longer one fires at once.
const MAX_TIMEOUT_MS: u64 = 2_147_483_647;

/// How long one turn of the event loop may spend on incoming frames before yielding.
const FRAME_BUDGET_MS: u64 = 8;

/// A socket event waiting in the inbox, in arrival order. A frame stays in JS memory (the
/// WebSocket's own buffer) until it is taken in.
enum Inbound {
    Frame(ConnId, Uint8Array),
    Text(ConnId),
    Closed(ConnId),
}

impl Inbound {
    fn conn(&self) -> ConnId {
        match self {
            Inbound::Frame(conn, _) | Inbound::Text(conn) | Inbound::Closed(conn) => *conn,
        }
    }
}

/// Where an arriving event goes.
enum Arrival {
    /// Handle it now.
    Now(Inbound),
    /// It waits in the inbox.
    Queued,
    /// The engine refused it (and may have dropped the link): run its outputs.
    Refused,
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

/// Who runs the engine: a call from the facade (which drains the events itself when it
/// returns), or a socket or timer event (after which the facade is woken if there is news).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    Facade,
    JsEvent,
}

pub struct Driver {
    pub engine: SyncEngine,
    sockets: HashMap<ConnId, Socket>,
    /// The engine's timer and the deadline it is armed for; dropping it clears it.
    timer: Option<(u64, Timeout)>,
    websocket: Function,
    wake: Function,
    /// Events for the facade, drained by `WasmReplica::drain`.
    pub events: Vec<SyncEvent>,
    /// Frames (and closes behind them) left for a later turn of the event loop.
    inbox: VecDeque<Inbound>,
    /// The bytes of each connection's frames in the inbox.
    waiting: HashMap<ConnId, usize>,
    /// When this turn began handling frames; cleared by the `turn` timer.
    turn_started: Option<u64>,
    /// The zero-delay timer that marks the next turn.
    turn: Option<Timeout>,
}

/// A WebSocket and the handlers it owns.
struct Socket {
    ws: WebSocket,
    wake: Function,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Detach first: a replaced socket must never touch the replica again (y-websocket#204).
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // onerror gets the facade's `wake` (a JS function, not a Rust closure, so it outlives
        // this socket): Node's `ws` throws on an 'error' event without a listener, e.g. when
        // closed while connecting.
        self.ws.set_onerror(Some(&self.wake));
        let _ = self.ws.close();
    }
}

thread_local! {
    /// Wall-clock time when `performance.now()` was 0, read once: the engine's clock then
    /// never jumps (a wall clock set back would stall every deadline).
    static CLOCK_ORIGIN: f64 = js_sys::Date::now() - performance_now();
}

/// Milliseconds on a monotonic clock (starting near the wall-clock time, so that values look
/// like timestamps in logs).
pub fn now() -> u64 {
    CLOCK_ORIGIN.with(|origin| (origin + performance_now()).max(0.0) as u64)
}

impl Driver {
    pub fn new(engine: SyncEngine, websocket: Function, wake: Function) -> Driver {
        Driver {
            engine,
            sockets: HashMap::new(),
            timer: None,
            websocket,
            wake,
            events: Vec::new(),
            inbox: VecDeque::new(),
            waiting: HashMap::new(),
            turn_started: None,
            turn: None,
        }
    }

    /// Stops syncing: closes every socket and the timer.
    pub fn shutdown(&mut self) {
        self.engine.stop();
        while self.engine.poll_output().is_some() {}
        self.sockets.clear();
        self.inbox.clear();
        self.waiting.clear();
        // a dropped timer is cleared (the driver's are when it is dropped, too)
        self.timer = None;
        self.turn = None;
    }
}

/// Runs `input` against the shared state, executes what the engine asks for, and, when called
/// from a JS event (not from a facade call), wakes the facade if there is news.
pub fn pump(shared: &SharedRef, caller: Caller, input: impl FnOnce(&mut Shared, u64)) {
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
            .filter(|d| caller == Caller::JsEvent && !d.events.is_empty())
            .map(|d| d.wake.clone())
    };
    if let Some(wake) = wake {
        let _ = wake.call0(&JsValue::NULL);
    }
}

/// The room's directive as the engine takes it: its times are `Date.now()` milliseconds,
/// which the engine's clock (the wall-clock time read once plus `performance.now()`) follows.
pub fn engine_directive(d: &crate::replica::Directive) -> crate::sync::Directive {
    crate::sync::Directive {
        primary: d.primary.clone(),
        drain: d.drain.clone(),
        expires_at: d.expires_at.map(|at| at.max(0.0) as u64),
    }
}

/// Executes the engine's outputs and re-arms the one timer at its next deadline.
pub fn execute(state: &mut Shared, shared: &SharedRef, now: u64) {
    let Shared {
        core,
        sync,
        change_values,
        broadcast,
    } = state;
    let Some(driver) = sync.as_mut() else { return };
    // a tab that leads the others hands them what the servers sent
    if let Some(queue) = broadcast.as_mut() {
        queue.extend(core.take_server_updates());
    }
    let remote = core.take_changes_with(*change_values);
    if !remote.is_empty() {
        driver.events.push(SyncEvent::Changes {
            json: remote.to_json(),
        });
    }
    // a directive arrives like any change: from a server, another tab, an import or the app
    if let Some(directive) = core.directive_changed() {
        driver
            .engine
            .set_directive(directive.as_ref().map(engine_directive), now);
        driver.events.push(SyncEvent::directive(directive.as_ref()));
    }
    while let Some(output) = driver.engine.poll_output() {
        match output {
            Output::Connect { conn, url } => match open_socket(driver, shared, conn, &url) {
                Ok(socket) => {
                    driver.sockets.insert(conn, socket);
                }
                Err(message) => {
                    driver.events.push(SyncEvent::Error {
                        code: "CONNECT_FAILED",
                        message,
                    });
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
                // what this connection sent and is still waiting goes with it
                if driver.waiting.remove(&conn).is_some() {
                    driver.inbox.retain(|event| event.conn() != conn);
                }
            }
            Output::Presence => driver.events.push(SyncEvent::Presence {
                json: driver.engine.presence_json(),
            }),
            other => driver.events.extend(SyncEvent::from_output(other)),
        }
    }
    arm_timer(driver, shared, now);
}

/// Arms the engine's one timer at its next deadline; a timer already armed for that deadline
/// is kept (most writes leave the deadline as it was).
fn arm_timer(driver: &mut Driver, shared: &SharedRef, now: u64) {
    let deadline = driver.engine.poll_timeout();
    if driver.timer.as_ref().map(|(at, _)| *at) == deadline {
        return;
    }
    // the timer armed before (if any) is cleared as it is dropped
    driver.timer = deadline.map(|deadline| {
        let weak = Rc::downgrade(shared);
        let delay = deadline.saturating_sub(now).min(MAX_TIMEOUT_MS) as u32;
        let timeout = Timeout::new(delay, move || {
            if let Some(shared) = weak.upgrade() {
                pump(&shared, Caller::JsEvent, |s, now| {
                    if let Some(driver) = s.sync.as_mut() {
                        driver.timer = None;
                        driver.engine.handle_timeout(now, &s.core);
                    }
                });
            }
        });
        (deadline, timeout)
    });
}

fn open_socket(
    driver: &Driver,
    shared: &SharedRef,
    conn: ConnId,
    url: &str,
) -> Result<Socket, String> {
    // (url, protocols, options): browsers take the first two; Node's `ws` refuses a message
    // over `maxPayload` before reading it (its default, 100 MiB, would refuse a large
    // document's sync answer), so it gets the replica's own limit.
    let options = js_sys::Object::new();
    let max_payload = driver.engine.max_frame_bytes() as f64;
    Reflect::set(&options, &"maxPayload".into(), &max_payload.into())
        .map_err(|e| format!("cannot open {}: {}", without_query(url), describe(&e)))?;
    let args = Array::of3(&JsValue::from_str(url), &JsValue::UNDEFINED, &options);
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
            arrive(&shared, Inbound::Text(conn));
            return;
        };
        // Checked before anything is copied in: Wasm memory grows for good, so a frame over
        // its kind's limit must never be brought in.
        if admit(&shared, conn, &view) {
            arrive(&shared, Inbound::Frame(conn, view));
        }
    });
    let weak = Rc::downgrade(shared);
    let on_close = Closure::<dyn FnMut()>::new(move || {
        let Some(shared) = weak.upgrade() else { return };
        arrive(&shared, Inbound::Closed(conn));
    });
    // An error is followed by a close, whose handler does the work, except for a message the
    // WebSocket refused as too large (Node's `ws` over `maxPayload`), which is reported now:
    // `ws` may wait 30 s for the server to complete the close.
    let weak = Rc::downgrade(shared);
    let wake = driver.wake.clone();
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let refused_as_too_large = Reflect::get(&event, &"error".into())
            .and_then(|error| Reflect::get(&error, &"code".into()))
            .ok()
            .and_then(|code| code.as_string())
            .is_some_and(|code| code == "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH");
        match weak.upgrade() {
            Some(shared) if refused_as_too_large => pump(&shared, Caller::JsEvent, |s, now| {
                if let Some(d) = s.sync.as_mut() {
                    d.engine.handle_socket_refused_frame(conn, now)
                }
            }),
            _ => {
                let _ = wake.call0(&JsValue::NULL);
            }
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Socket {
        ws,
        wake: driver.wake.clone(),
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
        _on_error: on_error,
    })
}

/// Asks the engine whether a frame of `view.length()` bytes may be taken in (its first bytes
/// are copied only if its kind matters); a refusal is executed at once.
fn admit(shared: &SharedRef, conn: ConnId, view: &Uint8Array) -> bool {
    let len = view.length() as usize;
    let admitted = {
        let Ok(mut guard) = shared.try_borrow_mut() else {
            return true; // (never: socket events do not nest) the engine checks it again
        };
        let Some(d) = guard.sync.as_mut() else {
            return false;
        };
        let head = |n: usize| view.subarray(0, n as u32).to_vec();
        d.engine.admit_frame(conn, len, head, now())
    };
    if !admitted {
        pump(shared, Caller::JsEvent, |_, _| {});
    }
    admitted
}

/// Handles an arriving event now, or leaves it in the inbox for a later turn.
fn arrive(shared: &SharedRef, event: Inbound) {
    match queue_or_return(shared, event) {
        Arrival::Now(event) => handle_inbound(shared, event),
        Arrival::Queued => {}
        Arrival::Refused => pump(shared, Caller::JsEvent, |_, _| {}),
    }
}

fn handle_inbound(shared: &SharedRef, event: Inbound) {
    pump(shared, Caller::JsEvent, |s, now| {
        if let Some(d) = s.sync.as_mut() {
            match event {
                Inbound::Frame(conn, view) => {
                    // taken in now: copied into Wasm memory, freed once handled
                    let bytes = view.to_vec();
                    d.engine.handle_frame(conn, &bytes, now, &mut s.core)
                }
                Inbound::Text(conn) => d.engine.handle_text_frame(conn, now),
                Inbound::Closed(conn) => d.engine.handle_closed(conn, now),
            }
        }
    });
}

/// Puts `event` in the inbox when this turn has used its budget (or earlier events wait
/// there: order is kept); otherwise hands it back to be handled now. A frame may wait only
/// while its connection's waiting bytes stay under `maxBacklogBytes`.
fn queue_or_return(shared: &SharedRef, event: Inbound) -> Arrival {
    let Ok(mut guard) = shared.try_borrow_mut() else {
        return Arrival::Now(event);
    };
    let Some(d) = guard.sync.as_mut() else {
        return Arrival::Now(event);
    };
    let now = now();
    let started = *d.turn_started.get_or_insert(now);
    if d.inbox.is_empty() && now.saturating_sub(started) < FRAME_BUDGET_MS {
        ensure_turn_timer(d, shared);
        return Arrival::Now(event);
    }
    if let Inbound::Frame(conn, view) = &event {
        let len = view.length() as usize;
        let waiting = d.waiting.get(conn).copied().unwrap_or(0);
        // the server is alive even if its frame waits: no heartbeat miss for a backlog
        if !d.engine.handle_frame_queued(*conn, len, waiting, now) {
            return Arrival::Refused;
        }
        d.waiting.insert(*conn, waiting + len);
    }
    d.inbox.push_back(event);
    ensure_turn_timer(d, shared);
    Arrival::Queued
}

/// Arms the zero-delay timer that marks the next turn of the event loop (and continues the
/// inbox there).
fn ensure_turn_timer(d: &mut Driver, shared: &SharedRef) {
    if d.turn.is_some() {
        return;
    }
    let weak = Rc::downgrade(shared);
    d.turn = Some(Timeout::new(0, move || {
        if let Some(shared) = weak.upgrade() {
            next_turn(&shared);
        }
    }));
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
                Some(event) => {
                    if let Inbound::Frame(conn, view) = &event {
                        if let Some(waiting) = d.waiting.get_mut(conn) {
                            *waiting = waiting.saturating_sub(view.length() as usize);
                        }
                    }
                    event
                }
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
            pump(&shared, Caller::JsEvent, &input);
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
