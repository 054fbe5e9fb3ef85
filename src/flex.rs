//! The Flex side: reading an ITask, `setAttributes`, the token, and the
//! `taskWrapup` listener handle.

use crate::domain::error::Error;
use crate::domain::sid::TaskSid;
use crate::domain::task::{Participant, WrapupTask};
use crate::js;
use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Reads the facts the flow needs from a Flex UI 2.x ITask.
pub fn read_task(task: &JsValue) -> Result<WrapupTask, Error> {
    let sid = js::get(task, "taskSid").as_string().unwrap_or_default();
    let task_sid = TaskSid::parse(&sid)?;
    let conference = js::get(task, "conference");
    let participants = js::get(&conference, "participants");
    let participants = if Array::is_array(&participants) {
        Array::from(&participants)
            .iter()
            .map(|p| Participant {
                worker: matches!(
                    js::get(&p, "participantType").as_string().as_deref(),
                    Some("worker" | "agent")
                ),
                current_worker: js::get(&p, "isCurrentWorker").as_bool() == Some(true),
                joined: js::get(&p, "status").as_string().as_deref() == Some("joined"),
                reservation_sid: js::get(&p, "reservationSid").as_string(),
                call_sid: js::get(&p, "callSid").as_string(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(WrapupTask {
        task_sid,
        reservation_sid: js::get(task, "sid").as_string(),
        channel: js::get(task, "taskChannelUniqueName")
            .as_string()
            .unwrap_or_default(),
        has_live_conference: conference.is_object(),
        participants,
        conference_attribute: js::at(task, &["attributes", "conference"]).is_object(),
        attribute_leg: js::at(
            task,
            &["attributes", "conference", "participants", "worker"],
        )
        .as_string(),
    })
}

/// The original task's attributes linked to its conversation: every
/// attribute and every `conversations` key kept as it is (copied by
/// `Object.assign`, never re-encoded), plus `conversations.conversation_id` =
/// the task SID, which Flex Insights joins the MOS task on.
fn linked_attributes(task: &JsValue, sid: &TaskSid) -> Object {
    let copy = |v: JsValue| match v.dyn_into::<Object>() {
        Ok(o) => Object::assign(&Object::new(), &o),
        Err(_) => Object::new(),
    };
    let attrs = js::get(task, "attributes");
    let conversations = copy(js::get(&attrs, "conversations"));
    let _ = Reflect::set(
        &conversations,
        &"conversation_id".into(),
        &sid.as_str().into(),
    );
    let linked = copy(attrs);
    let _ = Reflect::set(&linked, &"conversations".into(), &conversations);
    linked
}

/// Links the task's conversation with `task.setAttributes`; `then` gets the
/// outcome when it settles. A task already in a conversation (e.g. a transfer
/// segment) keeps it: the Functions put the MOS task in that same one
/// (docs/contract.md), so nothing is written.
pub fn link(task: &JsValue, sid: &TaskSid, then: Box<dyn FnOnce(Result<(), Error>)>) {
    let existing = js::at(task, &["attributes", "conversations", "conversation_id"]);
    if existing
        .as_string()
        .is_some_and(|c| !c.trim_ascii().is_empty())
    {
        return then(Ok(()));
    }
    let fail = |e: &JsValue| Error::SetAttributes(js::describe(e));
    match js::call(task, "setAttributes", &[&linked_attributes(task, sid)]) {
        Ok(ret) if ret.has_type::<Promise>() => js::settle(
            &Promise::from(ret),
            Box::new(move |r| then(r.map(drop).map_err(|e| fail(&e)))),
        ),
        Ok(_) => then(Ok(())),
        Err(e) => then(Err(fail(&e))),
    }
}

/// The Flex token, read fresh each time (Flex refreshes it).
pub fn token(manager: &JsValue) -> Option<String> {
    js::at(manager, &["user", "token"])
        .as_string()
        .or_else(|| {
            let state = js::call(&js::get(manager, "store"), "getState", &[]).ok()?;
            js::at(&state, &["flex", "session", "ssoTokenPayload", "token"]).as_string()
        })
        .filter(|t| !t.is_empty())
}

/// The account and worker SIDs of this Flex session (`"-"` when unknown),
/// which scope the stored jobs.
pub fn account_and_worker(manager: &JsValue) -> (String, String) {
    let account = js::at(manager, &["serviceConfiguration", "account_sid"]).as_string();
    let worker = js::at(manager, &["workerClient", "sid"])
        .as_string()
        .or_else(|| {
            let state = js::call(&js::get(manager, "store"), "getState", &[]).ok()?;
            js::at(&state, &["flex", "worker", "worker", "sid"]).as_string()
        });
    let or_dash = |s: Option<String>| s.filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into());
    (or_dash(account), or_dash(worker))
}

/// A listener on an EventEmitter; dropping it detaches it.
pub struct Listener {
    emitter: JsValue,
    event: &'static str,
    callback: Closure<dyn FnMut(JsValue)>,
}

impl Listener {
    /// `emitter.addListener(event, f)` (or `on`).
    pub fn new(
        emitter: &JsValue,
        event: &'static str,
        f: impl FnMut(JsValue) + 'static,
    ) -> Result<Self, JsValue> {
        let callback = Closure::<dyn FnMut(JsValue)>::new(f);
        let add = if js::get(emitter, "addListener").is_function() {
            "addListener"
        } else {
            "on"
        };
        js::call(
            emitter,
            add,
            &[&JsValue::from_str(event), callback.as_ref().unchecked_ref()],
        )?;
        Ok(Listener {
            emitter: emitter.clone(),
            event,
            callback,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let remove = if js::get(&self.emitter, "removeListener").is_function() {
            "removeListener"
        } else {
            "off"
        };
        let _ = js::call(
            &self.emitter,
            remove,
            &[
                &JsValue::from_str(self.event),
                self.callback.as_ref().unchecked_ref(),
            ],
        );
    }
}
