//! flex-mos-score: puts a call's MOS into Flex Insights.
//!
//! `domain` is pure Rust, tested natively with `cargo test`; the other modules
//! are the thin wasm-bindgen shell around it, one file per browser API. The JS
//! loader calls [`start`] once the wasm is instantiated.
//!
//! Built with std. Measured against the former `no_std` build (bench/crates.js),
//! std costs 2,366 B raw / 1,057 B gzip of wasm (panic plumbing), and buys
//! `thread_local!` instead of an `unsafe impl Sync` wrapper, gloo-timers
//! instead of a hand-rolled timer, and browser tests that compile the same
//! code as the bundle (the e2e suite runs the shipped wasm itself). The house
//! rule takes a crate or feature that costs ≤ 1 KiB gzip or removes unsafe
//! code: std removes unsafe code (issue #12).
#![deny(missing_docs)]

pub mod domain;

mod backend;
mod flex;
mod js;
mod lock;
mod log;
mod plugin;
mod sdk;
mod store;

use crate::domain::config::{Config, LogLevel};
use crate::domain::json::Json;
use plugin::PluginState;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The running plugin: its state and the `taskWrapup` listener. Dropping it
/// detaches the listener and cancels the timers.
struct Running {
    state: Rc<PluginState>,
    _listeners: Vec<flex::Listener>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.state.stop();
    }
}

thread_local! {
    /// The one running plugin of this page, owned by the wasm module itself.
    ///
    /// Why here and not in a handle returned to JS: Flex's plugin loader
    /// (`PluginManager.doInit`) keeps no reference to the plugin instance
    /// after `init`, so a handle held by that instance is garbage-collected,
    /// wasm-bindgen's FinalizationRegistry frees it, and its `Drop` silently
    /// removed the listener (issue #9). Module state lives as long as the page.
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

/// Starts the plugin: validates the config, registers one `taskWrapup`
/// listener and resumes stored jobs. A second call (a second `Plugins.init`,
/// a re-deploy without a reload) first stops the running plugin, so there is
/// never more than one listener.
///
/// `options.functionsBaseUrl` is the build-time `FLEX_APP_FUNCTIONS_BASE_URL`;
/// `options.earlyWrapups` are ITasks whose `taskWrapup` the loader queued
/// while the wasm loaded (Flex does not wait for plugins to emit it);
/// `manager.serviceConfiguration.ui_attributes.custom_data.mos_score`
/// overrides it and every other setting. An invalid config is logged once and
/// leaves the plugin inactive (returns false), so Flex keeps working.
#[wasm_bindgen]
pub fn start(_flex: JsValue, manager: JsValue, options: JsValue) -> Result<bool, JsError> {
    stop();
    let events = js::get(&manager, "events");
    if !events.is_object() {
        return Err(JsError::new(
            "[mos-score] manager.events is missing: start(flex, manager, options) needs the Flex Manager",
        ));
    }
    // The taskWrapup listener goes in first, before the config is read: the
    // work before it is what delays the listener (issue #12, bench/README.md,
    // start). It hands each wrap-up to the running plugin, which this same
    // synchronous call sets up below, so no wrap-up can come in between; with
    // an invalid config it is dropped (detached) on return.
    let wrapup = flex::Listener::new(&events, "taskWrapup", |task| {
        let running = RUNNING.with(|r| r.borrow().as_ref().map(|r| r.state.clone()));
        if let Some(state) = running {
            plugin::on_wrapup(&state, &task);
        }
    });
    let env_url = js::get(&options, "functionsBaseUrl").as_string();
    let custom = Json::get(
        &js::at(
            &manager,
            &["serviceConfiguration", "ui_attributes", "custom_data"],
        ),
        "mos_score",
    );
    let cfg = match Config::resolve(env_url.as_deref(), custom.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            log::Logger(LogLevel::Error).error(
                None,
                &(e.message() + "; the MOS plugin is disabled (see README, Configuration)"),
            );
            return Ok(false);
        }
    };
    let cannot_listen = |e: JsValue| {
        JsError::new(&("[mos-score] cannot listen to taskWrapup: ".to_owned() + &js::describe(&e)))
    };
    let wrapup = wrapup.map_err(cannot_listen)?;
    let state = PluginState::new(cfg, manager.clone());
    let listeners = plugin::listen(&state, &events, wrapup).map_err(cannot_listen)?;
    plugin::resume(&state);
    state.log.debug(None, "listening for taskWrapup");
    // Wrap-ups the loader heard while the wasm was loading.
    let early = js::get(&options, "earlyWrapups");
    if js_sys::Array::is_array(&early) {
        for task in js_sys::Array::from(&early).iter() {
            plugin::on_wrapup(&state, &task);
        }
    }
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            state,
            _listeners: listeners,
        })
    });
    Ok(true)
}

/// Detaches the listeners and cancels every timer (tests, hot reload). Stored
/// jobs stay in localStorage and resume at the next [`start`].
#[wasm_bindgen]
pub fn stop() {
    // Taken out first, dropped after the borrow ends.
    let running = RUNNING.with(|r| r.borrow_mut().take());
    drop(running);
}

/// True while a plugin is running (false after `stop` or an invalid config).
#[wasm_bindgen]
pub fn active() -> bool {
    RUNNING.with(|r| r.borrow().is_some())
}

/// Jobs waiting on a timer (tests and the benchmark).
#[wasm_bindgen]
pub fn pending() -> usize {
    RUNNING.with(|r| r.borrow().as_ref().map_or(0, |r| r.state.pending()))
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
// SAFETY: the plugin's wasm runs on the page's one thread (no wasm threads).
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
