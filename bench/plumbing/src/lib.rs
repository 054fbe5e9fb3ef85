//! Bench only (bench/README.md, "plumbing floor"): the plugin's browser
//! plumbing and nothing else. `start(flex, manager, options)` listens to
//! `taskWrapup`; each wrap-up logs, stores a job in localStorage, arms a
//! timer, then takes a Web Lock, POSTs to a Function, reads the answer and
//! removes the job. Features add one boundary part at a time (Cargo.toml).
//! Like the plugin, it reaches fetch, Web Locks, localStorage and the
//! console through the plugin's own src/host.js (src/host.js here is a link
//! to it), so both import the same things.
#![allow(dead_code)]
use js_sys::{Array, Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::hint::black_box;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[cfg(any(feature = "config-serde", feature = "job-serde"))]
use serde::{Deserialize, Serialize};

#[global_allocator]
// SAFETY: single-threaded wasm, as in the plugin.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() && !obj.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn call(obj: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(obj, method)
        .dyn_into()
        .map_err(|_| JsValue::from_str("not a function"))?;
    let args: Array = args.iter().map(|a| (*a).clone()).collect();
    f.apply(obj, &args)
}

#[wasm_bindgen(module = "/src/host.js")]
extern "C" {
    fn post(url: &str, fields: &JsValue, ms: u32) -> Promise;
    fn lock(name: &str) -> Promise;
    #[wasm_bindgen(js_name = storeGet)]
    fn store_get(key: &str) -> Option<String>;
    #[wasm_bindgen(js_name = storeSet)]
    fn store_set(key: &str, value: &str) -> bool;
    #[wasm_bindgen(js_name = storeRemove)]
    fn store_remove(key: &str);
    #[wasm_bindgen(js_name = storeKeys)]
    fn store_keys(prefix: &str) -> Array;
    #[wasm_bindgen(js_name = log)]
    fn console_line(level: u8, line: &str);
}

fn log(level: u8, msg: &str) {
    console_line(level, &(String::from("[mos-score] ") + msg));
}

// ---- timer ----------------------------------------------------------------

#[cfg(not(feature = "timer-gloo"))]
mod timer {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsValue;
    /// setTimeout with an RAII handle: dropped, it is cleared.
    pub struct Timeout {
        id: JsValue,
        _cb: Closure<dyn FnMut()>,
    }
    impl Timeout {
        pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Timeout {
            let cb = Closure::once(f);
            let id = super::call(
                &js_sys::global(),
                "setTimeout",
                &[cb.as_ref(), &JsValue::from(ms)],
            )
            .unwrap_or(JsValue::UNDEFINED);
            Timeout { id, _cb: cb }
        }
    }
    impl Drop for Timeout {
        fn drop(&mut self) {
            let _ = super::call(&js_sys::global(), "clearTimeout", &[&self.id]);
        }
    }
}
#[cfg(feature = "timer-gloo")]
mod timer {
    pub use gloo_timers::callback::Timeout;
}
use timer::Timeout;

// ---- config and MOS summary --------------------------------------------------

/// What the flow needs from its config.
#[cfg_attr(feature = "config-serde", derive(Deserialize))]
#[cfg_attr(feature = "config-serde", serde(rename_all = "camelCase"))]
#[derive(Default)]
struct ConfigIn {
    functions_base_url: Option<String>,
    delay_seconds: Option<f64>,
    attribute_slot: Option<f64>,
    log_level: Option<String>,
    source: Option<String>,
    deadline_seconds: Option<f64>,
    retry_base_seconds: Option<f64>,
}

struct Config {
    base_url: String,
    delay_ms: u32,
    slot: u8,
    log_level: u8,
    source: u8,
    deadline_ms: u32,
    retry_base_ms: u32,
}

#[cfg(feature = "config-hand")]
fn config_in(v: &JsValue) -> Result<ConfigIn, String> {
    let s = |k: &str| -> Result<Option<String>, String> {
        let x = get(v, k);
        if x.is_undefined() || x.is_null() {
            return Ok(None);
        }
        x.as_string()
            .map(Some)
            .ok_or_else(|| String::from(k) + " must be a string")
    };
    let n = |k: &str| -> Result<Option<f64>, String> {
        let x = get(v, k);
        if x.is_undefined() || x.is_null() {
            return Ok(None);
        }
        x.as_f64()
            .map(Some)
            .ok_or_else(|| String::from(k) + " must be a number")
    };
    Ok(ConfigIn {
        functions_base_url: s("functionsBaseUrl")?,
        delay_seconds: n("delaySeconds")?,
        attribute_slot: n("attributeSlot")?,
        log_level: s("logLevel")?,
        source: s("source")?,
        deadline_seconds: n("deadlineSeconds")?,
        retry_base_seconds: n("retryBaseSeconds")?,
    })
}

