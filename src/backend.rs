//! The two Functions, called with form-encoded POSTs (no CORS preflight)
//! through `post` in src/host.js. Every request is aborted after
//! [`TIMEOUT_MS`] and then counts as a network error (retried). Answers
//! arrive through callbacks, not futures: the plugin needs no async runtime.

use crate::domain::error::{push_u32, Error};
use crate::domain::job::PendingJob;
use crate::domain::json::{Field, Fields, Json};
use crate::domain::mos::{format2, MosSummary};
use crate::js;
use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

/// A Function answers within 8 s by contract; past 15 s the request is dropped.
pub const TIMEOUT_MS: u32 = 15_000;

/// Where an answer goes.
pub type Then<T> = Box<dyn FnOnce(Result<T, Error>)>;

#[wasm_bindgen(module = "/src/host.js")]
extern "C" {
    /// `fetch` with a time limit (src/host.js): resolves to `{status, text}`,
    /// `{error}` or `{}` (timed out); never rejects.
    fn post(url: &str, fields: &JsValue, ms: u32) -> Promise;
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
fn send(base: &str, function: &'static str, fields: &Fields, then: Then<JsValue>) {
    let url = base.to_owned() + "/" + function;
    js::settle(
        &post(&url, &js::object(fields), TIMEOUT_MS),
        Box::new(move |r| {
            let r = r.unwrap_or_else(|e| e);
            then(match js::get(&r, "status").as_f64() {
                Some(status) => answer(
                    function,
                    status as u16,
                    &js::get(&r, "text").as_string().unwrap_or_default(),
                ),
                None => Err(Error::Network(
                    js::get(&r, "error")
                        .as_string()
                        .unwrap_or_else(|| String::from(function) + " gave no answer within 15 s"),
                )),
            })
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
    send(
        base,
        "get_mos_score",
        &vec![
            ("Token", Field::Str(token)),
            ("TaskSid", Field::Str(job.task_sid.as_str())),
            ("CallSid", Field::Str(job.call_sid.as_str())),
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
        ("Token", Field::Str(token)),
        ("TaskSid", Field::Str(job.task_sid.as_str())),
        ("CallSid", Field::Str(job.call_sid.as_str())),
        ("AttributeSlot", Field::Str(&slot)),
        ("Average", Field::Str(&average)),
        ("Minimum", Field::Str(&minimum)),
        ("PoorShare", Field::Str(&poor)),
        ("Samples", Field::Str(&samples)),
        ("Source", Field::Str(summary.source.as_str())),
    ];
    if let Some(p) = proof {
        fields.push(("Proof", Field::Str(p)));
    }
    send(
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
