//! The per-task job: a small state machine plus the retry schedule.
//!
//! ```text
//! Scheduled ──due──► Fetching ──MOS──► Creating ──created──► Done
//!     ▲                 │                  │
//!     └──transient──────┴──────────────────┘   (permanent / past deadline ► Failed)
//! ```
//!
//! A job is persisted (as [`Fields`], then JSON) whenever it changes, so a reload resumes
//! it where it was; the fetched MOS is kept, so a retried create never
//! refetches.

use super::config::{Config, Source, MAX_DEADLINE_S, MAX_DELAY_S};
use super::error::{Error, ErrorClass};
use super::json::{Field, Fields, Json};
use super::mos::{MosSource, MosSummary};
use super::sid::{CallSid, TaskSid};

/// Where plugin 0.1 kept its jobs (unscoped, with the task's attributes);
/// they are moved under the current scope at start.
pub const LEGACY_PREFIX: &str = "mos-score:v1:job:";
/// localStorage key prefix; bump the version when the shape changes. A key
/// is `mos-score:v2:<AccountSid>:<WorkerSid>:<TaskSid>` (see [`scope`]).
pub const STORAGE_PREFIX: &str = "mos-score:v2:";
/// Jobs older than this are dropped with a log line.
pub const JOB_TTL_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// No valid config makes a job's deadline further from its wrap-up than this.
const MAX_SPAN_MS: f64 = (MAX_DELAY_S + MAX_DEADLINE_S) * 1000.0;
/// A job dated further ahead than this (clock skew) is absurd.
const FUTURE_SKEW_MS: f64 = 3600.0 * 1000.0;
/// No retry waits longer than this.
pub const RETRY_CAP_MS: u32 = 300_000;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for `due_at`.
    Scheduled,
    /// Asking get_mos_score.
    Fetching,
    /// Asking create_mos_score_task.
    Creating,
    /// The MOS task exists.
    Done,
    /// Gave up; logged.
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Fetching => "fetching",
            JobState::Creating => "creating",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => JobState::Scheduled,
            "fetching" => JobState::Fetching,
            "creating" => JobState::Creating,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// What an attempt should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Ask get_mos_score for the call's MOS.
    Fetch,
    /// Create the MOS task with this summary and get_mos_score's proof of it.
    Create(MosSummary, Option<String>),
}

/// What to do after an error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Try again at this time (ms since the epoch).
    RetryAt(f64),
    /// Voice Insights cannot answer: create the task from the live SDK MOS now.
    Fallback,
    /// Stop; the job failed.
    GiveUp,
}

/// How a stored job's timestamps look at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// Fine: resume it.
    Live,
    /// Older than [`JOB_TTL_MS`].
    Expired,
    /// Dated in the future or out of order (a corrupted or forged entry).
    Absurd,
}

/// The storage scope `"<AccountSid>:<WorkerSid>:"`: a tab only ever resumes
/// jobs of its own account and worker, and leaves the others alone.
pub fn scope(account: &str, worker: &str) -> String {
    let mut s = String::from(STORAGE_PREFIX);
    for part in [account, ":", worker, ":"] {
        s.push_str(part);
    }
    s
}

/// One wrap-up's work, from the wrap-up to the MOS task. This is everything
/// that is stored: SIDs, slot, times, state and the fetched summary (no task
/// attributes, so no caller data sits in localStorage).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingJob {
    /// The original task.
    pub task_sid: TaskSid,
    /// The worker's call leg.
    pub call_sid: CallSid,
    /// Which `conversation_attribute_N` / `conversation_measure_N` to write.
    pub slot: u8,
    /// When the wrap-up happened (ms since the epoch).
    pub created_at: f64,
    /// When the next attempt is due.
    pub due_at: f64,
    /// Retries stop after this.
    pub deadline_at: f64,
    /// Attempts that failed so far.
    pub attempt: u32,
    /// Where the job is.
    pub state: JobState,
    /// The MOS, once known.
    pub summary: Option<MosSummary>,
    /// get_mos_score's signature over `summary` (Voice Insights only).
    pub proof: Option<String>,
    /// A refused proof was already replaced once (the contract allows one).
    pub refetched: bool,
    /// The live SDK MOS captured at wrap-up, for the fallback.
    pub live: Option<MosSummary>,
}