#[cfg(all(feature = "config-serde", not(feature = "config-hand")))]
fn config_in(v: &JsValue) -> Result<ConfigIn, String> {
    if v.is_undefined() || v.is_null() {
        return Ok(ConfigIn::default());
    }
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| e.to_string())
}

#[cfg(any(feature = "config-hand", feature = "config-serde"))]
fn config(options: &JsValue, custom: &JsValue) -> Result<Config, String> {
    let o = config_in(options)?;
    let c = config_in(custom)?;
    let ms = |x: Option<f64>, d: u32, key: &str| -> Result<u32, String> {
        match x {
            None => Ok(d),
            Some(s) if (0.0..=86400.0).contains(&s) => Ok((s * 1000.0) as u32),
            Some(_) => Err(String::from(key) + " is out of range"),
        }
    };
    let pick = |i: &[&str], x: Option<String>, d: u8, key: &str| -> Result<u8, String> {
        match x {
            None => Ok(d),
            Some(s) => i
                .iter()
                .position(|n| *n == s)
                .map(|p| p as u8)
                .ok_or_else(|| String::from(key) + " is not one of its values"),
        }
    };
    let base_url = c
        .functions_base_url
        .or(o.functions_base_url)
        .ok_or("functionsBaseUrl is missing")?;
    if !base_url.starts_with("https://") && !base_url.starts_with("http://localhost") {
        return Err("functionsBaseUrl must be https".into());
    }
    let slot = c.attribute_slot.unwrap_or(5.0);
    if !(1.0..=10.0).contains(&slot) || slot.fract() != 0.0 {
        return Err("attributeSlot must be 1..10".into());
    }
    Ok(Config {
        base_url,
        delay_ms: ms(c.delay_seconds, 100_000, "delaySeconds")?,
        slot: slot as u8,
        log_level: pick(
            &["debug", "info", "warn", "error"],
            c.log_level,
            1,
            "logLevel",
        )?,
        source: pick(&["insights", "sdk", "both"], c.source, 0, "source")?,
        deadline_ms: ms(c.deadline_seconds, 3_600_000, "deadlineSeconds")?,
        retry_base_ms: ms(c.retry_base_seconds, 5_000, "retryBaseSeconds")?,
    })
}

#[cfg(not(any(feature = "config-hand", feature = "config-serde")))]
fn config(options: &JsValue, _custom: &JsValue) -> Result<Config, String> {
    Ok(Config {
        base_url: get(options, "functionsBaseUrl")
            .as_string()
            .ok_or("functionsBaseUrl is missing")?,
        delay_ms: 100_000,
        slot: 5,
        log_level: 1,
        source: 0,
        deadline_ms: 3_600_000,
        retry_base_ms: 5_000,
    })
}

/// get_mos_score's answer.
#[cfg_attr(
    any(feature = "config-serde", feature = "job-serde"),
    derive(Serialize, Deserialize)
)]
#[cfg_attr(
    any(feature = "config-serde", feature = "job-serde"),
    serde(rename_all = "camelCase")
)]
#[derive(Clone, Copy, Default)]
struct MosSummary {
    average: f64,
    minimum: f64,
    poor_share: f64,
    samples: u32,
}

#[cfg(feature = "config-hand")]
fn summary(body: &JsValue) -> Result<MosSummary, String> {
    let n = |k: &str| {
        get(body, k)
            .as_f64()
            .ok_or_else(|| String::from(k) + " is not a number")
    };
    let samples = n("samples")?;
    if !(0.0..1e9).contains(&samples) || samples.fract() != 0.0 {
        return Err("samples must be a whole number".into());
    }
    Ok(MosSummary {
        average: n("average")?,
        minimum: n("minimum")?,
        poor_share: n("poorShare")?,
        samples: samples as u32,
    })
}

