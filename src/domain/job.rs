//! The per-task job: a small state machine plus the retry schedule.
//!
//! ```text
//! Scheduled ──due──► Fetching ──MOS──► Creating ──created──► Done
//!     ▲                 │                  │
//!     └──transient──────┴──────────────────┘   (permanent / past deadline ► Failed)
//! ```
//!
//! A job is persisted (as a [`Value`]) whenever it changes, so a reload resumes
//! it where it was; the fetched MOS is kept, so a retried create never
//! refetches.

use super::config::{Config, Source};
use super::error::{Error, ErrorClass};
use super::mos::MosSummary;
use super::sid::{CallSid, TaskSid};
use super::value::{Map, Value};

/// localStorage key prefix; bump the version when the shape changes.
pub const STORAGE_PREFIX: &str = "mos-score:v1:job:";
/// Jobs older than this are dropped with a log line.
pub const JOB_TTL_MS: f64 = 24.0 * 3600.0 * 1000.0;
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
    /// Create the MOS task with this summary.
    Create(MosSummary),
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

/// One wrap-up's work, from the wrap-up to the MOS task.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingJob {
    /// The original task.
    pub task_sid: TaskSid,
    /// The worker's call leg.
    pub call_sid: CallSid,
    /// The original task's attributes, already linked.
    pub attributes: Value,
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
        attributes: Value,
        now: f64,
        cfg: &Config,
        live: Option<MosSummary>,
    ) -> Self {
        let (due_at, summary) = match cfg.source {
            Source::Sdk => (now, live.clone()),
            Source::Insights => (now + f64::from(cfg.delay_ms), None),
        };
        PendingJob {
            task_sid,
            call_sid,
            attributes,
            created_at: now,
            due_at,
            deadline_at: due_at + f64::from(cfg.deadline_ms),
            attempt: 0,
            state: JobState::Scheduled,
            summary,
            live,
        }
    }

    /// The localStorage key of this job.
    pub fn storage_key(&self) -> String {
        let mut k = String::from(STORAGE_PREFIX);
        k.push_str(self.task_sid.as_str());
        k
    }

    /// Older than 24 h.
    pub fn is_expired(&self, now: f64) -> bool {
        now - self.created_at > JOB_TTL_MS
    }

    /// Starts an attempt: what to do now.
    pub fn begin(&mut self) -> Step {
        match &self.summary {
            Some(s) => {
                self.state = JobState::Creating;
                Step::Create(s.clone())
            }
            None => {
                self.state = JobState::Fetching;
                Step::Fetch
            }
        }
    }

    /// get_mos_score answered.
    pub fn fetched(&mut self, summary: MosSummary) {
        self.summary = Some(summary);
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
            ErrorClass::Transient => {
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

    /// The job as stored in localStorage.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("v", Value::Num(1.0));
        m.insert("taskSid", Value::str(self.task_sid.as_str()));
        m.insert("callSid", Value::str(self.call_sid.as_str()));
        m.insert("attributes", self.attributes.clone());
        m.insert("createdAt", Value::Num(self.created_at));
        m.insert("dueAt", Value::Num(self.due_at));
        m.insert("deadlineAt", Value::Num(self.deadline_at));
        m.insert("attempt", Value::Num(f64::from(self.attempt)));
        m.insert("state", Value::str(self.state.as_str()));
        let opt = |s: &Option<MosSummary>| s.as_ref().map_or(Value::Null, MosSummary::to_value);
        m.insert("summary", opt(&self.summary));
        m.insert("live", opt(&self.live));
        Value::Obj(m)
    }

    /// Reads a stored job back; anything foreign or corrupted is an error.
    pub fn from_value(v: &Value) -> Result<Self, &'static str> {
        if v.get("v").and_then(Value::as_f64) != Some(1.0) {
            return Err("unknown version");
        }
        let s = |k| v.get(k).and_then(Value::as_str).ok_or("missing field");
        let n = |k| v.get(k).and_then(Value::as_f64).ok_or("missing number");
        let summary = |k| match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => MosSummary::from_value(x)
                .map(Some)
                .map_err(|_| "bad summary"),
        };
        let attributes = v.get("attributes").cloned().ok_or("missing attributes")?;
        if !matches!(attributes, Value::Obj(_)) {
            return Err("attributes is not an object");
        }
        let attempt = n("attempt")?;
        if !(0.0..1e6).contains(&attempt) || !super::mos::is_whole(attempt) {
            return Err("bad attempt");
        }
        Ok(PendingJob {
            task_sid: TaskSid::parse(s("taskSid")?).map_err(|_| "bad taskSid")?,
            call_sid: CallSid::parse(s("callSid")?).map_err(|_| "bad callSid")?,
            attributes,
            created_at: n("createdAt")?,
            due_at: n("dueAt")?,
            deadline_at: n("deadlineAt")?,
            attempt: attempt as u32,
            state: JobState::parse(s("state")?).ok_or("bad state")?,
            summary: summary("summary")?,
            live: summary("live")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mos::MosSource;
    use crate::domain::value::tests::parse;

    fn cfg(source: Source) -> Config {
        let mut c = Config::resolve(Some("https://x.twil.io"), None).unwrap();
        c.source = source;
        c
    }

    fn job(source: Source, live: Option<MosSummary>) -> PendingJob {
        PendingJob::new(
            TaskSid::parse("WT00000000000000000000000000000001").unwrap(),
            CallSid::parse("CA00000000000000000000000000000001").unwrap(),
            parse(r#"{"conversations":{"conversation_id":"WT00000000000000000000000000000001"}}"#),
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
            j.storage_key(),
            "mos-score:v1:job:WT00000000000000000000000000000001"
        );
    }

    #[test]
    fn happy_path() {
        let mut j = job(Source::Insights, None);
        assert_eq!(j.begin(), Step::Fetch);
        let s = MosSummary::new(4.2, 3.1, 0.0, 10, MosSource::VoiceInsights).unwrap();
        j.fetched(s.clone());
        assert_eq!(j.state, JobState::Creating);
        // A retried attempt (e.g. after a reload) creates without refetching.
        assert_eq!(j.begin(), Step::Create(s));
        j.created();
        assert_eq!(j.state, JobState::Done);
    }

    #[test]
    fn sdk_mode_is_due_at_once_with_the_live_summary() {
        let mut j = job(Source::Sdk, Some(live()));
        assert_eq!(j.due_at, 1_000.0);
        assert_eq!(j.begin(), Step::Create(live()));
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
        assert_eq!(j.begin(), Step::Create(live()));
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
        j.fetched(s.clone());
        j.begin();
        assert!(matches!(
            j.failed(&err(503, ""), j.due_at, 10, 1),
            Decision::RetryAt(_)
        ));
        assert_eq!(j.begin(), Step::Create(s));
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
        assert_eq!(PendingJob::from_value(&j.to_value()).unwrap(), j);
        for bad in [
            "null",
            "[]",
            r#"{"v":2}"#,
            r#"{"v":1,"taskSid":"WT1"}"#,
            r#"{"hello":"world"}"#,
        ] {
            assert!(PendingJob::from_value(&parse(bad)).is_err(), "{bad}");
        }
        let mut v = j.to_value();
        if let Value::Obj(m) = &mut v {
            m.insert("state", Value::str("exploded"));
        }
        assert!(PendingJob::from_value(&v).is_err());
    }

    #[test]
    fn expires_after_a_day() {
        let j = job(Source::Insights, None);
        assert!(!j.is_expired(1_000.0 + JOB_TTL_MS));
        assert!(j.is_expired(1_001.0 + JOB_TTL_MS));
    }
}
