//! Cluster metadata: node and group ids, the members, the shard map, and the commands of
//! the meta group (raft group 0) that change them. The shard map is a persisted format:
//! it lives in the meta group's state and its log.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A node's id: assigned once, never reused.
pub type NodeId = u64;

/// A raft group's id: [`META_GROUP`] for the cluster metadata, `1..=S` for the KV shards.
pub type GroupId = u64;

/// The meta group's id.
pub const META_GROUP: GroupId = 0;

/// Where a node listens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Address of its raft (peer-to-peer) service, `host:port`.
    pub raft_addr: String,
    /// Address of its client service, `host:port`.
    pub client_addr: String,
    /// Random per data directory: a node wiped and restarted at the same address is a new
    /// member (new id), not the old one.
    #[serde(default)]
    pub incarnation: u64,
    /// Asked to leave (`strata cluster remove-node`): it gets no replicas, its replicas are
    /// moved away, then it is forgotten. It stays listed meanwhile, so the groups it still
    /// leads can be reached.
    #[serde(default)]
    pub leaving: bool,
}

/// One shard (a KV shard or a vector namespace's partition): its raft group and the
/// nodes meant to hold a replica of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// The shard's raft group.
    pub group: GroupId,
    /// The voting replicas, as last settled by the rebalancer.
    pub replicas: Vec<NodeId>,
    /// Nodes being brought in as learners before they are promoted.
    pub learners: Vec<NodeId>,
    /// For a vector partition: its namespace and index (none for a KV shard).
    #[serde(default)]
    pub vector: Option<VectorPartition>,
    /// For a graph partition: its graph and index (none for a KV shard).
    #[serde(default)]
    pub graph: Option<VectorPartition>,
}

impl ShardInfo {
    /// True for a partition of a vector namespace or a graph (a KV shard otherwise):
    /// partitions hold indexes in memory, and placement spreads them first.
    pub fn is_partition(&self) -> bool {
        self.vector.is_some() || self.graph.is_some()
    }
}

/// Which vector namespace (or graph) and partition a shard holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorPartition {
    /// The namespace.
    pub namespace: String,
    /// The partition (`0..partitions`): records whose `hash(node_id) % partitions` it is.
    pub partition: u32,
}

/// The cluster's layout, versioned by `epoch` (bumped by every change).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMap {
    /// The cluster's id, drawn at bootstrap (see [`same_cluster`]); 0 in a map from
    /// before ids existed.
    #[serde(default)]
    pub cluster: u64,
    /// Bumped on every change; clients compare it to the map they cached.
    pub epoch: u64,
    /// How many replicas each shard aims for.
    pub replication: u32,
    /// The members, by id.
    pub nodes: BTreeMap<NodeId, NodeInfo>,
    /// The KV shards, in group order (`shards[i].group == i + 1`).
    pub shards: Vec<ShardInfo>,
    /// The next id [`MetaCommand::AddNode`] hands out.
    pub next_node_id: NodeId,
    /// The leader of each group as the answering node saw it (a routing hint filled in by
    /// `shard_map()`; never stored).
    #[serde(default)]
    pub leaders: BTreeMap<GroupId, NodeId>,
    /// Vector namespaces and their settings; their partitions are in `shards`.
    #[serde(default)]
    pub vector_namespaces: BTreeMap<String, crate::model::VectorNamespace>,
    /// Graphs and their settings; their partitions are in `shards`.
    #[serde(default)]
    pub graphs: BTreeMap<String, crate::model::GraphNamespace>,
}

impl ShardMap {
    /// How many KV shards the cluster has (groups `1..=shard_count()`).
    pub fn shard_count(&self) -> u32 {
        self.shards.iter().filter(|s| !s.is_partition()).count() as u32
    }

