//! The replication layer's error.

use strata_api::GroupId;

/// What can go wrong replicating or reading a group.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The shard under the group failed.
    #[error(transparent)]
    Shard(#[from] strata_shards::Error),
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// This node does not lead the group.
    #[error("not the leader of group {group} (leader: {leader:?})")]
    NotLeader {
        /// The group.
        group: GroupId,
        /// The leader, when known.
        leader: Option<u64>,
        /// The leader's raft address, when known.
        leader_addr: Option<String>,
    },
    /// The group is not hosted on this node.
    #[error("raft group {0} is not hosted here")]
    UnknownGroup(GroupId),
    /// This node is draining: it takes no leadership (deterministic: asking again is
    /// refused again).
    #[error("raft group {0}: this node is draining and takes no leadership")]
    Draining(GroupId),
    /// openraft refused or failed (shut down, storage fault, no quorum, ...).
    #[error("raft group {group}: {message}")]
    Raft {
        /// The group.
        group: GroupId,
        /// What openraft said.
        message: String,
    },
}

impl From<Error> for strata_api::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Shard(e) => e.into(),
            Error::Sled(e) => strata_api::Error::Storage(e.to_string()),
            Error::NotLeader { group, leader, .. } => strata_api::Error::NotLeader { group, leader },
            Error::UnknownGroup(g) => strata_api::Error::UnknownGroup(g),
            Error::Raft { group, message } => strata_api::Error::Unavailable(format!("raft group {group}: {message}")),
            e @ Error::Draining(_) => strata_api::Error::Cluster(e.to_string()),
        }
    }
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
