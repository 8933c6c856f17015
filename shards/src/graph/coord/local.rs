//! A graph's one partition read straight from a [`Shard`] this process holds, owned (so a
//! Cypher query can take it to the query pool): what an embedded store's Cypher reads.

use super::{Partitions, Result};
use crate::Shard;
use std::sync::Arc;
use strata_api::{Error, GraphCommand, GraphQuery, Query, Response};

/// `graph` in `shard`, read-only.
#[derive(Clone)]
pub struct ShardGraph {
    shard: Arc<Shard>,
    graph: String,
}

impl ShardGraph {
    /// `graph`'s partition in `shard`.
    pub fn new(shard: Arc<Shard>, graph: &str) -> Self {
        Self { shard, graph: graph.to_string() }
    }
}

impl Partitions for ShardGraph {
    fn graph(&self) -> &str {
        &self.graph
    }

    fn count(&self) -> usize {
        1
    }

    fn read(&self, _: usize, q: GraphQuery) -> impl Future<Output = Result<Response>> + Send {
        let answer = self.shard.query(&Query::Graph(q)).map_err(Error::from);
        async move { answer }
    }

    async fn write(&self, _: usize, _: GraphCommand) -> Result<Response> {
        Err(Error::InvalidInput("a Cypher query is read-only".into()))
    }

    fn stamps(&self, _: usize) -> u64 {
        0
    }
}
