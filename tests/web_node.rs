//! The wasm surface under Node: `wasm-pack test --node -- --test web_node`.
#![cfg(target_arch = "wasm32")]

mod web_common;
