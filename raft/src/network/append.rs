//! Appends that outlive openraft's wait for them.
//!
//! Why: openraft 0.9 bounds every append RPC by the heartbeat interval (100 ms) and, when
//! it runs out, sends the same entries again. An append that takes longer than that to
//! travel and be stored (one 64 MiB value; a 200,000-node `add_documents`) was therefore
//! cut off and sent again forever, and nothing behind it in the log could commit: one
//! large write stalled its whole group.
//!
//! How instead: an append with entries is sent by a task of its own with a deadline of
//! [`APPEND_TTL`], and openraft's call only waits for that task's answer. When openraft
//! gives up and asks again for the same entries (same vote, same previous log id, and
//! the entries sent, perhaps followed by newer ones), the new call waits for the answer
//! of the append already under way instead of sending the bytes again. Its answer holds
//! for the new call: a follower that took entries up to `last` after `prev` under this
//! vote has, by Raft's log matching, the new call's entries up to `last`, so `Success`
//! becomes `PartialSuccess(last)` when the new call carried more; `Conflict` and a
//! higher vote hold as they are. Any other request replaces (and stops) the one under
//! way. Heartbeats (no entries) are sent at once as before.

use crate::TypeConfig;
use crate::typ::{LogId, Vote};
use openraft::BasicNode;
use openraft::error::{RPCError, RaftError};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use std::time::Duration;
use strata_api::NodeId;
use tokio::sync::oneshot;

/// How long one append may take in all (its bytes, the follower's write and flush).
pub const APPEND_TTL: Duration = Duration::from_secs(30);

/// What an append answered.
pub type AppendResult = Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>>;

/// Which append: its vote, the log id before its entries, and its last entry's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    vote: Vote,
    prev: Option<LogId>,
    last: LogId,
}

impl Sent {
    /// What `rpc` sends (`None` for a heartbeat: no entries).
    pub fn of(rpc: &AppendEntriesRequest<TypeConfig>) -> Option<Self> {
        Some(Self { vote: rpc.vote, prev: rpc.prev_log_id, last: rpc.entries.last()?.log_id })
    }

    /// Whether an append of `asked` carries everything this one did, from the same place
    /// (under one vote a leader never rewrites its entries, so a longer `asked` holds
    /// this one's last entry).
    pub fn is_covered_by(&self, asked: &Sent) -> bool {
        self.vote == asked.vote
            && self.prev == asked.prev
            && (self.last.index < asked.last.index || self.last == asked.last)
    }

    /// This append's `answer`, as the answer to `asked` (which covers it).
    pub fn answer_for(&self, asked: &Sent, answer: AppendEntriesResponse<NodeId>) -> AppendEntriesResponse<NodeId> {
        match answer {
            AppendEntriesResponse::Success if self.last != asked.last => {
                AppendEntriesResponse::PartialSuccess(Some(self.last))
            }
            other => other,
        }
    }
}

/// An append under way on its own task.
pub struct InFlight {
    /// What it sends.
    pub sent: Sent,
    /// Its answer, once it comes (awaiting it is cancel-safe: a later call picks it up).
    pub answer: oneshot::Receiver<AppendResult>,
    task: tokio::task::JoinHandle<()>,
}

impl InFlight {
    /// Starts `send` on a task of its own.
    pub fn start(sent: Sent, send: impl Future<Output = AppendResult> + Send + 'static) -> Self {
        let (tx, answer) = oneshot::channel();
        let task = tokio::spawn(async move {
            let _ = tx.send(send.await);
        });
        Self { sent, answer, task }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn id(term: u64, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }
    fn sent(term: u64, prev: Option<u64>, last: u64) -> Sent {
        Sent { vote: Vote::new_committed(term, 1), prev: prev.map(|p| id(term, p)), last: id(term, last) }
    }

    #[test]
    fn a_retry_of_the_same_entries_or_more_covers_the_append_under_way() {
        let under_way = sent(2, Some(10), 12);
        assert!(under_way.is_covered_by(&sent(2, Some(10), 12)), "the same entries");
        assert!(under_way.is_covered_by(&sent(2, Some(10), 15)), "the same and newer ones");
        assert!(!under_way.is_covered_by(&sent(2, Some(10), 11)), "fewer");
        assert!(!under_way.is_covered_by(&sent(2, Some(9), 12)), "from elsewhere");
        assert!(!under_way.is_covered_by(&sent(3, Some(10), 12)), "another vote");
        let other_entry = Sent { last: id(1, 12), ..under_way };
        assert!(!under_way.is_covered_by(&other_entry), "another entry at the same index");
    }

    #[test]
    fn success_for_fewer_entries_is_partial_and_refusals_stand() {
        let under_way = sent(2, Some(10), 12);
        let same = sent(2, Some(10), 12);
        let more = sent(2, Some(10), 15);
        assert_eq!(under_way.answer_for(&same, AppendEntriesResponse::Success), AppendEntriesResponse::Success);
        assert_eq!(
            under_way.answer_for(&more, AppendEntriesResponse::Success),
            AppendEntriesResponse::PartialSuccess(Some(id(2, 12)))
        );
        assert_eq!(under_way.answer_for(&more, AppendEntriesResponse::Conflict), AppendEntriesResponse::Conflict);
    }
}
