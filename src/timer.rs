//! `setTimeout` with an RAII handle: dropping a [`Timeout`] cancels it.

use crate::js;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

/// A pending `setTimeout`; dropped, it is cleared.
pub struct Timeout {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Runs `f` once after `ms` milliseconds, unless the handle is dropped first.
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Timeout {
        let callback = Closure::once(f);
        let id = js::call(
            &js_sys::global(),
            "setTimeout",
            &[callback.as_ref(), &JsValue::from(ms)],
        )
        .unwrap_or(JsValue::UNDEFINED);
        Timeout {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        let _ = js::call(&js_sys::global(), "clearTimeout", &[&self.id]);
    }
}
