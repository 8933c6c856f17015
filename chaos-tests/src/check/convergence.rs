//! Convergence: once faults end and writes stop, every replica of every group must hold
//! the same state at the same applied index, compared by the digest each node reports
//! (`state_digest`: a hash of the group's records taken between two applies).

use serde::{Deserialize, Serialize};
use strata_api::{GroupId, NodeId, StateDigest};

/// One group's replicas compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupState {
    /// Every replica is at the same applied index with the same digest.
    Converged,
    /// Replicas are at different applied indexes (not caught up yet: ask again).
    CatchingUp,
    /// Replicas at the same applied index hold different states.
    Diverged(Vec<(NodeId, StateDigest)>),
}

/// Compares the digests of one group's replicas.
pub fn compare(replicas: &[(NodeId, StateDigest)]) -> GroupState {
    let Some((_, first)) = replicas.first() else { return GroupState::Converged };
    if replicas.iter().any(|(_, d)| d.applied_index != first.applied_index) {
        return GroupState::CatchingUp;
    }
    if replicas.iter().all(|(_, d)| d.hash == first.hash && d.records == first.records) {
        GroupState::Converged
    } else {
        GroupState::Diverged(replicas.to_vec())
    }
}

/// How a cluster's groups compared at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvergenceReport {
    /// Groups compared.
    pub groups: usize,
    /// Groups whose replicas diverged.
    pub diverged: Vec<GroupId>,
    /// Groups whose replicas never reached the same applied index in the time given.
    pub not_caught_up: Vec<GroupId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(applied: u64, hash: u64) -> StateDigest {
        StateDigest { group: 1, applied_index: Some(applied), hash, records: 3 }
    }

    #[test]
    fn equal_digests_at_equal_indexes_converge_and_different_ones_diverge() {
        assert_eq!(compare(&[(1, d(5, 9)), (2, d(5, 9)), (3, d(5, 9))]), GroupState::Converged);
        assert_eq!(compare(&[(1, d(5, 9)), (2, d(4, 7))]), GroupState::CatchingUp);
        assert!(matches!(compare(&[(1, d(5, 9)), (2, d(5, 8))]), GroupState::Diverged(r) if r.len() == 2));
    }
}
