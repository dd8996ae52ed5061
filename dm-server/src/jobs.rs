//! Where operations come from and where their outcomes go: the [`OperationSource`] trait and
//! [`InMemoryJobQueue`].
//!
//! The session engine asks for a device's operations each time it starts a package (after the client's
//! package 1 and after each of its later packages), so operations queued during a session still go out in
//! it; an operation it already sent in this session is not sent again. It reports each outcome with
//! [`OperationSource::completed`] as soon as the client's answer is complete. An operation whose `Status`
//! never arrived (the session broke off, or the client did not answer) is not reported: it stays queued and
//! goes out again in the next session.
//!
//! Asynchronous `Exec` (DM 1.2.1 Protocol §2.3.7): a 202 is reported with [`OutcomeState::Accepted`] and the
//! `Correlator`; the store keeps that outcome out of [`OperationSource::next_operations`] and hands it back
//! from [`OperationSource::find_accepted`] when a Generic Alert with the `Correlator` arrives, possibly in a
//! later session; the engine then reports it again, [`OutcomeState::Done`], with the alert attached.

use std::sync::{Arc, Mutex, PoisonError};

use m2msim_codec::syncml::Command;

use crate::operation::{OpId, Operation, OperationOutcome, OutcomeState};

/// The job store as the session engine sees it.
pub trait OperationSource {
    /// The operations waiting for `device_id`, oldest first (operations reported as done, not sent, or
    /// accepted are not among them). The engine skips any it already sent in this session.
    fn next_operations(&mut self, device_id: &str) -> Vec<Operation>;

    /// The client's answer to an operation is complete (`outcome.state` [`OutcomeState::Done`]), the
    /// operation was accepted for asynchronous processing ([`OutcomeState::Accepted`]), or it could not be
    /// sent ([`OutcomeState::NotSent`]).
    fn completed(&mut self, device_id: &str, outcome: OperationOutcome);

    /// The outcome of the operation of `device_id` that was accepted with `correlator` and waits for its
    /// Generic Alert, if any.
    fn find_accepted(&mut self, device_id: &str, correlator: &str) -> Option<OperationOutcome>;
}

#[derive(Debug, Default)]
struct QueueState {
    next_id: u64,
    queued: Vec<(String, Operation)>,
    accepted: Vec<(String, OperationOutcome)>,
    finished: Vec<(String, OperationOutcome)>,
}

/// An [`OperationSource`] in memory. Clones share the same queue, so a test or an admin task keeps a handle
/// while sessions use others.
#[derive(Debug, Clone, Default)]
pub struct InMemoryJobQueue {
    inner: Arc<Mutex<QueueState>>,
}

impl InMemoryJobQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Every update below leaves the state consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `command` for `device_id` under a new id (1, 2, 3, … in this queue).
    pub fn push(&self, device_id: &str, command: impl Into<Command>) -> OpId {
        let mut s = self.state();
        s.next_id += 1;
        let id = OpId(s.next_id);
        s.queued.push((device_id.to_owned(), Operation::new(id, command)));
        id
    }

    /// The ids of the operations still queued for `device_id`.
    #[must_use]
    pub fn queued(&self, device_id: &str) -> Vec<OpId> {
        self.state().queued.iter().filter(|(d, _)| d == device_id).map(|(_, o)| o.op_id).collect()
    }

    /// The latest outcome reported for `op_id` (done, not sent, or accepted and waiting).
    #[must_use]
    pub fn outcome(&self, op_id: OpId) -> Option<OperationOutcome> {
        let s = self.state();
        s.finished.iter().chain(s.accepted.iter()).find(|(_, o)| o.op_id == op_id).map(|(_, o)| o.clone())
    }

    /// Every final outcome reported for `device_id` (done or not sent), in report order.
    #[must_use]
    pub fn finished(&self, device_id: &str) -> Vec<OperationOutcome> {
        self.state().finished.iter().filter(|(d, _)| d == device_id).map(|(_, o)| o.clone()).collect()
    }

    /// The outcomes of `device_id` accepted and waiting for a Generic Alert.
    #[must_use]
    pub fn awaiting_alert(&self, device_id: &str) -> Vec<OperationOutcome> {
        self.state().accepted.iter().filter(|(d, _)| d == device_id).map(|(_, o)| o.clone()).collect()
    }
}

impl OperationSource for InMemoryJobQueue {
    fn next_operations(&mut self, device_id: &str) -> Vec<Operation> {
        self.state().queued.iter().filter(|(d, _)| d == device_id).map(|(_, o)| o.clone()).collect()
    }

    fn completed(&mut self, device_id: &str, outcome: OperationOutcome) {
        let mut s = self.state();
        s.queued.retain(|(_, o)| o.op_id != outcome.op_id);
        s.accepted.retain(|(_, o)| o.op_id != outcome.op_id);
        match outcome.state {
            OutcomeState::Accepted { .. } => s.accepted.push((device_id.to_owned(), outcome)),
            OutcomeState::Done | OutcomeState::NotSent { .. } => {
                s.finished.push((device_id.to_owned(), outcome))
            }
        }
    }

    fn find_accepted(&mut self, device_id: &str, correlator: &str) -> Option<OperationOutcome> {
        self.state()
            .accepted
            .iter()
            .find(|(d, o)| {
                d == device_id
                    && matches!(&o.state, OutcomeState::Accepted { correlator: c } if c == correlator)
            })
            .map(|(_, o)| o.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::{NotSentReason, cmd};

    #[test]
    fn queue_lifecycle() {
        let q = InMemoryJobQueue::new();
        let a = q.push("d1", cmd::get("./DevInfo/Mod"));
        let b = q.push("d1", cmd::exec("./FUMO/Update", None, None));
        let c = q.push("d2", cmd::delete("./x"));
        assert_eq!((a, b, c), (OpId(1), OpId(2), OpId(3)));
        let mut h: Box<dyn OperationSource> = Box::new(q.clone());
        let ops = h.next_operations("d1");
        assert_eq!(ops.iter().map(|o| o.op_id).collect::<Vec<_>>(), vec![a, b]);

        h.completed("d1", OperationOutcome::new(a));
        let mut acc = OperationOutcome::new(b);
        acc.state = OutcomeState::Accepted { correlator: "2".into() };
        h.completed("d1", acc.clone());
        assert!(h.next_operations("d1").is_empty());
        assert_eq!(q.awaiting_alert("d1"), vec![acc.clone()]);
        assert_eq!(h.find_accepted("d1", "2"), Some(acc.clone()));
        assert_eq!(h.find_accepted("d2", "2"), None);
        assert_eq!(h.find_accepted("d1", "3"), None);

        let mut done = acc;
        done.state = OutcomeState::Done;
        h.completed("d1", done.clone());
        assert!(q.awaiting_alert("d1").is_empty());
        assert_eq!(q.outcome(b), Some(done));
        assert_eq!(q.finished("d1").len(), 2);

        h.completed("d2", OperationOutcome::not_sent(c, NotSentReason::TooLarge));
        assert!(q.queued("d2").is_empty());
    }
}
