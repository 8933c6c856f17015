//! The client-facing tarpc service: validates at the edge and hands each request to its
//! store's actor (or the meta actor); `status` and `shard_map` are answered here.

use crate::actors::meta::MetaMsg;
use crate::actors::store::StoreMsg;
use crate::actors::{META_ACTOR, StoreKind, ask};
use crate::auth::Auth;
use crate::ctx::NodeCtx;
use crate::route;
use crate::session::Session;
use std::sync::Arc;
use strata_api::access::{Access, Role};
use strata_api::backup::{BackupChunk, BackupPart};
use strata_api::service::{StrataService, StrataServiceRequest, StrataServiceResponse};
use strata_api::tenancy::Creating;
use strata_api::trace::current;
use strata_api::version::{NodeHello, Speaks};
use strata_api::{
    Command, Error, GroupId, META_GROUP, MetaCommand, MetaQuery, NodeId, NodeInfo, NodeStatus, Query, ReadConsistency,
    RequestId, Response, Served, ShardMap, StateDigest, VectorNamespace,
};
use strata_api::{GraphCall, GraphNamespace, Limits};
use strata_wire::{FrameLimit, Listener};
use tarpc::context::Context;

/// The service of one node, for one connection. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    ctx: Arc<NodeCtx>,
    session: Arc<Session>,
}

impl StrataService for Service {
    async fn write(
        self,
        _: Context,
        group: GroupId,
        id: Option<RequestId>,
        command: Command,
        hops: u8,
    ) -> Result<Served, Error> {
        if let Command::Restore(r) = &command {
            self.backup_access()?;
            if r.group() != group || group == META_GROUP {
                return Err(Error::InvalidInput(format!(
                    "a restore write for group {} sent to group {group}",
                    r.group()
                )));
            }
            let _place = self.ctx.admit()?;
            return route::write(&self.ctx, group, strata_raft::Write { id, command }, hops).await;
        }
        let Some(kind) = StoreKind::of_command(&command) else {
            return Err(Error::InvalidInput("cluster metadata changes go through join and remove_node".into()));
        };
        self.session.access()?.check_command(&command)?;
        let _place = self.ctx.admit()?;
        self.ctx.limits.check_command(&command)?;
        let timeout = self.ctx.request_timeout;
        ask(kind.actor_name(), |reply| StoreMsg::Write { group, id, command, hops, reply, trace: current() }, timeout)
            .await
    }

    async fn read(
        self,
        _: Context,
        group: GroupId,
        query: Query,
        consistency: ReadConsistency,
        hops: u8,
    ) -> Result<Served, Error> {
        let access = self.session.access()?;
        access.check_query(&query)?;
        let _place = self.ctx.admit()?;
        self.ctx.limits.check_query(&query)?;
        let mut served = match StoreKind::of_query(&query) {
            None if group != META_GROUP => {
                return Err(Error::InvalidInput("cluster metadata lives in raft group 0".into()));
            }
            None => route::read(&self.ctx, group, query, consistency, hops).await?,
            Some(kind) => {
                let timeout = self.ctx.request_timeout;
                ask(
                    kind.actor_name(),
                    |reply| StoreMsg::Read { group, query, consistency, hops, reply, trace: current() },
                    timeout,
                )
                .await?
            }
        };
        access.filter_response(&mut served.response);
        Ok(served)
    }

    async fn shard_map(self, _: Context) -> Result<ShardMap, Error> {
        let access = self.session.require(Role::ReadOnly, "the shard map")?;
        let q = Query::Meta(MetaQuery::ShardMap);
        let mut map = match route::read(&self.ctx, META_GROUP, q, ReadConsistency::Linearizable, 0).await?.response {
            Response::ShardMap(map) => map,
            other => return Err(Error::InvalidData(format!("the meta group answered {other:?}"))),
        };
        for g in self.ctx.registry.groups() {
            if let Some((leader, _)) = g.leader() {
                map.leaders.insert(g.id, leader);
            }
        }
        access.filter_map(&mut map);
        Ok(map)
    }

