//! The running plugin: wrap-up handling and the per-task jobs.

use crate::backend;
use crate::domain::attributes::{link_conversation, mos_task_attributes};
use crate::domain::config::Config;
use crate::domain::error::Error;
use crate::domain::job::{Decision, JobState, PendingJob, Step};
use crate::domain::mos::format2;
use crate::domain::task::Plan;
use crate::flex;
use crate::lock::{try_lock, Lock};
use crate::log::Logger;
use crate::sdk::SdkTap;
use crate::store;
use gloo_timers::callback::Timeout;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

/// How long a finished job keeps its lock, so that another tab taking it next
/// already sees the job removed from localStorage.
const LOCK_LINGER_MS: u32 = 1_000;

/// State shared by the listener, the timers and the running attempts.
pub struct PluginState {
    pub(crate) cfg: Config,
    pub(crate) log: Logger,
    manager: JsValue,
    stopped: Cell<bool>,
    /// One timer per task SID; dropping a `Timeout` cancels it.
    timers: RefCell<Vec<(String, Timeout)>>,
    pub(crate) sdk: RefCell<Option<SdkTap>>,
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn seed() -> u32 {
    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
}

impl PluginState {
    pub(crate) fn new(cfg: Config, manager: JsValue) -> Rc<PluginState> {
        Rc::new(PluginState {
            log: Logger(cfg.log_level),
            cfg,
            manager,
            stopped: Cell::new(false),
            timers: RefCell::new(Vec::new()),
            sdk: RefCell::new(None),
        })
    }

    /// Cancels every timer; attempts in flight stop at their next step.
    /// Stored jobs stay, so the next start resumes them.
    pub(crate) fn stop(&self) {
        self.stopped.set(true);
        self.timers.borrow_mut().clear();
        self.sdk.borrow_mut().take();
    }

