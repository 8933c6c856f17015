//! `/status`: this node's view as JSON — the members its shard map lists, every group it
//! replicates (what it holds, its leader, term, indexes, each follower's lag when it
//! leads), the sizes of what it holds, disk use, and the latest leader changes it saw.
//! Read by people, by `strata status` and by the status page; the field names are a
//! contract documented in `docs/operations.md`.

use crate::ctx::NodeCtx;
use serde::Serialize;
use std::collections::BTreeMap;
use strata_api::{GroupId, NodeId};

/// The answer of `/status`.
#[derive(Debug, Serialize)]
pub struct Status {
    /// This node's id.
    pub id: NodeId,
    /// Its client and raft addresses.
    pub client_addr: String,
    /// Its raft address.
    pub raft_addr: String,
    /// The Strata version it runs.
    pub version: &'static str,
    /// The commit it was built from.
    pub commit: &'static str,
    /// The cluster's id (hex).
    pub cluster: String,
    /// The shard map's epoch this node applied.
    pub map_epoch: u64,
    /// The members the map lists.
    pub members: Vec<Member>,
    /// The groups this node replicates.
    pub groups: Vec<GroupView>,
    /// Vector namespaces held here (loaded ones), with their figures.
    pub vector_namespaces: BTreeMap<String, VectorFigures>,
    /// Graphs held here: (nodes, relations).
    pub graphs: BTreeMap<String, (u64, u64)>,
    /// Entries of the KV collections held here (a docstore namespace's documents are its
    /// `{ns}/data`).
    pub collections: BTreeMap<String, u64>,
    /// Keys of the chat store, when this node holds its shard.
    pub chat_keys: Option<u64>,
    /// Bytes the data directory takes.
    pub disk_bytes: u64,
    /// Bytes free on its file system.
    pub available_bytes: Option<u64>,
    /// The latest leader changes of this node's groups, oldest first.
    pub leader_changes: Vec<strata_raft::leaders::LeaderChange>,
    /// Whether the node is stopping.
    pub draining: bool,
}

/// A member as the map lists it.
#[derive(Debug, Serialize)]
pub struct Member {
    /// Its id.
    pub id: NodeId,
    /// Its client address.
    pub client_addr: String,
    /// Its raft address.
    pub raft_addr: String,
    /// Whether it was asked to leave.
    pub leaving: bool,
}

/// One group as this node sees it.
#[derive(Debug, Serialize)]
pub struct GroupView {
    /// The group.
    pub group: GroupId,
    /// `meta`, `kv` (the KV shards hold the document, index, KV and chat stores),
    /// `vector` or `graph`.
    pub store: &'static str,
    /// The vector namespace or graph (none for meta and KV shards).
    pub name: Option<String>,
    /// The partition of that namespace or graph.
    pub partition: Option<u32>,
    /// This replica's role.
    pub role: String,
    /// The leader this node knows of.
    pub leader: Option<NodeId>,
    /// The term.
    pub term: u64,
    /// The commit index this replica knows.
    pub commit_index: Option<u64>,
    /// Its applied index.
    pub applied_index: Option<u64>,
    /// Its last log index.
    pub last_log_index: Option<u64>,
    /// The voters of the group's membership.
    pub voters: Vec<NodeId>,
    /// Its learners.
    pub learners: Vec<NodeId>,
    /// The replicas the shard map wants.
    pub replicas_wanted: Vec<NodeId>,
    /// On a leader: entries each member is behind.
    pub lag: BTreeMap<NodeId, u64>,
}

/// A vector namespace's figures on this node.
#[derive(Debug, Default, Serialize)]
pub struct VectorFigures {
    /// Vectors stored.
    pub vectors: u64,
    /// Not yet in the HNSW graph.
    pub unindexed: u64,
}