    async fn status(self, _: Context) -> Result<NodeStatus, Error> {
        let access = self.session.require(Role::ReadOnly, "status")?;
        let groups = self.ctx.with_map(|map| {
            let visible = |g: &&Arc<strata_raft::Group>| access.may_see_group(map, g.id);
            self.ctx.registry.groups().iter().filter(visible).map(|g| g.status()).collect()
        });
        // What the node holds names namespaces and graphs: only for keys that see all.
        let detail = if access.prefixes.is_empty() {
            let ctx = self.ctx.clone();
            tokio::task::spawn_blocking(move || Box::new(crate::http::status::detail(&ctx))).await.ok()
        } else {
            None
        };
        Ok(NodeStatus { node: self.ctx.info.clone(), groups, detail })
    }

    async fn state_digest(self, _: Context, group: GroupId) -> Result<StateDigest, Error> {
        let access = self.session.require(Role::ReadOnly, "a state digest")?;
        // Another tenant's group is answered as one that does not exist.
        if !self.ctx.with_map(|map| access.may_see_group(map, group)) {
            return Err(Error::UnknownGroup(group));
        }
        let g = self.ctx.registry.get(group).ok_or(Error::UnknownGroup(group))?;
        // Hashing a large group reads all of it: off the async workers.
        tokio::task::spawn_blocking(move || g.state_digest())
            .await
            .map_err(|e| Error::Unavailable(format!("digest: {e}")))?
            .map_err(Into::into)
    }

    async fn join(self, _: Context, node: NodeInfo) -> Result<NodeId, Error> {
        self.session.require(Role::Admin, "join")?;
        if node.raft_addr.is_empty() || node.client_addr.is_empty() {
            return Err(Error::InvalidInput("a joining node must give its raft and client addresses".into()));
        }
        ask(META_ACTOR, |reply| MetaMsg::Join(node, reply), self.ctx.request_timeout).await
    }

    async fn remove_node(self, _: Context, id: NodeId) -> Result<(), Error> {
        self.session.require(Role::Admin, "remove_node")?;
        ask(META_ACTOR, |reply| MetaMsg::Remove(id, reply), self.ctx.request_timeout).await
    }

    async fn adopt(self, _: Context, _seeds: Vec<String>) -> Result<NodeId, Error> {
        self.session.require(Role::Admin, "adopt")?;
        Err(Error::Cluster(format!("node {} is already a member of a cluster", self.ctx.info.id)))
    }

    async fn authenticate(self, _: Context, key: String) -> Result<Access, Error> {
        self.session.authenticate(&key)
    }

    async fn hello(self, _: Context, client: Speaks) -> Result<NodeHello, Error> {
        hello(client)
    }

    async fn drain(self, _: Context) -> Result<(), Error> {
        self.session.require(Role::Admin, "drain")?;
        tracing::info!("asked to drain and stop");
        self.ctx.stop_asked.notify_one();
        Ok(())
    }

    async fn backup_open(self, _: Context, group: GroupId) -> Result<BackupPart, Error> {
        self.backup_access()?;
        if group == META_GROUP {
            return Err(Error::InvalidInput("the meta group is not backed up (the manifest holds the layout)".into()));
        }
        let g = self.ctx.registry.get(group).ok_or(Error::UnknownGroup(group))?;
        // A linearizable point: this node leads the group and has applied everything
        // committed before the request arrived.
        g.ensure_linearizable().await?;
        self.ctx.captures.open(g).await
    }

    async fn backup_read(self, _: Context, token: u64, offset: u64) -> Result<BackupChunk, Error> {
        self.backup_access()?;
        self.ctx.captures.read(token, offset).await
    }

    async fn backup_close(self, _: Context, token: u64) -> Result<(), Error> {
        self.backup_access()?;
        self.ctx.captures.close(token);
        Ok(())
    }

