//! Every raft group a node hosts, by id, over one sled database and one peer pool.

use crate::error::{Error, Result};
use crate::group::Group;
use crate::log_store::{self, SledLogStore};
use crate::members::Members;
use crate::network::client::{NetFactory, PeerPool};
use crate::state_machine::{self, ShardStateMachine};
use openraft::storage::RaftLogStorage;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use strata_api::{GroupId, NodeId};
use strata_shards::flusher::Flusher;

/// How the node's groups run.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// This node's id.
    pub node_id: NodeId,
    /// openraft's settings, shared by every group.
    pub raft: openraft::Config,
    /// Where groups save their vector namespaces' HNSW graphs (one folder per group).
    pub graph_dir: Option<std::path::PathBuf>,
    /// Peers' raft addresses to reach through another address (see [`PeerPool::new`]).
    pub routes: BTreeMap<String, String>,
    /// The cluster this node belongs to (0: not known); peers of another are refused.
    pub cluster: u64,
    /// The key derived from the cluster's secret: peers prove they hold it in their
    /// hello, and this node proves it to them (none: no secret, loopback-only nodes).
    pub peer_key: Option<[u8; 32]>,
    /// TLS to peers (the cluster's CA), when the cluster's raft ports serve it.
    pub tls: Option<strata_wire::TlsClient>,
}

/// The groups of one node.
pub struct Registry {
    node_id: NodeId,
    cluster: u64,
    peer_key: Option<[u8; 32]>,
    db: sled::Db,
    flusher: Flusher,
    pool: PeerPool,
    config: Arc<openraft::Config>,
    graph_dir: Option<std::path::PathBuf>,
    groups: RwLock<BTreeMap<GroupId, Arc<Group>>>,
    opening: tokio::sync::Mutex<()>,
    retired: tokio::sync::watch::Sender<bool>,
    members: RwLock<Members>,
    leader_changes: Arc<crate::leaders::LeaderChanges>,
    /// Set once the node drains: none of its groups campaigns or takes leadership again.
    stepping_down: Arc<std::sync::atomic::AtomicBool>,
}

impl Registry {
    /// A registry over `db` (starts the group-commit flusher on the current runtime).
    pub fn new(db: sled::Db, config: RegistryConfig) -> Result<Arc<Self>> {
        let raft = config.raft.validate().map_err(|e| Error::Raft { group: 0, message: e.to_string() })?;
        Ok(Arc::new(Self {
            node_id: config.node_id,
            flusher: Flusher::start(db.clone()),
            db,
            pool: PeerPool::new(config.cluster, config.routes)
                .with_node_id(config.node_id)
                .with_peer_key(config.peer_key)
                .with_tls(config.tls),
            cluster: config.cluster,
            peer_key: config.peer_key,
            config: Arc::new(raft),
            graph_dir: config.graph_dir,
            groups: RwLock::new(BTreeMap::new()),
            opening: tokio::sync::Mutex::new(()),
            retired: tokio::sync::watch::channel(false).0,
            members: RwLock::default(),
            leader_changes: Arc::default(),
            stepping_down: Arc::default(),
        }))
    }

    /// The latest leader changes this node's groups saw, oldest first.
    pub fn leader_changes(&self) -> Vec<crate::leaders::LeaderChange> {
        self.leader_changes.recent()
    }

    /// The cluster this node belongs to (0: not known).
    pub fn cluster(&self) -> u64 {
        self.cluster
    }