#[cfg(all(feature = "config-serde", not(feature = "config-hand")))]
fn summary(body: &JsValue) -> Result<MosSummary, String> {
    serde_wasm_bindgen::from_value(body.clone()).map_err(|e| e.to_string())
}

#[cfg(not(any(feature = "config-hand", feature = "config-serde")))]
fn summary(body: &JsValue) -> Result<MosSummary, String> {
    Ok(MosSummary {
        average: get(body, "average").as_f64().ok_or("no average")?,
        ..MosSummary::default()
    })
}

// ---- stored job ---------------------------------------------------------------

const PREFIX: &str = "mos-score:v1:job:";

#[cfg(feature = "job-serde")]
mod job {
    use super::*;
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Job {
        pub v: u32,
        pub task_sid: String,
        pub call_sid: String,
        pub attributes: serde_json::Value,
        pub created_at: f64,
        pub due_at: f64,
        pub deadline_at: f64,
        pub attempt: u32,
        pub state: String,
        pub summary: Option<MosSummary>,
        pub live: Option<MosSummary>,
    }
    pub fn new(task_sid: String, attributes: &JsValue, now: f64) -> Job {
        let text = js_sys::JSON::stringify(attributes)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        Job {
            v: 1,
            task_sid,
            call_sid: String::new(),
            attributes: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            created_at: now,
            due_at: now + 100_000.0,
            deadline_at: now + 3_600_000.0,
            attempt: 0,
            state: "scheduled".into(),
            summary: None,
            live: None,
        }
    }
    pub fn to_text(j: &Job) -> String {
        serde_json::to_string(j).unwrap_or_default()
    }
    pub fn from_text(t: &str) -> Result<Job, String> {
        let j: Job = serde_json::from_str(t).map_err(|e| e.to_string())?;
        if j.v != 1 {
            return Err("unknown version".into());
        }
        Ok(j)
    }
    pub fn sid(j: &Job) -> &str {
        &j.task_sid
    }
    pub fn set_summary(j: &mut Job, s: MosSummary) {
        j.summary = Some(s);
        j.state = "creating".into();
    }
}

#[cfg(all(feature = "job-hand", not(feature = "job-serde")))]
mod job {
    use super::*;
    pub struct Job {
        pub task_sid: String,
        pub call_sid: String,
        pub attributes: JsValue,
        pub created_at: f64,
        pub due_at: f64,
        pub deadline_at: f64,
        pub attempt: u32,
        pub state: String,
        pub summary: Option<MosSummary>,
        pub live: Option<MosSummary>,
    }
    pub fn new(task_sid: String, attributes: &JsValue, now: f64) -> Job {
        Job {
            task_sid,
            call_sid: String::new(),
            attributes: attributes.clone(),
            created_at: now,
            due_at: now + 100_000.0,
            deadline_at: now + 3_600_000.0,
            attempt: 0,
            state: "scheduled".into(),
            summary: None,
            live: None,
        }
    }
    fn set(o: &Object, k: &str, v: &JsValue) {
        let _ = Reflect::set(o, &JsValue::from_str(k), v);
    }
    fn summary_js(s: &Option<MosSummary>) -> JsValue {
        match s {
            None => JsValue::NULL,
            Some(s) => {
                let o = Object::new();
                set(&o, "average", &s.average.into());
                set(&o, "minimum", &s.minimum.into());
                set(&o, "poorShare", &s.poor_share.into());
                set(&o, "samples", &s.samples.into());
                o.into()
            }
        }
    }
    pub fn to_text(j: &Job) -> String {
        let o = Object::new();
        set(&o, "v", &1.into());
        set(&o, "taskSid", &JsValue::from_str(&j.task_sid));
        set(&o, "callSid", &JsValue::from_str(&j.call_sid));
        set(&o, "attributes", &j.attributes);
        set(&o, "createdAt", &j.created_at.into());
        set(&o, "dueAt", &j.due_at.into());
        set(&o, "deadlineAt", &j.deadline_at.into());
        set(&o, "attempt", &j.attempt.into());
        set(&o, "state", &JsValue::from_str(&j.state));
        set(&o, "summary", &summary_js(&j.summary));
        set(&o, "live", &summary_js(&j.live));
        js_sys::JSON::stringify(&o)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    }
    pub fn from_text(t: &str) -> Result<Job, String> {
        let v = js_sys::JSON::parse(t).map_err(|_| String::from("not JSON"))?;
        if get(&v, "v").as_f64() != Some(1.0) {
            return Err("unknown version".into());
        }
        let s = |k: &str| {
            get(&v, k)
                .as_string()
                .ok_or_else(|| String::from(k) + " missing")
        };
        let n = |k: &str| {
            get(&v, k)
                .as_f64()
                .ok_or_else(|| String::from(k) + " missing")
        };
        let sum = |k: &str| -> Result<Option<MosSummary>, String> {
            let x = get(&v, k);
            if x.is_null() || x.is_undefined() {
                return Ok(None);
            }
            let f = |k: &str| {
                get(&x, k)
                    .as_f64()
                    .ok_or_else(|| String::from(k) + " missing")
            };
            Ok(Some(MosSummary {
                average: f("average")?,
                minimum: f("minimum")?,
                poor_share: f("poorShare")?,
                samples: f("samples")? as u32,
            }))
        };
        let attributes = get(&v, "attributes");
        if !attributes.is_object() {
            return Err("attributes is not an object".into());
        }
        Ok(Job {
            task_sid: s("taskSid")?,
            call_sid: s("callSid")?,
            attributes,
            created_at: n("createdAt")?,
            due_at: n("dueAt")?,
            deadline_at: n("deadlineAt")?,
            attempt: n("attempt")? as u32,
            state: s("state")?,
            summary: sum("summary")?,
            live: sum("live")?,
        })
    }
    pub fn sid(j: &Job) -> &str {
        &j.task_sid
    }
    pub fn set_summary(j: &mut Job, s: MosSummary) {
        j.summary = Some(s);
        j.state = "creating".into();
    }
}

