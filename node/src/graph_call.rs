//! Graph calls run whole on this node ([`strata_api::GraphCall`]): the graph coordinator
//! of `strata_shards::graph::coord`, the same code a client runs, over [`NodeGraph`],
//! which reads this node's own replicas of the partitions and forwards only what it
//! does not hold.
//!
//! Why: a depth-2 rel map is three rounds of reads; run by a client, each round is a
//! network trip to every partition's leader (and each linearizable read there a quorum
//! round). Run here, it is one client trip, one read-index confirmation per partition
//! held here ([`strata_raft::read_index`]; all at once, before the first read), and
//! local reads. Reads keep the consistency the client asked for: linearizable reads of
//! a local replica wait for the leader's read index; partitions not held here are read
//! through [`crate::route`] as any forwarded read.

use crate::route;
use crate::server::NodeCtx;
use futures::future::try_join_all;
use std::sync::Arc;
use strata_api::{Error, GraphCall, GraphCommand, GraphQuery, GroupId, Query, ReadConsistency, Response, Served};
use strata_raft::Group;
use strata_shards::graph::coord::{self, Partitions};

/// A graph's partitions as this node reaches them.
pub struct NodeGraph<'a> {
    ctx: &'a Arc<NodeCtx>,
    graph: String,
    groups: Vec<GroupId>,
    /// This node's replica of each partition, as it was when the call began: only these
    /// were caught up, so a replica created meanwhile (still empty) is not read.
    local: Vec<Option<Arc<Group>>>,
    consistency: ReadConsistency,
}

impl<'a> NodeGraph<'a> {
    /// `graph`'s partitions by this node's shard map; linearizable reads of the local
    /// replicas are made safe here, all partitions at once.
    pub async fn open(ctx: &'a Arc<NodeCtx>, graph: &str, consistency: ReadConsistency) -> Result<Self, Error> {
        let groups = ctx.shard_map().graph_partitions(graph);
        if groups.is_empty() {
            // A graph created moments ago may not have reached this node's map yet.
            return Err(Error::Unavailable(format!("node {} does not know graph {graph:?} yet", ctx.info.id)));
        }
        let local: Vec<Option<Arc<Group>>> = groups.iter().map(|g| ctx.registry.get(*g)).collect();
        if consistency == ReadConsistency::Linearizable {
            let pool = ctx.registry.pool();
            try_join_all(local.iter().flatten().map(|g| g.catch_up_for_read(pool, ctx.request_timeout)))
                .await
                .map_err(Error::from)?;
        }
        Ok(Self { ctx, graph: graph.to_string(), groups, local, consistency })
    }
}

impl Partitions for NodeGraph<'_> {
    fn graph(&self) -> &str {
        &self.graph
    }

    fn count(&self) -> usize {
        self.groups.len()
    }

    async fn read(&self, p: usize, q: GraphQuery) -> coord::Result<Response> {
        let (Some(group), Some(local)) = (self.groups.get(p), self.local.get(p)) else {
            return Err(Error::InvalidInput(format!("no partition {p}")));
        };
        match local {
            // Caught up in `open` when linearizable: this replica's state will do.
            Some(g) => g.read(Query::Graph(q), ReadConsistency::StaleOk).await.map_err(Error::from),
            None => Ok(route::read(self.ctx, *group, Query::Graph(q), self.consistency, 0).await?.response),
        }
    }

    async fn write(&self, _: usize, _: GraphCommand) -> coord::Result<Response> {
        // Graph calls are reads; the coordinator issues no write for them.
        Err(Error::InvalidInput("a graph call run on a node is read-only".into()))
    }

    fn stamps(&self, _: usize) -> u64 {
        0
    }
}

/// Runs `call` here; the answer names the leader of `group` (the partition it starts in).
pub async fn serve(
    ctx: &Arc<NodeCtx>,
    group: GroupId,
    call: GraphCall,
    consistency: ReadConsistency,
) -> Result<Served, Error> {
    let parts = NodeGraph::open(ctx, call.graph(), consistency).await?;
    let response = coord::call::run(&parts, call).await?;
    let leader = ctx.registry.get(group).and_then(|g| g.leader()).map(|(id, _)| id);
    Ok(Served { response, epoch: ctx.shard_map().epoch, leader })
}
