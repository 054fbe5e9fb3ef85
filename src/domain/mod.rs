//! The pure core: no wasm-bindgen, web-sys or js-sys types. Everything here is
//! tested natively with `cargo test`.

pub mod config;
pub mod error;
pub mod job;
pub mod json;
pub mod mos;
pub mod sid;
pub mod task;
