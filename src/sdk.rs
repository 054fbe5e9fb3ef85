//! Live MOS from the Voice SDK: `manager.voiceClient` (a `Twilio.Device`)
//! emits `incoming` calls, and each call emits a `sample` every second with
//! `sample.mos`. Only a bounded summary per call is kept.

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
        let calls: Rc<RefCell<Vec<Tracked>>> = Rc::default();
        let device = js::get(manager, "voiceClient");
        let incoming = if device.is_object() {
            // Calls already up when the plugin starts.
            let existing = js::get(&device, "calls");
            if js_sys::Array::is_array(&existing) {
                for call in js_sys::Array::from(&existing).iter() {
                    track(&calls, &call);
                }
            }
            let sink = calls.clone();
            Listener::new(&device, "incoming", move |call| track(&sink, &call)).ok()
        } else {
            None
        };
        SdkTap {
            calls,
            _incoming: incoming,
        }
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
