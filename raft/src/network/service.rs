//! The peer-to-peer service. Clients never see it: it lives here, not in `strata-api`.

use crate::TypeConfig;
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use strata_api::{GroupId, NodeId};

/// Why a peer call failed on the receiving node.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
pub enum PeerError<E: std::error::Error> {
    /// The receiving node does not host the group (yet, or any more).
    #[error("raft group {0} is not hosted by the peer")]
    NoGroup(GroupId),
    /// The call was meant for another member: a node that took over a removed member's
    /// address must not answer (vote, append) as that member.
    #[error("the call is for node {to}, this is node {me}")]
    WrongNode {
        /// The member the call was for.
        to: NodeId,
        /// The node that received it.
        me: NodeId,
    },
    /// The connection did not say hello from this node's cluster (see
    /// [`RaftPeer::hello`]).
    #[error("the caller is not of this node's cluster {me}")]
    WrongCluster {
        /// This node's cluster.
        me: u64,
    },
    /// The caller is not a member of this node's cluster any more (its id was removed
    /// from the shard map), or the message names another node as its sender.
    #[error("node {node} may not make this call: {why}")]
    NotMember {
        /// The id the caller said hello with.
        node: NodeId,
        /// Why it was refused.
        why: String,
    },
    /// The group's raft refused the call.
    #[error(transparent)]
    Raft(Box<RaftError<NodeId, E>>),
}

/// openraft's `InstallSnapshotRequest` as it crosses the wire: the chunk's bytes as one
/// MessagePack `bin` (openraft's own serde form writes a `Vec<u8>` as an array of
/// numbers: up to twice the bytes, a tagged value per byte to decode, and a frame that
/// the decoding budget prices as the many values it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotChunk {
    /// The leader's vote.
    pub vote: openraft::Vote<NodeId>,
    /// The snapshot's metadata.
    pub meta: openraft::SnapshotMeta<NodeId, openraft::BasicNode>,
    /// Where the chunk starts in the snapshot.
    pub offset: u64,
    /// The chunk.
    #[serde(with = "strata_api::model::bin")]
    pub data: Vec<u8>,
    /// Whether it is the last.
    pub done: bool,
}

impl From<InstallSnapshotRequest<TypeConfig>> for SnapshotChunk {
    fn from(r: InstallSnapshotRequest<TypeConfig>) -> Self {
        Self { vote: r.vote, meta: r.meta, offset: r.offset, data: r.data, done: r.done }
    }
}

impl From<SnapshotChunk> for InstallSnapshotRequest<TypeConfig> {
    fn from(c: SnapshotChunk) -> Self {
        Self { vote: c.vote, meta: c.meta, offset: c.offset, data: c.data, done: c.done }
    }
}

/// A membership change asked of a group's leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminOp {
    /// Adds `node` (raft service at `addr`) as a learner and waits until it has caught up.
    AddLearner {
        /// The node.
        node: NodeId,
        /// Its raft address.
        addr: String,
    },
    /// Makes `voters` the group's voters (learners not listed stay learners; removed
    /// voters leave the group).
    ChangeVoters {
        /// The new voter set.
        voters: BTreeSet<NodeId>,
    },
    /// Removes learners from the group.
    RemoveLearners {
        /// The learners.
        nodes: BTreeSet<NodeId>,
    },
    /// On the leader: for `millis`, proposes nothing (writes wait), sends no heartbeats
    /// and stands in no election, so the followers' lease on it runs out and a follower
    /// that campaigns is elected. Undone early by [`AdminOp::Resume`] or on losing the lead.
    ///
    /// With `to`, the leader first holds its writes and waits (briefly) for `to` to hold
    /// its whole log, and refuses to yield if it does not: a voter missing entries cannot
    /// win the election it would be asked to start, and its higher term would depose
    /// every leader the others elect meanwhile (the soak's seed 5102 livelocked so).
    Yield {
        /// How long at most.
        millis: u64,
        /// The voter meant to take over.
        #[serde(default)]
        to: Option<NodeId>,
    },
    /// On a follower: takes no part in elections for `millis` (so that a chosen voter wins
    /// the next one).
    HoldElection {
        /// How long.
        millis: u64,
    },
    /// Ends a `Yield` or `HoldElection` now.
    Resume,
    /// On a follower: starts an election now.
    Elect,
}

/// The longest hold (`Yield`, `HoldElection`) a node accepts, in milliseconds. Both sides
/// rely on it (the rebalancer's holds are a few seconds), so it is a constant here rather
/// than a setting that two nodes could disagree on.
pub const MAX_HOLD_MILLIS: u64 = 60_000;

/// The raft RPCs between nodes, each tagged by its group and (for openraft's calls) the
/// member it is for.
#[tarpc::service]
pub trait RaftPeer {
    /// The first call on every connection: the caller's cluster id and node id. A node answers calls
    /// on a connection only after a hello from its own cluster (`same_cluster`), so a
    /// node wiped and bootstrapped anew at a member's address (a new cluster id) neither
    /// answers the old members nor is answered by them: it cannot vote, take entries,
    /// serve a read index or be retired as the member it replaced. When the cluster has
    /// a secret, `proof` answers this connection's [`RaftPeer::challenge`] with it, so
    /// nothing but a member speaks raft to a node; the proof covers `from`, so no member
    /// speaks in another's name. A node then answers only a caller that is still a
    /// member (see `Registry::is_member`), and openraft's messages only from the node
    /// they name as their sender. `speaks` is the range of peer protocol versions the
    /// caller speaks: one this node cannot speak is refused with
    /// `Error::IncompatibleVersion` before anything else is checked. Answers this node's id.
    async fn hello(
        cluster: u64,
        from: NodeId,
        proof: Vec<u8>,
        speaks: strata_api::version::Speaks,
    ) -> Result<NodeId, strata_api::Error>;
    /// A fresh random challenge for this connection's hello to answer, on a node whose
    /// cluster has a secret: the hello's `proof` is `strata_api::access::peer_proof` of
    /// it (without a secret the proof is empty and the challenge unused).
    async fn challenge() -> Result<Vec<u8>, strata_api::Error>;
    /// openraft's AppendEntries.
    async fn append(
        group: GroupId,
        to: NodeId,
        req: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<NodeId>, PeerError<openraft::error::Infallible>>;
    /// openraft's RequestVote.
    async fn vote(
        group: GroupId,
        to: NodeId,
        req: VoteRequest<NodeId>,
    ) -> Result<VoteResponse<NodeId>, PeerError<openraft::error::Infallible>>;
    /// openraft's InstallSnapshot (one chunk).
    async fn snapshot(
        group: GroupId,
        to: NodeId,
        req: SnapshotChunk,
    ) -> Result<InstallSnapshotResponse<NodeId>, PeerError<InstallSnapshotError>>;
    /// A membership change, done by the group's leader (others answer `NotLeader`).
    async fn admin(group: GroupId, op: AdminOp) -> Result<(), strata_api::Error>;
    /// Tells a node it has been removed from the cluster: it stops every group it hosts.
    async fn retire() -> Result<(), strata_api::Error>;
    /// Replicates a write in a group this node leads (nodes forward cluster-metadata
    /// writes this way: clients may not send those).
    async fn propose(group: GroupId, write: crate::Write) -> Result<strata_shards::Answer, strata_api::Error>;
    /// The read index of a group this node leads (see [`crate::read_index`]).
    async fn read_index(group: GroupId) -> Result<Option<u64>, strata_api::Error>;
}
