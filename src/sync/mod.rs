//! Sync with several servers, sans-IO (in the style of quinn-proto and str0m): [`SyncEngine`]
//! never reads a clock, opens a socket or sets a timer. Its driver (`src/web/driver.rs` in
//! Wasm, `tests/common/sim.rs` in tests) feeds it inputs and executes what it asks for.
//!
//! # The protocol
//!
//! - **Inputs** are method calls, each given `now`: [`SyncEngine::start`] / [`SyncEngine::stop`];
//!   socket events ([`SyncEngine::handle_open`], [`SyncEngine::handle_closed`],
//!   [`SyncEngine::admit_frame`] then [`SyncEngine::handle_frame`] or
//!   [`SyncEngine::handle_frame_queued`], [`SyncEngine::handle_activity`],
//!   [`SyncEngine::handle_text_frame`], [`SyncEngine::handle_socket_refused_frame`]); the
//!   timer ([`SyncEngine::handle_timeout`]); local writes ([`SyncEngine::local_update`]); and
//!   the app's commands ([`SyncEngine::flush`], [`SyncEngine::failover`],
//!   [`SyncEngine::switch_to`], [`SyncEngine::unpin`], [`SyncEngine::set_presence`]).
//! - **Outputs** are polled after every input: [`SyncEngine::poll_output`] until it returns
//!   `None` (each [`Output`] is an action, connect / send / close, or an event for the app, in
//!   the order they must happen), then [`SyncEngine::poll_timeout`], the one deadline at which
//!   `handle_timeout` must be called next (`None`: no timer). Calling `handle_timeout` early,
//!   late or twice is harmless: only what is due fires, and the deadline to arm is asked again
//!   after it. [`SyncEngine::status`], [`SyncEngine::endpoints`], [`SyncEngine::pinned`] and
//!   [`SyncEngine::presence_json`] read the state at any time.
//! - Connections are named by [`ConnId`]s the engine hands out in `Output::Connect`, never
//!   reused; events of a connection the engine already closed are ignored.
//!
//! # Time
//!
//! `now` is milliseconds on a **monotonic** clock: it never goes back between calls (the web
//! driver adds `performance.now()` to the wall-clock time read once, so values look like
//! timestamps but a wall clock set back cannot stall a deadline). Every deadline is `now` plus
//! a duration and is computed with saturating arithmetic, so no input overflows or panics;
//! a `now` that went back anyway would only delay timers and read round trips as 0 ms.
//!
//! # Parts
//!
//! The engine (engine.rs) reads frames, decides and queues outputs; its state is kept by parts
//! with one job each: `Selection` (selection.rs: which endpoint, backoff, pin, failback
//! candidate), `Links` and `Link` (links.rs, link.rs: the active and monitor links, their
//! phase, liveness and probes), `Acks` (acks.rs: local updates, acknowledgements, flushes),
//! `Board` (status.rs: status and endpoint health), `Presence` (presence.rs), `Limits`
//! (limits.rs) and the timer table (timer.rs: every deadline as a `Timer`). protocol.rs speaks
//! the two dialects; types.rs holds the small types they all share.

mod acks;
mod engine;
mod limits;
mod link;
mod links;
pub mod presence;
pub mod protocol;
mod selection;
mod status;
mod timer;
mod types;

pub use engine::{SyncEngine, ANSWER_PIECE_BYTES};
pub use status::{Connection, EndpointState, EndpointView, ServerRole, Status};
pub use types::{ConnId, Directive, Output, Reason};
