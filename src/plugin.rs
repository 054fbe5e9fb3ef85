//! The running plugin: wrap-up handling and the per-task jobs.

use crate::backend;
use crate::domain::config::{Config, Source};
use crate::domain::error::{push_u32, Error};
use crate::domain::job::{scope, Age, Decision, JobState, PendingJob, Step, LEGACY_PREFIX};
use crate::domain::mos::format2;
use crate::domain::sid::{CallSid, TaskSid};
use crate::domain::task::Plan;
use crate::flex;
use crate::lock::{try_lock, Lock, LockGuard};
use crate::log::Logger;
use crate::sdk::SdkTap;
use crate::store;
use gloo_timers::callback::Timeout;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// How long a finished job keeps its lock, so that another tab taking it next
/// already sees the job removed from localStorage.
const LOCK_LINGER_MS: u32 = 1_000;

/// State shared by the listeners, the timers and the running attempts.
pub struct PluginState {
    pub(crate) cfg: Config,
    pub(crate) log: Logger,
    manager: JsValue,
    /// `mos-score:v2:<AccountSid>:<WorkerSid>:`: this tab's jobs only.
    scope: String,
    stopped: Cell<bool>,
    /// One timer per job key; dropping a `Timeout` cancels it.
    timers: RefCell<Vec<(String, Timeout)>>,
    sdk: RefCell<Option<SdkTap>>,
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn seed() -> u32 {
    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
}

impl PluginState {
    pub(crate) fn new(cfg: Config, manager: JsValue) -> Rc<PluginState> {
        let (account, worker) = flex::account_and_worker(&manager);
        Rc::new(PluginState {
            log: Logger(cfg.log_level),
            cfg,
            scope: scope(&account, &worker),
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

    /// Keeps the live-MOS tap on the current `manager.voiceClient`.
    fn follow_voice_client(&self) {
        if let Some(tap) = self.sdk.borrow_mut().as_mut() {
            tap.follow(&self.manager);
        }
    }

    /// Number of armed timers (for tests and the benchmark).
    pub(crate) fn pending(&self) -> usize {
        self.timers.borrow().len()
    }
}

/// Registers the plugin's other listeners on `manager.events`, after its
/// `taskWrapup` listener (`wrapup`, added by [`start`](crate::start));
/// dropping them detaches them. `taskReceived` and `taskAccepted` only keep
/// the live-MOS tap on the current Device.
pub fn listen(
    state: &Rc<PluginState>,
    events: &JsValue,
    wrapup: flex::Listener,
) -> Result<Vec<flex::Listener>, JsValue> {
    if state.cfg.source != Source::Server {
        *state.sdk.borrow_mut() = Some(SdkTap::new(&state.manager));
    }
    let mut listeners = vec![wrapup];
    if state.cfg.source != Source::Server {
        for event in ["taskReceived", "taskAccepted"] {
            let weak = Rc::downgrade(state);
            listeners.push(flex::Listener::new(events, event, move |_| {
                if let Some(state) = weak.upgrade() {
                    state.follow_voice_client();
                }
            })?);
        }
    }
    Ok(listeners)
}

/// Arms (or re-arms) the timer of the job stored under `key`.
fn arm(state: &Rc<PluginState>, key: String, at: f64) {
    if state.stopped.get() {
        return;
    }
    let delay = (at - now()).clamp(0.0, f64::from(i32::MAX)) as u32;
    let weak = Rc::downgrade(state);
    let k = key.clone();
    let timeout = Timeout::new(delay, move || {
        if let Some(state) = weak.upgrade() {
            state.timers.borrow_mut().retain(|(t, _)| *t != k);
            run(state, k);
        }
    });
    let mut timers = state.timers.borrow_mut();
    timers.retain(|(t, _)| *t != key);
    timers.push((key, timeout));
}

/// Handles one `taskWrapup` event. Never throws.
pub fn on_wrapup(state: &Rc<PluginState>, task: &JsValue) {
    let log = state.log;
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
    let linked_sid = sid.clone();
    flex::link(
        task,
        &sid,
        Box::new(move |r| {
            if let Err(e) = r {
                log.warn(
                    Some(linked_sid.as_str()),
                    &(e.message() + "; the MOS task still carries conversation_id"),
                );
            }
        }),
    );
    if state.cfg.source == Source::Server {
        log.debug(tag, "linked; the server writes the MOS (source \"server\")");
    } else {
        schedule(state, sid, call);
    }
}

/// Stores and arms the job of a wrap-up (unless another tab already did).
fn schedule(state: &Rc<PluginState>, sid: TaskSid, call: CallSid) {
    let log = state.log;
    let tag = Some(sid.as_str());
    state.follow_voice_client();
    let live = state
        .sdk
        .borrow()
        .as_ref()
        .and_then(|t| t.live(call.as_str()))
        .and_then(|l| l.summary());
    let job = PendingJob::new(sid.clone(), call, now(), &state.cfg, live);
    if job.summary.is_none() && state.cfg.source == Source::Sdk {
        log.warn(
            tag,
            "source is \"sdk\" but no live MOS samples were seen for this call",
        );
        return;
    }
    let key = job.storage_key(&state.scope);
    let due = match store::load(&key) {
        // Another tab or an earlier start already planned this task.
        Some(Ok(existing)) => existing.due_at,
        _ => {
            if !store::save(&key, &job) {
                log.warn(
                    tag,
                    "localStorage unavailable: the MOS is lost if this tab closes",
                );
            }
            job.due_at
        }
    };
    log.debug(tag, "MOS job scheduled");
    arm(state, key, due);
}

/// Resumes this account's and worker's stored jobs (plugin start). Jobs of
/// other scopes are left alone.
pub fn resume(state: &Rc<PluginState>) {
    if state.cfg.source == Source::Server {
        return;
    }
    let t = now();
    // One pass over localStorage: this scope's keys, plus plugin 0.1's.
    for key in store::keys("mos-score:") {
        let key = if key.starts_with(&state.scope) {
            key
        } else if key.starts_with(LEGACY_PREFIX) {
            match migrate_legacy(state, &key) {
                Some(moved) => moved,
                None => continue,
            }
        } else {
            continue;
        };
        resume_one(state, key, t);
    }
}

/// Re-arms one stored job, or drops it with a log line when it is expired,
/// absurd or corrupted.
fn resume_one(state: &Rc<PluginState>, key: String, t: f64) {
    let log = state.log;
    let why = match store::load(&key) {
        None => return,
        Some(Ok(job)) => {
            let tag = Some(job.task_sid.as_str());
            match job.age(t) {
                Age::Live => {
                    log.debug(tag, "resuming MOS job");
                    return arm(state, key, job.due_at);
                }
                Age::Expired => log.warn(tag, "pending MOS job is older than 24 h; dropped"),
                Age::Absurd => log.warn(tag, "stored MOS job has impossible timestamps; dropped"),
            }
            store::remove(&key);
            return;
        }
        Some(Err(why)) => why,
    };
    log.warn(
        None,
        &("ignoring corrupted stored job ".to_owned() + &key + ": " + why),
    );
    store::remove(&key);
}

/// Moves one of plugin 0.1's jobs (unscoped, holding the task's attributes)
/// under this tab's scope, without the attributes; returns its new key.
fn migrate_legacy(state: &PluginState, key: &str) -> Option<String> {
    let moved = match store::load(key) {
        Some(Ok(job)) => {
            let new_key = job.storage_key(&state.scope);
            store::save(&new_key, &job);
            state
                .log
                .debug(Some(job.task_sid.as_str()), "moved a stored job to v2");
            Some(new_key)
        }
        _ => None,
    };
    store::remove(key);
    moved
}

/// One attempt at the job stored under `key`, once its lock is ours.
fn run(state: Rc<PluginState>, key: String) {
    let k = key.clone();
    try_lock(
        &k,
        Box::new(move |lock| {
            let guard = match lock {
                Lock::Held(g) => Some(g),
                Lock::Unsupported => None,
                Lock::Busy => {
                    // Another tab is on it; look again later in case it dies.
                    let at = now() + f64::from(state.cfg.retry_base_ms);
                    return arm(&state, key, at);
                }
            };
            if state.stopped.get() {
                return;
            }
            let job = match store::load(&key) {
                None => return, // done by another tab or instance
                Some(Err(why)) => {
                    state.log.warn(
                        None,
                        &("dropping corrupted job ".to_owned() + &key + ": " + why),
                    );
                    return store::remove(&key);
                }
                Some(Ok(job)) => job,
            };
            if job.due_at > now() + 5.0 {
                // Rescheduled by another tab meanwhile.
                return arm(&state, key, job.due_at);
            }
            step(Attempt {
                state,
                key,
                job,
                guard,
            });
        }),
    );
}

/// A job being worked on, handed from one request's answer to the next step.
struct Attempt {
    state: Rc<PluginState>,
    key: String,
    job: PendingJob,
    /// Held while the attempt runs (none without Web Locks).
    guard: Option<LockGuard>,
}

/// Sends the job's next request; its answer goes to [`after`].
fn step(mut a: Attempt) {
    let todo = a.job.begin();
    store::save(&a.key, &a.job);
    let Some(token) = flex::token(&a.state.manager) else {
        if retry_or_stop(&a.state, &mut a.job, &a.key, Error::NoToken) {
            step(a);
        }
        return;
    };
    let state = a.state.clone();
    let base = &state.cfg.base_url;
    let job = a.job.clone();
    match todo {
        Step::Fetch => backend::get_mos_score(
            base,
            &token,
            &job,
            Box::new(move |r| {
                let r = r.map(|(summary, proof)| {
                    a.state.log.debug(
                        Some(a.job.task_sid.as_str()),
                        &("MOS from Voice Insights: ".to_owned() + &format2(summary.average)),
                    );
                    a.job.fetched(summary, proof);
                });
                after(a, r);
            }),
        ),
        Step::Create(summary, proof) => backend::create_mos_score_task(
            base,
            &token,
            &job,
            &summary,
            proof.as_deref(),
            Box::new(move |r| {
                let r = r.map(|(created_sid, created)| {
                    let mut line = if created {
                        "MOS task ".to_owned()
                    } else {
                        "MOS task already existed: ".to_owned()
                    };
                    for part in [
                        created_sid.as_str(),
                        " written, MOS ",
                        &format2(summary.average),
                        " (",
                        summary.source.as_str(),
                        ")",
                    ] {
                        line.push_str(part);
                    }
                    a.state.log.info(Some(a.job.task_sid.as_str()), &line);
                    a.job.created();
                });
                after(a, r);
            }),
        ),
    }
}

/// Handles a request's outcome: done, next step, or the retry policy.
fn after(mut a: Attempt, outcome: Result<(), Error>) {
    if a.state.stopped.get() {
        // Stopped mid-request: keep the stored job for the next start.
        return;
    }
    match outcome {
        Ok(()) if a.job.state == JobState::Done => {
            store::remove(&a.key);
            if let Some(g) = a.guard.take() {
                g.release_after(LOCK_LINGER_MS);
            }
        }
        Ok(()) => step(a),
        Err(e) => {
            if retry_or_stop(&a.state, &mut a.job, &a.key, e) {
                step(a);
            }
        }
    }
}

/// Applies the retry policy; true when the loop should go on right away.
fn retry_or_stop(state: &Rc<PluginState>, job: &mut PendingJob, key: &str, e: Error) -> bool {
    let tag = job.task_sid.as_str().to_owned();
    let tag = Some(tag.as_str());
    let msg = e.message();
    match job.failed(&e, now(), state.cfg.retry_base_ms, seed()) {
        Decision::RetryAt(at) => {
            store::save(key, job);
            let mut line = msg;
            line.push_str("; retry ");
            push_u32(&mut line, job.attempt);
            line.push_str(" in ");
            line.push_str(&format2((at - now()).max(0.0) / 1000.0));
            line.push_str(" s");
            if e.is_not_ready() {
                state.log.info(tag, &line);
            } else {
                state.log.warn(tag, &line);
            }
            arm(state, key.to_owned(), at);
            false
        }
        Decision::Fallback => {
            state
                .log
                .warn(tag, &(msg + "; using the live Voice SDK MOS instead"));
            store::save(key, job);
            true
        }
        Decision::GiveUp => {
            state
                .log
                .error(tag, &(msg + "; no MOS task will be written"));
            store::remove(key);
            false
        }
    }
}