    /// The key peers prove they hold (see [`RegistryConfig::peer_key`]).
    pub fn peer_key(&self) -> Option<&[u8; 32]> {
        self.peer_key.as_ref()
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The group, if hosted here.
    pub fn get(&self, group: GroupId) -> Option<Arc<Group>> {
        self.groups.read().unwrap_or_else(|p| p.into_inner()).get(&group).cloned()
    }

    /// Every hosted group, by id.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.groups.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// From now on no group of this node campaigns or accepts leadership (a node about to
    /// stop: its leaderships are handed to other voters, and none may come back).
    pub fn step_down(&self) {
        self.stepping_down.store(true, std::sync::atomic::Ordering::SeqCst);
        for g in self.groups() {
            g.raft.runtime_config().elect(false);
        }
    }

    /// Groups that have state in the database (hosted before a restart).
    pub fn groups_on_disk(&self) -> Vec<GroupId> {
        let mut out: Vec<GroupId> = self
            .db
            .tree_names()
            .iter()
            .filter_map(|n| std::str::from_utf8(n).ok()?.strip_prefix('g')?.strip_suffix(".log")?.parse().ok())
            .collect();
        out.sort_unstable();
        out
    }

    /// Opens (or answers the already open) group `group`, recovering it from disk.
    pub async fn open_group(&self, group: GroupId) -> Result<Arc<Group>> {
        let _one_at_a_time = self.opening.lock().await;
        if let Some(g) = self.get(group) {
            return Ok(g);
        }
        if *self.retired.borrow() {
            return Err(Error::Raft { group, message: "this node was removed from the cluster".into() });
        }
        let mut log = SledLogStore::open(&self.db, group, self.flusher.clone())?;
        let committed = log.committed();
        let restored = {
            let raft_err = |e: crate::typ::StorageError| Error::Raft { group, message: e.to_string() };
            let vote = log.read_vote().await.map_err(raft_err)?;
            let last = log.get_log_state().await.map_err(raft_err)?.last_log_id;
            crate::restored::RestoredLeader::at_startup(self.node_id, vote.as_ref(), last.as_ref())
        };
        let graphs = self.graph_dir.as_ref().map(|d| d.join(format!("g{group}")));
        let sm = ShardStateMachine::open(&self.db, group, self.flusher.clone(), graphs)?;
        let shard = sm.shard();
        let net = NetFactory { group, pool: self.pool.clone() };
        let raft = openraft::Raft::new(self.node_id, self.config.clone(), net, log, sm)
            .await
            .map_err(|e| Error::Raft { group, message: e.to_string() })?;
        let proposer = crate::proposer::Proposer::start(group, raft.clone());
        let reads = {
            let raft = raft.clone();
            crate::read_batch::ReadBatch::new(group, move || {
                let raft = raft.clone();
                Box::pin(async move { crate::read_index::confirm(group, &raft, restored).await })
            })
        };
        tokio::spawn(crate::leaders::watch(group, raft.server_metrics(), self.leader_changes.clone()));
        let stepping_down = self.stepping_down.clone();
        if stepping_down.load(std::sync::atomic::Ordering::SeqCst) {
            raft.runtime_config().elect(false);
        }
        let g = Arc::new(Group { id: group, raft, shard, proposer, reads, committed, stepping_down });
        self.groups.write().unwrap_or_else(|p| p.into_inner()).insert(group, g.clone());
        Ok(g)
    }

    /// Stops group `group` and deletes its state from this node (it no longer holds a
    /// replica).
    pub async fn drop_group(&self, group: GroupId) -> Result<()> {
        let _one_at_a_time = self.opening.lock().await;
        let g = self.groups.write().unwrap_or_else(|p| p.into_inner()).remove(&group);
        if let Some(g) = g {
            let _ = g.raft.shutdown().await;
        }
        let [log, meta] = log_store::tree_names(group);
        for name in [log, meta, state_machine::state_tree_name(group), state_machine::snapshot_tree_name(group)] {
            self.db.drop_tree(name)?;
        }
        self.flusher.flush().await.map_err(|e| Error::Raft { group, message: e.to_string() })?;
        if let Some(dir) = &self.graph_dir {
            // A cache of the dropped state: losing it costs nothing.
            let _ = std::fs::remove_dir_all(dir.join(format!("g{group}")));
        }
        Ok(())
    }

    /// Stops every group (before the process exits).
    pub async fn shutdown(&self) {
        for g in self.groups() {
            let _ = g.raft.shutdown().await;
        }
        let _ = self.flusher.flush().await;
    }

    /// Stops every group for good: the cluster removed this node (see [`Registry::retired`]).
    pub async fn retire(&self) {
        let _one_at_a_time = self.opening.lock().await;
        let groups: Vec<Arc<Group>> =
            std::mem::take(&mut *self.groups.write().unwrap_or_else(|p| p.into_inner())).into_values().collect();
        for g in groups {
            let _ = g.raft.shutdown().await;
        }
        let _ = self.flusher.flush().await;
        self.retired.send_replace(true);
    }

    /// Returns once the cluster has removed this node (never, until it does).
    pub async fn retired(&self) {
        let mut rx = self.retired.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Takes the members of the newest shard map this node applied (see [`Members`]).
    pub fn set_members(&self, members: Members) {
        *self.members.write().unwrap_or_else(|p| p.into_inner()) = members;
    }

    /// Whether `node` may make peer calls to this node (see [`Members::admits`]).
    pub fn is_member(&self, node: NodeId) -> bool {
        self.members.read().unwrap_or_else(|p| p.into_inner()).admits(node)
    }

    /// The node's peer connections (for admin calls to other nodes).
    pub fn pool(&self) -> &PeerPool {
        &self.pool
    }
}