    async fn create_vector_namespace(
        self,
        _: Context,
        mut settings: VectorNamespace,
    ) -> Result<VectorNamespace, Error> {
        let access = self.session.access()?;
        access.check_create(&settings.name)?;
        let _place = self.ctx.admit()?;
        self.ctx.limits.check_command(&Command::Vector(strata_api::VectorCommand::CreateNamespace {
            settings: settings.clone(),
        }))?;
        if settings.partitions == 0 {
            settings.partitions = self.ctx.vector_partitions;
        }
        self.check_quota(&access, Creating::Namespace, &settings.name, settings.partitions)?;
        let name = settings.name.clone();
        let cmd = MetaCommand::CreateVectorNamespace { settings };
        let map = self.meta_create(cmd).await?;
        map.vector_namespaces
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::InvalidData(format!("vector namespace {name:?} missing after its creation")))
    }

    async fn create_graph(self, _: Context, mut settings: GraphNamespace) -> Result<GraphNamespace, Error> {
        let access = self.session.access()?;
        access.check_create(&settings.name)?;
        let _place = self.ctx.admit()?;
        self.ctx.limits.check_graph_name(&settings.name)?;
        if settings.partitions == 0 {
            settings.partitions = self.ctx.graph_partitions;
        }
        self.check_quota(&access, Creating::Graph, &settings.name, settings.partitions)?;
        let name = settings.name.clone();
        let map = self.meta_create(MetaCommand::CreateGraph { settings }).await?;
        map.graphs
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::InvalidData(format!("graph {name:?} missing after its creation")))
    }

    async fn graph_call(
        self,
        _: Context,
        group: GroupId,
        call: GraphCall,
        consistency: ReadConsistency,
    ) -> Result<Served, Error> {
        let access = self.session.access()?;
        access.check_graph_call(&call)?;
        let _place = self.ctx.admit()?;
        self.ctx.limits.check_graph_call(&call)?;
        let timeout = self.ctx.request_timeout;
        let limits = crate::cypher::limits_for(&self.ctx.limits, &access);
        let actor = StoreKind::Graph.actor_name();
        ask(actor, |reply| StoreMsg::GraphCall { group, call, consistency, limits, reply, trace: current() }, timeout)
            .await
    }
}

impl Service {
    /// Backups and restores read and write every store: admin keys that see everything.
    fn backup_access(&self) -> Result<Arc<Access>, Error> {
        let access = self.session.require(Role::Admin, "a backup or restore")?;
        if !access.prefixes.is_empty() {
            return Err(Error::PermissionDenied(
                "a backup or restore needs an admin key without namespace prefixes".into(),
            ));
        }
        Ok(access)
    }

    /// Refuses creating `what` past the partition limit or the key's quotas (counted on
    /// this node's newest map; creations go through the meta group one at a time).
    fn check_quota(&self, access: &Access, what: Creating, name: &str, partitions: u32) -> Result<(), Error> {
        self.ctx.limits.check_partitions(partitions)?;
        let defaults = self.ctx.limits.default_quotas();
        self.ctx.with_map(|map| access.check_quota(map, what, name, u64::from(partitions), &defaults))
    }

    /// Applies a creation in the meta group; answers the shard map after it.
    async fn meta_create(&self, cmd: MetaCommand) -> Result<ShardMap, Error> {
        let write = strata_raft::Write { id: None, command: Command::Meta(cmd) };
        route::write(&self.ctx, META_GROUP, write, 0).await?;
        let q = Query::Meta(MetaQuery::ShardMap);
        match route::read(&self.ctx, META_GROUP, q, ReadConsistency::Linearizable, 0).await?.response {
            Response::ShardMap(map) => Ok(map),
            other => Err(Error::InvalidData(format!("the meta group answered {other:?}"))),
        }
    }
}

/// A standby node's request to join, with where to answer the id it got.
pub type Adoption = (Vec<String>, tokio::sync::oneshot::Sender<Result<NodeId, Error>>);

/// The service of a node in standby (not a member yet): it only accepts `adopt`.
#[derive(Clone)]
struct Standby {
    adopt: Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<Adoption>>>>,
    session: Arc<Session>,
}

fn standby_error() -> Error {
    Error::Unavailable("this node is in standby: add it with `strata cluster add-node`".into())
}

