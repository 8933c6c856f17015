//! The cluster backend: commands and queries sent over tarpc to the nodes of a Strata
//! cluster, routed by the cached shard map.
//!
//! Routing: a command's raft group comes from `strata_shards::placement` (stable for the
//! cluster's life); the request goes to the group's last known leader, or any node (which
//! forwards). Every answer names the group's leader and the serving node's map epoch: the
//! client remembers the leader, and fetches the map again when its own is older.
//! Retryable answers (no leader yet, a node down, a deadline passed) refresh the map and
//! retry with backoff until the call's deadline; every retry of a write carries the same
//! request id, so the state machine applies it once.

mod backup;
mod connections;
pub mod graph;
mod vector;

pub use connections::{Connections, MAX_FRAME, connect_error, context_within};

use crate::error::{Error, Result};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use strata_api::{Command, GroupId, Query, ReadConsistency, RequestId, Response, Served, ShardMap, VectorNamespace};
use strata_shards::placement::{ReadRoute, Route, route_command, route_query};

/// How long one call (with its retries) may take by default.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// The first and the largest pause between retries.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(20), Duration::from_millis(500));

/// Runs `call` as one request: every call it makes to the nodes (a query's partitions,
/// a write's shards, their retries) carries one request id, so the nodes' logs show one
/// request (`strata_api::trace`). A call made inside another keeps the outer id.
pub(crate) async fn one_request<F: std::future::Future>(call: F) -> F::Output {
    if strata_api::trace::current_id().is_some() {
        return call.await;
    }
    strata_api::trace::Trace::new(0).scope(call).await
}

/// A connection to a cluster. Cheap to share between tasks (behind an `Arc`).
pub struct Cluster {
    seeds: Vec<String>,
    conns: Connections,
    map: RwLock<ShardMap>,
    client_id: u64,
    next_seq: AtomicU64,
    /// The last vector insertion stamp handed out (see `vector::insertion_stamps`).
    insertion_clock: AtomicU64,
    rotate: AtomicUsize,
    /// Counts the reads sent to any replica (`stale_ok` vector searches).
    spread: AtomicU64,
    deadline: Duration,
    /// A node answered with a newer map epoch than ours: fetch the map before routing.
    stale: AtomicBool,
    /// Labels of graph nodes this client wrote lately (see `coord::LabelCache`).
    graph_labels: strata_shards::graph::coord::LabelCache,
    /// The cluster's id, from the first map fetched (0 until then): maps and answers
    /// of another cluster are not taken (`strata_api::same_cluster`).
    cluster: AtomicU64,
}

fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    h.finish()
}

/// How a client connects to a cluster.
#[derive(Clone)]
pub struct ConnectOptions {
    /// The most that connecting, and every later call (retries included), may take
    /// before it fails with `Unavailable`.
    pub deadline: Duration,
    /// The API key every connection presents (a cluster whose nodes have keys
    /// configured refuses connections without one).
    pub api_key: Option<String>,
    /// TLS, checking the nodes' certificates against a CA (`TlsClient::from_ca_file`),
    /// for a cluster whose nodes serve TLS.
    pub tls: Option<strata_wire::TlsClient>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { deadline: DEFAULT_DEADLINE, api_key: None, tls: None }
    }
}

impl Cluster {
    /// Connects to the cluster that `addrs` (client addresses of any members) belong to.
    pub async fn connect(addrs: &[String]) -> Result<Self> {
        Self::connect_within(addrs, DEFAULT_DEADLINE).await
    }

    /// Connects, giving connecting and every later call at most `deadline` (retries
    /// included) before it fails with `Unavailable`.
    pub async fn connect_within(addrs: &[String], deadline: Duration) -> Result<Self> {
        Self::connect_with(addrs, deadline, None).await
    }

    /// [`Cluster::connect_within`], presenting `api_key` on every connection (a cluster
    /// whose nodes have keys configured refuses connections without one).
    pub async fn connect_with(addrs: &[String], deadline: Duration, api_key: Option<String>) -> Result<Self> {
        Self::connect_options(addrs, &ConnectOptions { deadline, api_key, tls: None }).await
    }

