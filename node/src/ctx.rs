//! What the request path, the actors and the rebalancer share: the node's context
//! ([`NodeCtx`]), below all of them (the server builds it; nothing here reaches back up),
//! and the rule for when the shard map lets a node drop a replica.

use crate::auth::Auth;
use crate::config::Config;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use strata_api::{Error, META_GROUP, NodeInfo, ShardMap};
use strata_client::cluster::Connections;
use strata_raft::Registry;
use tokio::sync::watch;

/// What the request path, the actors and the rebalancer share.
pub struct NodeCtx {
    /// This node.
    pub info: NodeInfo,
    /// Its raft groups.
    pub registry: Arc<Registry>,
    /// Connections to other nodes' client services (forwarding).
    pub conns: Connections,
    /// How long a request may take inside the node.
    pub request_timeout: Duration,
    /// Partitions of a vector namespace created without a count.
    pub vector_partitions: u32,
    /// Partitions of a graph created without a count.
    pub graph_partitions: u32,
    /// What one request may ask (checked at the edge, before forwarding).
    pub limits: strata_api::Limits,
    /// The credentials connections present.
    pub auth: crate::auth::Auth,
    /// The node's data directory (its disk use is a metric).
    pub data_dir: std::path::PathBuf,
    /// How far behind its leader's commit a replica may be for `/readyz`.
    pub ready_max_lag_entries: u64,
    /// Set once the node begins to stop: `/readyz` fails from then on.
    pub draining: std::sync::atomic::AtomicBool,
    /// Notified when a client asks this node to drain and stop (`strata node drain`).
    pub stop_asked: tokio::sync::Notify,
    /// Groups captured for backups, waiting to be read.
    pub captures: crate::backup::Captures,
    /// The latest figures this node reported of itself, and when (what `/status` and the status RPC report).
    pub detail_cache: std::sync::Mutex<Option<(std::time::Instant, strata_api::cluster::NodeDetail)>>,
    /// Client requests running on this node, bounded by `limits.max_in_flight`.
    in_flight: Arc<tokio::sync::Semaphore>,
    map: watch::Sender<ShardMap>,
    reconciling: tokio::sync::Mutex<()>,
}

impl NodeCtx {
    /// A place among the client requests the node runs at once, or `Busy` when every
    /// place is taken (the caller retries: a bounded queue, not an unbounded one).
    pub fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            Error::Busy(format!("node {} runs {} requests already", self.info.id, self.limits.max_in_flight))
        })
    }

    /// Waits until no client request runs on this node (a drain's last step).
    pub async fn idle(&self) {
        let all = u32::try_from(self.limits.max_in_flight).unwrap_or(u32::MAX);
        let _ = self.in_flight.acquire_many(all).await;
    }

    /// The newest shard map this node has applied.
    pub fn shard_map(&self) -> ShardMap {
        self.map.borrow().clone()
    }

    /// Reads the newest shard map in place (no copy: what per-request checks use).
    pub fn with_map<T>(&self, f: impl FnOnce(&ShardMap) -> T) -> T {
        f(&self.map.borrow())
    }

    /// The newest shard map's epoch.
    pub fn map_epoch(&self) -> u64 {
        self.map.borrow().epoch
    }

    /// Publishes a newer map (the meta actor's job).
    pub fn publish_map(&self, map: ShardMap) {
        // Peers removed from this map may no longer speak raft to this node.
        let ids = map.nodes.keys().copied().collect();
        self.registry.set_members(strata_raft::members::Members { ids, next: map.next_node_id });
        self.map.send_replace(map);
    }

    /// Opens the shard groups the map gives this node (initialising a new cluster's
    /// shards on the bootstrap node) and drops those it no longer holds.
    pub async fn reconcile_local_groups(&self) {
        let _one_at_a_time = self.reconciling.lock().await;
        let map = self.shard_map();
        let me = self.info.id;
        let mine = map.groups_of(me);
        for group in &mine {
            let g = match self.registry.open_group(*group).await {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(group, error = %e, "cannot open raft group");
                    continue;
                }
            };
            let shard = map.shard(*group);
            let sole = shard.is_some_and(|s| s.replicas == [me] && s.learners.is_empty());
            if sole && !g.raft.is_initialized().await.unwrap_or(true) {
                let members = BTreeMap::from([(me, openraft::BasicNode { addr: self.info.raft_addr.clone() })]);
                if let Err(e) = g.raft.initialize(members).await {
                    tracing::warn!(group, error = %e, "initialising shard group");
                }
            }
        }
        for g in self.registry.groups() {
            if g.id == META_GROUP || mine.contains(&g.id) {
                continue;
            }
            match dropping(&map, me, g.id) {
                Ok(()) => {
                    tracing::info!(
                        group = g.id,
                        "the shard map moved this shard away from this node; dropping its replica"
                    );
                    if let Err(e) = self.registry.drop_group(g.id).await {
                        tracing::error!(group = g.id, error = %e, "dropping raft group");
                    }
                }
                Err(why) => {
                    static KEPT: strata_api::RateLimited = strata_api::RateLimited::new(Duration::from_secs(60));
                    if let Some(skipped) = KEPT.allow() {
                        tracing::warn!(
                            group = g.id,
                            skipped,
                            "keeping a replica the shard map does not list here: {why}"
                        );
                    }
                }
            }
        }
    }
}

