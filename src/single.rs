//! A `static` for the page's one thread. The plugin's wasm never runs on
//! several threads (no wasm threads, no shared memory), and `thread_local!` is
//! not available without std.

/// Wraps a value so it can live in a `static`.
pub struct SingleThread<T>(pub T);

// SAFETY: the wasm module is instantiated on one JS thread and the crate
// never spawns threads, so the value is only ever touched from that thread.
unsafe impl<T> Sync for SingleThread<T> {}