    /// The raft groups of a vector namespace's partitions, in partition order.
    pub fn vector_partitions(&self, namespace: &str) -> Vec<GroupId> {
        let mut parts: Vec<(u32, GroupId)> = self
            .shards
            .iter()
            .filter_map(|s| s.vector.as_ref().filter(|v| v.namespace == namespace).map(|v| (v.partition, s.group)))
            .collect();
        parts.sort_unstable();
        parts.into_iter().map(|(_, g)| g).collect()
    }

    /// The raft groups of a graph's partitions, in partition order.
    pub fn graph_partitions(&self, graph: &str) -> Vec<GroupId> {
        let mut parts: Vec<(u32, GroupId)> = self
            .shards
            .iter()
            .filter_map(|s| s.graph.as_ref().filter(|v| v.namespace == graph).map(|v| (v.partition, s.group)))
            .collect();
        parts.sort_unstable();
        parts.into_iter().map(|(_, g)| g).collect()
    }

    /// The shard of a group (a KV shard or a partition).
    pub fn shard(&self, group: GroupId) -> Option<&ShardInfo> {
        group.checked_sub(1).and_then(|i| self.shards.get(i as usize))
    }

    /// The members that take replicas (every node not leaving), by id.
    pub fn active_nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values().filter(|n| !n.leaving)
    }

    /// The groups a node should host (as replica or learner), meta group excluded.
    pub fn groups_of(&self, node: NodeId) -> Vec<GroupId> {
        self.shards
            .iter()
            .filter(|s| s.replicas.contains(&node) || s.learners.contains(&node))
            .map(|s| s.group)
            .collect()
    }
}

/// Writes to the cluster metadata (applied by the meta group).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetaCommand {
    /// Creates the layout once, on the bootstrap node: `shards` shards on that node alone.
    Bootstrap {
        /// The first member.
        node: NodeInfo,
        /// Number of KV shards.
        shards: u32,
        /// Replicas per shard.
        replication: u32,
        /// The new cluster's id (random).
        #[serde(default)]
        cluster: u64,
    },
    /// Adds a member (its `id` is ignored: the map hands out `next_node_id`); answers the id.
    AddNode {
        /// Where it listens.
        node: NodeInfo,
    },
    /// Marks a member as leaving: the rebalancer moves its replicas away, then forgets it.
    RemoveNode {
        /// The member.
        id: NodeId,
    },
    /// Records a shard's replicas and learners.
    SetShardMembers {
        /// The shard's group.
        group: GroupId,
        /// Voting replicas.
        replicas: Vec<NodeId>,
        /// Learners.
        learners: Vec<NodeId>,
    },
    /// Drops a leaving member that holds no replica any more from the node list.
    ForgetNode {
        /// The member.
        id: NodeId,
    },
    /// Creates a vector namespace with `settings.partitions` partitions, each a new raft
    /// group started on the member holding the fewest vector partitions, then the fewest
    /// replicas (the rebalancer then replicates it). An existing namespace with the same
    /// settings is left as it is; one without a dimension yet takes `settings.dim`.
    CreateVectorNamespace {
        /// The settings.
        settings: crate::model::VectorNamespace,
    },
    /// Creates a graph with `settings.partitions` partitions, placed as a vector
    /// namespace's are. An existing graph is left as it is.
    CreateGraph {
        /// The settings.
        settings: crate::model::GraphNamespace,
    },
}

/// Reads of the cluster metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetaQuery {
    /// The whole shard map → `ShardMap`.
    ShardMap,
}

/// Identifies a write so a retried one is applied once: `client` is random per client
/// instance, `seq` increases per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client instance.
    pub client: u64,
    /// The request, unique within the client.
    pub seq: u64,
}

/// A node's answer to a write or a read, with what the client needs to route the next
/// request well.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Served {
    /// The answer.
    pub response: crate::query::Response,
    /// The epoch of the shard map the serving node has: a client holding an older map
    /// fetches the new one.
    pub epoch: u64,
    /// The group's leader as the serving node knows it (the node that served a write or a
    /// linearizable read): the client sends the group's next request there directly.
    pub leader: Option<NodeId>,
    /// The cluster the serving node belongs to: an answer from another cluster (a wiped
    /// node that bootstrapped a new one at a member's old address) is not an answer.
    #[serde(default)]
    pub cluster: u64,
}

