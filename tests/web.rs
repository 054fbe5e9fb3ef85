//! Browser tests: the real wasm driven through a fake Flex UI 2.x host
//! (tests/fake_flex.js) with a scripted Functions backend. Only what the
//! shell alone can show lives here (listeners and their lifetime, storage,
//! locks, timers, the request shape, the SDK tap); the fault matrix (reloads,
//! two tabs, retries, fallbacks) runs once, against the shipped bundle inside
//! the real Flex UI: e2e/test/faults.e2e.test.js.
#![cfg(target_arch = "wasm32")]

use flex_mos_score::{active, pending, start, stop};
use gloo_timers::future::TimeoutFuture;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/fake_flex.js")]
extern "C" {
    fn reset();
    #[wasm_bindgen(js_name = makeManager)]
    fn make_manager(custom_data_json: &str, token: &str) -> JsValue;
    #[wasm_bindgen(js_name = listenerCount)]
    fn listener_count(manager: &JsValue) -> u32;
    #[wasm_bindgen(js_name = addVoiceClient)]
    fn add_voice_client(manager: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = sdkCall)]
    fn sdk_call(device: &JsValue, call_sid: &str, mos: Vec<f64>);
    #[wasm_bindgen(js_name = makeTask)]
    fn make_task(fixture_json: &str, patch_json: &str) -> JsValue;
    #[wasm_bindgen(js_name = emitWrapup)]
    fn emit_wrapup(manager: &JsValue, task: &JsValue);
    fn script(function: &str, answers_json: &str);
    #[wasm_bindgen(js_name = backendUrl)]
    fn backend_url() -> String;
    fn requests(function: &str) -> String;
    #[wasm_bindgen(js_name = setAttributesCalls)]
    fn set_attributes_calls() -> String;
    #[wasm_bindgen(js_name = uniqueMosTasks)]
    fn unique_mos_tasks() -> u32;
    fn logs() -> String;
    #[wasm_bindgen(js_name = storageKeys)]
    fn storage_keys() -> String;
    #[wasm_bindgen(js_name = storageSet)]
    fn storage_set(key: &str, value: &str);
    #[wasm_bindgen(js_name = heldLocks)]
    fn held_locks() -> js_sys::Promise;
    #[wasm_bindgen(js_name = createdParams)]
    fn created_params(i: u32) -> String;
    #[wasm_bindgen(js_name = emitEvent)]
    fn emit_event(manager: &JsValue, name: &str, task: &JsValue);
    #[wasm_bindgen(js_name = replaceVoiceClient)]
    fn replace_voice_client(manager: &JsValue, empty: bool) -> JsValue;
    #[wasm_bindgen(js_name = storageGet)]
    fn storage_get(key: &str) -> Option<String>;
    #[wasm_bindgen(js_name = refuseLocks)]
    fn refuse_locks();
    #[wasm_bindgen(js_name = refuseStorage)]
    fn refuse_storage();
    #[wasm_bindgen(js_name = removeLocks)]
    fn remove_locks();
    #[wasm_bindgen(js_name = forceGc)]
    fn force_gc_promise() -> js_sys::Promise;
}

/// Five full GCs, letting FinalizationRegistry callbacks run in between.
async fn force_gc() {
    wasm_bindgen_futures::JsFuture::from(force_gc_promise())
        .await
        .expect("window.gc: Chromium must run with --js-flags=--expose-gc (webdriver.json)");
}

async fn locks_held() -> Value {
    let names = wasm_bindgen_futures::JsFuture::from(held_locks())
        .await
        .unwrap();
    parse(names.as_string().unwrap())
}

const VOICE: &str = include_str!("../fixtures/tasks/voice_wrapup.json");
const TRANSFER: &str = include_str!("../fixtures/tasks/transfer_wrapup.json");
const CHAT: &str = include_str!("../fixtures/tasks/chat_wrapup.json");
const TOKEN: &str = "eyJ-secret-flex-token";
const VOICE_SID: &str = "WT7b9e1c0a5f3d4e2b8c6a1f0e9d8c7b6a";
const WORKER_LEG: &str = "CA22222222222222222222222222222222";
/// The storage scope of fake_flex.js's account and worker.
const SCOPE: &str =
    "mos-score:v2:AC0123456789abcdef0123456789abcdef:WKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:";

