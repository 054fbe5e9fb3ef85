//! The two Functions, called with form-encoded POSTs (no CORS preflight).

use crate::domain::error::{push_u32, Error};
use crate::domain::mos::MosSummary;
use crate::domain::sid::{CallSid, TaskSid};
use crate::domain::value::Value;
use crate::js;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

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

/// get_mos_score for one call.
pub async fn get_mos_score(base: &str, token: &str, call: &CallSid) -> Result<MosSummary, Error> {
    let body = post(
        base,
        "get_mos_score",
        &[("Token", token), ("CallSid", call.as_str())],
    )
    .await?;
    MosSummary::from_value(&body)
}

/// create_mos_score_task; returns the MOS task SID and whether it was new.
/// `slot` tells the Function which `conversation_attribute_N` holds the MOS.
pub async fn create_mos_score_task(
    base: &str,
    token: &str,
    original: &TaskSid,
    attributes: &Value,
    slot: u8,
) -> Result<(String, bool), Error> {
    let attrs = js::stringify(attributes);
    let mut slot_text = String::new();
    push_u32(&mut slot_text, u32::from(slot));
    let body = post(
        base,
        "create_mos_score_task",
        &[
            ("Token", token),
            ("OriginalTaskSid", original.as_str()),
            ("Attributes", &attrs),
            ("AttributeSlot", &slot_text),
        ],
    )
    .await?;
    let sid = body
        .get("sid")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::BadResponse("create_mos_score_task answered without a sid".into()))?;
    let created = body.get("created").and_then(Value::as_bool).unwrap_or(true);
    Ok((sid.to_owned(), created))
}
