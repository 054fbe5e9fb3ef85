//! The two Functions, called with form-encoded POSTs (no CORS preflight).
//! Every request is aborted after [`TIMEOUT_MS`] and then counts as a
//! network error (retried). Answers arrive through callbacks, not futures:
//! the plugin needs no async runtime.

use crate::domain::error::{push_u32, Error};
use crate::domain::job::PendingJob;
use crate::domain::json::Json;
use crate::domain::mos::{format2, MosSummary};
use crate::js;
use gloo_timers::callback::Timeout;
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, Request, RequestInit, Response};

/// A Function answers within 8 s by contract; past 15 s the request is dropped.
pub const TIMEOUT_MS: u32 = 15_000;

/// Where an answer goes.
pub type Then<T> = Box<dyn FnOnce(Result<T, Error>)>;

fn form(fields: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (k, v) in fields {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(k);
        body.push('=');
        body.push_str(&String::from(js_sys::encode_uri_component(v)));
    }
    body
}

/// A request in flight: its abort timer lives as long as it does.
struct Call {
    function: &'static str,
    abort: Option<AbortController>,
    _deadline: Option<Timeout>,
}

impl Call {
    fn network(&self, e: &JsValue) -> Error {
        if self.abort.as_ref().is_some_and(|a| a.signal().aborted()) {
            Error::Network(String::from(self.function) + " gave no answer within 15 s")
        } else {
            Error::Network(js::describe(e))
        }
    }
}

/// The parsed 2xx JSON body, or the contract's error.
fn answer(function: &str, status: u16, text: &str) -> Result<JsValue, Error> {
    let body = js::parse(text);
    if (200..300).contains(&status) {
        return body.ok_or_else(|| {
            let mut m = String::from(function);
            m.push_str(" answered ");
            push_u32(&mut m, u32::from(status));
            m.push_str(" with a body that is not JSON");
            Error::BadResponse(m)
        });
    }
    let field = |k| {
        body.as_ref()
            .and_then(|b| js::at(b, &["error", k]).as_string())
    };
    Err(Error::Backend {
        status,
        code: field("code").unwrap_or_default(),
        message: field("message")
            .unwrap_or_else(|| String::from(function) + ": non-JSON error body"),
    })
}

/// POSTs `fields` to `{base}/{function}`; `then` gets the parsed 2xx body.
fn post(base: &str, function: &'static str, fields: &[(&str, &str)], then: Then<JsValue>) {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&form(fields)));
    let abort = AbortController::new().ok();
    if let Some(a) = &abort {
        init.set_signal(Some(&a.signal()));
    }
    let call = Call {
        function,
        _deadline: abort
            .clone()
            .map(|a| Timeout::new(TIMEOUT_MS, move || a.abort())),
        abort,
    };
    let url = base.to_owned() + "/" + function;
    let sent = Request::new_with_str_and_init(&url, &init)
        .and_then(|req| {
            req.headers()
                .set("Content-Type", "application/x-www-form-urlencoded")?;
            js::call(&js::global(), "fetch", &[&req])
        })
        .map(Promise::from);
    let fetched = match sent {
        Ok(p) => p,
        Err(e) => return then(Err(call.network(&e))),
    };
    js::settle(
        &fetched,
        Box::new(move |r| {
            let resp = match r.map(JsCast::dyn_into::<Response>) {
                Ok(Ok(resp)) => resp,
                Ok(Err(_)) => {
                    return then(Err(Error::Network(
                        "fetch did not return a Response".into(),
                    )))
                }
                Err(e) => return then(Err(call.network(&e))),
            };
            let text = match resp.text() {
                Ok(p) => p,
                Err(e) => return then(Err(call.network(&e))),
            };
            js::settle(
                &text,
                Box::new(move |t| {
                    then(match t {
                        Ok(t) => {
                            answer(function, resp.status(), &t.as_string().unwrap_or_default())
                        }
                        Err(e) => Err(call.network(&e)),
                    })
                }),
            );
        }),
    );
}

/// get_mos_score for the worker's leg of a task: the summary and the
/// server's proof of it (echoed to create_mos_score_task).
pub fn get_mos_score(
    base: &str,
    token: &str,
    job: &PendingJob,
    then: Then<(MosSummary, Option<String>)>,
) {
    post(
        base,
        "get_mos_score",
        &[
            ("Token", token),
            ("TaskSid", job.task_sid.as_str()),
            ("CallSid", job.call_sid.as_str()),
        ],
        Box::new(move |r| {
            then(r.and_then(|body| {
                let proof = Json::get(&body, "proof").and_then(|p| p.as_string());
                Ok((MosSummary::read(&body)?, proof))
            }))
        }),
    );
}

/// create_mos_score_task; `then` gets the MOS task SID and whether this
/// request wrote it. Only SIDs, the slot and the summary are sent: the server
/// builds the task's attributes (docs/contract.md).
pub fn create_mos_score_task(
    base: &str,
    token: &str,
    job: &PendingJob,
    summary: &MosSummary,
    proof: Option<&str>,
    then: Then<(String, bool)>,
) {
    let mut slot = String::new();
    push_u32(&mut slot, u32::from(job.slot));
    let mut samples = String::new();
    push_u32(&mut samples, summary.samples);
    let (average, minimum, poor) = (
        format2(summary.average),
        format2(summary.minimum),
        format2(summary.poor_share),
    );
    let mut fields = vec![
        ("Token", token),
        ("TaskSid", job.task_sid.as_str()),
        ("CallSid", job.call_sid.as_str()),
        ("AttributeSlot", &slot),
        ("Average", &average),
        ("Minimum", &minimum),
        ("PoorShare", &poor),
        ("Samples", &samples),
        ("Source", summary.source.as_str()),
    ];
    if let Some(p) = proof {
        fields.push(("Proof", p));
    }
    post(
        base,
        "create_mos_score_task",
        &fields,
        Box::new(move |r| {
            then(r.and_then(|body| {
                let sid = Json::get(&body, "sid")
                    .and_then(|s| s.as_string())
                    .ok_or_else(|| {
                        Error::BadResponse("create_mos_score_task answered without a sid".into())
                    })?;
                let created = Json::get(&body, "created")
                    .and_then(|b| b.as_bool())
                    .unwrap_or(true);
                Ok((sid, created))
            }))
        }),
    );
}
