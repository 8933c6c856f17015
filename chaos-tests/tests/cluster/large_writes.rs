//! One very large write does not stall its group: while a 64 MiB value is replicated,
//! small writes to the same group go on being acknowledged, the large one is
//! acknowledged too, and every replica ends with the same state.
//!
//! The hazard (found by reading the code): openraft 0.9 bounds each append RPC by the
//! heartbeat interval (100 ms) and resends the same entries whole after a timeout, so an
//! entry that takes longer than that to send and store was sent again and again, and
//! nothing behind it in the log could commit.

use serde_json::json;
use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::StorageContext;
use strata_client::api::{Node, RelatedNodeInfo};

const COLLECTION: &str = "large";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_value_does_not_stall_its_group() {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    // A generous deadline (the machines are shared and a debug build applies 64 MiB
    // slowly): before the fix the group never committed again, so any bound catches it.
    let ctx = StorageContext::connect_within(&cluster.client_addrs(), Duration::from_secs(120)).await.expect("connect");
    let kv = ctx.kv_store();
    let big = crate::support::obj(json!({ "blob": "x".repeat(64 << 20) }));
    let writer = {
        let kv = kv.clone();
        tokio::spawn(async move { kv.put("big", &big, COLLECTION).await })
    };
    // Small writes to the same group while the large one is under way: each must be
    // acknowledged within that deadline.
    let mut small = 0;
    while !writer.is_finished() || small < 20 {
        kv.put(&format!("small-{small}"), &crate::support::obj(json!({ "i": small })), COLLECTION)
            .await
            .unwrap_or_else(|e| panic!("small write {small} while the large one was under way: {e}"));
        small += 1;
    }
    writer.await.expect("writer task").expect("the 64 MiB write is acknowledged");
    let got = kv.get("big", COLLECTION).await.expect("get").expect("the large value is there");
    assert_eq!(got.get("blob").and_then(|b| b.as_str()).map(str::len), Some(64 << 20));
    for i in 0..small {
        assert!(kv.get(&format!("small-{i}"), COLLECTION).await.expect("get").is_some(), "small-{i}");
    }
    let report = cluster.converged(Duration::from_secs(180)).await;
    assert!(report.diverged.is_empty() && report.not_caught_up.is_empty(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200k_node_add_documents_does_not_stall_its_group() {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let docstore = ctx.docstore();
    let nodes: Vec<Node> = (0..200_000)
        .map(|i| {
            Node::text_node(format!("n{i}"), format!("node {i}"))
                .with_source(RelatedNodeInfo::new(format!("d{}", i / 100)))
        })
        .collect();
    // The large add gets a long deadline: applying 200,000 nodes on every replica takes
    // longer than the default 30 s in a debug build on two cores.
    let big_ctx =
        StorageContext::connect_within(&cluster.client_addrs(), Duration::from_secs(600)).await.expect("connect");
    let writer = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let r = big_ctx.docstore().add_documents(&nodes).await;
        eprintln!("the 200,000-node add took {:?}", started.elapsed());
        r
    });
    let mut small = 0;
    while !writer.is_finished() || small < 20 {
        let node = Node::text_node(format!("small-{small}"), "small");
        docstore
            .add_documents(&[node])
            .await
            .unwrap_or_else(|e| panic!("small add {small} while the large one was under way: {e}"));
        small += 1;
    }
    writer.await.expect("writer task").expect("the 200,000-node add is acknowledged");
    let ids = docstore.get_all_document_ids().await.expect("ids");
    assert_eq!(ids.len(), 200_000 + small, "every node of both kinds is there");
    let report = cluster.converged(Duration::from_secs(180)).await;
    assert!(report.diverged.is_empty() && report.not_caught_up.is_empty(), "{report:?}");
}