/// This node's status now.
pub fn of(ctx: &NodeCtx) -> Status {
    let map = ctx.shard_map();
    let members = map
        .nodes
        .values()
        .map(|n| Member {
            id: n.id,
            client_addr: n.client_addr.clone(),
            raft_addr: n.raft_addr.clone(),
            leaving: n.leaving,
        })
        .collect();
    let mut vector_namespaces: BTreeMap<String, VectorFigures> = BTreeMap::new();
    let mut graphs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut collections: BTreeMap<String, u64> = BTreeMap::new();
    let chat_group = strata_shards::placement::chat_group(map.shard_count());
    let mut chat_keys = None;
    let shards: BTreeMap<GroupId, &strata_api::ShardInfo> = map.shards.iter().map(|s| (s.group, s)).collect();
    let mut groups = Vec::new();
    for g in ctx.registry.groups() {
        let s = g.status();
        let info = shards.get(&g.id);
        let (store, name, partition) = match info {
            _ if g.id == strata_api::META_GROUP => ("meta", None, None),
            Some(i) if i.vector.is_some() => {
                let v = i.vector.as_ref().map(|v| (v.namespace.clone(), v.partition));
                ("vector", v.as_ref().map(|v| v.0.clone()), v.map(|v| v.1))
            }
            Some(i) if i.graph.is_some() => {
                let v = i.graph.as_ref().map(|v| (v.namespace.clone(), v.partition));
                ("graph", v.as_ref().map(|v| v.0.clone()), v.map(|v| v.1))
            }
            _ => ("kv", None, None),
        };
        match (store, &name) {
            ("vector", Some(ns)) => {
                for (n, st) in g.shard().loaded_vector_stats().unwrap_or_default().into_iter().filter(|(n, _)| n == ns)
                {
                    let f = vector_namespaces.entry(n).or_default();
                    f.vectors += st.vectors;
                    f.unindexed += st.unindexed;
                }
            }
            ("graph", Some(graph)) => {
                let (nodes, relations) = g.shard().graph_counts(graph).unwrap_or((0, 0));
                let e = graphs.entry(graph.clone()).or_default();
                e.0 += nodes;
                e.1 += relations;
            }
            ("kv", _) => {
                collections.extend(g.shard().collection_counts().unwrap_or_default());
                if g.id == chat_group {
                    chat_keys = g.shard().chat_key_count().ok();
                }
            }
            _ => {}
        }
        groups.push(GroupView {
            group: s.group,
            store,
            name,
            partition,
            role: s.role,
            leader: s.leader,
            term: s.term,
            commit_index: g.committed_index(),
            applied_index: s.applied_index,
            last_log_index: s.last_log_index,
            voters: s.voters,
            learners: s.learners,
            replicas_wanted: info.map(|i| i.replicas.clone()).unwrap_or_default(),
            lag: s.lag,
        });
    }
    Status {
        id: ctx.info.id,
        client_addr: ctx.info.client_addr.clone(),
        raft_addr: ctx.info.raft_addr.clone(),
        version: env!("CARGO_PKG_VERSION"),
        commit: crate::metrics::COMMIT,
        cluster: format!("{:016x}", ctx.registry.cluster()),
        map_epoch: map.epoch,
        members,
        groups,
        vector_namespaces,
        graphs,
        collections,
        chat_keys,
        disk_bytes: crate::probes::disk_bytes(&ctx.data_dir),
        available_bytes: crate::probes::available_bytes(&ctx.data_dir),
        leader_changes: ctx.registry.leader_changes(),
        draining: ctx.draining.load(std::sync::atomic::Ordering::SeqCst),
    }
}

/// How long a computed [`detail`] is answered again: the rebalancer asks every member's
/// status several times a second and needs none of it; people and pages refresh every few
/// seconds.
const DETAIL_FRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// What this node reports of itself to `status` callers (the status page reads every
/// member's through the serving node), computed at most once per [`DETAIL_FRESH`]: it
/// walks the data directory and reads every group's counters.
pub fn detail(ctx: &NodeCtx) -> strata_api::cluster::NodeDetail {
    let mut cached = ctx.detail_cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, d)) = cached.as_ref()
        && at.elapsed() < DETAIL_FRESH
    {
        return d.clone();
    }
    let d = compute_detail(ctx);
    *cached = Some((std::time::Instant::now(), d.clone()));
    d
}

fn compute_detail(ctx: &NodeCtx) -> strata_api::cluster::NodeDetail {
    let s = of(ctx);
    strata_api::cluster::NodeDetail {
        version: s.version.to_string(),
        commit: s.commit.to_string(),
        disk_bytes: s.disk_bytes,
        available_bytes: s.available_bytes,
        capacity_bytes: crate::probes::capacity_bytes(&ctx.data_dir),
        vector_namespaces: s.vector_namespaces.into_iter().map(|(k, f)| (k, (f.vectors, f.unindexed))).collect(),
        graphs: s.graphs,
        leader_changes: s.leader_changes,
        draining: s.draining,
        collections: s.collections,
        chat_keys: s.chat_keys,
    }
}