    /// Connects as `options` say (deadline, API key, TLS).
    pub async fn connect_options(addrs: &[String], options: &ConnectOptions) -> Result<Self> {
        if addrs.is_empty() {
            return Err(strata_api::Error::InvalidInput("no cluster address given".into()).into());
        }
        let deadline = options.deadline;
        let cluster = Self {
            seeds: addrs.to_vec(),
            conns: Connections::with_key(options.api_key.clone()).with_tls(options.tls.clone()),
            map: RwLock::new(ShardMap::default()),
            client_id: random_u64(),
            next_seq: AtomicU64::new(1),
            insertion_clock: AtomicU64::new(0),
            rotate: AtomicUsize::new(0),
            spread: AtomicU64::new(0),
            deadline,
            stale: AtomicBool::new(false),
            graph_labels: Default::default(),
            cluster: AtomicU64::new(0),
        };
        cluster.refresh_map(Instant::now() + cluster.deadline).await?;
        Ok(cluster)
    }

    /// The shard map as last fetched.
    pub fn cached_map(&self) -> ShardMap {
        self.map.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the cached shard map in place (no copy: what per-call routing uses).
    pub fn with_cached_map<T>(&self, f: impl FnOnce(&ShardMap) -> T) -> T {
        f(&self.map.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Fetches the shard map from any reachable node.
    pub async fn refresh_map(&self, until: Instant) -> Result<ShardMap> {
        let mut last_err = None;
        let mut backoff = BACKOFF.0;
        loop {
            for addr in self.candidates(None) {
                let attempt = async {
                    let client = self.conns.get(&addr).await.map_err(|e| connect_error(&addr, &e))?;
                    client
                        .shard_map(context_within(ATTEMPT_TIMEOUT.min(until.saturating_duration_since(Instant::now()))))
                        .await
                        .map_err(|e| strata_api::Error::Unavailable(format!("{addr}: {e}")))?
                };
                match attempt.await {
                    Ok(map) if !strata_api::same_cluster(map.cluster, self.cluster.load(Ordering::Relaxed)) => {
                        // A node at a member's address that belongs to another cluster.
                        self.conns.forget(&addr);
                        last_err = Some(strata_api::Error::Unavailable(format!(
                            "{addr} is a node of cluster {}, not of this one",
                            map.cluster
                        )));
                    }
                    Ok(map) if !map.shards.is_empty() => {
                        if map.cluster != 0 {
                            let _ = self.cluster.compare_exchange(0, map.cluster, Ordering::Relaxed, Ordering::Relaxed);
                        }
                        *self.map.write().unwrap_or_else(|p| p.into_inner()) = map.clone();
                        return Ok(map);
                    }
                    Ok(_) => {
                        last_err = Some(strata_api::Error::Unavailable("the cluster is not bootstrapped yet".into()))
                    }
                    Err(e) => {
                        self.conns.forget(&addr);
                        if !e.is_retryable() {
                            return Err(e.into());
                        }
                        last_err = Some(e);
                    }
                }
            }
            if Instant::now() + backoff >= until {
                return Err(last_err
                    .unwrap_or_else(|| strata_api::Error::Unavailable("no node answered".into()))
                    .into());
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF.1);
        }
    }

    /// Addresses to try for `group`, best first: its leader, its replicas, every member, the seeds.
    fn candidates(&self, group: Option<GroupId>) -> Vec<String> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<String> = Vec::new();
        let mut push = |a: &str| {
            if !out.iter().any(|o| o == a) {
                out.push(a.to_string());
            }
        };
        if let Some(g) = group {
            if let Some(n) = map.leaders.get(&g).and_then(|l| map.nodes.get(l)) {
                push(&n.client_addr);
            }
            if let Some(s) = map.shard(g) {
                for n in s.replicas.iter().filter_map(|r| map.nodes.get(r)) {
                    push(&n.client_addr);
                }
            }
        }
        let start = self.rotate.fetch_add(1, Ordering::Relaxed);
        let members: Vec<&str> = map.nodes.values().map(|n| n.client_addr.as_str()).collect();
        for i in 0..members.len() {
            push(members[(start + i) % members.len()]);
        }
        for s in &self.seeds {
            push(s);
        }
        out
    }

    fn shard_count(&self) -> u32 {
        self.map.read().unwrap_or_else(|p| p.into_inner()).shard_count()
    }

    /// Any replica of `group`, picked by a counter scrambled per call (so the partitions
    /// of one query, asked one after another, land on different replicas too): where a
    /// search goes, so every replica serves searches, not only leaders.
    fn any_replica(&self, group: GroupId) -> Option<String> {
        let n = self.spread.fetch_add(1, Ordering::Relaxed).wrapping_add(group);
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let replicas = &map.shard(group)?.replicas;
        let pick = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % replicas.len().max(1);
        replicas.get(pick).and_then(|r| map.nodes.get(r)).map(|n| n.client_addr.clone())
    }

    /// Sends one request to `group`'s best node, retrying retryable failures until the deadline.
    async fn call<F, Fut>(&self, group: GroupId, attempt: F) -> Result<Response>
    where
        F: FnMut(strata_api::service::StrataServiceClient, tarpc::context::Context) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<strata_api::Result<Served>, tarpc::client::RpcError>>,
    {
        self.call_from(group, None, attempt).await
    }

    /// As [`Cluster::call`], first trying `first` (then the usual candidates).
    async fn call_from<F, Fut>(&self, group: GroupId, mut first: Option<String>, mut attempt: F) -> Result<Response>
    where
        F: FnMut(strata_api::service::StrataServiceClient, tarpc::context::Context) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<strata_api::Result<Served>, tarpc::client::RpcError>>,
    {
        let until = Instant::now() + self.deadline;
        if self.stale.swap(false, Ordering::Relaxed) {
            // Best effort: a failure here shows again as a retryable error below.
            let _ = self.refresh_map(Instant::now() + ATTEMPT_TIMEOUT).await;
        }
        let mut backoff = BACKOFF.0;
        let mut last_err: strata_api::Error;
        loop {
            let addr = match first.take() {
                Some(addr) => addr,
                None => self.candidates(Some(group)).into_iter().next().unwrap_or_default(),
            };
            let ttl = ATTEMPT_TIMEOUT.min(until.saturating_duration_since(Instant::now()));
            last_err = match self.conns.get(&addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(connect_error(&addr, &e).into());
                }
                Err(e) => connect_error(&addr, &e),
                Ok(client) => match attempt(client, context_within(ttl)).await {
                    Ok(Ok(served))
                        if !strata_api::same_cluster(served.cluster, self.cluster.load(Ordering::Relaxed)) =>
                    {
                        self.conns.forget(&addr);
                        strata_api::Error::Unavailable(format!(
                            "{addr} answered for another cluster ({})",
                            served.cluster
                        ))
                    }
                    Ok(Ok(served)) => {
                        self.learn(group, &served);
                        return Ok(served.response);
                    }
                    Ok(Err(e)) if !e.is_retryable() => return Err(e.into()),
                    Ok(Err(e)) => e,
                    Err(e) => self.transport_error(&addr, e),
                },
            };
            // The leader or the members may have changed: look again (any node answers).
            self.forget_leader(group);
            if Instant::now() + backoff >= until {
                return Err(last_err.into());
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF.1);
            let _ = self.refresh_map(Instant::now() + ATTEMPT_TIMEOUT).await;
        }
    }

    /// The error for a call that got no answer from `addr`: the node's per-connection
    /// limit on requests in flight, or its request memory, is `Busy` (the connection is
    /// fine); a request it would not decode is `InvalidInput`; anything else drops the
    /// connection, to be made again.
    fn transport_error(&self, addr: &str, e: tarpc::client::RpcError) -> strata_api::Error {
        match e {
            tarpc::client::RpcError::Server(s) if s.kind == std::io::ErrorKind::WouldBlock => {
                strata_api::Error::Busy(format!("{addr}: {}", s.detail))
            }
            // A request the node refused to decode (priced past its budget): the same
            // request is refused again, so it is the caller's to change.
            tarpc::client::RpcError::Server(s) if s.kind == std::io::ErrorKind::InvalidData => {
                strata_api::Error::InvalidInput(format!("{addr}: {}", s.detail))
            }
            e => {
                self.conns.forget(addr);
                strata_api::Error::Unavailable(format!("{addr}: {e}"))
            }
        }
    }

    /// Remembers the leader an answer named; notes a newer map epoch.
    fn learn(&self, group: GroupId, served: &Served) {
        let known = {
            let map = self.map.read().unwrap_or_else(|p| p.into_inner());
            if served.epoch > map.epoch {
                self.stale.store(true, Ordering::Relaxed);
            }
            map.leaders.get(&group).copied()
        };
        if let Some(leader) = served.leader.filter(|l| known != Some(*l)) {
            self.map.write().unwrap_or_else(|p| p.into_inner()).leaders.insert(group, leader);
        }
    }

    fn forget_leader(&self, group: GroupId) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).leaders.remove(&group);
        self.rotate.fetch_add(1, Ordering::Relaxed);
    }

    async fn write_group(&self, group: GroupId, command: Command) -> Result<Response> {
        let id = RequestId { client: self.client_id, seq: self.next_seq.fetch_add(1, Ordering::Relaxed) };
        self.call(group, |client, ctx| {
            let command = command.clone();
            async move { client.write(ctx, group, Some(id), command, 0).await }
        })
        .await
    }

    /// Reads `group`: a search ([`Query::any_replica_serves`]) first tries any of its
    /// replicas, so a query's partitions spread over the replicas rather than all landing
    /// on leaders; other reads go to the leader.
    async fn read_group(&self, group: GroupId, query: Query, consistency: ReadConsistency) -> Result<Response> {
        let first = if query.any_replica_serves() { self.any_replica(group) } else { None };
        self.call_from(group, first, |client, ctx| {
            let query = query.clone();
            async move { client.read(ctx, group, query, consistency, 0).await }
        })
        .await
    }

    /// Creates a vector namespace through any node (the meta group places its
    /// partitions); answers its settings as stored.
    async fn create_namespace_in_meta(&self, settings: VectorNamespace) -> Result<VectorNamespace> {
        self.ask_meta(|c, ctx| {
            let settings = settings.clone();
            async move { c.create_vector_namespace(ctx, settings).await }
        })
        .await
    }

    /// Asks any node for a change of the cluster's layout (the meta group makes it),
    /// retrying retryable failures until the deadline; fetches the new map after it.
    async fn ask_meta<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut(strata_api::service::StrataServiceClient, tarpc::context::Context) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<strata_api::Result<T>, tarpc::client::RpcError>>,
    {
        let until = Instant::now() + self.deadline;
        let mut backoff = BACKOFF.0;
        loop {
            let mut last = strata_api::Error::Unavailable("no node answered".into());
            for addr in self.candidates(None) {
                let ttl = ATTEMPT_TIMEOUT.min(until.saturating_duration_since(Instant::now()));
                let answer = match self.conns.get(&addr).await {
                    Err(e) => Err(connect_error(&addr, &e)),
                    Ok(c) => attempt(c, context_within(ttl))
                        .await
                        .map_err(|e| self.transport_error(&addr, e))
                        .and_then(|r| r),
                };
                match answer {
                    Ok(stored) => {
                        self.refresh_map(Instant::now() + ATTEMPT_TIMEOUT).await?;
                        return Ok(stored);
                    }
                    Err(e) if e.is_retryable() => {
                        self.conns.forget(&addr);
                        last = e;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if Instant::now() + backoff >= until {
                return Err(last.into());
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF.1);
        }
    }

    /// Applies a write; answers once it is committed and durable on a majority.
    pub async fn apply(&self, cmd: Command) -> Result<Response> {
        if let Command::Vector(c) = cmd {
            return self.vector_apply(c).await;
        }
        match route_command(&cmd, self.shard_count()) {
            Route::One(group) => self.write_group(group, cmd).await,
            Route::Split(parts) => {
                let mut last = Response::Done;
                for (group, part) in parts {
                    last = self.write_group(group, part).await?;
                }
                Ok(last)
            }
        }
    }

    /// Answers a read (linearizable).
    pub async fn query(&self, q: Query) -> Result<Response> {
        self.query_with(q, ReadConsistency::Linearizable).await
    }

    /// Answers a read; vector reads may accept a replica's possibly stale state.
    pub async fn query_with(&self, q: Query, consistency: ReadConsistency) -> Result<Response> {
        if let Query::Vector(v) = q {
            return self.vector_query(v, consistency).await;
        }
        match route_query(&q, self.shard_count()) {
            ReadRoute::One(group) => self.read_group(group, q, ReadConsistency::Linearizable).await,
            ReadRoute::All => {
                let groups: Vec<GroupId> = (1..=u64::from(self.shard_count())).collect();
                let answers = futures::future::try_join_all(
                    groups.iter().map(|g| self.read_group(*g, q.clone(), ReadConsistency::Linearizable)),
                )
                .await?;
                merge(answers)
            }
        }
    }
}

/// Concatenates per-shard listings in group order.
fn merge(answers: Vec<Response>) -> Result<Response> {
    let mut names = Vec::new();
    let mut namespaces = Vec::new();
    let mut saw_namespaces = false;
    for a in answers {
        match a {
            Response::Names(n) => names.extend(n),
            Response::VectorNamespaces(n) => {
                saw_namespaces = true;
                namespaces.extend(n);
            }
            other => return Err(Error::Protocol(format!("a scattered read answered {other:?}"))),
        }
    }
    Ok(if saw_namespaces { Response::VectorNamespaces(namespaces) } else { Response::Names(names) })
}