/// The retry delay before attempt `attempt + 1` (`attempt` ≥ 1 failures so far):
/// `base · 2^(attempt-1)` capped at [`RETRY_CAP_MS`], with "equal jitter"
/// (half fixed, half pseudo-random from `seed`), so tabs do not retry in step.
pub fn retry_delay_ms(attempt: u32, base_ms: u32, seed: u32) -> u32 {
    let exp = u64::from(base_ms) << attempt.saturating_sub(1).min(20);
    let exp = exp.min(u64::from(RETRY_CAP_MS.max(base_ms))) as u32;
    let half = exp / 2;
    // splitmix-style mixing of (seed, attempt): cheap and deterministic.
    let mut z = u64::from(seed) ^ (u64::from(attempt) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    half + (z % (u64::from(exp - half) + 1)) as u32
}

impl PendingJob {
    /// A new job at wrap-up time `now`.
    pub fn new(
        task_sid: TaskSid,
        call_sid: CallSid,
        now: f64,
        cfg: &Config,
        live: Option<MosSummary>,
    ) -> Self {
        let (due_at, summary) = match cfg.source {
            Source::Sdk => (now, live.clone()),
            Source::Insights | Source::Server => (now + f64::from(cfg.delay_ms), None),
        };
        PendingJob {
            task_sid,
            call_sid,
            slot: cfg.slot,
            created_at: now,
            due_at,
            deadline_at: due_at + f64::from(cfg.deadline_ms),
            attempt: 0,
            state: JobState::Scheduled,
            summary,
            proof: None,
            refetched: false,
            live,
        }
    }

    /// The localStorage key of this job under a [`scope`].
    pub fn storage_key(&self, scope: &str) -> String {
        scope.to_owned() + self.task_sid.as_str()
    }

    /// Whether a stored job is still worth resuming at `now`.
    pub fn age(&self, now: f64) -> Age {
        let ordered = self.created_at <= self.due_at
            && self.due_at <= self.deadline_at
            && self.deadline_at - self.created_at <= MAX_SPAN_MS;
        if !ordered || self.created_at > now + FUTURE_SKEW_MS {
            Age::Absurd
        } else if now - self.created_at > JOB_TTL_MS {
            Age::Expired
        } else {
            Age::Live
        }
    }

    /// Starts an attempt: what to do now.
    pub fn begin(&mut self) -> Step {
        match &self.summary {
            Some(s) => {
                self.state = JobState::Creating;
                Step::Create(s.clone(), self.proof.clone())
            }
            None => {
                self.state = JobState::Fetching;
                Step::Fetch
            }
        }
    }

    /// get_mos_score answered.
    pub fn fetched(&mut self, summary: MosSummary, proof: Option<String>) {
        self.summary = Some(summary);
        self.proof = proof;
        self.state = JobState::Creating;
    }

    /// create_mos_score_task answered.
    pub fn created(&mut self) {
        self.state = JobState::Done;
    }

    /// An attempt failed at `now`: retry, fall back, or give up.
    pub fn failed(&mut self, err: &Error, now: f64, retry_base_ms: u32, seed: u32) -> Decision {
        let fallback = |job: &mut Self| match (&job.summary, &job.live) {
            (None, Some(live)) => {
                job.summary = Some(live.clone());
                job.state = JobState::Creating;
                Decision::Fallback
            }
            _ => {
                job.state = JobState::Failed;
                Decision::GiveUp
            }
        };
        match err.class() {
            ErrorClass::Permanent => {
                self.state = JobState::Failed;
                Decision::GiveUp
            }
            ErrorClass::NeedsFallback => fallback(self),
            ErrorClass::Transient | ErrorClass::Refetch => {
                let renewable = self.summary.as_ref().map(|s| s.source)
                    == Some(MosSource::VoiceInsights)
                    && !self.refetched;
                if err.class() == ErrorClass::Refetch && renewable {
                    // The proof no longer verifies (e.g. the secret rotated):
                    // ask get_mos_score once more for a fresh one.
                    self.summary = None;
                    self.proof = None;
                    self.refetched = true;
                } else if err.class() == ErrorClass::Refetch {
                    self.state = JobState::Failed;
                    return Decision::GiveUp;
                }
                self.attempt += 1;
                let at = now + f64::from(retry_delay_ms(self.attempt, retry_base_ms, seed));
                if at > self.deadline_at {
                    // Out of time: the live MOS beats no MOS (only while fetching).
                    return fallback(self);
                }
                self.due_at = at;
                self.state = JobState::Scheduled;
                Decision::RetryAt(at)
            }
        }
    }

    /// The job as stored in localStorage (the shell writes it as JSON).
    pub fn fields(&self) -> Fields<'_> {
        let opt =
            |s: &Option<MosSummary>| s.as_ref().map_or(Field::Null, |s| Field::Obj(s.fields()));
        vec![
            ("v", Field::Num(2.0)),
            ("taskSid", Field::Str(self.task_sid.as_str())),
            ("callSid", Field::Str(self.call_sid.as_str())),
            ("slot", Field::Num(f64::from(self.slot))),
            ("createdAt", Field::Num(self.created_at)),
            ("dueAt", Field::Num(self.due_at)),
            ("deadlineAt", Field::Num(self.deadline_at)),
            ("attempt", Field::Num(f64::from(self.attempt))),
            ("state", Field::Str(self.state.as_str())),
            ("summary", opt(&self.summary)),
            ("live", opt(&self.live)),
            (
                "proof",
                self.proof.as_deref().map_or(Field::Null, Field::Str),
            ),
            ("refetched", Field::Bool(self.refetched)),
        ]
    }

    /// Reads a stored job back; anything foreign or corrupted is an error.
    pub fn read<J: Json>(v: &J) -> Result<Self, &'static str> {
        // Version 1 (plugin 0.1) also stored the task's attributes, which
        // are ignored, and no slot, which was then always the default.
        let version = v.get("v").and_then(|n| n.as_f64());
        if version != Some(1.0) && version != Some(2.0) {
            return Err("unknown version");
        }
        let s = |k| v.get(k).and_then(|s| s.as_str()).ok_or("missing field");
        let n = |k| v.get(k).and_then(|n| n.as_f64()).ok_or("missing number");
        let summary = |k| match v.get(k) {
            None => Ok(None),
            Some(x) => MosSummary::read(&x).map(Some).map_err(|_| "bad summary"),
        };
        let slot = match version {
            Some(1.0) => f64::from(super::config::DEFAULT_SLOT),
            _ => n("slot")?,
        };
        if !(1.0..=10.0).contains(&slot) || !super::mos::is_whole(slot) {
            return Err("bad slot");
        }
        let proof = match v.get("proof") {
            None => None,
            Some(p) => Some(p.as_str().ok_or("bad proof")?),
        };
        let number = |k| {
            n(k).and_then(|x| {
                if x.is_finite() {
                    Ok(x)
                } else {
                    Err("bad time")
                }
            })
        };
        let attempt = n("attempt")?;
        if !(0.0..1e6).contains(&attempt) || !super::mos::is_whole(attempt) {
            return Err("bad attempt");
        }
        Ok(PendingJob {
            task_sid: TaskSid::parse(&s("taskSid")?).map_err(|_| "bad taskSid")?,
            call_sid: CallSid::parse(&s("callSid")?).map_err(|_| "bad callSid")?,
            slot: slot as u8,
            created_at: number("createdAt")?,
            due_at: number("dueAt")?,
            deadline_at: number("deadlineAt")?,
            attempt: attempt as u32,
            state: JobState::parse(&s("state")?).ok_or("bad state")?,
            summary: summary("summary")?,
            proof,
            refetched: v.get("refetched").and_then(|b| b.as_bool()) == Some(true),
            live: summary("live")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::json::tests::{object, parse};

    fn cfg(source: Source) -> Config {
        let mut c = Config::resolve::<serde_json::Value>(Some("https://x.twil.io"), None).unwrap();
        c.source = source;
        c
    }

    fn job(source: Source, live: Option<MosSummary>) -> PendingJob {
        PendingJob::new(
            TaskSid::parse("WT00000000000000000000000000000001").unwrap(),
            CallSid::parse("CA00000000000000000000000000000001").unwrap(),
            1_000.0,
            &cfg(source),
            live,
        )
    }

    fn err(status: u16, code: &str) -> Error {
        Error::Backend {
            status,
            code: code.into(),
            message: String::new(),
        }
    }

    fn live() -> MosSummary {
        MosSummary::new(4.0, 3.0, 0.1, 30, MosSource::Sdk).unwrap()
    }

    #[test]
    fn default_job_waits_100_s_and_has_a_15_min_deadline() {
        let j = job(Source::Insights, None);
        assert_eq!(j.due_at, 101_000.0);
        assert_eq!(j.deadline_at, 101_000.0 + 900_000.0);
        assert_eq!(j.state, JobState::Scheduled);
        assert_eq!(
            j.storage_key(&scope("ACx", "WKy")),
            "mos-score:v2:ACx:WKy:WT00000000000000000000000000000001"
        );
        assert_eq!(j.slot, 5);
    }

    #[test]
    fn happy_path() {
        let mut j = job(Source::Insights, None);
        assert_eq!(j.begin(), Step::Fetch);
        let s = MosSummary::new(4.2, 3.1, 0.0, 10, MosSource::VoiceInsights).unwrap();
        j.fetched(s.clone(), Some("proof".into()));
        assert_eq!(j.state, JobState::Creating);
        // A retried attempt (e.g. after a reload) creates without refetching.
        assert_eq!(j.begin(), Step::Create(s, Some("proof".into())));
        j.created();
        assert_eq!(j.state, JobState::Done);
    }

    #[test]
    fn sdk_mode_is_due_at_once_with_the_live_summary() {
        let mut j = job(Source::Sdk, Some(live()));
        assert_eq!(j.due_at, 1_000.0);
        assert_eq!(j.begin(), Step::Create(live(), None));
    }

    #[test]
    fn transient_errors_retry_with_backoff_until_the_deadline() {
        let mut j = job(Source::Insights, None);
        let mut now = j.due_at;
        let mut delays = Vec::new();
        loop {
            j.begin();
            match j.failed(&err(404, "not_ready"), now, 10_000, 7) {
                Decision::RetryAt(at) => {
                    assert_eq!(j.state, JobState::Scheduled);
                    delays.push(at - now);
                    now = at;
                }
                Decision::GiveUp => break,
                Decision::Fallback => panic!("no live summary"),
            }
        }
        assert_eq!(j.state, JobState::Failed);
        assert!(now <= j.deadline_at);
        assert!(delays.len() >= 4, "{delays:?}");
        for (i, d) in delays.iter().enumerate() {
            let exp = (10_000u64 << i).min(u64::from(RETRY_CAP_MS)) as f64;
            assert!(*d >= exp / 2.0 && *d <= exp, "attempt {i}: {d} vs {exp}");
        }
    }

    #[test]
    fn deadline_falls_back_to_the_live_mos() {
        let mut j = job(Source::Insights, Some(live()));
        j.begin();
        let late = j.deadline_at;
        assert_eq!(
            j.failed(&err(404, "not_ready"), late, 10_000, 1),
            Decision::Fallback
        );
        assert_eq!(j.begin(), Step::Create(live(), None));
    }

    #[test]
    fn advanced_features_off_falls_back_or_gives_up() {
        let mut with = job(Source::Insights, Some(live()));
        with.begin();
        let e = err(403, "advanced_features_required");
        assert_eq!(with.failed(&e, 0.0, 10, 1), Decision::Fallback);
        let mut without = job(Source::Insights, None);
        without.begin();
        assert_eq!(without.failed(&e, 0.0, 10, 1), Decision::GiveUp);
    }

    #[test]
    fn bad_request_is_never_retried() {
        let mut j = job(Source::Insights, Some(live()));
        j.begin();
        assert_eq!(
            j.failed(&err(400, "invalid_parameter"), 0.0, 10, 1),
            Decision::GiveUp
        );
        assert_eq!(j.state, JobState::Failed);
    }

    #[test]
    fn create_retries_keep_the_fetched_mos() {
        let mut j = job(Source::Insights, Some(live()));
        j.begin();
        let s = MosSummary::new(4.4, 4.0, 0.0, 5, MosSource::VoiceInsights).unwrap();
        j.fetched(s.clone(), Some("p".into()));
        j.begin();
        assert!(matches!(
            j.failed(&err(503, "auth_unavailable"), j.due_at, 10, 1),
            Decision::RetryAt(_)
        ));
        assert_eq!(j.begin(), Step::Create(s, Some("p".into())));
    }

    #[test]
    fn a_proof_that_no_longer_verifies_is_fetched_again() {
        let mut j = job(Source::Insights, None);
        j.begin();
        let s = MosSummary::new(4.4, 4.0, 0.0, 5, MosSource::VoiceInsights).unwrap();
        j.fetched(s, Some("stale".into()));
        j.begin();
        assert!(matches!(
            j.failed(&err(400, "invalid_proof"), j.due_at, 10, 1),
            Decision::RetryAt(_)
        ));
        assert_eq!(j.begin(), Step::Fetch);
        assert_eq!(j.proof, None);
        // Once only: a second refusal of a fresh proof is final.
        let s2 = MosSummary::new(4.4, 4.0, 0.0, 5, MosSource::VoiceInsights).unwrap();
        j.fetched(s2, Some("fresh".into()));
        j.begin();
        assert_eq!(
            j.failed(&err(400, "invalid_proof"), j.due_at, 10, 1),
            Decision::GiveUp
        );
        // A live-SDK summary has no proof to renew: that is final.
        let mut sdk = job(Source::Sdk, Some(live()));
        sdk.begin();
        assert_eq!(
            sdk.failed(&err(400, "invalid_proof"), 0.0, 10, 1),
            Decision::GiveUp
        );
    }

    #[test]
    fn another_workers_task_is_never_retried() {
        let mut j = job(Source::Insights, None);
        j.begin();
        assert_eq!(
            j.failed(&err(403, "not_your_task"), 0.0, 10, 1),
            Decision::GiveUp
        );
    }

    #[test]
    fn schedule_is_pure_capped_and_jittered() {
        assert_eq!(retry_delay_ms(3, 1000, 42), retry_delay_ms(3, 1000, 42));
        let spread: std::collections::BTreeSet<_> =
            (0..50).map(|seed| retry_delay_ms(2, 1000, seed)).collect();
        assert!(spread.len() > 10, "jitter spreads tabs apart");
        for attempt in 1..40 {
            let d = retry_delay_ms(attempt, 10_000, attempt * 31);
            assert!(d <= RETRY_CAP_MS, "{attempt}: {d}");
            assert!(d >= 5_000);
        }
        assert!((500..=1000).contains(&retry_delay_ms(1, 1000, 9)));
        assert!((1000..=2000).contains(&retry_delay_ms(2, 1000, 9)));
    }

    #[test]
    fn storage_round_trip_and_rejects_corruption() {
        let mut j = job(Source::Insights, Some(live()));
        j.begin();
        j.failed(&err(429, ""), 5.0, 10, 1);
        assert_eq!(PendingJob::read(&object(&j.fields())).unwrap(), j);
        for bad in [
            "null",
            "[]",
            r#"{"v":2}"#,
            r#"{"v":1,"taskSid":"WT1"}"#,
            r#"{"v":2,"taskSid":"WT1"}"#,
            r#"{"v":3,"taskSid":"WT00000000000000000000000000000001"}"#,
            r#"{"hello":"world"}"#,
        ] {
            assert!(PendingJob::read(&parse(bad)).is_err(), "{bad}");
        }
        let mut v = object(&j.fields());
        v["state"] = "exploded".into();
        assert!(PendingJob::read(&v).is_err());
        // Nothing but SIDs, slot, times, state and summaries is stored.
        let keys: Vec<&str> = j.fields().iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "v",
                "taskSid",
                "callSid",
                "slot",
                "createdAt",
                "dueAt",
                "deadlineAt",
                "attempt",
                "state",
                "summary",
                "live",
                "proof",
                "refetched"
            ]
        );
    }

    #[test]
    fn a_version_1_job_is_read_without_its_attributes() {
        let v1 = parse(
            r#"{"v":1,"taskSid":"WT00000000000000000000000000000001","callSid":"CA00000000000000000000000000000001",
            "attributes":{"from":"+15550100"},"createdAt":1000,"dueAt":101000,"deadlineAt":1001000,
            "attempt":0,"state":"scheduled","summary":null,"live":null}"#,
        );
        let j = PendingJob::read(&v1).unwrap();
        assert_eq!(j, job(Source::Insights, None));
        let stored = object(&PendingJob::read(&object(&j.fields())).unwrap().fields());
        assert!(stored.get("attributes").is_none());
    }

    #[test]
    fn expires_after_a_day_and_absurd_times_are_caught() {
        let j = job(Source::Insights, None);
        assert_eq!(j.age(1_000.0 + JOB_TTL_MS), Age::Live);
        assert_eq!(j.age(1_001.0 + JOB_TTL_MS), Age::Expired);
        let mut future = j.clone();
        future.created_at = 1e300;
        assert_eq!(future.age(1_000.0), Age::Absurd);
        let mut unordered = j.clone();
        unordered.deadline_at = unordered.due_at - 1.0;
        assert_eq!(unordered.age(1_000.0), Age::Absurd);
        let mut endless = j;
        endless.deadline_at = 1e300;
        assert_eq!(endless.age(1_000.0), Age::Absurd);
        // The largest settings the config accepts are never "impossible".
        let mut c = cfg(Source::Insights);
        c.delay_ms = (MAX_DELAY_S * 1000.0) as u32;
        c.deadline_ms = (MAX_DEADLINE_S * 1000.0) as u32;
        let widest = PendingJob::new(
            TaskSid::parse("WT00000000000000000000000000000001").unwrap(),
            CallSid::parse("CA00000000000000000000000000000001").unwrap(),
            1_000.0,
            &c,
            None,
        );
        assert_eq!(widest.age(2_000.0), Age::Live);
    }
}
