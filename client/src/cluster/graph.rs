//! A graph's partitions on a cluster: one raft group each, placed by the meta group when
//! the graph is first used. The coordinator (`strata_shards::graph::coord`) sends each
//! partition its share of a call through [`ClusterGraph`].

use super::Cluster;
use crate::error::Result;
use std::future::Future;
use strata_api::{
    Command, GraphCall, GraphCommand, GraphNamespace, GraphQuery, GroupId, Query, ReadConsistency, Response,
};
use strata_shards::graph::coord::{self, Partitions};

/// A graph's partitions as the coordinator reaches them on a cluster.
pub struct ClusterGraph<'a> {
    cluster: &'a Cluster,
    graph: String,
    groups: Vec<GroupId>,
    consistency: ReadConsistency,
}

impl Cluster {
    /// The partition groups of `graph`, creating the graph (with the nodes' default
    /// partition count) when the cluster does not have it yet.
    async fn graph_groups(&self, graph: &str) -> Result<Vec<GroupId>> {
        for attempt in 0..2 {
            let groups = self.with_cached_map(|m| m.graph_partitions(graph));
            if !groups.is_empty() {
                return Ok(groups);
            }
            if attempt == 0 {
                self.refresh_map(std::time::Instant::now() + super::ATTEMPT_TIMEOUT).await?;
            }
        }
        let settings = GraphNamespace { name: graph.to_string(), partitions: 0 };
        self.ask_meta(|c, ctx| {
            let settings = settings.clone();
            async move { c.create_graph(ctx, settings).await }
        })
        .await?;
        let groups = self.with_cached_map(|m| m.graph_partitions(graph));
        if groups.is_empty() {
            return Err(strata_api::Error::InvalidData(format!(
                "graph {graph:?} has no partitions after its creation"
            ))
            .into());
        }
        Ok(groups)
    }

    /// `graph`'s partitions (created on first use), reads at `consistency`.
    pub async fn graph(&self, graph: &str, consistency: ReadConsistency) -> Result<ClusterGraph<'_>> {
        let groups = self.graph_groups(graph).await?;
        Ok(ClusterGraph { cluster: self, graph: graph.to_string(), groups, consistency })
    }
}

impl ClusterGraph<'_> {
    /// Runs a multi-round read whole on one node (see `strata_node::graph_call`): the
    /// leader of the partition the call starts in, which holds that partition's data
    /// and, with one replica of everything per node, the rest. Calls that start
    /// everywhere (Cypher) take turns among the partitions' leaders.
    pub async fn run(&self, call: GraphCall) -> coord::Result<Response> {
        let turn = || self.cluster.rotate.load(std::sync::atomic::Ordering::Relaxed) % self.groups.len().max(1);
        let p = call.start().map_or_else(turn, |id| coord::owner(self, id));
        let group = *self.groups.get(p).ok_or_else(|| strata_api::Error::InvalidInput(format!("no partition {p}")))?;
        let consistency = self.consistency;
        self.cluster
            .call(group, |client, ctx| {
                let call = call.clone();
                async move { client.graph_call(ctx, group, call, consistency).await }
            })
            .await
            .map_err(crate::Error::into_store)
    }
}

impl Partitions for ClusterGraph<'_> {
    fn graph(&self) -> &str {
        &self.graph
    }

    fn count(&self) -> usize {
        self.groups.len()
    }

    fn read(&self, p: usize, q: GraphQuery) -> impl Future<Output = coord::Result<Response>> + Send {
        let group = self.groups.get(p).copied();
        async move {
            let group = group.ok_or_else(|| strata_api::Error::InvalidInput(format!("no partition {p}")))?;
            self.cluster.read_group(group, Query::Graph(q), self.consistency).await.map_err(crate::Error::into_store)
        }
    }

    fn write(&self, p: usize, c: GraphCommand) -> impl Future<Output = coord::Result<Response>> + Send {
        let group = self.groups.get(p).copied();
        async move {
            let group = group.ok_or_else(|| strata_api::Error::InvalidInput(format!("no partition {p}")))?;
            self.cluster.write_group(group, Command::Graph(c)).await.map_err(crate::Error::into_store)
        }
    }

    fn stamps(&self, n: usize) -> u64 {
        self.cluster.insertion_stamps(n)
    }

    fn label_cache(&self) -> Option<&coord::LabelCache> {
        Some(&self.cluster.graph_labels)
    }
}
