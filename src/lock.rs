//! Cross-tab mutual exclusion with the Web Locks API (`navigator.locks`).

use crate::js;
use js_sys::{Function, Object, Promise, Reflect};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

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
        let Some(release) = self.release.take() else {
            return;
        };
        // Called exactly once by setTimeout, so the closure frees itself
        // (gloo's Timeout::forget would leak it).
        let deferred = release.clone();
        let later = Closure::once_into_js(move || {
            let _ = deferred.call0(&JsValue::NULL);
        });
        if js::call(&js::global(), "setTimeout", &[&later, &JsValue::from(ms)]).is_err() {
            // No timers: release now rather than never.
            let _ = release.call0(&JsValue::NULL);
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
    /// The browser has no Web Locks; the backend's idempotency is the guard.
    Unsupported,
}

/// Tries to take `name` without waiting (`ifAvailable`); `then` learns the
/// outcome (synchronously when Web Locks are missing).
pub fn try_lock(name: &str, then: Box<dyn FnOnce(Lock)>) {
    let locks = js::at(&js::global(), &["navigator", "locks"]);
    if !js::get(&locks, "request").is_function() {
        return then(Lock::Unsupported);
    }
    // The lock lasts until the promise the callback returns settles, i.e.
    // until `release` is called (the guard).
    let mut release_fn = None;
    let release = Promise::new(&mut |resolve, _| release_fn = Some(resolve));
    let Some(release_fn) = release_fn else {
        return then(Lock::Unsupported);
    };
    // Shared with the error path below, which runs instead of the callback.
    let then = Rc::new(Cell::new(Some(then)));
    let later = then.clone();
    let cb = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        let Some(then) = later.take() else {
            return JsValue::UNDEFINED;
        };
        if lock.is_null() || lock.is_undefined() {
            then(Lock::Busy);
            return JsValue::UNDEFINED;
        }
        then(Lock::Held(LockGuard {
            release: Some(release_fn),
        }));
        release.into()
    });
    let opts = Object::new();
    let _ = Reflect::set(&opts, &"ifAvailable".into(), &JsValue::TRUE);
    let rejected = Rc::clone(&then);
    match js::call(&locks, "request", &[&JsValue::from_str(name), &opts, &cb]) {
        // The request settles when the lock is released, or rejects without
        // ever calling back (e.g. SecurityError): then the job runs unlocked
        // rather than stalling; the backend's ledger still guards it.
        Ok(p) => js::settle(
            &Promise::from(p),
            Box::new(move |r| {
                if let (Err(_), Some(then)) = (r, rejected.take()) {
                    then(Lock::Unsupported)
                }
            }),
        ),
        // The callback was never handed over: it will not run.
        Err(_) => {
            if let Some(then) = then.take() {
                then(Lock::Unsupported)
            }
        }
    }
}
