//! The read floor of a leader restored in its own term.
//!
//! Why: openraft starts a node whose saved vote is its own committed leadership as leader
//! at once (no election, so no new first entry of the term), and it restores the commit
//! index from `save_committed`, which is not flushed (flushing it would cost a sync per
//! commit). After every node is killed at once, that leader's saved commit index can lag
//! the writes it acknowledged before the crash, and openraft's read index — the larger of
//! the commit index and the term's first entry, which is old — would let it answer a
//! linearizable read from before them. Everything it acknowledged is in its own log (a
//! leader appends and flushes before counting itself), so while it still leads the term
//! it was restored in, a read waits until it has applied its whole log as it was at the
//! restart. A later term begins with a new first entry, which covers the same ground.

use crate::typ::{LogId, Vote};
use strata_api::NodeId;

/// What a node held when it opened a group, when it came back as that group's leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoredLeader {
    /// The term it leads from the restart on.
    pub term: u64,
    /// The last index of its log at the restart.
    pub last_index: u64,
}

impl RestoredLeader {
    /// From the vote and last log id saved on disk: `Some` when `node` restarts as leader.
    pub fn at_startup(node: NodeId, vote: Option<&Vote>, last_log: Option<&LogId>) -> Option<Self> {
        let vote = vote?;
        let leader = vote.leader_id();
        (vote.is_committed() && leader.voted_for() == Some(node))
            .then(|| Self { term: leader.get_term(), last_index: last_log.map_or(0, |l| l.index) })
    }

    /// The index a linearizable read must reflect, given openraft's `read` index and the
    /// term this node leads now.
    pub fn floor(this: Option<Self>, read: Option<u64>, current_term: u64) -> Option<u64> {
        match this {
            Some(r) if r.term == current_term => Some(read.map_or(r.last_index, |i| i.max(r.last_index))),
            _ => read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn log_id(term: u64, node: NodeId, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term, node), index)
    }

    #[test]
    fn only_a_committed_vote_for_this_node_restores_a_leader() {
        let last = log_id(3, 1, 40);
        assert_eq!(
            RestoredLeader::at_startup(1, Some(&Vote::new_committed(3, 1)), Some(&last)),
            Some(RestoredLeader { term: 3, last_index: 40 })
        );
        assert_eq!(RestoredLeader::at_startup(1, Some(&Vote::new_committed(3, 2)), Some(&last)), None);
        assert_eq!(RestoredLeader::at_startup(1, Some(&Vote::new(3, 1)), Some(&last)), None, "a candidate");
        assert_eq!(RestoredLeader::at_startup(1, None, Some(&last)), None);
    }

    #[test]
    fn the_floor_holds_in_the_restored_term_only() {
        let restored = Some(RestoredLeader { term: 3, last_index: 40 });
        assert_eq!(RestoredLeader::floor(restored, Some(12), 3), Some(40), "a stale commit index is raised");
        assert_eq!(RestoredLeader::floor(restored, None, 3), Some(40));
        assert_eq!(RestoredLeader::floor(restored, Some(55), 3), Some(55), "never lowered");
        assert_eq!(RestoredLeader::floor(restored, Some(12), 4), Some(12), "a new term has its own first entry");
        assert_eq!(RestoredLeader::floor(None, Some(12), 3), Some(12));
    }
}
