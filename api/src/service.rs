//! The client-facing RPC service every node serves (tarpc, MessagePack on the wire).
//! Any node answers any request: a write or linearizable read that reaches a node not
//! leading the request's group is forwarded to the leader.

use crate::cluster::{
    GroupId, NodeId, NodeInfo, NodeStatus, ReadConsistency, RequestId, Served, ShardMap, StateDigest,
};
use crate::command::Command;
use crate::error::Error;
use crate::graph_call::GraphCall;
use crate::model::{GraphNamespace, VectorNamespace};
use crate::query::Query;

/// The largest frame either side of the client service accepts (bulk imports and large
/// listings travel whole): the client's connections and the node's listener both use it.
pub const MAX_FRAME: usize = 512 << 20;

/// A tarpc context whose deadline is `ttl` from now (every call on both of Strata's
/// wires, client and peer, is made with one).
pub fn context_within(ttl: std::time::Duration) -> tarpc::context::Context {
    let mut ctx = tarpc::context::current();
    ctx.deadline = std::time::Instant::now() + ttl;
    // The request this call is made for keeps its id across nodes; a new call gets one.
    ctx.trace_context.trace_id = crate::trace::current_id().unwrap_or_else(crate::trace::new_id).into();
    ctx
}

/// Strata's client service.
#[tarpc::service]
pub trait StrataService {
    /// Applies `command` in raft group `group` once (deduplicated by `request_id`); answers
    /// when it is committed on a majority and durable there. `hops` counts forwards.
    async fn write(group: GroupId, request_id: Option<RequestId>, command: Command, hops: u8) -> Result<Served, Error>;
    /// Answers `query` from group `group` with the asked consistency.
    async fn read(group: GroupId, query: Query, consistency: ReadConsistency, hops: u8) -> Result<Served, Error>;
    /// The cluster's shard map (linearizable).
    async fn shard_map() -> Result<ShardMap, Error>;
    /// This node's view of every group it hosts.
    async fn status() -> Result<NodeStatus, Error>;
    /// A digest of this node's replica of `group` (taken between two applies), for
    /// comparing replicas; `UnknownGroup` if the node does not host it.
    async fn state_digest(group: GroupId) -> Result<StateDigest, Error>;
    /// Adds a node (addresses in `node`; its id is assigned) and answers its id.
    async fn join(node: NodeInfo) -> Result<NodeId, Error>;
    /// Moves a node's replicas away and removes it from the cluster.
    async fn remove_node(id: NodeId) -> Result<(), Error>;
    /// Asked of a node started in standby: join the cluster whose members listen at
    /// `seeds`; answers the id it was given. A member answers `Cluster`.
    async fn adopt(seeds: Vec<String>) -> Result<NodeId, Error>;
    /// Creates a vector namespace and its partitions (`partitions` 0: the node's
    /// configured default); answers the namespace's settings as stored.
    async fn create_vector_namespace(settings: VectorNamespace) -> Result<VectorNamespace, Error>;
    /// Creates a graph and its partitions (`partitions` 0: the node's configured
    /// default); answers its settings as stored (an existing graph's).
    async fn create_graph(settings: GraphNamespace) -> Result<GraphNamespace, Error>;
    /// Runs a multi-round graph read whole on this node, with the asked consistency,
    /// reading its own replicas of the graph's partitions where it has them. `group` is
    /// the partition the call starts in (the answer names its leader, as `read`'s does).
    async fn graph_call(group: GroupId, call: GraphCall, consistency: ReadConsistency) -> Result<Served, Error>;
    /// Presents an API key (or another node's key) for this connection; answers what it
    /// grants. On a node with keys configured every other call needs it first.
    async fn authenticate(key: String) -> Result<crate::access::Access, Error>;
    /// Captures this node's replica of `group` for a backup (admin keys): confirms this
    /// node leads the group and has applied everything committed before the call, then
    /// writes the group's image to a file of the node's; answers its figures.
    async fn backup_open(group: GroupId) -> Result<crate::backup::BackupPart, Error>;
    /// Up to `BACKUP_CHUNK` bytes of capture `token` from `offset` (none at its end).
    async fn backup_read(token: u64, offset: u64) -> Result<crate::backup::BackupChunk, Error>;
    /// Deletes capture `token` (one nobody reads for a while is deleted anyway).
    async fn backup_close(token: u64) -> Result<(), Error>;
    /// The first call on a connection (before `authenticate`): the range of client
    /// protocol versions the caller speaks. A range this node cannot speak is refused
    /// with `Error::IncompatibleVersion`; answers the version the connection uses.
    async fn hello(client: crate::version::Speaks) -> Result<crate::version::NodeHello, Error>;
    /// Asks this node to drain and stop, as SIGTERM does (admin keys): answers at once;
    /// the node hands its leaderships away, finishes requests in flight and exits 0.
    async fn drain() -> Result<(), Error>;
}