#[cfg(not(any(feature = "job-hand", feature = "job-serde")))]
mod job {
    use super::*;
    /// Floor: the job is its task SID.
    pub struct Job(String);
    pub fn new(task_sid: String, _attributes: &JsValue, _now: f64) -> Job {
        Job(task_sid)
    }
    pub fn to_text(j: &Job) -> String {
        j.0.clone()
    }
    pub fn from_text(t: &str) -> Result<Job, String> {
        Ok(Job(t.into()))
    }
    pub fn sid(j: &Job) -> &str {
        &j.0
    }
    pub fn set_summary(_j: &mut Job, _s: MosSummary) {}
}

fn save(j: &job::Job) {
    if !store_set(&(String::from(PREFIX) + job::sid(j)), &job::to_text(j)) {
        log(2, "localStorage refused the job");
    }
}

fn load(key: &str) -> Option<job::Job> {
    let text = store_get(key)?;
    match job::from_text(&text) {
        Ok(j) => Some(j),
        Err(e) => {
            log(2, &(String::from("stored job unreadable: ") + &e));
            None
        }
    }
}

fn remove(key: &str) {
    store_remove(key);
}

fn stored_keys() -> Vec<String> {
    store_keys(PREFIX)
        .iter()
        .filter_map(|k| k.as_string())
        .collect()
}

// ---- the flow ---------------------------------------------------------------------

struct Running {
    cfg: Config,
    emitter: JsValue,
    listener: Closure<dyn FnMut(JsValue)>,
    timers: Vec<(String, Timeout)>,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

fn request(base: &str, function: &str, fields: &[(&str, &str)]) -> Promise {
    let obj = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&obj, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    post(&(String::from(base) + "/" + function), &obj, 15_000)
}

/// What `post` resolved to: `(text, status)`, or `None` without an answer.
fn response(r: &JsValue) -> Option<(String, u16)> {
    let status = get(r, "status").as_f64()?;
    Some((
        get(r, "text").as_string().unwrap_or_default(),
        status as u16,
    ))
}

fn answered(key: String, text: String, status: u16) {
    let body = js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL);
    if !(200..300).contains(&status) {
        log(
            3,
            &(String::from("get_mos_score failed: ")
                + &get(&get(&body, "error"), "message")
                    .as_string()
                    .unwrap_or_default()),
        );
        return;
    }
    match summary(&body) {
        Ok(s) => {
            black_box(&s);
            if let Some(mut j) = load(&key) {
                job::set_summary(&mut j, s);
                save(&j);
            }
            remove(&key);
            log(1, "MOS recorded");
        }
        Err(e) => log(3, &e),
    }
}

