//! Sync with several servers, sans-IO: [`SyncEngine`] is fed `now_ms` and events (socket
//! opened, frame received, socket closed, timer fired, local update, app commands) and
//! returns actions ([`Output`]: connect, send, close, events) plus the next deadline.
//! The wasm driver in `src/web/` only executes them.

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
pub use status::{Connection, EndpointState, EndpointView, Status};
pub use types::{ConnId, Output, Reason};

/// State summaries moved to [`crate::replica::summary`] (they describe a document, not sync);
/// kept here so older paths (`src/web`) still compile.
pub use crate::replica::summary;