/// The store and method a request is counted under in a node's metrics: the command's or
/// query's own enum names for `write` and `read` (`("Kv", "Put")`), `("Graph", call)` for
/// graph calls, and `("Node", call)` for the calls about the cluster.
pub fn call_names(req: &StrataServiceRequest) -> (&'static str, &'static str) {
    use crate::metrics::variant_names;
    let of = |names: (Option<&'static str>, Option<&'static str>), default: &'static str| {
        (names.0.unwrap_or("Unknown"), names.1.unwrap_or(default))
    };
    match req {
        StrataServiceRequest::Write { command, .. } => of(variant_names(command), "Write"),
        StrataServiceRequest::Read { query, .. } => of(variant_names(query), "Read"),
        StrataServiceRequest::GraphCall { call, .. } => ("Graph", variant_names(call).0.unwrap_or("Call")),
        StrataServiceRequest::ShardMap {} => ("Node", "ShardMap"),
        StrataServiceRequest::Status {} => ("Node", "Status"),
        StrataServiceRequest::StateDigest { .. } => ("Node", "StateDigest"),
        StrataServiceRequest::Join { .. } => ("Node", "Join"),
        StrataServiceRequest::RemoveNode { .. } => ("Node", "RemoveNode"),
        StrataServiceRequest::Adopt { .. } => ("Node", "Adopt"),
        StrataServiceRequest::CreateVectorNamespace { .. } => ("Vector", "CreateNamespace"),
        StrataServiceRequest::CreateGraph { .. } => ("Graph", "CreateGraph"),
        StrataServiceRequest::Authenticate { .. } => ("Node", "Authenticate"),
        StrataServiceRequest::BackupOpen { .. } => ("Node", "BackupOpen"),
        StrataServiceRequest::BackupRead { .. } => ("Node", "BackupRead"),
        StrataServiceRequest::BackupClose { .. } => ("Node", "BackupClose"),
        StrataServiceRequest::Hello { .. } => ("Node", "Hello"),
        StrataServiceRequest::Drain {} => ("Node", "Drain"),
    }
}

/// How an answer ended, as [`crate::metrics::outcome`] names it.
pub fn outcome_of(resp: &StrataServiceResponse) -> &'static str {
    use crate::metrics::outcome;
    match resp {
        StrataServiceResponse::Write(r) => outcome(r),
        StrataServiceResponse::Read(r) => outcome(r),
        StrataServiceResponse::ShardMap(r) => outcome(r),
        StrataServiceResponse::Status(r) => outcome(r),
        StrataServiceResponse::StateDigest(r) => outcome(r),
        StrataServiceResponse::Join(r) => outcome(r),
        StrataServiceResponse::RemoveNode(r) => outcome(r),
        StrataServiceResponse::Adopt(r) => outcome(r),
        StrataServiceResponse::CreateVectorNamespace(r) => outcome(r),
        StrataServiceResponse::CreateGraph(r) => outcome(r),
        StrataServiceResponse::GraphCall(r) => outcome(r),
        StrataServiceResponse::Authenticate(r) => outcome(r),
        StrataServiceResponse::BackupOpen(r) => outcome(r),
        StrataServiceResponse::BackupRead(r) => outcome(r),
        StrataServiceResponse::BackupClose(r) => outcome(r),
        StrataServiceResponse::Hello(r) => outcome(r),
        StrataServiceResponse::Drain(r) => outcome(r),
    }
}