#[cfg(not(feature = "futures"))]
fn fire(key: String) {
    let Some(j) = load(&key) else { return };
    let base = RUNNING
        .with(|r| r.borrow().as_ref().map(|r| r.cfg.base_url.clone()))
        .unwrap_or_default();
    let sid = String::from(job::sid(&j));
    let got = Closure::once_into_js(move |release: JsValue| {
        let Ok(release) = release.dyn_into::<Function>() else {
            return;
        };
        let on_answer = Closure::once_into_js(move |r: JsValue| {
            match response(&r) {
                Some((text, status)) => answered(key, text, status),
                None => log(3, "get_mos_score: network error"),
            }
            let _ = release.call0(&JsValue::NULL);
        });
        let p = request(&base, "get_mos_score", &[("Token", "t"), ("TaskSid", &sid)]);
        let _ = call(&p, "then", &[&on_answer]);
    });
    let _ = call(&lock("mos-score"), "then", &[&got]);
}

#[cfg(feature = "futures")]
fn fire(key: String) {
    use wasm_bindgen_futures::JsFuture;
    wasm_bindgen_futures::spawn_local(async move {
        let Some(j) = load(&key) else { return };
        let base = RUNNING
            .with(|r| r.borrow().as_ref().map(|r| r.cfg.base_url.clone()))
            .unwrap_or_default();
        let Ok(Ok(release)) = JsFuture::from(lock("mos-score"))
            .await
            .map(|r| r.dyn_into::<Function>())
        else {
            return;
        };
        let p = request(
            &base,
            "get_mos_score",
            &[("Token", "t"), ("TaskSid", job::sid(&j))],
        );
        match JsFuture::from(p).await.ok().as_ref().and_then(response) {
            Some((text, status)) => answered(key, text, status),
            None => log(3, "get_mos_score: network error"),
        }
        let _ = release.call0(&JsValue::NULL);
    });
}

fn arm(key: String, ms: u32) {
    let k = key.clone();
    let t = Timeout::new(ms, move || fire(k));
    RUNNING.with(|r| {
        if let Some(r) = r.borrow_mut().as_mut() {
            r.timers.push((key, t));
        }
    });
}

fn on_wrapup(task: JsValue) {
    let Some(sid) = get(&task, "taskSid").as_string() else {
        log(2, "taskWrapup without a taskSid");
        return;
    };
    let now = js_sys::Date::now();
    let j = job::new(sid, &get(&task, "attributes"), now);
    save(&j);
    let delay = RUNNING.with(|r| r.borrow().as_ref().map_or(0, |r| r.cfg.delay_ms));
    log(0, "job scheduled");
    arm(String::from(PREFIX) + job::sid(&j), delay);
}

/// Starts the plumbing: one `taskWrapup` listener, stored jobs resumed.
#[wasm_bindgen]
pub fn start(_flex: JsValue, manager: JsValue, options: JsValue) -> Result<bool, JsError> {
    stop();
    let events = get(&manager, "events");
    if !events.is_object() {
        return Err(JsError::new("[mos-score] manager.events is missing"));
    }
    let custom = get(
        &get(
            &get(&get(&manager, "serviceConfiguration"), "ui_attributes"),
            "custom_data",
        ),
        "mos_score",
    );
    let cfg = match config(&options, &custom) {
        Ok(c) => c,
        Err(e) => {
            log(3, &e);
            return Ok(false);
        }
    };
    black_box(&cfg);
    let listener = Closure::<dyn FnMut(JsValue)>::new(on_wrapup);
    call(
        &events,
        "addListener",
        &[&JsValue::from_str("taskWrapup"), listener.as_ref()],
    )
    .map_err(|_| JsError::new("[mos-score] cannot listen to taskWrapup"))?;
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            cfg,
            emitter: events,
            listener,
            timers: Vec::new(),
        })
    });
    for key in stored_keys() {
        arm(key, 0);
    }
    Ok(true)
}

/// Detaches the listener and cancels the timers.
#[wasm_bindgen]
pub fn stop() {
    let running = RUNNING.with(|r| r.borrow_mut().take());
    if let Some(r) = running {
        let _ = call(
            &r.emitter,
            "removeListener",
            &[&JsValue::from_str("taskWrapup"), r.listener.as_ref()],
        );
    }
}
