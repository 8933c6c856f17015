//! The conformance suite's helpers, with `ctx()` starting a fresh 3-node cluster per test.

use std::path::Path;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::StorageContext;

pub use conformance_helpers::*;

#[path = "../../../client/tests/conformance/support.rs"]
#[allow(dead_code)]
mod conformance_helpers;

/// A test's cluster and scratch folder; the cluster's processes stop when it is dropped.
pub struct Guard {
    scratch: tempfile::TempDir,
    _cluster: TestCluster,
}

impl Guard {
    /// A scratch folder for the test's own files.
    pub fn path(&self) -> &Path {
        self.scratch.path()
    }
}

/// A fresh 3-node cluster (2 shards, every shard on every node) and a context over it.
pub async fn ctx() -> (Guard, StorageContext) {
    let cluster = TestCluster::start(3, ClusterOptions { shards: 2, ..ClusterOptions::default() });
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    (Guard { scratch: tempfile::tempdir().expect("temp dir"), _cluster: cluster }, ctx)
}

pub use strata_chaos::rng::pseudo_vector;

/// Nodes `n0..n{count}` ("text i") whose embeddings are `pseudo_vector(i, dim)`.
pub fn pseudo_nodes(count: u64, dim: usize) -> Vec<strata_client::api::Node> {
    (0..count)
        .map(|i| {
            let mut n = strata_client::api::Node::text_node(format!("n{i}"), format!("text {i}"));
            n.embedding = Some(pseudo_vector(i, dim));
            n
        })
        .collect()
}
