//! The inbound side of the raft transport: each call goes to the group it names.
//!
//! Nothing but a small hello crosses until the peer is known: a connection's frames are
//! capped at [`BEFORE_HELLO_FRAME`] until its hello succeeds (with the cluster secret's
//! proof, when the cluster has one), and only then raised to [`super::MAX_FRAME`]
//! (snapshot chunks and large appends). A node without a secret takes peer connections
//! from loopback addresses only. Connections are served by `strata_wire::serve`, on the
//! same budgets of decoding, answers and time as the client port.

use super::service::{AdminOp, PeerError, RaftPeer, RaftPeerRequest, RaftPeerResponse};
use crate::TypeConfig;
use crate::registry::Registry;
use openraft::error::{Infallible, InstallSnapshotError};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotResponse, VoteRequest, VoteResponse};
use std::sync::Arc;
use strata_api::{GroupId, NodeId};
use strata_wire::{FrameLimit, Listener};
use tarpc::context::Context;

/// The largest frame a peer connection accepts before its hello succeeds (a challenge
/// and a hello are a few dozen bytes).
pub const BEFORE_HELLO_FRAME: usize = 4 << 10;

/// Serves the peer service of one node, one value per connection.
#[derive(Clone)]
pub struct PeerServer {
    registry: Arc<Registry>,
    /// The node this connection said hello as, from this node's cluster (unset: no hello).
    caller: Arc<std::sync::OnceLock<NodeId>>,
    /// The challenge this connection's hello must answer (with a cluster secret).
    challenge: Arc<std::sync::Mutex<Option<[u8; 32]>>>,
    /// This connection's frame limit: raised once its hello succeeds.
    frame: FrameLimit,
}

impl PeerServer {
    /// The node that said hello on this connection, if it still is a member.
    fn caller<E: std::error::Error>(&self) -> Result<NodeId, PeerError<E>> {
        let Some(&node) = self.caller.get() else {
            return Err(PeerError::WrongCluster { me: self.registry.cluster() });
        };
        if self.registry.is_member(node) {
            Ok(node)
        } else {
            Err(PeerError::NotMember { node, why: "it was removed from the cluster".into() })
        }
    }

    /// The same, for the calls answering Strata's errors.
    fn caller_api(&self) -> Result<NodeId, strata_api::Error> {
        let Some(&node) = self.caller.get() else {
            return Err(strata_api::Error::Unavailable(format!(
                "no hello from cluster {} on this connection",
                self.registry.cluster()
            )));
        };
        if self.registry.is_member(node) {
            Ok(node)
        } else {
            Err(strata_api::Error::PermissionDenied(format!("node {node} was removed from the cluster")))
        }
    }

    /// Checks an openraft message for `to` from the vote `vote`: it must be meant for this
    /// node, and sent by the member that said hello (a leader's append and snapshot carry
    /// its vote; a candidate's vote request, its own).
    fn check_message<E: std::error::Error>(
        &self,
        to: NodeId,
        vote: &openraft::Vote<NodeId>,
    ) -> Result<(), PeerError<E>> {
        let caller = self.caller()?;
        let me = self.registry.node_id();
        if to != me {
            return Err(PeerError::WrongNode { to, me });
        }
        match vote.leader_id().voted_for() {
            Some(sender) if sender == caller => Ok(()),
            sender => Err(PeerError::NotMember { node: caller, why: format!("the message is from node {sender:?}") }),
        }
    }
}

impl RaftPeer for PeerServer {
    async fn hello(
        self,
        _: Context,
        cluster: u64,
        from: NodeId,
        proof: Vec<u8>,
        speaks: strata_api::version::Speaks,
    ) -> Result<NodeId, strata_api::Error> {
        if let Err(e) = strata_api::version::PEER_PROTOCOL.agree("peer protocol", speaks) {
            tracing::warn!(node = from, error = %e, "refused a peer of another protocol version");
            return Err(e);
        }
        let me = self.registry.cluster();
        if !strata_api::same_cluster(cluster, me) {
            return Err(strata_api::Error::Cluster(format!(
                "this node is of cluster {me}, the caller of cluster {cluster}"
            )));
        }
        if let Some(key) = self.registry.peer_key() {
            // One challenge, one answer: taken out whatever the outcome.
            let challenge = self.challenge.lock().unwrap_or_else(|p| p.into_inner()).take();
            let valid = challenge.is_some_and(|c| {
                strata_api::access::constant_time_eq(&proof, &strata_api::access::peer_proof(key, &c, cluster, from))
            });
            if !valid {
                strata_api::metrics::counters().auth_failures.inc();
                tracing::warn!("a peer connection failed to prove the cluster secret");
                return Err(strata_api::Error::Unauthenticated("no proof of the cluster secret".into()));
            }
        }
        if !self.registry.is_member(from) {
            tracing::info!(node = from, "refused a hello from a removed node");
            return Err(strata_api::Error::PermissionDenied(format!("node {from} was removed from the cluster")));
        }
        if *self.caller.get_or_init(|| from) != from {
            return Err(strata_api::Error::InvalidInput("this connection said hello as another node".into()));
        }
        self.frame.set(super::MAX_FRAME);
        Ok(self.registry.node_id())
    }

    async fn challenge(self, _: Context) -> Result<Vec<u8>, strata_api::Error> {
        let challenge = strata_api::access::random_bytes()
            .map_err(|e| strata_api::Error::Unavailable(format!("randomness: {e}")))?;
        *self.challenge.lock().unwrap_or_else(|p| p.into_inner()) = Some(challenge);
        Ok(challenge.to_vec())
    }