impl StrataService for Standby {
    async fn write(self, _: Context, _: GroupId, _: Option<RequestId>, _: Command, _: u8) -> Result<Served, Error> {
        Err(standby_error())
    }
    async fn read(self, _: Context, _: GroupId, _: Query, _: ReadConsistency, _: u8) -> Result<Served, Error> {
        Err(standby_error())
    }
    async fn shard_map(self, _: Context) -> Result<ShardMap, Error> {
        self.session.require(Role::ReadOnly, "the shard map")?;
        Err(standby_error())
    }
    async fn status(self, _: Context) -> Result<NodeStatus, Error> {
        Err(standby_error())
    }
    async fn state_digest(self, _: Context, _: GroupId) -> Result<StateDigest, Error> {
        Err(standby_error())
    }
    async fn join(self, _: Context, _: NodeInfo) -> Result<NodeId, Error> {
        Err(standby_error())
    }
    async fn remove_node(self, _: Context, _: NodeId) -> Result<(), Error> {
        Err(standby_error())
    }
    async fn create_vector_namespace(self, _: Context, _: VectorNamespace) -> Result<VectorNamespace, Error> {
        Err(standby_error())
    }
    async fn create_graph(self, _: Context, _: GraphNamespace) -> Result<GraphNamespace, Error> {
        Err(standby_error())
    }
    async fn graph_call(self, _: Context, _: GroupId, _: GraphCall, _: ReadConsistency) -> Result<Served, Error> {
        Err(standby_error())
    }
    async fn authenticate(self, _: Context, key: String) -> Result<Access, Error> {
        self.session.authenticate(&key)
    }
    async fn hello(self, _: Context, client: Speaks) -> Result<NodeHello, Error> {
        hello(client)
    }
    async fn drain(self, _: Context) -> Result<(), Error> {
        // A standby holds nothing to hand over; stop it as any process.
        Err(standby_error())
    }
    async fn backup_open(self, _: Context, _: GroupId) -> Result<BackupPart, Error> {
        Err(standby_error())
    }
    async fn backup_read(self, _: Context, _: u64, _: u64) -> Result<BackupChunk, Error> {
        Err(standby_error())
    }
    async fn backup_close(self, _: Context, _: u64) -> Result<(), Error> {
        Err(standby_error())
    }
    async fn adopt(self, _: Context, seeds: Vec<String>) -> Result<NodeId, Error> {
        self.session.require(Role::Admin, "adopt")?;
        if seeds.is_empty() {
            return Err(Error::InvalidInput("no cluster address given".into()));
        }
        let Some(tx) = self.adopt.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Err(Error::Cluster("this node is already being added".into()));
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send((seeds, reply)).map_err(|_| standby_error())?;
        answer.await.map_err(|_| Error::Unavailable("the node stopped while joining".into()))?
    }
}

/// A bound client-service listener, not serving yet.
pub struct ClientListener {
    listener: Listener,
    limits: Limits,
    options: strata_wire::ServeOptions,
    auth: Auth,
    tls: Option<strata_wire::TlsServer>,
}

/// Binds the client service on `addr` (port 0 picks a free port), holding at most
/// `limits.max_connections` connections, each checked against `auth`, over TLS when
/// `tls` is given.
pub async fn bind(
    addr: &str,
    limits: &Limits,
    auth: &Auth,
    tls: Option<strata_wire::TlsServer>,
) -> std::io::Result<ClientListener> {
    let listener = Listener::bind(addr, limits.max_connections, limits.max_connections_per_address).await?;
    Ok(ClientListener {
        listener,
        limits: limits.clone(),
        options: serve_options(limits, crate::metrics::ports().client.clone()),
        auth: auth.clone(),
        tls,
    })
}

/// The budgets of a port's connections, from the node's limits (one call per port: its
/// connections share the request memory it makes).
pub fn serve_options(limits: &Limits, stats: Arc<strata_wire::PortStats>) -> strata_wire::ServeOptions {
    let ms = std::time::Duration::from_millis;
    strata_wire::ServeOptions {
        memory: strata_wire::RequestMemory::new(limits.max_request_memory_bytes),
        max_in_flight: limits.max_in_flight_per_connection,
        max_running: limits.max_running_per_connection,
        max_unsent_bytes: limits.max_unsent_bytes,
        max_answer_bytes: strata_api::service::MAX_FRAME,
        first_frame_timeout: ms(limits.first_frame_timeout_ms),
        frame_timeout: ms(limits.frame_timeout_ms),
        idle_timeout: ms(limits.idle_timeout_ms),
        stats,
    }
}

/// The request handler of a concrete service value (a macro: a service's `serve()`
/// future is `Send` only as a concrete type).
macro_rules! handler {
    ($service:expr) => {{
        let service = $service;
        let handler: strata_wire::Handler<StrataServiceRequest, StrataServiceResponse> = Arc::new(move |ctx, req| {
            let (store, method) = strata_api::service::call_names(&req);
            let trace = strata_api::trace::Trace::new(ctx.trace_context.trace_id.into());
            let served = tarpc::server::Serve::serve(service.clone().serve(), ctx, req);
            Box::pin(counted(store, method, trace, served))
        });
        handler
    }};
}

