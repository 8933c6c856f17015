//! The partitions of a graph, whichever the backend: what the graph store handles pass
//! to the coordinator.

use crate::backend::{Backend, EmbeddedGraph};
use crate::cluster::graph::ClusterGraph;
use crate::error::Result;
use std::future::Future;
use std::pin::Pin;
use strata_api::{GraphCall, GraphCommand, GraphQuery, ReadConsistency, Response};
use strata_shards::graph::coord::{self, Partitions};

/// An embedded graph's partition or a cluster graph's partitions.
pub enum Parts<'a> {
    /// One partition, in-process.
    Embedded(EmbeddedGraph<'a>),
    /// P raft groups.
    Cluster(ClusterGraph<'a>),
}

type Answer<'a> = Pin<Box<dyn Future<Output = coord::Result<Response>> + Send + 'a>>;

impl<'a> Parts<'a> {
    /// `graph`'s partitions on `backend` (a cluster creates the graph on first use).
    pub async fn of(backend: &'a Backend, graph: &str, consistency: ReadConsistency) -> Result<Parts<'a>> {
        Ok(match backend {
            Backend::Embedded(e) => Parts::Embedded(e.graph(graph)),
            Backend::Cluster(c) => Parts::Cluster(c.graph(graph, consistency).await?),
        })
    }
}

impl Parts<'_> {
    /// Runs a multi-round read: in-process on an embedded graph, whole on one node of a
    /// cluster (one round trip instead of one per hop).
    pub async fn run(&self, call: GraphCall) -> coord::Result<Response> {
        match self {
            Parts::Embedded(e) => match call {
                GraphCall::Cypher { query, params, .. } => e.cypher(query, params).await.map_err(|e| e.into_store()),
                call => coord::call::run(e, call).await,
            },
            Parts::Cluster(c) => c.run(call).await,
        }
    }
}

impl Partitions for Parts<'_> {
    fn graph(&self) -> &str {
        match self {
            Parts::Embedded(e) => e.graph(),
            Parts::Cluster(c) => c.graph(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Parts::Embedded(e) => e.count(),
            Parts::Cluster(c) => c.count(),
        }
    }

    fn read(&self, p: usize, q: GraphQuery) -> impl Future<Output = coord::Result<Response>> + Send {
        let f: Answer<'_> = match self {
            Parts::Embedded(e) => Box::pin(e.read(p, q)),
            Parts::Cluster(c) => Box::pin(c.read(p, q)),
        };
        f
    }

    fn write(&self, p: usize, c: GraphCommand) -> impl Future<Output = coord::Result<Response>> + Send {
        let f: Answer<'_> = match self {
            Parts::Embedded(e) => Box::pin(e.write(p, c)),
            Parts::Cluster(cl) => Box::pin(cl.write(p, c)),
        };
        f
    }

    fn stamps(&self, n: usize) -> u64 {
        match self {
            Parts::Embedded(e) => e.stamps(n),
            Parts::Cluster(c) => c.stamps(n),
        }
    }
}
