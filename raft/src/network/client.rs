//! openraft's outbound network: a pool of tarpc connections, one per peer address, shared
//! by every group of the node. A connection that fails is dropped and re-made lazily.
//!
//! A connection can also fail silently: the peer's host vanished without a reset, a
//! middlebox forgot the flow, or the process at the other end stopped reading. Calls on
//! it then end by their deadline, not by an error, and a pool that kept it would send
//! every later call into the same hole: a follower would never be replicated to again
//! (the soak's seeds 2201 and 2323 ended that way). So the pool notes when each
//! connection last answered anything, and a deadline missed on a connection silent for
//! longer than [`SILENT_LIMIT`] drops it. A slow but live peer (a delayed link, a big
//! append) keeps answering heartbeats and keeps its connection. Calls carry openraft's
//! soft deadline (¾ of the hard one it enforces by cancelling the call), so that a call
//! nobody answers ends by our deadline, where the pool sees it, and not by openraft's.

use super::append::{APPEND_TTL, AppendResult, InFlight, Sent};
use super::service::{PeerError, RaftPeerClient};
use crate::TypeConfig;
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_api::{GroupId, NodeId};
use strata_wire::FrameLimit;
use tarpc::client::RpcError;

/// How long a connection may go without answering anything before a missed deadline
/// on it counts as a dead connection rather than a slow peer (heartbeats answer every
/// 100 ms on a live one).
pub const SILENT_LIMIT: Duration = Duration::from_secs(5);

/// A pooled connection and when it last answered.
struct Pooled {
    client: RaftPeerClient,
    answered: Arc<Mutex<Instant>>,
}

/// Connections to peers by raft address. Cheap to clone.
#[derive(Clone)]
pub struct PeerPool {
    conns: Arc<Mutex<HashMap<String, Pooled>>>,
    routes: Arc<std::collections::BTreeMap<String, String>>,
    /// This node's cluster, said in the hello that opens every connection.
    cluster: u64,
    /// This node's id, said in the same hello (0: a tool, not a member).
    node_id: NodeId,
    /// The key the hello proves this node holds (see `RegistryConfig::peer_key`).
    peer_key: Option<[u8; 32]>,
    /// See [`SILENT_LIMIT`].
    silent_limit: Duration,
    /// TLS to peers (their CA), when the cluster uses it.
    tls: Option<strata_wire::TlsClient>,
}

impl Default for PeerPool {
    fn default() -> Self {
        Self::new(0, Default::default())
    }
}

impl PeerPool {
    /// A pool for a node of cluster `cluster` (0: not known, as in tools and tests).
    /// It reaches a peer advertised at a key of `routes` by dialling its value instead (a
    /// forwarder in front of the peer: an SSH tunnel, a NAT's inside address, or the fault
    /// tests' proxy, which learns from the address dialled which node sent each byte).
    /// Peers not listed are dialled at their advertised address.
    pub fn new(cluster: u64, routes: std::collections::BTreeMap<String, String>) -> Self {
        Self {
            conns: Arc::default(),
            routes: Arc::new(routes),
            cluster,
            node_id: 0,
            peer_key: None,
            silent_limit: SILENT_LIMIT,
            tls: None,
        }
    }

    /// The same pool, over TLS checked against `tls`'s CA when given (a peer's
    /// certificate must name the host of its advertised address).
    pub fn with_tls(mut self, tls: Option<strata_wire::TlsClient>) -> Self {
        self.tls = tls;
        self
    }

    /// The same pool, dropping connections silent for `limit` instead of [`SILENT_LIMIT`].
    pub fn with_silent_limit(mut self, limit: Duration) -> Self {
        self.silent_limit = limit;
        self
    }

    /// The same pool, saying hello as node `node_id`.
    pub fn with_node_id(mut self, node_id: NodeId) -> Self {
        self.node_id = node_id;
        self
    }

    /// The same pool, proving `peer_key` in its hellos.
    pub fn with_peer_key(mut self, peer_key: Option<[u8; 32]>) -> Self {
        self.peer_key = peer_key;
        self
    }

    /// The connection to `addr`, made if needed.
    pub async fn client(&self, addr: &str) -> std::io::Result<RaftPeerClient> {
        if let Some(c) = self.conns.lock().unwrap_or_else(|p| p.into_inner()).get(addr) {
            return Ok(c.client.clone());
        }
        let dial = self.routes.get(addr).map_or(addr, String::as_str);
        let limit = FrameLimit::new(super::MAX_FRAME);
        let transport = strata_wire::connect_as(dial, addr, Duration::from_secs(5), limit, self.tls.as_ref()).await?;
        let client = RaftPeerClient::new(tarpc::client::Config::default(), transport).spawn();
        let proof = match &self.peer_key {
            None => Vec::new(),
            Some(key) => match client.challenge(context_within(Duration::from_secs(5))).await {
                Ok(Ok(challenge)) => {
                    strata_api::access::peer_proof(key, &challenge, self.cluster, self.node_id).to_vec()
                }
                Ok(Err(e)) => return Err(std::io::Error::other(format!("{addr}: {e}"))),
                Err(e) => return Err(std::io::Error::other(format!("{addr}: challenge: {e}"))),
            },
        };
        let speaks = strata_api::version::PEER_PROTOCOL;
        match client.hello(context_within(Duration::from_secs(5)), self.cluster, self.node_id, proof, speaks).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(std::io::Error::other(format!("{addr}: {e}"))),
            Err(e) => return Err(std::io::Error::other(format!("{addr}: hello: {e}"))),
        }
        let pooled = Pooled { client: client.clone(), answered: Arc::new(Mutex::new(Instant::now())) };
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).insert(addr.to_string(), pooled);
        Ok(client)
    }

    /// Forgets the connection to `addr` (after a transport error).
    pub fn forget(&self, addr: &str) {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(addr);
    }

    /// Notes that the connection to `addr` answered a call.
    pub fn answered(&self, addr: &str) {
        if let Some(c) = self.conns.lock().unwrap_or_else(|p| p.into_inner()).get(addr) {
            *c.answered.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        }
    }

    /// Notes that a call to `addr` missed its deadline: the connection is dropped if it
    /// has answered nothing for the silent limit ([`SILENT_LIMIT`]; see the module
    /// comment). Whether it was dropped.
    pub fn missed_deadline(&self, addr: &str) -> bool {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let silent = conns
            .get(addr)
            .is_some_and(|c| c.answered.lock().unwrap_or_else(|p| p.into_inner()).elapsed() > self.silent_limit);
        if silent {
            tracing::info!(%addr, limit = ?self.silent_limit, "dropping a peer connection that has answered nothing");
            conns.remove(addr);
        }
        silent
    }
}

