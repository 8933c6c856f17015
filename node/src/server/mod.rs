//! The node server: opens the data directory, finds or obtains the node's identity
//! (bootstrap a new cluster, join an existing one, or restart), starts the raft groups,
//! the actors, the client service and the rebalancer, and serves until shutdown.

mod identity;

use crate::ctx::NodeCtx;

use crate::actors::meta::MetaMsg;
use crate::actors::{META_ACTOR, supervisor::Supervisor};
use crate::config::Config;
use crate::{rebalance, service};
use ractor::{Actor, ActorRef};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_api::{Command, Error, META_GROUP, MetaCommand, MetaQuery, NodeInfo, Query, Response};
use strata_client::cluster::{Connections, context_within};
use strata_raft::{Registry, RegistryConfig};

/// A running node.
pub struct RunningNode {
    /// This node's identity and addresses.
    pub info: NodeInfo,
    /// Where its raft service listens (`info.raft_addr` unless `raft_advertise` is set).
    pub raft_listen: String,
    /// Where its HTTP port listens (probes, metrics, status).
    pub http_addr: String,
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

    /// Returns once a client asked this node to drain and stop (`strata node drain`).
    pub async fn stop_asked(&self) {
        self.ctx.stop_asked.notified().await;
    }

    /// Drains (hands every leadership away, lets requests in flight finish: see
    /// [`crate::drain`]), then stops serving and shuts every raft group down cleanly.
    pub async fn shutdown(self) {
        crate::drain::drain(&self.ctx).await;
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
    let listens = [config.listen.as_str(), config.raft_listen.as_str(), config.http_listen.as_str()];
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
    strata_api::metrics::set_enabled(config.metrics);
    let limits = &config.limits;
    if limits.cypher_threads > 0 {
        strata_shards::graph::cypher::pool::configure(limits.cypher_threads);
    }
    strata_shards::vector::ann::budget::configure(limits.vector_build_memory_bytes);
    let raft_options = service::serve_options(limits, crate::metrics::ports().raft.clone());
    let raft_listener = strata_raft::network::server::bind(
        &raft_at,
        limits.max_connections,
        limits.max_connections_per_address,
        raft_options,
    )
    .await
    .map_err(io)?
    .with_tls(tls.server.clone());
    let mut client_listener = service::bind(&client_at, limits, &auth, tls.server.clone()).await.map_err(io)?;
    let http_listener = crate::http::HttpListener::bind(&config.http_listen, tls.server.clone())
        .await
        .map_err(|e| Error::Unavailable(format!("http_listen {}: {e}", config.http_listen)))?;
    let http_addr = local(http_listener.local_addr().map_err(io)?);
    let http = Arc::new(crate::http::HttpState::new(db.clone(), auth.clone()));
    let http_task = tokio::spawn(http_listener.serve(http.clone()));
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
                println!("strata node standby: client={} raft={} http={http_addr}", info.client_addr, info.raft_addr);
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
    let mut tasks = vec![http_task, tokio::spawn(raft_listener.serve(registry.clone()))];
    let meta = registry.open_group(META_GROUP).await?;
    for group in registry.groups_on_disk() {
        registry.open_group(group).await?;
    }
    let conns = Connections::with_key(auth.own_key()).with_tls(tls.client.clone());
    let ctx = Arc::new(NodeCtx::new(info.clone(), registry.clone(), conns, config, auth.clone()));
    let _ = http.ctx.set(ctx.clone());
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
    if let Some((every, keep, to)) = config.backup.parsed().map_err(|e| Error::InvalidInput(e.to_string()))? {
        let connect = strata_client::cluster::ConnectOptions {
            api_key: auth.own_key(),
            tls: tls.client.clone(),
            ..Default::default()
        };
        tasks.push(tokio::spawn(crate::scheduled_backup::run(ctx.clone(), every, keep, to, connect)));
    }
    Ok(RunningNode { info, raft_listen, http_addr, data_dir: config.data_dir.clone(), ctx, supervisor, tasks })
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
    use super::advertised;

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
