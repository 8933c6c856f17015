//! Who may speak raft to this node: the members of its cluster, as its newest shard map
//! says.
//!
//! Every peer connection proves the cluster's secret and names its node in the hello (see
//! `RaftPeer::hello`); this decides whether that node is still a member. The shard map
//! hands out node ids in increasing order (`next_node_id`) and drops an id for good when
//! its node is removed (or replaced by a wiped node at its address), so an id is one of:
//! - in the map's members: answered;
//! - at or past the map's `next_node_id`: a node this map has not heard of yet, because
//!   this node's map lags the cluster's (a new member catching this node up, or a new
//!   leader of a group whose log here has not reached its addition): answered, or a
//!   lagging node could never be caught up;
//! - below `next_node_id` and not a member: removed. Refused: a removed node, out of
//!   date about its removal, would otherwise go on campaigning with ever higher terms,
//!   taking entries, proposing writes and retiring others.
//!
//! Before this node has seen any map (a node joining, or a tool's registry) every id is
//! answered: the cluster id and the secret are then the only checks.
//!
//! The rule only refuses ids that a map this node applied removed, so it never refuses a
//! current member, whatever order maps and raft memberships arrive in.

use std::collections::BTreeSet;
use strata_api::NodeId;

/// The members of the cluster as of the newest map this node applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    /// The map's members.
    pub ids: BTreeSet<NodeId>,
    /// The map's `next_node_id` (0: no map seen yet).
    pub next: NodeId,
}

impl Members {
    /// Whether `node` may make peer calls to this node (see the module comment).
    pub fn admits(&self, node: NodeId) -> bool {
        self.next == 0 || node >= self.next || self.ids.contains(&node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_newer_ids_are_admitted_removed_ones_are_not() {
        let m = Members { ids: BTreeSet::from([1, 2, 4]), next: 6 };
        assert!(m.admits(1) && m.admits(4), "members");
        assert!(!m.admits(3) && !m.admits(5), "ids handed out and then removed");
        assert!(m.admits(6) && m.admits(40), "ids a newer map may hold");
        assert!(!m.admits(0), "no node has id 0 once the cluster has a map");
    }

    #[test]
    fn before_any_map_every_id_is_admitted() {
        let m = Members::default();
        assert!(m.admits(0) && m.admits(3));
    }
}
