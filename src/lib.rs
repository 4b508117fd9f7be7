//! yreplica: a local CRUD database (collections of JSON records) kept in a Yjs document.
//!
//! The crate has two layers:
//! - [`replica`], the pure core: collections, records, queries and change sets over `yrs`.
//!   It never touches a clock, a socket or storage, so it builds and is tested natively.
//! - `web` (wasm32 only), the wasm-bindgen surface that the JS facade in `js/` drives.

pub mod config;
pub mod replica;
pub mod sync;

#[cfg(target_arch = "wasm32")]
pub mod web;