fn config(extra: Value) -> String {
    let mut c = json!({
        "functionsBaseUrl": backend_url(),
        "delaySeconds": 0.05,
        "retryBaseSeconds": 0.02,
        "logLevel": "debug",
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    c.to_string()
}

/// A fresh page state and a started plugin (which replaces any running one).
fn begin(extra: Value) -> JsValue {
    reset();
    let manager = make_manager(&config(extra), TOKEN);
    assert!(start(JsValue::NULL, manager.clone(), JsValue::NULL).expect("start"));
    manager
}

fn parse(s: String) -> Value {
    serde_json::from_str(&s).expect("JSON from the fake host")
}

fn reqs(function: &str) -> Vec<Value> {
    parse(requests(function))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The fields of the first create_mos_score_task request the fake accepted.
fn created() -> Value {
    parse(created_params(0))
}

fn log_lines() -> Vec<(String, String)> {
    parse(logs())
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["level"].as_str().unwrap().to_owned(),
                l["line"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(_, line)| line.contains("[mos-score]") || line.contains("mos"))
        .collect()
}

fn logged(level: &str, needle: &str) -> usize {
    log_lines()
        .iter()
        .filter(|(l, line)| l == level && line.contains(needle))
        .count()
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Waits until `f` holds (up to ~6 s), so tests are not timing-fragile.
async fn until(mut f: impl FnMut() -> bool, what: &str) {
    for _ in 0..600 {
        if f() {
            return;
        }
        sleep(10).await;
    }
    panic!("timed out waiting for: {what}; logs: {:?}", log_lines());
}

fn assert_clean_logs() {
    for (_, line) in log_lines() {
        assert!(
            line.starts_with("[mos-score]"),
            "unprefixed log line: {line}"
        );
        assert!(!line.contains(TOKEN), "token leaked into the log: {line}");
    }
}

fn voice_task() -> JsValue {
    make_task(VOICE, "")
}

#[wasm_bindgen_test]
async fn start_registers_one_listener_and_stop_detaches_it() {
    let manager = begin(json!({}));
    assert_eq!(listener_count(&manager), 1);
    assert!(active());
    stop();
    assert_eq!(listener_count(&manager), 0);
    assert!(!active());
}

#[wasm_bindgen_test]
async fn survives_garbage_collection_with_no_js_reference() {
    // Flex's loader keeps no plugin instance after init: nothing on the JS
    // side holds the plugin, and forced GCs must not stop it (issue #9).
    let manager = begin(json!({}));
    force_gc().await;
    assert_eq!(listener_count(&manager), 1);
    emit_wrapup(&manager, &voice_task());
    force_gc().await;
    until(
        || reqs("create_mos_score_task").len() == 1,
        "MOS task after GC",
    )
    .await;
}

#[wasm_bindgen_test]
async fn a_second_start_replaces_the_first() {
    let manager = begin(json!({"delaySeconds": 0.1}));
    emit_wrapup(&manager, &voice_task());
    assert_eq!(pending(), 1);
    // A second Plugins.init (or a re-deploy without a reload).
    assert!(start(JsValue::NULL, manager.clone(), JsValue::NULL).unwrap());
    assert_eq!(listener_count(&manager), 1);
    assert_eq!(pending(), 1, "the stored job is resumed once");
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    sleep(300).await;
    assert_eq!(reqs("create_mos_score_task").len(), 1);
    assert_eq!(reqs("get_mos_score").len(), 1);
}

#[wasm_bindgen_test]
async fn invalid_config_logs_one_error_and_registers_nothing() {
    for bad in [
        json!({"functionsBaseUrl": "http://mos.example.com"}),
        json!({"functionsBaseUrl": ""}),
        json!({"delaySeconds": -5}),
        json!({"attributeSlot": 11}),
    ] {
        reset();
        let manager = make_manager(&config(bad.clone()), TOKEN);
        assert!(!start(JsValue::NULL, manager.clone(), JsValue::NULL).expect("no throw"));
        assert!(!active(), "{bad}");
        assert_eq!(listener_count(&manager), 0, "{bad}");
        let errors: Vec<_> = log_lines()
            .into_iter()
            .filter(|(l, _)| l == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{bad}: {errors:?}");
        assert!(errors[0].1.contains("invalid config"), "{errors:?}");
    }
}

#[wasm_bindgen_test]
async fn env_url_is_the_fallback_and_custom_data_overrides_it() {
    reset();
    let manager = make_manager(
        &json!({"delaySeconds": 0.01, "retryBaseSeconds": 0.02}).to_string(),
        TOKEN,
    );
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"functionsBaseUrl".into(), &backend_url().into()).unwrap();
    assert!(start(JsValue::NULL, manager.clone(), options.into()).unwrap());
    emit_wrapup(&manager, &voice_task());
    until(
        || reqs("create_mos_score_task").len() == 1,
        "MOS task via env URL",
    )
    .await;
}

#[wasm_bindgen_test]
async fn wrapups_queued_while_loading_are_handled_at_start() {
    reset();
    let manager = make_manager(&config(json!({})), TOKEN);
    let options = js_sys::Object::new();
    let early = js_sys::Array::of2(&voice_task(), &make_task(TRANSFER, ""));
    js_sys::Reflect::set(&options, &"earlyWrapups".into(), &early).unwrap();
    assert!(start(JsValue::NULL, manager.clone(), options.into()).unwrap());
    assert_eq!(parse(set_attributes_calls()).as_array().unwrap().len(), 2);
    until(|| reqs("create_mos_score_task").len() == 2, "two MOS tasks").await;
}

/// `manager` with an `events` whose `addListener` throws (the rest inherited).
fn refusing_listeners(manager: &JsValue) -> JsValue {
    let refusing = js_sys::Object::new();
    let add = js_sys::Function::new_no_args("throw new Error('refused')");
    js_sys::Reflect::set(&refusing, &"addListener".into(), &add).unwrap();
    let m: js_sys::Object = js_sys::Object::create(manager.unchecked_ref());
    let desc = js_sys::Object::new();
    js_sys::Reflect::set(&desc, &"value".into(), &refusing).unwrap();
    js_sys::Object::define_property(&m, &"events".into(), &desc);
    m.into()
}

#[wasm_bindgen_test]
async fn an_emitter_refusing_listeners_fails_only_a_valid_config() {
    // start() adds its taskWrapup listener before it reads the config; the
    // outcomes keep the config first: an invalid config is logged and
    // leaves the plugin off (no throw), a valid one is a clear error.
    reset();
    let bad = refusing_listeners(&make_manager(&config(json!({"delaySeconds": -5})), TOKEN));
    assert!(!start(JsValue::NULL, bad, JsValue::NULL).expect("no throw"));
    let errors: Vec<_> = log_lines()
        .into_iter()
        .filter(|(l, _)| l == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.contains("invalid config"), "{errors:?}");

    reset();
    let good = refusing_listeners(&make_manager(&config(json!({})), TOKEN));
    let msg = thrown_message(start(JsValue::NULL, good, JsValue::NULL).expect_err("error"));
    assert!(
        msg.contains("[mos-score] cannot listen to taskWrapup") && msg.contains("refused"),
        "{msg}"
    );
    assert!(!active());
}

/// The `message` of what `start` threw.
fn thrown_message(e: wasm_bindgen::JsError) -> String {
    let e: JsValue = e.into();
    js_sys::Reflect::get(&e, &"message".into())
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
async fn start_without_a_manager_is_a_clear_error() {
    reset();
    let msg =
        thrown_message(start(JsValue::NULL, JsValue::NULL, JsValue::NULL).expect_err("error"));
    assert!(
        msg.contains("[mos-score]") && msg.contains("manager.events"),
        "{msg}"
    );
}

#[wasm_bindgen_test]
async fn voice_task_end_to_end() {
    let manager = begin(json!({}));
    emit_wrapup(&manager, &voice_task());

    // The link is written at once, on the task SID (not the reservation SID),
    // with every other attribute and conversations key kept.
    let calls = parse(set_attributes_calls());
    assert_eq!(calls.as_array().unwrap().len(), 1);
    let linked = &calls[0]["attributes"];
    let original: Value = serde_json::from_str(VOICE).unwrap();
    let mut expected = original["attributes"].clone();
    expected["conversations"]["conversation_id"] = json!(VOICE_SID);
    assert_eq!(linked, &expected);
    assert!(reqs("").is_empty(), "nothing is sent before the delay");

    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    let get = reqs("get_mos_score");
    assert_eq!(get.len(), 1);
    assert_eq!(get[0]["contentType"], "application/x-www-form-urlencoded");
    assert_eq!(
        get[0]["params"],
        json!({"Token": TOKEN, "TaskSid": VOICE_SID, "CallSid": WORKER_LEG})
    );

    // Only SIDs, the slot and the signed summary go to the server, which
    // builds the MOS task's attributes itself.
    let create = &reqs("create_mos_score_task")[0];
    assert_eq!(create["contentType"], "application/x-www-form-urlencoded");
    let mut params = create["params"].clone();
    assert!(params["Proof"].as_str().unwrap().starts_with("fake-hmac."));
    params.as_object_mut().unwrap().remove("Proof");
    assert_eq!(
        params,
        json!({"Token": TOKEN, "TaskSid": VOICE_SID, "CallSid": WORKER_LEG, "AttributeSlot": "5",
               "Average": "4.31", "Minimum": "3.02", "PoorShare": "0.05", "Samples": "360",
               "Source": "voice-insights"})
    );

    // Matched with the task SID: a previous test's answer in flight may still log.
    let done = format!("{VOICE_SID}: MOS task ");
    until(|| logged("info", &done) == 1, "info line").await;
    let line = log_lines()
        .into_iter()
        .find(|(_, l)| l.contains(&done))
        .unwrap()
        .1;
    assert!(
        line.ends_with("written, MOS 4.31 (voice-insights)"),
        "{line}"
    );
    assert_eq!(logged("info", VOICE_SID), 1);
    assert_eq!(
        parse(storage_keys()),
        json!([]),
        "the job is removed when done"
    );
    assert_clean_logs();
}

#[wasm_bindgen_test]
async fn a_task_already_in_a_conversation_keeps_it() {
    let manager = begin(json!({}));
    let patch = json!({"attributes": {"conversations": {"conversation_id": "WT00000000000000000000000000c0ffee"},
        "conference": {"participants": {"worker": WORKER_LEG}}}});
    emit_wrapup(&manager, &make_task(VOICE, &patch.to_string()));
    assert_eq!(
        parse(set_attributes_calls()),
        json!([]),
        "nothing overwritten"
    );
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
}

#[wasm_bindgen_test]
async fn chat_task_is_skipped_quietly() {
    let manager = begin(json!({}));
    emit_wrapup(&manager, &make_task(CHAT, ""));
    sleep(150).await;
    assert!(reqs("").is_empty());
    assert_eq!(parse(set_attributes_calls()), json!([]));
    assert_eq!(logged("debug", "not a voice task"), 1);
    assert_eq!(pending(), 0);
    // A voice task without any conference is skipped too.
    emit_wrapup(
        &manager,
        &make_task(VOICE, r#"{"conference":null,"attributes":{}}"#),
    );
    sleep(100).await;
    assert!(reqs("").is_empty());
    assert_eq!(logged("debug", "without a conference"), 1);
}

#[wasm_bindgen_test]
async fn transfer_uses_the_current_workers_leg() {
    let manager = begin(json!({}));
    emit_wrapup(&manager, &make_task(TRANSFER, ""));
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    assert_eq!(
        reqs("get_mos_score")[0]["params"]["CallSid"],
        "CA55555555555555555555555555555555"
    );
}

#[wasm_bindgen_test]
async fn missing_or_invalid_call_sid_warns_and_stops() {
    let manager = begin(json!({}));
    let bad = r#"{"conference":{"participants":[{"participantType":"worker","isCurrentWorker":true,"callSid":"CA-not-a-sid"}]},
                 "attributes":{"conference":{"participants":{"worker":"CAshort"}}}}"#;
    emit_wrapup(&manager, &make_task(VOICE, bad));
    let none = r#"{"conference":{"participants":[]},"attributes":{"conference":{}}}"#;
    emit_wrapup(&manager, &make_task(VOICE, none));
    sleep(150).await;
    assert!(reqs("").is_empty());
    assert_eq!(logged("warn", "no worker call leg"), 2);
    assert_eq!(logged("warn", VOICE_SID), 2);
    assert_eq!(logged("warn", "CAshort"), 1);
}

#[wasm_bindgen_test]
async fn backend_500_is_logged_once_and_creates_nothing() {
    let manager = begin(json!({"deadlineSeconds": 0}));
    script(
        "get_mos_score",
        r#"[{"status":500,"body":{"error":{"code":"internal_error","message":"boom"}}}]"#,
    );
    emit_wrapup(&manager, &voice_task());
    until(
        || logged("error", "no MOS task will be written") == 1,
        "error line",
    )
    .await;
    sleep(100).await;
    assert_eq!(reqs("get_mos_score").len(), 1);
    assert!(reqs("create_mos_score_task").is_empty());
    let errors: Vec<_> = log_lines()
        .into_iter()
        .filter(|(l, _)| l == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].1.contains(VOICE_SID) && errors[0].1.contains("500"),
        "{errors:?}"
    );
    assert_eq!(parse(storage_keys()), json!([]));
}

#[wasm_bindgen_test]
async fn non_json_body_is_a_clear_error() {
    let manager = begin(json!({}));
    script(
        "get_mos_score",
        r#"[{"status":200,"text":"<html>Hello</html>"}]"#,
    );
    emit_wrapup(&manager, &voice_task());
    until(|| logged("error", "not JSON") == 1, "error line").await;
    assert!(reqs("create_mos_score_task").is_empty());
    assert_eq!(logged("error", VOICE_SID), 1);
}

#[wasm_bindgen_test]
async fn two_wrapups_in_parallel_are_independent() {
    let manager = begin(json!({}));
    emit_wrapup(&manager, &voice_task());
    emit_wrapup(&manager, &make_task(TRANSFER, ""));
    until(|| reqs("create_mos_score_task").len() == 2, "two MOS tasks").await;
    let mut originals: Vec<_> = reqs("create_mos_score_task")
        .iter()
        .map(|r| r["params"]["TaskSid"].as_str().unwrap().to_owned())
        .collect();
    originals.sort();
    assert_eq!(originals, [VOICE_SID, "WT8c0f2d1b6a4e5f3c9d7b2a1f0e9d8c7b"]);
    assert_eq!(unique_mos_tasks(), 2);
}

#[wasm_bindgen_test]
async fn stop_during_the_wait_sends_nothing() {
    let manager = begin(json!({"delaySeconds": 0.1}));
    emit_wrapup(&manager, &voice_task());
    assert_eq!(pending(), 1);
    stop();
    sleep(250).await;
    assert!(reqs("").is_empty());
    // ...but the job is kept for the next start.
    assert_eq!(parse(storage_keys()).as_array().unwrap().len(), 1);
}

#[wasm_bindgen_test]
async fn failed_link_is_logged_and_the_mos_task_still_links() {
    let manager = begin(json!({}));
    emit_wrapup(&manager, &make_task(VOICE, r#"{"failSetAttributes":true}"#));
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    assert_eq!(logged("warn", "setAttributes failed"), 1);
    assert_eq!(logged("warn", VOICE_SID), 1);
    assert_eq!(created()["TaskSid"], VOICE_SID);
}

#[wasm_bindgen_test]
async fn configurable_slot() {
    let manager = begin(json!({"attributeSlot": 8}));
    emit_wrapup(&manager, &voice_task());
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    assert_eq!(created()["AttributeSlot"], "8");
}

// ---- Never lose a MOS, never write one twice (issue 5) ----

#[wasm_bindgen_test]
async fn jobs_older_than_a_day_expire_with_a_log_line() {
    reset();
    let day_ago = js_sys::Date::now() - 25.0 * 3600.0 * 1000.0;
    let job = |created: f64, task: &str| {
        json!({"v":2,"taskSid":task,"callSid":WORKER_LEG,"slot":5,
        "createdAt":created,"dueAt":created + 100000.0,"deadlineAt":created + 1000000.0,
        "attempt":0,"state":"scheduled","summary":null,"live":null,"proof":null})
        .to_string()
    };
    storage_set(&format!("{SCOPE}{VOICE_SID}"), &job(day_ago, VOICE_SID));
    // A forged entry dated far in the future would otherwise never expire.
    let forged = "WT00000000000000000000000000000007";
    storage_set(&format!("{SCOPE}{forged}"), &job(1e300, forged));
    let manager = make_manager(&config(json!({})), TOKEN);
    start(JsValue::NULL, manager, JsValue::NULL).unwrap();
    assert_eq!(pending(), 0);
    assert_eq!(logged("warn", "older than 24 h"), 1);
    assert_eq!(logged("warn", "impossible timestamps"), 1);
    assert_eq!(logged("warn", forged), 1);
    sleep(50).await;
    assert!(reqs("").is_empty());
    assert_eq!(parse(storage_keys()), json!([]));
}

#[wasm_bindgen_test]
async fn stored_jobs_are_minimal_and_scoped_to_account_and_worker() {
    let manager = begin(json!({"delaySeconds": 0.3}));
    // Another worker's job in this browser (a shared desk): never touched.
    let other = "mos-score:v2:AC0123456789abcdef0123456789abcdef:WKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:WT00000000000000000000000000000005";
    storage_set(other, "{\"v\":2}");
    emit_wrapup(&manager, &voice_task());
    let stored = storage_get(&format!("{SCOPE}{VOICE_SID}")).expect("the job is stored");
    let job = parse(stored.clone());
    let mut keys: Vec<_> = job.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attempt",
            "callSid",
            "createdAt",
            "deadlineAt",
            "dueAt",
            "live",
            "proof",
            "refetched",
            "slot",
            "state",
            "summary",
            "taskSid",
            "v"
        ]
    );
    // No attribute of the original task (caller data) is stored.
    for value in ["gold-tier", "+1", "CA11111111111111111111111111111111"] {
        assert!(!stored.contains(value), "{value} stored: {stored}");
    }
    until(|| parse(storage_keys()) == json!([other]), "own job done").await;
    // A restart resumes only its own scope: the other worker's job stays.
    start(JsValue::NULL, manager.clone(), JsValue::NULL).unwrap();
    assert_eq!(pending(), 0);
    assert_eq!(logged("warn", "corrupted"), 0);
    assert_eq!(parse(storage_keys()), json!([other]));
}

#[wasm_bindgen_test]
async fn a_job_of_plugin_0_1_is_moved_under_the_scope_without_its_attributes() {
    reset();
    let now = js_sys::Date::now();
    let v1 = json!({"v":1,"taskSid":VOICE_SID,"callSid":WORKER_LEG,"attributes":{"from":"+15550100"},
        "createdAt":now,"dueAt":now,"deadlineAt":now + 60000.0,
        "attempt":0,"state":"scheduled","summary":null,"live":null});
    storage_set(&format!("mos-score:v1:job:{VOICE_SID}"), &v1.to_string());
    let manager = make_manager(&config(json!({})), TOKEN);
    start(JsValue::NULL, manager, JsValue::NULL).unwrap();
    assert_eq!(pending(), 1);
    let moved = storage_get(&format!("{SCOPE}{VOICE_SID}")).expect("moved");
    assert!(!moved.contains("+15550100"), "{moved}");
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    // Removed once the answer is handled (after the request is seen).
    until(|| parse(storage_keys()) == json!([]), "job removed").await;
}

#[wasm_bindgen_test]
async fn server_mode_links_only() {
    reset();
    let manager = make_manager(
        &json!({"source": "server", "delaySeconds": 0.01}).to_string(),
        TOKEN,
    );
    assert!(start(JsValue::NULL, manager.clone(), JsValue::NULL).unwrap());
    emit_wrapup(&manager, &voice_task());
    let calls = parse(set_attributes_calls());
    assert_eq!(
        calls[0]["attributes"]["conversations"]["conversation_id"],
        VOICE_SID
    );
    assert_eq!(pending(), 0, "no timer");
    sleep(100).await;
    assert!(reqs("").is_empty(), "no request");
    assert_eq!(parse(storage_keys()), json!([]), "no stored job");
}

#[wasm_bindgen_test]
async fn the_live_mos_tap_follows_a_replaced_voice_client() {
    reset();
    let manager = make_manager(&config(json!({"source": "sdk"})), TOKEN);
    let first = add_voice_client(&manager);
    start(JsValue::NULL, manager.clone(), JsValue::NULL).unwrap();
    // Voice init timed out: Flex sets an empty proxy. Nothing breaks.
    replace_voice_client(&manager, true);
    emit_event(&manager, "taskReceived", &voice_task());
    // Flex re-initialises voice: a new Device behind a new Proxy.
    let second = replace_voice_client(&manager, false);
    emit_event(&manager, "taskAccepted", &voice_task());
    sdk_call(&second, WORKER_LEG, vec![3.0, 3.5]);
    sdk_call(&first, "CA99999999999999999999999999999999", vec![5.0]);
    emit_wrapup(&manager, &voice_task());
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    assert_eq!(created()["Average"], "3.25");
}

#[wasm_bindgen_test]
async fn a_request_with_no_answer_is_aborted_and_retried() {
    let manager = begin(json!({}));
    script(
        "get_mos_score",
        r#"[{"hang":true},{"status":200,"body":{"average":4.2,"minimum":3.9,"poorShare":0,"samples":12}}]"#,
    );
    emit_wrapup(&manager, &voice_task());
    // The abort comes after 15 s (backend::TIMEOUT_MS).
    for _ in 0..250 {
        if reqs("create_mos_score_task").len() == 1 {
            break;
        }
        sleep(100).await;
    }
    assert_eq!(logged("warn", "gave no answer within 15 s"), 1);
    assert_eq!(reqs("get_mos_score").len(), 2);
    assert_eq!(created()["Average"], "4.20");
}

#[wasm_bindgen_test]
async fn token_falls_back_to_the_store() {
    reset();
    let manager = make_manager(&config(json!({})), "eyJ-store-token");
    js_sys::Reflect::set(
        &js_sys::Reflect::get(&manager, &"user".into()).unwrap(),
        &"token".into(),
        &JsValue::UNDEFINED,
    )
    .unwrap();
    start(JsValue::NULL, manager.clone(), JsValue::NULL).unwrap();
    emit_wrapup(&manager, &voice_task());
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    assert_eq!(
        reqs("get_mos_score")[0]["params"]["Token"],
        "eyJ-store-token"
    );
}

#[wasm_bindgen_test]
async fn sdk_source_without_samples_warns_and_sends_nothing() {
    let manager = begin(json!({"source": "sdk"}));
    emit_wrapup(&manager, &voice_task());
    sleep(100).await;
    assert!(reqs("").is_empty());
    assert_eq!(pending(), 0);
    assert_eq!(logged("warn", "no live MOS samples"), 1);
    assert_eq!(logged("warn", VOICE_SID), 1);
}

#[wasm_bindgen_test]
async fn a_refused_lock_request_does_not_stall_the_job() {
    let manager = begin(json!({}));
    refuse_locks();
    emit_wrapup(&manager, &voice_task());
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    reset();
}

#[wasm_bindgen_test]
async fn a_browser_without_web_locks_runs_the_job_unlocked() {
    let manager = begin(json!({}));
    remove_locks();
    emit_wrapup(&manager, &voice_task());
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    assert_eq!(locks_held().await, json!([]));
    reset();
}

#[wasm_bindgen_test]
async fn a_job_localstorage_refuses_lives_in_memory_and_still_runs() {
    let manager = begin(json!({}));
    refuse_storage();
    emit_wrapup(&manager, &voice_task());
    // One warning that a closed tab would lose it; nothing in localStorage.
    let warning = "localStorage unavailable: the MOS is lost if this tab closes";
    assert_eq!(logged("warn", warning), 1);
    assert_eq!(parse(storage_keys()), json!([]));
    assert_eq!(pending(), 1, "the job is armed from memory");
    until(|| reqs("create_mos_score_task").len() == 1, "MOS task").await;
    let done = format!("{VOICE_SID}: MOS task ");
    until(|| logged("info", &done) == 1, "info line").await;
    // Done: gone from memory too, so a second start resumes nothing.
    stop();
    let again = begin(json!({}));
    assert_eq!(pending(), 0);
    assert_eq!(listener_count(&again), 1);
    reset();
}

#[wasm_bindgen_test]
async fn a_finished_job_keeps_its_lock_briefly_for_other_tabs() {
    let manager = begin(json!({}));
    emit_wrapup(&manager, &voice_task());
    let done = format!("{VOICE_SID}: MOS task");
    until(|| logged("info", &done) == 1, "MOS task").await;
    let key = format!("{SCOPE}{VOICE_SID}");
    // The job is gone from storage, but the lock lingers so that a tab taking
    // it next sees the removal (storage reaches other tabs asynchronously).
    assert_eq!(parse(storage_keys()), json!([]));
    assert_eq!(locks_held().await, json!([key]));
    // ...and is then released (polled: timers may be coarse on a busy machine).
    for _ in 0..50 {
        if locks_held().await == json!([]) {
            return;
        }
        sleep(100).await;
    }
    panic!("the lock was never released");
}