/// Runs a served call under its trace (its id in every log line and in every call it
/// makes to other nodes), counts it in the node's metrics (`strata_requests_total`,
/// `strata_request_seconds`) under its store, method and outcome, and logs it: at WARN
/// with its stages when slower than `slow_request_ms`, else at DEBUG.
async fn counted<F>(store: &'static str, method: &'static str, trace: strata_api::trace::Trace, served: F) -> F::Output
where
    F: std::future::Future<Output = Result<StrataServiceResponse, tarpc::ServerError>>,
{
    use tracing::Instrument;
    let began = std::time::Instant::now();
    let id = trace.hex();
    let span = tracing::info_span!("request", id = %id, store, method);
    let answer = trace.clone().scope(served).instrument(span.clone()).await;
    let took = began.elapsed();
    let outcome = match &answer {
        Ok(resp) => strata_api::service::outcome_of(resp),
        Err(_) => "failed",
    };
    if strata_api::metrics::enabled() {
        if outcome == "busy" {
            strata_api::metrics::counters().busy.inc();
        }
        strata_api::metrics::counters().calls.of(store, method).record(outcome, took);
    }
    let ms = took.as_secs_f64() * 1000.0;
    if crate::telemetry::is_slow(took) {
        let stages = trace.stages();
        tracing::warn!(parent: &span, id = %id, store, method, outcome, took_ms = ms, stages = %stages, "slow request");
    } else {
        tracing::debug!(parent: &span, outcome, took_ms = ms, "request served");
    }
    answer
}

/// Serves one accepted connection with `handler` (`strata_wire::serve`: each request on
/// its own task, on the connection's budgets), after the TLS handshake when `tls` is
/// given; `frame` is the connection's frame limit, which its session raises on
/// `authenticate`.
fn serve_conn(
    conn: strata_wire::Conn,
    tls: Option<strata_wire::TlsServer>,
    options: &strata_wire::ServeOptions,
    frame: FrameLimit,
    handler: strata_wire::Handler<StrataServiceRequest, StrataServiceResponse>,
) {
    let options = options.clone();
    tokio::spawn(async move {
        let peer = conn.peer;
        let conn = match conn.secure(tls.as_ref(), strata_wire::listen::HANDSHAKE_TIMEOUT).await {
            Ok(conn) => conn,
            Err(e) => return tracing::info!(error = %e, "a client connection failed its TLS handshake"),
        };
        match strata_wire::serve(conn, frame, options, handler).await {
            strata_wire::Ended::Closed => {}
            ended => crate::telemetry::connection_ended("client", peer, &ended),
        }
    });
}

impl ClientListener {
    /// Serves the standby service until a client asks this node to join a cluster; answers
    /// that request (connections made meanwhile keep their standby service).
    pub async fn standby(&mut self) -> Adoption {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let adopt = Arc::new(std::sync::Mutex::new(Some(tx)));
        let mut rx = std::pin::pin!(rx);
        loop {
            tokio::select! {
                adoption = &mut rx => match adoption {
                    Ok(a) => return a,
                    Err(_) => std::future::pending::<()>().await,
                },
                conn = self.listener.accept() => {
                    let (session, frame) = Session::new(&self.auth, &self.limits);
                    let standby = Standby { adopt: adopt.clone(), session };
                    serve_conn(conn, self.tls.clone(), &self.options, frame, handler!(standby));
                }
            }
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves every connection (requests concurrently, each on its own task).
    pub async fn serve(self, ctx: Arc<NodeCtx>) {
        loop {
            let conn = self.listener.accept().await;
            let (session, frame) = Session::new(&self.auth, &self.limits);
            let service = Service { ctx: ctx.clone(), session };
            serve_conn(conn, self.tls.clone(), &self.options, frame, handler!(service));
        }
    }
}

/// The answer to a client's hello, on members and standby nodes alike (no credential
/// needed: it is what a client learns before it authenticates).
fn hello(client: Speaks) -> Result<NodeHello, Error> {
    let protocol = strata_api::version::CLIENT_PROTOCOL.agree("client protocol", client)?;
    Ok(NodeHello { protocol, strata_version: env!("CARGO_PKG_VERSION").to_string() })
}
