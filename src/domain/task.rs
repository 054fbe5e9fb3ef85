//! A typed view of a wrap-up task: only the facts the flow needs.

use super::error::Error;
use super::sid::{CallSid, TaskSid};

/// One entry of `task.conference.participants` (Flex UI 2.x
/// `ConferenceParticipant`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Participant {
    /// `participantType` is `"worker"` (Flex's raw type `"agent"` counts too).
    pub worker: bool,
    /// `isCurrentWorker`.
    pub current_worker: bool,
    /// `status == "joined"`.
    pub joined: bool,
    /// `reservationSid`, unvalidated.
    pub reservation_sid: Option<String>,
    /// `callSid`, unvalidated.
    pub call_sid: Option<String>,
}

/// The facts read off an ITask at wrap-up.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapupTask {
    /// `task.taskSid` (not `task.sid`, which is the reservation).
    pub task_sid: TaskSid,
    /// `task.sid`: this worker's reservation on the task.
    pub reservation_sid: Option<String>,
    /// `task.taskChannelUniqueName`.
    pub channel: String,
    /// `task.conference` exists.
    pub has_live_conference: bool,
    /// `task.conference.participants`.
    pub participants: Vec<Participant>,
    /// `task.attributes.conference` exists.
    pub conference_attribute: bool,
    /// `task.attributes.conference.participants.worker`, unvalidated.
    pub attribute_leg: Option<String>,
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
        if !self.has_live_conference && !self.conference_attribute {
            return Err("voice task without a conference");
        }
        Ok(())
    }

    /// Decides what to do (pure: no I/O).
    pub fn plan(&self) -> Plan {
        if let Err(why) = self.is_call() {
            return Plan::Skip(why);
        }
        match pick_worker_leg(
            &self.participants,
            self.reservation_sid.as_deref(),
            self.attribute_leg.as_deref(),
        ) {
            Ok(sid) => Plan::Run(sid),
            Err(e) => Plan::NoLeg(e),
        }
    }
}

/// Picks the worker's call leg, first valid `callSid` of:
///
/// 1. the worker participant whose `reservationSid` is this task's
///    reservation (`task.sid`): when a task comes back to the same worker,
///    Flex keeps the earlier leg (status `left`) and `isCurrentWorker` is true
///    for both, so only the reservation tells them apart;
/// 2. a joined participant that is the current worker;
/// 3. `attributes.conference.participants.worker`.
///
/// Errors carry the last invalid SID seen, if any.
pub fn pick_worker_leg(
    participants: &[Participant],
    reservation_sid: Option<&str>,
    attribute_leg: Option<&str>,
) -> Result<CallSid, Option<Error>> {
    let mut last_err = None;
    let workers = || participants.iter().filter(|p| p.worker);
    let by_reservation = workers()
        .filter(|p| reservation_sid.is_some() && p.reservation_sid.as_deref() == reservation_sid)
        .filter_map(|p| p.call_sid.as_deref());
    let joined = workers()
        .filter(|p| p.current_worker && p.joined)
        .filter_map(|p| p.call_sid.as_deref());
    for candidate in by_reservation.chain(joined).chain(attribute_leg) {
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

    const A: &str = "CA00000000000000000000000000000001";
    const B: &str = "CA00000000000000000000000000000002";
    const C: &str = "CA00000000000000000000000000000003";

    const RES: &str = "WR00000000000000000000000000000001";

    fn worker(sid: &str, current: bool) -> Participant {
        Participant {
            worker: true,
            current_worker: current,
            joined: true,
            reservation_sid: None,
            call_sid: Some(sid.into()),
        }
    }

    fn task(
        channel: &str,
        live: bool,
        participants: Vec<Participant>,
        leg: Option<&str>,
    ) -> WrapupTask {
        WrapupTask {
            task_sid: TaskSid::parse("WT00000000000000000000000000000001").unwrap(),
            reservation_sid: Some(RES.into()),
            channel: channel.into(),
            has_live_conference: live,
            participants,
            conference_attribute: leg.is_some(),
            attribute_leg: leg.map(str::to_owned),
        }
    }

    #[test]
    fn prefers_the_current_worker_live_leg() {
        let ps = vec![
            Participant {
                call_sid: Some(C.into()),
                ..Participant::default()
            },
            worker(A, false),
            worker(B, true),
        ];
        let attrs = Some(A);
        assert_eq!(pick_worker_leg(&ps, None, attrs).unwrap().as_str(), B);
    }

    #[test]
    fn a_task_back_to_the_same_worker_picks_this_reservations_leg() {
        // Both legs are the current worker's; the earlier one has left.
        let earlier = Participant {
            joined: false,
            reservation_sid: Some("WR00000000000000000000000000000009".into()),
            ..worker(A, true)
        };
        let this = Participant {
            reservation_sid: Some(RES.into()),
            ..worker(B, true)
        };
        for ps in [
            vec![earlier.clone(), this.clone()],
            vec![this.clone(), earlier.clone()],
        ] {
            assert_eq!(pick_worker_leg(&ps, Some(RES), None).unwrap().as_str(), B);
        }
        // At wrap-up our leg may have left too: the reservation still decides.
        let left = Participant {
            joined: false,
            ..this.clone()
        };
        let rejoined_earlier = Participant {
            joined: true,
            ..earlier
        };
        assert_eq!(
            pick_worker_leg(&[rejoined_earlier, left], Some(RES), None)
                .unwrap()
                .as_str(),
            B
        );
    }

    #[test]
    fn a_left_current_worker_leg_is_not_joined() {
        let left = Participant {
            joined: false,
            ..worker(A, true)
        };
        let attrs = Some(C);
        assert_eq!(
            pick_worker_leg(&[left], Some(RES), attrs).unwrap().as_str(),
            C
        );
    }

    #[test]
    fn falls_back_to_the_attributes() {
        let attrs = Some(A);
        let ps = vec![worker("CAbad", true)];
        assert_eq!(pick_worker_leg(&ps, None, attrs).unwrap().as_str(), A);
        assert_eq!(pick_worker_leg(&[], None, attrs).unwrap().as_str(), A);
    }

    #[test]
    fn no_valid_leg_reports_the_bad_sid() {
        match pick_worker_leg(&[], None, Some("CA123")) {
            Err(Some(Error::InvalidSid { got, .. })) => assert_eq!(got, "CA123"),
            other => panic!("{other:?}"),
        }
        assert_eq!(pick_worker_leg(&[], None, None), Err(None));
    }

    #[test]
    fn plans() {
        let voice = task("voice", true, vec![worker(A, true)], None);
        assert_eq!(voice.plan(), Plan::Run(CallSid::parse(A).unwrap()));
        assert!(matches!(
            task("chat", false, vec![], None).plan(),
            Plan::Skip(_)
        ));
        assert!(matches!(
            task("voice", false, vec![], None).plan(),
            Plan::Skip(_)
        ));
        assert!(matches!(
            task("voice", true, vec![], None).plan(),
            Plan::NoLeg(None)
        ));
        let attrs = Some(A);
        assert!(matches!(
            task("voice", false, vec![], attrs).plan(),
            Plan::Run(_)
        ));
    }
}
