//! The leader changes of a node's groups: counted for `/metrics`
//! (`strata_raft_leader_changes_total`) and the latest kept for the status page.
//!
//! Each group's watcher waits on openraft's *server* metrics, which change only with a
//! vote, a role or a membership (never with an append or an apply), so watching costs
//! nothing on the write path.

use openraft::metrics::RaftServerMetrics;
use std::collections::VecDeque;
use std::sync::Mutex;
use strata_api::{GroupId, NodeId};

/// How many changes a node keeps for its status page.
pub const KEPT: usize = 64;

pub use strata_api::cluster::LeaderChange;

/// The latest changes, oldest first, at most [`KEPT`].
#[derive(Debug, Default)]
pub struct LeaderChanges {
    recent: Mutex<VecDeque<LeaderChange>>,
}

impl LeaderChanges {
    /// Counts and keeps one change.
    pub fn record(&self, change: LeaderChange) {
        if change.leader.is_some() {
            strata_api::metrics::counters().leader_changes.inc();
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(change);
    }

    /// The kept changes, oldest first.
    pub fn recent(&self) -> Vec<LeaderChange> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

/// Watches `group`'s server metrics until its raft stops, recording each change of
/// leader.
pub async fn watch(
    group: GroupId,
    mut metrics: tokio::sync::watch::Receiver<RaftServerMetrics<NodeId, openraft::BasicNode>>,
    changes: std::sync::Arc<LeaderChanges>,
) {
    let mut last: Option<NodeId> = None;
    loop {
        let (leader, term) = {
            let m = metrics.borrow_and_update();
            (m.current_leader, m.vote.leader_id().term)
        };
        if leader != last {
            changes.record(LeaderChange { group, leader, term, at_ms: strata_api::clock::unix_ms() });
            last = leader;
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_and_counts_only_known_leaders() {
        let changes = LeaderChanges::default();
        let before = strata_api::metrics::counters().leader_changes.get();
        for i in 0..(KEPT as u64 + 5) {
            changes.record(LeaderChange { group: 1, leader: (i % 2 == 0).then_some(i), term: i, at_ms: i });
        }
        let recent = changes.recent();
        assert_eq!(recent.len(), KEPT);
        assert_eq!(recent[0].term, 5, "the oldest were dropped");
        assert_eq!(recent.last().map(|c| c.term), Some(KEPT as u64 + 4));
        // Other tests in this process may count too: at least ours.
        assert!(strata_api::metrics::counters().leader_changes.get() - before >= (KEPT as u64 + 5).div_ceil(2));
    }
}