    async fn append(
        self,
        _: Context,
        group: GroupId,
        to: NodeId,
        req: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<NodeId>, PeerError<Infallible>> {
        self.check_message(to, &req.vote)?;
        let g = self.registry.get(group).ok_or(PeerError::NoGroup(group))?;
        g.raft.append_entries(req).await.map_err(|e| PeerError::Raft(Box::new(e)))
    }

    async fn vote(
        self,
        _: Context,
        group: GroupId,
        to: NodeId,
        req: VoteRequest<NodeId>,
    ) -> Result<VoteResponse<NodeId>, PeerError<Infallible>> {
        self.check_message(to, &req.vote)?;
        let g = self.registry.get(group).ok_or(PeerError::NoGroup(group))?;
        g.raft.vote(req).await.map_err(|e| PeerError::Raft(Box::new(e)))
    }

    async fn snapshot(
        self,
        _: Context,
        group: GroupId,
        to: NodeId,
        req: super::service::SnapshotChunk,
    ) -> Result<InstallSnapshotResponse<NodeId>, PeerError<InstallSnapshotError>> {
        self.check_message(to, &req.vote)?;
        let g = self.registry.get(group).ok_or(PeerError::NoGroup(group))?;
        g.raft.install_snapshot(req.into()).await.map_err(|e| PeerError::Raft(Box::new(e)))
    }

    async fn admin(self, _: Context, group: GroupId, op: AdminOp) -> Result<(), strata_api::Error> {
        self.caller_api()?;
        let g = self.registry.get(group).ok_or(strata_api::Error::UnknownGroup(group))?;
        g.admin(op).await.map_err(Into::into)
    }

    async fn propose(
        self,
        _: Context,
        group: GroupId,
        write: crate::Write,
    ) -> Result<strata_shards::Answer, strata_api::Error> {
        self.caller_api()?;
        let g = self.registry.get(group).ok_or(strata_api::Error::UnknownGroup(group))?;
        g.write(write).await.map_err(Into::into)
    }

    async fn read_index(self, _: Context, group: GroupId) -> Result<Option<u64>, strata_api::Error> {
        self.caller_api()?;
        let g = self.registry.get(group).ok_or(strata_api::Error::UnknownGroup(group))?;
        g.read_index().await.map_err(Into::into)
    }

    async fn retire(self, _: Context) -> Result<(), strata_api::Error> {
        self.caller_api()?;
        self.registry.retire().await;
        Ok(())
    }
}

/// A bound peer-service listener, not serving yet (the node learns its address before it
/// has an id, and needs the id to build the registry that serves).
pub struct PeerListener {
    listener: Listener,
    tls: Option<strata_wire::TlsServer>,
    options: strata_wire::ServeOptions,
}

/// Binds the peer service on `addr` (port 0 picks a free port), holding at most
/// `max_connections` connections (`max_per_address` from one address), each served on
/// `options` (its frame limit aside: see the module comment).
pub async fn bind(
    addr: &str,
    max_connections: usize,
    max_per_address: usize,
    options: strata_wire::ServeOptions,
) -> std::io::Result<PeerListener> {
    let listener = Listener::bind(addr, max_connections, max_per_address).await?;
    Ok(PeerListener {
        listener,
        tls: None,
        options: strata_wire::ServeOptions { max_answer_bytes: super::MAX_FRAME, ..options },
    })
}

impl PeerListener {
    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// The same listener, serving TLS with `tls` when given.
    pub fn with_tls(mut self, tls: Option<strata_wire::TlsServer>) -> Self {
        self.tls = tls;
        self
    }

    /// Serves every connection (each on its own task) until the future is dropped.
    pub async fn serve(self, registry: Arc<Registry>) {
        static ENDED: strata_api::RateLimited = strata_api::RateLimited::per_second();
        loop {
            let conn = self.listener.accept().await;
            if registry.peer_key().is_none() && !conn.peer.ip().is_loopback() {
                if ENDED.allow().is_some() {
                    tracing::warn!(peer = %conn.peer, "refused a peer connection from outside loopback: no cluster secret");
                }
                continue;
            }
            let (registry, tls, options) = (registry.clone(), self.tls.clone(), self.options.clone());
            tokio::spawn(async move {
                let peer = conn.peer;
                let conn = match conn.secure(tls.as_ref(), strata_wire::listen::HANDSHAKE_TIMEOUT).await {
                    Ok(conn) => conn,
                    Err(e) => return tracing::info!(error = %e, "a peer connection failed its TLS handshake"),
                };
                let frame = FrameLimit::new(BEFORE_HELLO_FRAME);
                let server =
                    PeerServer { registry, caller: Arc::default(), challenge: Arc::default(), frame: frame.clone() };
                let handler: strata_wire::Handler<RaftPeerRequest, RaftPeerResponse> =
                    Arc::new(move |ctx, req| Box::pin(tarpc::server::Serve::serve(server.clone().serve(), ctx, req)));
                match strata_wire::serve(conn, frame, options, handler).await {
                    strata_wire::Ended::Closed => {}
                    ended => {
                        if let Some(skipped) = ENDED.allow() {
                            tracing::info!(%peer, skipped, "peer connection ended: {ended}");
                        }
                    }
                }
            });
        }
    }
}
