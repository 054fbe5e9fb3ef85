//! The two Functions, called with form-encoded POSTs (no CORS preflight).
//! Every request is aborted after [`TIMEOUT_MS`] and then counts as a
//! network error (retried).

use crate::domain::error::{push_u32, Error};
use crate::domain::job::PendingJob;
use crate::domain::mos::{format2, MosSummary};
use crate::domain::sid::{CallSid, TaskSid};
use crate::domain::value::Value;
use crate::js;
use gloo_timers::callback::Timeout;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Request, RequestInit, Response};

/// A Function answers within 8 s by contract; past 15 s the request is dropped.
pub const TIMEOUT_MS: u32 = 15_000;

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

fn network(e: &JsValue) -> Error {
    Error::Network(js::describe(e))
}

/// POSTs `fields` to `{base}/{function}` and returns the parsed 2xx JSON body.
pub async fn post(base: &str, function: &str, fields: &[(&str, &str)]) -> Result<Value, Error> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&form(fields)));
    let abort = AbortController::new().ok();
    if let Some(a) = &abort {
        init.set_signal(Some(&a.signal()));
    }
    // Dropped (cleared) when this function returns.
    let _deadline = abort
        .clone()
        .map(|a| Timeout::new(TIMEOUT_MS, move || a.abort()));
    let timed_out = || abort.as_ref().is_some_and(|a| a.signal().aborted());
    let network = |e: &JsValue| {
        if timed_out() {
            Error::Network(String::from(function) + " gave no answer within 15 s")
        } else {
            network(e)
        }
    };
    let url = base.to_owned() + "/" + function;
    let req = Request::new_with_str_and_init(&url, &init).map_err(|e| network(&e))?;
    req.headers()
        .set("Content-Type", "application/x-www-form-urlencoded")
        .map_err(|e| network(&e))?;
    let global = js_sys::global();
    let promise = js::call(&global, "fetch", &[&req]).map_err(|e| network(&e))?;
    let resp: Response = JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| network(&e))?
        .dyn_into()
        .map_err(|_| Error::Network("fetch did not return a Response".into()))?;
    let text = JsFuture::from(resp.text().map_err(|e| network(&e))?)
        .await
        .map_err(|e| network(&e))?
        .as_string()
        .unwrap_or_default();
    let body = js::parse(&text);
    let status = resp.status();
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
            .and_then(|b| b.at(&["error", k]))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Err(Error::Backend {
        status,
        code: field("code").unwrap_or_default(),
        message: field("message")
            .unwrap_or_else(|| String::from(function) + ": non-JSON error body"),
    })
}

/// get_mos_score for the worker's leg of a task: the summary and the
/// server's proof of it (echoed to create_mos_score_task).
pub async fn get_mos_score(
    base: &str,
    token: &str,
    task: &TaskSid,
    call: &CallSid,
) -> Result<(MosSummary, Option<String>), Error> {
    let body = post(
        base,
        "get_mos_score",
        &[
            ("Token", token),
            ("TaskSid", task.as_str()),
            ("CallSid", call.as_str()),
        ],
    )
    .await?;
    let proof = body.get("proof").and_then(Value::as_str).map(str::to_owned);
    Ok((MosSummary::from_value(&body)?, proof))
}

/// create_mos_score_task; returns the MOS task SID and whether this request
/// wrote it. Only SIDs, the slot and the summary are sent: the server builds
/// the task's attributes (docs/contract.md).
pub async fn create_mos_score_task(
    base: &str,
    token: &str,
    job: &PendingJob,
    summary: &MosSummary,
    proof: Option<&str>,
) -> Result<(String, bool), Error> {
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
    let body = post(base, "create_mos_score_task", &fields).await?;
    let sid = body
        .get("sid")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::BadResponse("create_mos_score_task answered without a sid".into()))?;
    let created = body.get("created").and_then(Value::as_bool).unwrap_or(true);
    Ok((sid.to_owned(), created))
}
