//! Cross-tab mutual exclusion with the Web Locks API (`navigator.locks`),
//! through `lock` and `releaseAfter` in src/host.js.

use crate::js;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(module = "/src/host.js")]
extern "C" {
    /// Resolves to the lock's release function, `null` (busy) or
    /// `undefined` (no Web Locks); never rejects.
    fn lock(name: &str) -> Promise;
    #[wasm_bindgen(js_name = releaseAfter)]
    fn release_after(release: &Function, ms: u32);
}

/// Held lock; dropping it releases the lock.
pub struct LockGuard {
    release: Option<Function>,
}

impl LockGuard {
    /// Keeps the lock `ms` longer, then releases it. A tab that takes the lock
    /// next must see this tab's last localStorage write, and Chromium hands
    /// storage changes to other tabs asynchronously while a lock hand-over is
    /// immediate; lingering covers that gap.
    pub fn release_after(mut self, ms: u32) {
        if let Some(release) = self.release.take() {
            release_after(&release, ms);
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(f) = self.release.take() {
            let _ = f.call0(&JsValue::NULL);
        }
    }
}

/// Outcome of trying to take a lock.
pub enum Lock {
    /// We hold it until the guard drops.
    Held(LockGuard),
    /// Someone else (another tab or plugin instance) holds it.
    Busy,
    /// The browser has no Web Locks, or refused the request; the backend's
    /// ledger is the guard.
    Unsupported,
}

/// Tries to take `name` without waiting (`ifAvailable`); `then` learns the
/// outcome when the request settles.
pub fn try_lock(name: &str, then: Box<dyn FnOnce(Lock)>) {
    js::settle(
        &lock(name),
        Box::new(move |r| {
            then(match r {
                Ok(f) if f.is_function() => Lock::Held(LockGuard {
                    release: Some(f.unchecked_into()),
                }),
                Ok(busy) if busy.is_null() => Lock::Busy,
                _ => Lock::Unsupported,
            })
        }),
    );
}
