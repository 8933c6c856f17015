//! No acknowledged write lost: the stores workload's history held against what its reads
//! answered and what the stores hold once the faults end.
//!
//! An operation that answered `Ok` happened between its invocation and its answer; a
//! `Fail` never happened; an `Unknown` may have happened at any moment after its
//! invocation, even after the client gave up (its entry may still be in a log). So:
//!
//! * **lost**: an acknowledged write missing from a read that began after it was
//!   acknowledged (and before anything could undo it), or from the final state;
//! * **phantom**: something read that no write which may have happened put there, or that
//!   an acknowledged delete removed after it was acknowledged (resurrected);
//! * **misordered**: a chat message twice, or two messages in an order their appends'
//!   intervals forbid, or a chat read that is not a prefix of the final history (appends
//!   only ever add at the end);
//! * **torn**: an acknowledged multi-node add seen in part.
//!
//! Each checker is one file: [`chat`], [`ref_docs`] (docstore and vector store), [`graph`].

pub mod chat;
pub mod graph;
pub mod ref_docs;

use crate::history::{Outcome, Record};
use crate::stores::final_state::FinalState;
use crate::stores::{StoreAnswer, StoreCall};
use serde::{Deserialize, Serialize};

/// A record of the stores workload.
pub type StoreRecord = Record<StoreCall, StoreAnswer>;

/// What the checkers found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckReport {
    /// Operations checked.
    pub operations: usize,
    /// Writes acknowledged.
    pub acknowledged_writes: usize,
    /// Acknowledged writes missing where they must be seen.
    pub lost: Vec<String>,
    /// Things seen that no possible write explains.
    pub phantom: Vec<String>,
    /// Chat order broken or messages duplicated.
    pub misordered: Vec<String>,
    /// Acknowledged adds seen in part.
    pub torn: Vec<String>,
    /// Why the final state could not be read, if it could not.
    pub unreadable: Option<String>,
}

impl AckReport {
    /// Whether every property held.
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.phantom.is_empty()
            && self.misordered.is_empty()
            && self.torn.is_empty()
            && self.unreadable.is_none()
    }
}

/// Checks `history` against its reads and the final state (`Err`: it could not be read).
pub fn check_acknowledged(history: &[StoreRecord], final_state: &Result<FinalState, String>) -> AckReport {
    let mut report = AckReport {
        operations: history.len(),
        acknowledged_writes: history.iter().filter(|r| r.is_ok() && r.call.is_write()).count(),
        ..AckReport::default()
    };
    match final_state {
        Ok(state) => {
            chat::check(history, &state.chats, &mut report);
            ref_docs::check(history, ref_docs::Kind::Docs, &state.docs, &mut report);
            ref_docs::check(history, ref_docs::Kind::Vectors, &state.vectors, &mut report);
            graph::check(history, state, &mut report);
        }
        Err(e) => report.unreadable = Some(e.clone()),
    }
    report
}

/// How an operation ended, as the checkers use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Acknowledged when (ns).
    Acked(u64),
    /// Certainly did not happen.
    Failed,
    /// May have happened, any time after its invocation.
    Maybe,
}

pub(crate) fn status(r: &StoreRecord) -> Status {
    match (&r.outcome, r.completed) {
        (Some(Outcome::Ok(_)), Some(t)) => Status::Acked(t),
        (Some(Outcome::Fail(_)), _) => Status::Failed,
        _ => Status::Maybe,
    }
}

/// The answer of a read that answered.
pub(crate) fn answer(r: &StoreRecord) -> Option<&StoreAnswer> {
    match &r.outcome {
        Some(Outcome::Ok(a)) => Some(a),
        _ => None,
    }
}

/// When a read ended (for one that answered).
pub(crate) fn ended(r: &StoreRecord) -> u64 {
    r.completed.unwrap_or(u64::MAX)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An operation by process 0 from `invoked` to `done` (`None`: unknown).
    pub fn op(call: StoreCall, invoked: u64, done: Option<(u64, Outcome<StoreAnswer>)>) -> StoreRecord {
        let (completed, outcome) = match done {
            Some((t, o)) => (Some(t), Some(o)),
            None => (None, Some(Outcome::Unknown("timeout".into()))),
        };
        Record { process: 0, call, invoked, completed, outcome }
    }

    /// An acknowledged write.
    pub fn acked(call: StoreCall, invoked: u64, done: u64) -> StoreRecord {
        op(call, invoked, Some((done, Outcome::Ok(StoreAnswer::Done))))
    }

    /// A read answering `answer`.
    pub fn read(call: StoreCall, invoked: u64, done: u64, answer: StoreAnswer) -> StoreRecord {
        op(call, invoked, Some((done, Outcome::Ok(answer))))
    }
}
