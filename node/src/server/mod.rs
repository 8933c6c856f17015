//! The node server: opens the data directory, finds or obtains the node's identity
//! (bootstrap a new cluster, join an existing one, or restart), starts the raft groups,
//! the actors, the client service and the rebalancer, and serves until shutdown.

mod identity;

use crate::actors::meta::MetaMsg;
use crate::actors::{META_ACTOR, supervisor::Supervisor};
use crate::config::Config;
use crate::{rebalance, service};
use ractor::{Actor, ActorRef};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_api::{Command, Error, META_GROUP, MetaCommand, MetaQuery, NodeInfo, Query, Response, ShardMap};
use strata_client::cluster::{Connections, context_within};
use strata_raft::{Registry, RegistryConfig};
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
                    tracing::info!(group = g.id, "the shard map moved this shard away from this node; dropping its replica");
                    if let Err(e) = self.registry.drop_group(g.id).await {
                        tracing::error!(group = g.id, error = %e, "dropping raft group");
                    }
                }
                Err(why) => {
                    static KEPT: strata_api::RateLimited = strata_api::RateLimited::new(Duration::from_secs(60));
                    if let Some(skipped) = KEPT.allow() {
                        tracing::warn!(group = g.id, skipped, "keeping a replica the shard map does not list here: {why}");
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

/// A running node.
pub struct RunningNode {
    /// This node's identity and addresses.
    pub info: NodeInfo,
    /// Where its raft service listens (`info.raft_addr` unless `raft_advertise` is set).
    pub raft_listen: String,
    data_dir: std::path::PathBuf,
    ctx: Arc<NodeCtx>,
    supervisor: ActorRef<()>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningNode {
    /// Returns once the cluster has removed this node (`strata cluster remove-node`, its
    /// replicas moved away); the node's identity then records it, so it never starts
    /// again with this data.
    pub async fn removed(&self) -> Result<(), Error> {
        self.ctx.registry.retired().await;
        let mut saved = identity::load(&self.data_dir).map_err(io)?.unwrap_or(identity::Identity {
            id: self.info.id,
            incarnation: self.info.incarnation,
            client_addr: None,
            raft_addr: None,
            removed: false,
            cluster: self.ctx.registry.cluster(),
        });
        saved.removed = true;
        identity::save(&self.data_dir, &saved).map_err(io)
    }

    /// Stops serving and shuts every raft group down cleanly.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.supervisor.stop(None);
        self.ctx.registry.shutdown().await;
    }
}

fn io(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

/// Asks the members in `seeds` to add this node, retrying until one answers; answers the
/// id it was given and the cluster's id (from the shard map of the member that added it).
async fn join_cluster(
    seeds: &[String],
    node: &NodeInfo,
    timeout: Duration,
    key: Option<String>,
    tls: Option<strata_wire::TlsClient>,
) -> Result<(u64, u64), Error> {
    let conns = Connections::with_key(key).with_tls(tls);
    let until = Instant::now() + timeout;
    let mut last = Error::Unavailable("no member answered".into());
    while Instant::now() < until {
        for addr in seeds {
            match conns.get(addr).await {
                Ok(c) => match c.join(context_within(Duration::from_secs(20)), node.clone()).await {
                    Ok(Ok(id)) => match c.shard_map(context_within(Duration::from_secs(20))).await {
                        Ok(Ok(map)) => return Ok((id, map.cluster)),
                        Ok(Err(e)) => last = e,
                        Err(e) => last = Error::Unavailable(format!("{addr}: {e}")),
                    },
                    Ok(Err(e)) if !e.is_retryable() => return Err(e),
                    Ok(Err(e)) => last = e,
                    Err(e) => last = Error::Unavailable(format!("{addr}: {e}")),
                },
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(strata_client::cluster::connect_error(addr, &e));
                }
                Err(e) => last = Error::Unavailable(format!("{addr}: {e}")),
            }
            conns.forget(addr);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

/// An address this machine's own processes can dial to reach a listener bound at `addr`.
fn local(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("127.0.0.1:{}", addr.port()) } else { addr.to_string() }
}

/// The address a listener bound at `bound` is made known by: the configured one, or
/// the bound one. A listener on every interface (`0.0.0.0`) has no address others can
/// reach it by: it needs `key` set (advertising 127.0.0.1 would send every other
/// machine's client to itself).
fn advertised(bound: std::net::SocketAddr, configured: Option<&String>, key: &str) -> Result<String, Error> {
    match configured {
        Some(addr) => Ok(addr.clone()),
        None if bound.ip().is_unspecified() => Err(Error::InvalidInput(format!(
            "listening on {bound} needs `{key}` set to the address clients and other nodes reach this node at"
        ))),
        None => Ok(bound.to_string()),
    }
}

/// Starts a node from `config`.
pub async fn start(config: &Config) -> Result<RunningNode, Error> {
    let listens = [config.listen.as_str(), config.raft_listen.as_str()];
    let auth = crate::auth::Auth::load(&config.auth, &listens).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let tls = crate::tls::NodeTls::load(&config.tls).map_err(Error::InvalidInput)?;
    strata_shards::private::private_dir(&config.data_dir).map_err(io)?;
    let db = strata_shards::open_db(&config.data_dir.join("db"), &strata_shards::OpenOptions::default())
        .map_err(strata_api::Error::from)?;
    let saved = identity::load(&config.data_dir).map_err(io)?;
    let groups_on_disk: Vec<u64> = db
        .tree_names()
        .iter()
        .filter_map(|n| std::str::from_utf8(n).ok()?.strip_prefix('g')?.strip_suffix(".log")?.parse().ok())
        .collect();
    identity::check(&db, &config.data_dir, saved.as_ref(), &groups_on_disk).map_err(Error::Cluster)?;
    if let Some(saved) = saved.as_ref().filter(|s| s.removed) {
        return Err(Error::Cluster(format!(
            "node {} was removed from its cluster; wipe {} to join a cluster again",
            saved.id,
            config.data_dir.display()
        )));
    }
    let keep = |configured: &str, had: Option<&String>| match had {
        Some(had) if configured.ends_with(":0") => had.clone(),
        _ => configured.to_string(),
    };
    // An advertised address stays what the members know; the listening one may change.
    let raft_at = match &config.raft_advertise {
        Some(_) => config.raft_listen.clone(),
        None => keep(&config.raft_listen, saved.as_ref().and_then(|s| s.raft_addr.as_ref())),
    };
    let client_at = match &config.advertise {
        Some(_) => config.listen.clone(),
        None => keep(&config.listen, saved.as_ref().and_then(|s| s.client_addr.as_ref())),
    };
    let limits = &config.limits;
    if limits.cypher_threads > 0 {
        strata_shards::graph::cypher::pool::configure(limits.cypher_threads);
    }
    let raft_options = service::serve_options(limits);
    let raft_listener =
        strata_raft::network::server::bind(&raft_at, limits.max_connections, limits.max_connections_per_address, raft_options)
        .await
        .map_err(io)?
        .with_tls(tls.server.clone());
    let mut client_listener = service::bind(&client_at, limits, &auth, tls.server.clone()).await.map_err(io)?;
    let raft_bound = raft_listener.local_addr().map_err(io)?;
    let raft_listen = local(raft_bound);
    let mut info = NodeInfo {
        id: 0,
        raft_addr: advertised(raft_bound, config.raft_advertise.as_ref(), "raft_advertise")?,
        client_addr: advertised(client_listener.local_addr().map_err(io)?, config.advertise.as_ref(), "advertise")?,
        incarnation: 0,
        leaving: false,
    };
    let bootstrap = saved.is_none() && config.join.is_empty() && !config.standby;
    let (id, cluster) = match saved {
        Some(saved) => {
            info.incarnation = saved.incarnation;
            (saved.id, saved.cluster)
        }
        None => {
            info.incarnation = identity::random_u64();
            let (id, cluster) = if bootstrap {
                // A new cluster, told apart from any other (a wiped member that
                // bootstraps again at its old address starts a *new* cluster).
                (1, identity::random_u64().max(1))
            } else if config.join.is_empty() {
                // Scripts and tests wait for this line to learn the standby node's address.
                println!("strata node standby: client={} raft={}", info.client_addr, info.raft_addr);
                let (seeds, reply) = client_listener.standby().await;
                let joined =
                    join_cluster(&seeds, &info, Duration::from_secs(120), auth.own_key(), tls.client.clone()).await;
                let _ = reply.send(joined.clone().map(|(id, _)| id));
                joined?
            } else {
                join_cluster(&config.join, &info, Duration::from_secs(120), auth.own_key(), tls.client.clone()).await?
            };
            let saved = identity::Identity {
                id,
                incarnation: info.incarnation,
                client_addr: Some(info.client_addr.clone()),
                raft_addr: Some(info.raft_addr.clone()),
                removed: false,
                cluster,
            };
            identity::save(&config.data_dir, &saved).map_err(io)?;
            identity::set_anchor(&db, identity::Anchor { id, cluster }).map_err(Error::Storage)?;
            (id, cluster)
        }
    };
    info.id = id;

    let registry = Registry::new(
        db,
        RegistryConfig {
            node_id: id,
            raft: config.openraft(),
            graph_dir: Some(config.data_dir.join("hnsw")),
            routes: config.raft.routes.clone(),
            cluster,
            peer_key: auth.peer_key(),
            tls: tls.client.clone(),
        },
    )?;
    let mut tasks = vec![tokio::spawn(raft_listener.serve(registry.clone()))];
    let meta = registry.open_group(META_GROUP).await?;
    for group in registry.groups_on_disk() {
        registry.open_group(group).await?;
    }
    let ctx = Arc::new(NodeCtx {
        info: info.clone(),
        registry: registry.clone(),
        conns: Connections::with_key(auth.own_key()).with_tls(tls.client.clone()),
        request_timeout: Duration::from_millis(config.request_timeout_ms),
        vector_partitions: config.vector_partitions,
        graph_partitions: config.graph_partitions,
        limits: config.limits.clone(),
        auth: auth.clone(),
        in_flight: Arc::new(tokio::sync::Semaphore::new(config.limits.max_in_flight)),
        map: watch::channel(ShardMap::default()).0,
        reconciling: tokio::sync::Mutex::new(()),
    });
    let (supervisor, _) = Actor::spawn(Some("strata.supervisor".into()), Supervisor, ctx.clone())
        .await
        .map_err(|e| Error::Unavailable(format!("starting actors: {e}")))?;
    tasks.push(tokio::spawn(watch_meta(ctx.clone())));
    tasks.push(tokio::spawn(client_listener.serve(ctx.clone())));

    if bootstrap {
        let members = BTreeMap::from([(id, openraft::BasicNode { addr: info.raft_addr.clone() })]);
        meta.raft.initialize(members).await.map_err(|e| Error::Cluster(format!("initialising the meta group: {e}")))?;
        let cmd = MetaCommand::Bootstrap {
            node: info.clone(),
            shards: config.shards,
            replication: config.replication,
            cluster,
        };
        let req = strata_raft::Write { id: None, command: Command::Meta(cmd) };
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            match crate::route::write(&ctx, META_GROUP, req.clone(), 0).await {
                Ok(_) => break,
                Err(e) if e.is_retryable() && Instant::now() < until => {
                    meta.raft
                        .wait(Some(Duration::from_secs(5)))
                        .current_leader(id, "bootstrap")
                        .await
                        .map_err(|_| Error::Unavailable("the meta group elected no leader".into()))?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    tasks.push(tokio::spawn(rebalance::run(ctx.clone())));
    Ok(RunningNode { info, raft_listen, data_dir: config.data_dir.clone(), ctx, supervisor, tasks })
}

/// Feeds the meta actor the meta group's map every time the local replica applies an entry.
async fn watch_meta(ctx: Arc<NodeCtx>) {
    let Some(meta) = ctx.registry.get(META_GROUP) else { return };
    let mut metrics = meta.raft.metrics();
    let mut last_applied = None;
    loop {
        let applied = metrics.borrow_and_update().last_applied;
        if applied != last_applied {
            last_applied = applied;
            match meta.read(Query::Meta(MetaQuery::ShardMap), strata_api::ReadConsistency::StaleOk).await {
                Ok(Response::ShardMap(map)) => {
                    if let Some(actor) = ActorRef::<MetaMsg>::where_is(META_ACTOR) {
                        let _ = actor.cast(MetaMsg::MapChanged(map));
                    }
                }
                Ok(other) => tracing::error!(?other, "the meta group answered something else than a map"),
                Err(e) => tracing::warn!(error = %e, "reading the shard map"),
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{advertised, dropping};
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

    #[test]
    fn a_listener_on_every_interface_must_be_told_its_address() {
        let any: std::net::SocketAddr = "0.0.0.0:7400".parse().unwrap();
        let err = advertised(any, None, "advertise").unwrap_err();
        assert!(err.to_string().contains("needs `advertise`"), "{err}");
        let told = "10.0.0.5:7400".to_string();
        assert_eq!(advertised(any, Some(&told), "advertise").unwrap(), told);
        let lo: std::net::SocketAddr = "127.0.0.1:7400".parse().unwrap();
        assert_eq!(advertised(lo, None, "advertise").unwrap(), "127.0.0.1:7400");
    }
}
