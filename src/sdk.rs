//! Live MOS from the Voice SDK: `manager.voiceClient` (a `Twilio.Device`)
//! emits `incoming` calls, and each call emits a `sample` every second with
//! `sample.mos`. Only a bounded summary per call is kept.
//!
//! Flex replaces `manager.voiceClient` when it re-initialises voice
//! (`Actions.shutdown` + init makes a new Device behind a new Proxy; a voice
//! init timeout leaves an empty proxy), so the tap follows the *current* one:
//! [`SdkTap::follow`] runs whenever a task arrives, is accepted or wraps up.

use crate::domain::mos::LiveMos;
use crate::flex::Listener;
use crate::js;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// Calls remembered at once; the oldest is forgotten first.
const MAX_CALLS: usize = 16;

struct Tracked {
    call_sid: String,
    live: Rc<RefCell<LiveMos>>,
    _listener: Option<Listener>,
}

/// Taps the Device; dropping it detaches every listener.
pub struct SdkTap {
    calls: Rc<RefCell<Vec<Tracked>>>,
    /// The Device (proxy) listened to, and its `incoming` listener.
    device: JsValue,
    _incoming: Option<Listener>,
}

fn track(calls: &Rc<RefCell<Vec<Tracked>>>, call: &JsValue) {
    let Some(call_sid) = js::at(call, &["parameters", "CallSid"]).as_string() else {
        return;
    };
    if calls.borrow().iter().any(|t| t.call_sid == call_sid) {
        return;
    }
    let live = Rc::new(RefCell::new(LiveMos::default()));
    let sink = live.clone();
    let listener = Listener::new(call, "sample", move |sample: JsValue| {
        if let Some(mos) = js::get(&sample, "mos").as_f64() {
            sink.borrow_mut().add(mos);
        }
    })
    .ok();
    let mut calls = calls.borrow_mut();
    if calls.len() >= MAX_CALLS {
        calls.remove(0);
    }
    calls.push(Tracked {
        call_sid,
        live,
        _listener: listener,
    });
}

impl SdkTap {
    /// Starts collecting from `manager.voiceClient`, if there is one.
    pub fn new(manager: &JsValue) -> SdkTap {
        let mut tap = SdkTap {
            calls: Rc::default(),
            device: JsValue::UNDEFINED,
            _incoming: None,
        };
        tap.follow(manager);
        tap
    }

    /// Moves the tap to `manager.voiceClient` if Flex replaced it. Calls
    /// already tracked keep their samples.
    pub fn follow(&mut self, manager: &JsValue) {
        let device = js::get(manager, "voiceClient");
        if js_sys::Object::is(&device, &self.device) {
            return;
        }
        self._incoming = None;
        self.device = device.clone();
        if !device.is_object() {
            return;
        }
        // Calls already up on this Device.
        let existing = js::get(&device, "calls");
        if js_sys::Array::is_array(&existing) {
            for call in js_sys::Array::from(&existing).iter() {
                track(&self.calls, &call);
            }
        }
        let sink = self.calls.clone();
        // An empty proxy (voice init timed out) has no addListener: no tap.
        self._incoming = Listener::new(&device, "incoming", move |call| track(&sink, &call)).ok();
    }

    /// The live summary for a call leg, if its samples were seen.
    pub fn live(&self, call_sid: &str) -> Option<LiveMos> {
        self.calls
            .borrow()
            .iter()
            .find(|t| t.call_sid == call_sid)
            .map(|t| *t.live.borrow())
    }
}