/// Whether the shard map says, of this node (`me`), that it no longer holds `group`:
/// only a map that knows this node as a member and lists the group with other holders
/// does. Anything less (a map from before this node joined, a node id the map does not
/// know, a group it does not list) is no ground to delete data: the replica is kept.
fn dropping(map: &ShardMap, me: strata_api::NodeId, group: strata_api::GroupId) -> Result<(), String> {
    if map.shards.is_empty() {
        return Err("the shard map has no shards yet".into());
    }
    if !map.nodes.contains_key(&me) {
        return Err(format!("the shard map (epoch {}) does not know node {me}", map.epoch));
    }
    match map.shard(group) {
        None => Err(format!("the shard map (epoch {}) does not list group {group}", map.epoch)),
        Some(s) if s.replicas.contains(&me) || s.learners.contains(&me) => Err("it is listed here".into()),
        Some(_) => Ok(()),
    }
}

impl NodeCtx {
    /// The context of node `info` over its raft groups, reaching other nodes through
    /// `conns`, with `config`'s settings and `auth`'s credentials.
    pub fn new(info: NodeInfo, registry: Arc<Registry>, conns: Connections, config: &Config, auth: Auth) -> Self {
        NodeCtx {
            info,
            registry,
            conns,
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            vector_partitions: config.vector_partitions,
            graph_partitions: config.graph_partitions,
            limits: config.limits.clone(),
            auth,
            data_dir: config.data_dir.clone(),
            ready_max_lag_entries: config.ready_max_lag_entries,
            draining: std::sync::atomic::AtomicBool::new(false),
            stop_asked: tokio::sync::Notify::new(),
            detail_cache: std::sync::Mutex::new(None),
            captures: crate::backup::Captures::new(&config.data_dir),
            in_flight: Arc::new(tokio::sync::Semaphore::new(config.limits.max_in_flight)),
            map: watch::channel(ShardMap::default()).0,
            reconciling: tokio::sync::Mutex::new(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dropping;
    use strata_api::{NodeInfo, ShardInfo, ShardMap};

    fn map(nodes: &[u64], shards: &[(u64, &[u64])]) -> ShardMap {
        let mut m = ShardMap { epoch: 9, ..ShardMap::default() };
        for id in nodes {
            let info = NodeInfo {
                id: *id,
                raft_addr: String::new(),
                client_addr: String::new(),
                incarnation: 0,
                leaving: false,
            };
            m.nodes.insert(*id, info);
        }
        for (group, replicas) in shards {
            m.shards.push(ShardInfo { group: *group, replicas: replicas.to_vec(), ..ShardInfo::default() });
        }
        m
    }

    #[test]
    fn only_a_map_naming_other_holders_drops_a_replica() {
        let m = map(&[1, 2, 3], &[(1, &[1, 2]), (2, &[2, 3])]);
        assert!(dropping(&m, 1, 2).is_ok(), "group 2 moved to nodes 2 and 3");
        assert!(dropping(&m, 1, 1).is_err(), "group 1 is still here");
        assert!(dropping(&m, 7, 2).unwrap_err().contains("does not know node 7"), "an id the map does not know");
        assert!(dropping(&m, 1, 5).unwrap_err().contains("does not list group 5"));
        assert!(dropping(&ShardMap::default(), 1, 2).is_err(), "an empty map says nothing");
    }
}
