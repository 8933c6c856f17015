//! Histories: what each client asked, when, and what came back, as the checkers read them.
//!
//! Every operation is recorded twice, as Jepsen does: at invocation and at completion,
//! with times from one monotonic clock shared by every client of the run. A completion is
//! `Ok` (it happened, with this answer), `Fail` (it definitely did not happen: the
//! cluster refused it with a deterministic error), or `Unknown` (a timeout or lost
//! connection: it may have happened, at any moment after its invocation). Treating an
//! ambiguous error as `Fail` would make the checkers unsound, so only errors that
//! [`strata_api::Error::is_deterministic`] marks as answers count as failures.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome<A> {
    /// It took effect, answering this.
    Ok(A),
    /// It did not take effect (a deterministic refusal), with the error's text.
    Fail(String),
    /// It may or may not have taken effect, with the error's text.
    Unknown(String),
}

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record<C, A> {
    /// The client (logical process) that ran it; one operation at a time per process.
    pub process: u64,
    /// What was asked.
    pub call: C,
    /// Nanoseconds since the run began, at invocation.
    pub invoked: u64,
    /// Nanoseconds since the run began, at completion (`None` while in flight, and for
    /// operations still in flight when the run ended, which count as `Unknown`).
    pub completed: Option<u64>,
    /// How it ended (`None` while in flight).
    pub outcome: Option<Outcome<A>>,
}

impl<C, A> Record<C, A> {
    /// Whether it certainly took effect.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Ok(_)))
    }

    /// Whether it certainly did not.
    pub fn is_fail(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Fail(_)))
    }
}

/// Classifies a client error: a deterministic one is an answer (the operation did not
/// happen), any other may hide a write that did.
pub fn outcome_of_error<A>(e: &strata_client::Error) -> Outcome<A> {
    match e.as_store() {
        Some(store) if store.is_deterministic() => Outcome::Fail(e.to_string()),
        _ => Outcome::Unknown(e.to_string()),
    }
}

/// A history being recorded by many clients at once. Cheap to clone.
pub struct Recorder<C, A> {
    start: Instant,
    records: Arc<Mutex<Vec<Record<C, A>>>>,
}

impl<C, A> Clone for Recorder<C, A> {
    fn clone(&self) -> Self {
        Self { start: self.start, records: self.records.clone() }
    }
}

/// An operation recorded as invoked and not yet completed.
#[derive(Debug)]
#[must_use = "complete the operation, or it counts as unknown"]
pub struct Pending(usize);

impl<C: Clone, A: Clone> Recorder<C, A> {
    /// An empty history whose clock starts at `start` (share one `Instant` between the
    /// recorders of one run, so their times compare).
    pub fn new(start: Instant) -> Self {
        Self { start, records: Arc::new(Mutex::new(Vec::new())) }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records that `process` invokes `call`.
    pub fn invoke(&self, process: u64, call: C) -> Pending {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let invoked = self.now();
        records.push(Record { process, call, invoked, completed: None, outcome: None });
        Pending(records.len() - 1)
    }

    /// Records how the operation ended.
    pub fn complete(&self, op: Pending, outcome: Outcome<A>) {
        let completed = self.now();
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = records.get_mut(op.0) {
            r.completed = Some(completed);
            r.outcome = Some(outcome);
        }
    }

    /// Records the result of a client call: `ok` maps its answer.
    pub fn finish<T>(&self, op: Pending, result: &strata_client::Result<T>, ok: impl FnOnce(&T) -> A) {
        let outcome = match result {
            Ok(v) => Outcome::Ok(ok(v)),
            Err(e) => outcome_of_error(e),
        };
        self.complete(op, outcome);
    }

    /// The history so far; operations still in flight come out as `Unknown`.
    pub fn snapshot(&self) -> Vec<Record<C, A>> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records
            .iter()
            .cloned()
            .map(|mut r| {
                if r.outcome.is_none() {
                    r.outcome = Some(Outcome::Unknown("in flight when the run ended".into()));
                }
                r
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_never_completed_reads_as_unknown() {
        let rec: Recorder<&str, u32> = Recorder::new(Instant::now());
        let a = rec.invoke(1, "a");
        let _b = rec.invoke(2, "b");
        rec.complete(a, Outcome::Ok(7));
        let h = rec.snapshot();
        assert!(h[0].is_ok() && h[0].completed.is_some_and(|c| c >= h[0].invoked));
        assert!(matches!(h[1].outcome, Some(Outcome::Unknown(_))) && h[1].completed.is_none());
    }

    #[test]
    fn deterministic_errors_fail_and_others_are_unknown() {
        let refused = strata_client::Error::Store(strata_api::Error::InvalidInput("bad".into()));
        assert!(matches!(outcome_of_error::<()>(&refused), Outcome::Fail(_)));
        let lost = strata_client::Error::Store(strata_api::Error::Unavailable("timeout".into()));
        assert!(matches!(outcome_of_error::<()>(&lost), Outcome::Unknown(_)));
        let io = strata_client::Error::Protocol("connection reset".into());
        assert!(matches!(outcome_of_error::<()>(&io), Outcome::Unknown(_)));
    }
}