pub use strata_api::service::context_within;

/// Builds the network of one group.
pub struct NetFactory {
    /// The group whose messages this network carries.
    pub group: GroupId,
    /// The node's connection pool.
    pub pool: PeerPool,
}

impl RaftNetworkFactory<TypeConfig> for NetFactory {
    type Network = PeerConn;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerConn {
        PeerConn {
            link: Link { group: self.group, target, addr: node.addr.clone(), pool: self.pool.clone() },
            in_flight: None,
        }
    }
}

/// One group's link to one peer, and the append under way on it.
pub struct PeerConn {
    link: Link,
    in_flight: Option<InFlight>,
}

/// Where one group's messages to one peer go.
#[derive(Clone)]
struct Link {
    group: GroupId,
    target: NodeId,
    addr: String,
    pool: PeerPool,
}

impl Link {
    fn map_err<E: std::error::Error + 'static>(
        &self,
        result: Result<Result<(), PeerError<E>>, RpcError>,
    ) -> Result<(), RPCError<NodeId, BasicNode, RaftError<NodeId, E>>> {
        if result.is_ok() {
            self.pool.answered(&self.addr);
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(PeerError::Raft(e))) => Err(RPCError::RemoteError(RemoteError::new(self.target, *e))),
            Ok(Err(
                e @ (PeerError::NoGroup(_)
                | PeerError::WrongNode { .. }
                | PeerError::WrongCluster { .. }
                | PeerError::NotMember { .. }),
            )) => Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(e @ RpcError::DeadlineExceeded) => {
                self.pool.missed_deadline(&self.addr);
                Err(RPCError::Network(NetworkError::new(&e)))
            }
            Err(e) => {
                self.pool.forget(&self.addr);
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
        }
    }

    async fn client<E: std::error::Error>(
        &self,
    ) -> Result<RaftPeerClient, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>> {
        self.pool.client(&self.addr).await.map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))
    }
}

/// A peer call's outcome with the value taken out.
type Outcome<E> = Result<Result<(), PeerError<E>>, RpcError>;

/// Splits a peer answer into the value and a unit result for error mapping.
fn split<T, E: std::error::Error>(r: Result<Result<T, PeerError<E>>, RpcError>) -> (Option<T>, Outcome<E>) {
    match r {
        Ok(Ok(v)) => (Some(v), Ok(Ok(()))),
        Ok(Err(e)) => (None, Ok(Err(e))),
        Err(e) => (None, Err(e)),
    }
}

impl Link {
    async fn append(self, rpc: AppendEntriesRequest<TypeConfig>, ttl: Duration) -> AppendResult {
        let client = self.client().await?;
        let (value, rest) = split(client.append(context_within(ttl), self.group, self.target, rpc).await);
        self.map_err(rest)?;
        value.ok_or_else(|| RPCError::Network(NetworkError::new(&std::io::Error::other("no answer"))))
    }
}

impl RaftNetwork<TypeConfig> for PeerConn {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let Some(asked) = Sent::of(&rpc) else { return self.link.clone().append(rpc, option.soft_ttl()).await };
        // See `append`: a retry of the append under way waits for it instead of resending.
        let in_flight = match self.in_flight.take() {
            Some(f) if f.sent.is_covered_by(&asked) => f,
            _ => InFlight::start(asked, self.link.clone().append(rpc, APPEND_TTL)),
        };
        let in_flight = self.in_flight.insert(in_flight);
        let answer = (&mut in_flight.answer).await;
        let sent = in_flight.sent;
        self.in_flight = None;
        match answer {
            Ok(Ok(answer)) => Ok(sent.answer_for(&asked, answer)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RPCError::Network(NetworkError::new(&std::io::Error::other("the append task stopped")))),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>>
    {
        let client = self.link.client().await?;
        let (value, rest) = split(
            client.snapshot(context_within(option.soft_ttl()), self.link.group, self.link.target, rpc.into()).await,
        );
        self.link.map_err(rest)?;
        value.ok_or_else(|| RPCError::Network(NetworkError::new(&std::io::Error::other("no answer"))))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let client = self.link.client().await?;
        let (value, rest) =
            split(client.vote(context_within(option.soft_ttl()), self.link.group, self.link.target, rpc).await);
        self.link.map_err(rest)?;
        value.ok_or_else(|| RPCError::Network(NetworkError::new(&std::io::Error::other("no answer"))))
    }
}