    /// Number of armed timers (for tests and the benchmark).
    pub(crate) fn pending(&self) -> usize {
        self.timers.borrow().len()
    }
}

/// Arms (or re-arms) the timer of the job stored under `key`.
fn arm(inner: &Rc<PluginState>, key: String, at: f64) {
    if inner.stopped.get() {
        return;
    }
    let delay = (at - now()).clamp(0.0, f64::from(i32::MAX)) as u32;
    let weak = Rc::downgrade(inner);
    let k = key.clone();
    let timeout = Timeout::new(delay, move || {
        if let Some(inner) = weak.upgrade() {
            inner.timers.borrow_mut().retain(|(t, _)| *t != k);
            spawn_local(run(inner, k));
        }
    });
    let mut timers = inner.timers.borrow_mut();
    timers.retain(|(t, _)| *t != key);
    timers.push((key, timeout));
}

/// Registers the plugin's listeners on `manager.events`; dropping them
/// detaches them.
pub fn listen(state: &Rc<PluginState>, events: &JsValue) -> Result<Vec<flex::Listener>, JsValue> {
    *state.sdk.borrow_mut() = Some(SdkTap::new(&state.manager));
    let weak = Rc::downgrade(state);
    let wrapup = flex::Listener::new(events, "taskWrapup", move |task| {
        if let Some(state) = weak.upgrade() {
            on_wrapup(&state, &task);
        }
    })?;
    Ok(vec![wrapup])
}

/// Handles one `taskWrapup` event. Never throws.
pub fn on_wrapup(inner: &Rc<PluginState>, task: &JsValue) {
    let log = inner.log;
    let wrapup = match flex::read_task(task) {
        Ok(t) => t,
        Err(e) => {
            log.warn(None, &("taskWrapup ignored: ".to_owned() + &e.message()));
            return;
        }
    };
    let sid = wrapup.task_sid.clone();
    let tag = Some(sid.as_str());
    let call = match wrapup.plan() {
        Plan::Skip(why) => {
            log.debug(tag, &("skipped: ".to_owned() + why));
            return;
        }
        Plan::NoLeg(e) => {
            let why = e.map_or_else(|| "none found".to_owned(), |e| e.message());
            log.warn(
                tag,
                &("no worker call leg, no MOS for this task: ".to_owned() + &why),
            );
            return;
        }
        Plan::Run(call) => call,
    };
    let linked = link_conversation(&wrapup.attributes, &sid);
    let linking = flex::set_attributes(task, &linked);
    let live = inner
        .sdk
        .borrow()
        .as_ref()
        .and_then(|t| t.live(call.as_str()))
        .and_then(|l| l.summary());
    let job = PendingJob::new(sid.clone(), call, linked, now(), &inner.cfg, live);
    if job.summary.is_none() && inner.cfg.source == crate::domain::config::Source::Sdk {
        log.warn(
            tag,
            "source is \"sdk\" but no live MOS samples were seen for this call",
        );
    } else {
        let key = job.storage_key();
        let due = match store::load(&key) {
            // Another tab or plugin instance already planned this task.
            Some(Ok(existing)) => existing.due_at,
            _ => {
                if !store::save(&job) {
                    log.warn(
                        tag,
                        "localStorage unavailable: the MOS is lost if this tab closes",
                    );
                }
                job.due_at
            }
        };
        log.debug(tag, "MOS job scheduled");
        arm(inner, key, due);
    }
    spawn_local(async move {
        if let Err(e) = linking.await {
            log.warn(
                Some(sid.as_str()),
                &(e.message() + "; the MOS task still carries conversation_id"),
            );
        }
    });
}

/// Resumes every stored job (plugin start).
pub fn resume(inner: &Rc<PluginState>) {
    let t = now();
    for key in store::keys() {
        match store::load(&key) {
            Some(Ok(job)) if job.is_expired(t) => {
                inner.log.warn(
                    Some(job.task_sid.as_str()),
                    "pending MOS job is older than 24 h; dropped",
                );
                store::remove(&key);
            }
            Some(Ok(job)) => {
                inner
                    .log
                    .debug(Some(job.task_sid.as_str()), "resuming MOS job");
                arm(inner, key, job.due_at);
            }
            Some(Err(why)) => {
                inner.log.warn(
                    None,
                    &("ignoring corrupted stored job ".to_owned() + &key + ": " + why),
                );
                store::remove(&key);
            }
            None => {}
        }
    }
}

/// One attempt at the job stored under `key`.
async fn run(inner: Rc<PluginState>, key: String) {
    let mut guard = match try_lock(&key).await {
        Lock::Held(g) => Some(g),
        Lock::Unsupported => None,
        Lock::Busy => {
            // Another tab is on it; look again later in case it dies.
            arm(&inner, key, now() + f64::from(inner.cfg.retry_base_ms));
            return;
        }
    };
    if inner.stopped.get() {
        return;
    }
    let mut job = match store::load(&key) {
        None => return, // done by another tab or instance
        Some(Err(why)) => {
            inner.log.warn(
                None,
                &("dropping corrupted job ".to_owned() + &key + ": " + why),
            );
            store::remove(&key);
            return;
        }
        Some(Ok(job)) => job,
    };
    if job.due_at > now() + 5.0 {
        // Rescheduled by another tab meanwhile.
        arm(&inner, key, job.due_at);
        return;
    }
    let tag = job.task_sid.as_str().to_owned();
    let tag = Some(tag.as_str());
    let log = inner.log;
    let cfg = &inner.cfg;
    loop {
        let step = job.begin();
        store::save(&job);
        let Some(token) = flex::token(&inner.manager) else {
            if !retry_or_stop(&inner, &mut job, &key, Error::NoToken) {
                return;
            }
            continue;
        };
        let outcome = match step {
            Step::Fetch => backend::get_mos_score(&cfg.base_url, &token, &job.call_sid)
                .await
                .map(|s| {
                    log.debug(
                        tag,
                        &("MOS from Voice Insights: ".to_owned() + &format2(s.average)),
                    );
                    job.fetched(s);
                }),
            Step::Create(summary) => {
                let attrs = mos_task_attributes(&job.attributes, &job.task_sid, &summary, cfg.slot);
                backend::create_mos_score_task(
                    &cfg.base_url,
                    &token,
                    &job.task_sid,
                    &attrs,
                    cfg.slot,
                )
                .await
                .map(|(created_sid, created)| {
                    let mut line = if created {
                        "MOS task ".to_owned()
                    } else {
                        "MOS task already existed: ".to_owned()
                    };
                    line.push_str(&created_sid);
                    line.push_str(" written, MOS ");
                    line.push_str(&format2(summary.average));
                    line.push_str(" (");
                    line.push_str(summary.source.as_str());
                    line.push(')');
                    log.info(tag, &line);
                    job.created();
                })
            }
        };
        if inner.stopped.get() {
            // Stopped mid-request: keep the stored job for the next start.
            return;
        }
        match outcome {
            Ok(()) if job.state == JobState::Done => {
                store::remove(&key);
                if let Some(g) = guard.take() {
                    g.release_after(LOCK_LINGER_MS);
                }
                return;
            }
            Ok(()) => continue,
            Err(e) => {
                if !retry_or_stop(&inner, &mut job, &key, e) {
                    return;
                }
            }
        }
    }
}

/// Applies the retry policy; true when the loop should go on right away.
fn retry_or_stop(inner: &Rc<PluginState>, job: &mut PendingJob, key: &str, e: Error) -> bool {
    let tag = job.task_sid.as_str().to_owned();
    let tag = Some(tag.as_str());
    let msg = e.message();
    match job.failed(&e, now(), inner.cfg.retry_base_ms, seed()) {
        Decision::RetryAt(at) => {
            store::save(job);
            let mut line = msg;
            line.push_str("; retry ");
            crate::domain::error::push_u32(&mut line, job.attempt);
            line.push_str(" in ");
            line.push_str(&format2((at - now()).max(0.0) / 1000.0));
            line.push_str(" s");
            if e.is_not_ready() {
                inner.log.info(tag, &line);
            } else {
                inner.log.warn(tag, &line);
            }
            arm(inner, key.to_owned(), at);
            false
        }
        Decision::Fallback => {
            inner
                .log
                .warn(tag, &(msg + "; using the live Voice SDK MOS instead"));
            store::save(job);
            true
        }
        Decision::GiveUp => {
            inner
                .log
                .error(tag, &(msg + "; no MOS task will be written"));
            store::remove(key);
            false
        }
    }
}
