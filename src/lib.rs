//! flex-mos-score: puts a call's MOS into Flex Insights.
//!
//! `core` is pure Rust, tested natively; the other modules are the thin
//! wasm-bindgen shell around it.
#![deny(missing_docs)]

pub mod core;
