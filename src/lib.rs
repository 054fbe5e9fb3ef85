//! flex-mos-score: puts a call's MOS into Flex Insights.
//!
//! `core` is pure Rust, tested natively with `cargo test`; the other modules
//! are the thin wasm-bindgen shell around it. The JS loader calls [`start`].
#![deny(missing_docs)]
// The shipped wasm (`--no-default-features`) is `no_std`: std's panic
// machinery formats messages with core::fmt, ~10 KB that buy nothing here.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod core;

mod backend;
mod flex;
mod js;
mod lock;
mod log;
mod plugin;
mod sdk;
mod single;
mod store;
mod timer;

use crate::core::config::{Config, LogLevel};
use alloc::borrow::ToOwned;
use alloc::rc::Rc;
use plugin::Inner;
use wasm_bindgen::prelude::*;

/// The running plugin. `stop()` (or dropping it) detaches the listener and
/// cancels pending timers; stored jobs resume at the next start.
#[wasm_bindgen]
pub struct Plugin {
    inner: Option<Rc<Inner>>,
    listener: Option<flex::Listener>,
}

#[wasm_bindgen]
impl Plugin {
    /// Detaches the `taskWrapup` listener and cancels every timer.
    pub fn stop(&mut self) {
        self.listener.take();
        if let Some(inner) = self.inner.take() {
            inner.stop();
        }
    }

    /// True when a listener is registered (false after an invalid config).
    #[wasm_bindgen(getter)]
    pub fn active(&self) -> bool {
        self.listener.is_some()
    }

    /// Jobs waiting on a timer in this instance.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.pending())
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the plugin: validates the config, registers one `taskWrapup`
/// listener and resumes stored jobs.
///
/// `options.functionsBaseUrl` is the build-time `FLEX_APP_FUNCTIONS_BASE_URL`;
/// `manager.serviceConfiguration.ui_attributes.custom_data.mos_score`
/// overrides it and every other setting. An invalid config is logged once and
/// yields an inactive plugin, so Flex keeps working.
#[wasm_bindgen]
pub fn start(_flex: JsValue, manager: JsValue, options: JsValue) -> Result<Plugin, JsError> {
    let events = js::get(&manager, "events");
    if !events.is_object() {
        return Err(JsError::new(
            "[mos-score] manager.events is missing: start(flex, manager, options) needs the Flex Manager",
        ));
    }
    let env_url = js::get(&options, "functionsBaseUrl").as_string();
    let custom = js::at(
        &manager,
        &[
            "serviceConfiguration",
            "ui_attributes",
            "custom_data",
            "mos_score",
        ],
    );
    let cfg = match Config::resolve(env_url.as_deref(), Some(&js::to_value(&custom))) {
        Ok(c) => c,
        Err(e) => {
            log::Logger(LogLevel::Error).error(
                None,
                &(e.message() + "; the MOS plugin is disabled (see README, Configuration)"),
            );
            return Ok(Plugin {
                inner: None,
                listener: None,
            });
        }
    };
    let inner = Inner::new(cfg, manager.clone());
    *inner.sdk.borrow_mut() = Some(sdk::SdkTap::new(&manager));
    let weak = Rc::downgrade(&inner);
    let listener = flex::Listener::new(&events, "taskWrapup", move |task| {
        if let Some(inner) = weak.upgrade() {
            plugin::on_wrapup(&inner, &task);
        }
    })
    .map_err(|e| {
        JsError::new(&("[mos-score] cannot listen to taskWrapup: ".to_owned() + &js::describe(&e)))
    })?;
    plugin::resume(&inner);
    inner.log.debug(None, "listening for taskWrapup");
    Ok(Plugin {
        inner: Some(inner),
        listener: Some(listener),
    })
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
// SAFETY: the plugin's wasm runs on the page's one thread (no wasm threads).
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Without std nothing formats a panic: the wasm traps.
#[cfg(all(not(feature = "std"), target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
