//! A typed view of a wrap-up task: only the facts the flow needs.

use super::error::Error;
use super::sid::{CallSid, TaskSid};
use super::value::Value;

/// One entry of `task.conference.participants` (Flex UI 2.x).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Participant {
    /// `participantType == "worker"`.
    pub worker: bool,
    /// `isCurrentWorker`.
    pub current_worker: bool,
    /// `callSid`, unvalidated.
    pub call_sid: Option<String>,
}

/// The facts read off an ITask at wrap-up.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapupTask {
    /// `task.taskSid` (not `task.sid`, which is the reservation).
    pub task_sid: TaskSid,
    /// `task.taskChannelUniqueName`.
    pub channel: String,
    /// `task.conference` exists.
    pub has_live_conference: bool,
    /// `task.conference.participants`.
    pub participants: Vec<Participant>,
    /// `task.attributes`.
    pub attributes: Value,
}

/// What to do with a wrap-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Not a call: nothing to do.
    Skip(&'static str),
    /// A call, but no usable worker leg.
    NoLeg(Option<Error>),
    /// Fetch the MOS of this leg.
    Run(CallSid),
}

impl WrapupTask {
    /// True when the task is a voice call with a conference.
    fn is_call(&self) -> Result<(), &'static str> {
        if self.channel != "voice" {
            return Err("not a voice task");
        }
        if !self.has_live_conference && self.attributes.get("conference").is_none() {
            return Err("voice task without a conference");
        }
        Ok(())
    }

    /// Decides what to do (pure: no I/O).
    pub fn plan(&self) -> Plan {
        if let Err(why) = self.is_call() {
            return Plan::Skip(why);
        }
        match pick_worker_leg(&self.participants, &self.attributes) {
            Ok(sid) => Plan::Run(sid),
            Err(e) => Plan::NoLeg(e),
        }
    }
}

/// Picks the worker's call leg.
///
/// The live participant that is the current worker and has a valid `callSid`
/// wins (after a transfer there are two worker legs; only one is ours). Else
/// `attributes.conference.participants.worker`. Errors carry the last invalid
/// SID seen, if any.
pub fn pick_worker_leg(
    participants: &[Participant],
    attributes: &Value,
) -> Result<CallSid, Option<Error>> {
    let mut last_err = None;
    let live = participants
        .iter()
        .filter(|p| p.worker && p.current_worker)
        .filter_map(|p| p.call_sid.as_deref());
    let fallback = attributes
        .at(&["conference", "participants", "worker"])
        .and_then(Value::as_str);
    for candidate in live.chain(fallback) {
        match CallSid::parse(candidate) {
            Ok(sid) => return Ok(sid),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::value::tests::parse;

    const A: &str = "CA00000000000000000000000000000001";
    const B: &str = "CA00000000000000000000000000000002";
    const C: &str = "CA00000000000000000000000000000003";

    fn worker(sid: &str, current: bool) -> Participant {
        Participant {
            worker: true,
            current_worker: current,
            call_sid: Some(sid.into()),
        }
    }

    fn task(channel: &str, live: bool, participants: Vec<Participant>, attrs: &str) -> WrapupTask {
        WrapupTask {
            task_sid: TaskSid::parse("WT00000000000000000000000000000001").unwrap(),
            channel: channel.into(),
            has_live_conference: live,
            participants,
            attributes: parse(attrs),
        }
    }

    #[test]
    fn prefers_the_current_worker_live_leg() {
        let ps = vec![
            Participant {
                worker: false,
                current_worker: false,
                call_sid: Some(C.into()),
            },
            worker(A, false),
            worker(B, true),
        ];
        let attrs = format!(r#"{{"conference":{{"participants":{{"worker":"{A}"}}}}}}"#);
        assert_eq!(pick_worker_leg(&ps, &parse(&attrs)).unwrap().as_str(), B);
    }

    #[test]
    fn falls_back_to_the_attributes() {
        let attrs = format!(r#"{{"conference":{{"participants":{{"worker":"{A}"}}}}}}"#);
        let ps = vec![worker("CAbad", true)];
        assert_eq!(pick_worker_leg(&ps, &parse(&attrs)).unwrap().as_str(), A);
        assert_eq!(pick_worker_leg(&[], &parse(&attrs)).unwrap().as_str(), A);
    }

    #[test]
    fn no_valid_leg_reports_the_bad_sid() {
        let attrs = r#"{"conference":{"participants":{"worker":"CA123"}}}"#;
        match pick_worker_leg(&[], &parse(attrs)) {
            Err(Some(Error::InvalidSid { got, .. })) => assert_eq!(got, "CA123"),
            other => panic!("{other:?}"),
        }
        assert_eq!(pick_worker_leg(&[], &parse("{}")), Err(None));
    }

    #[test]
    fn plans() {
        let voice = task("voice", true, vec![worker(A, true)], "{}");
        assert_eq!(voice.plan(), Plan::Run(CallSid::parse(A).unwrap()));
        assert!(matches!(
            task("chat", false, vec![], "{}").plan(),
            Plan::Skip(_)
        ));
        assert!(matches!(
            task("voice", false, vec![], "{}").plan(),
            Plan::Skip(_)
        ));
        assert!(matches!(
            task("voice", true, vec![], "{}").plan(),
            Plan::NoLeg(None)
        ));
        let attrs = format!(r#"{{"conference":{{"participants":{{"worker":"{A}"}}}}}}"#);
        assert!(matches!(
            task("voice", false, vec![], &attrs).plan(),
            Plan::Run(_)
        ));
    }
}