/// Whether two cluster ids name the same cluster: the rule every side of every wire
/// applies (clients to answers and maps, nodes to forwarded answers, peers to raft
/// connections). 0 is "not known" (a node or map from before ids existed) and matches
/// any, so that upgrading does not split a cluster.
pub fn same_cluster(a: u64, b: u64) -> bool {
    a == 0 || b == 0 || a == b
}

/// How fresh a read must be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadConsistency {
    /// Linearizable: served by the leader after confirming its leadership (the default).
    #[default]
    Linearizable,
    /// Any replica's current state, possibly behind.
    StaleOk,
}

/// One raft group as seen by one node, for `strata status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// The group.
    pub group: GroupId,
    /// "Leader", "Follower", "Candidate", "Learner" or "Shutdown".
    pub role: String,
    /// The current term.
    pub term: u64,
    /// The leader this node knows of.
    pub leader: Option<NodeId>,
    /// Index of the last log entry.
    pub last_log_index: Option<u64>,
    /// Index of the last applied entry.
    pub applied_index: Option<u64>,
    /// Voters of the group's membership.
    pub voters: Vec<NodeId>,
    /// Learners of the group's membership.
    pub learners: Vec<NodeId>,
    /// On the leader: how many entries each member is behind the leader's last log.
    pub lag: BTreeMap<NodeId, u64>,
    /// Index of the last entry of the latest snapshot.
    #[serde(default)]
    pub snapshot_index: Option<u64>,
    /// Index of the last entry removed from the log (covered by a snapshot).
    #[serde(default)]
    pub purged_index: Option<u64>,
}

/// What one replica of a group holds, as a hash: replicas at the same applied index must
/// report the same digest (the fault tests' convergence check).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDigest {
    /// The group.
    pub group: GroupId,
    /// The log index the replica had applied when the digest was taken (`None`: nothing).
    pub applied_index: Option<u64>,
    /// FNV-1a (64 bits) over every record of the group's state, in key order, each as
    /// its length-prefixed key and value.
    pub hash: u64,
    /// How many records it covers.
    pub records: u64,
}

/// A node's answer to `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node.
    pub node: NodeInfo,
    /// Every group it hosts.
    pub groups: Vec<GroupStatus>,
    /// What it runs and holds (none for a key limited to prefixes, or an older node).
    #[serde(default)]
    pub detail: Option<Box<NodeDetail>>,
}

/// What a node reports of itself beyond its groups: what the status page and `strata
/// status` show of each member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDetail {
    /// The Strata version it runs.
    pub version: String,
    /// The commit it was built from.
    pub commit: String,
    /// Bytes its data directory takes.
    pub disk_bytes: u64,
    /// Bytes free on that file system.
    pub available_bytes: Option<u64>,
    /// That file system's size.
    pub capacity_bytes: Option<u64>,
    /// Vector namespaces held here (loaded ones): (vectors, not yet indexed).
    pub vector_namespaces: BTreeMap<String, (u64, u64)>,
    /// Graphs held here: (nodes, relations).
    pub graphs: BTreeMap<String, (u64, u64)>,
    /// The latest leader changes its groups saw, oldest first.
    pub leader_changes: Vec<LeaderChange>,
    /// Whether it is stopping.
    pub draining: bool,
    /// Entries of the KV collections held here (a docstore namespace's documents are its
    /// `{ns}/data`), by name. Absent from older nodes' answers.
    #[serde(default)]
    pub collections: BTreeMap<String, u64>,
    /// Keys of the chat store, when this node holds its shard.
    #[serde(default)]
    pub chat_keys: Option<u64>,
}

/// One group's new leader, as a node learned of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderChange {
    /// The group.
    pub group: GroupId,
    /// Its new leader (`None`: the node lost track of any leader, an election under way).
    pub leader: Option<NodeId>,
    /// The term.
    pub term: u64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}
