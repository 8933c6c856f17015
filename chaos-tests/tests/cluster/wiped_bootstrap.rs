//! Hazard: the bootstrap node's data directory is wiped and the node is started again
//! with its old configuration (no one to join) at its old addresses. It bootstraps a new
//! cluster as node 1 — the id it had — so only the cluster id tells it apart. It must not
//! vote or take entries as the old node 1 (with its empty log, its vote could elect a
//! leader missing committed writes), and must not answer the old cluster's clients.

use serde_json::json;
use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::StorageContext;

const COLLECTION: &str = "wiped";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_bootstrap_node_starts_a_new_cluster_and_cannot_act_as_the_old_member() {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let addrs = cluster.client_addrs();
    let ctx = StorageContext::connect_within(&addrs, Duration::from_secs(10)).await.expect("connect");
    let kv = ctx.kv_store();
    for k in 0..30 {
        kv.put(&format!("k{k}"), &crate::support::obj(json!({"k": k})), COLLECTION).await.expect("put");
    }

    cluster.wipe_and_restart_alone(0);
    assert_eq!(cluster.nodes[0].id, 1, "the wiped node is node 1 again, of a new cluster");

    // The old cluster's client keeps its data: every read that reaches the new cluster
    // at node 1's address is refused and tried again on a member.
    for round in 0..3 {
        for k in 0..30 {
            let got = kv.get(&format!("k{k}"), COLLECTION).await.expect("get");
            assert_eq!(got, Some(crate::support::obj(json!({"k": k}))), "round {round}: k{k}");
        }
    }
    kv.put("after", &crate::support::obj(json!({"ok": true})), COLLECTION).await.expect("a write on two members");

    // With one of the two real members down, no group of the old cluster has a majority:
    // a write must fail. Had the wiped node voted as node 1, a leader would be elected
    // with its empty log and the write would succeed.
    cluster.kill(1);
    let refused = kv.put("no-quorum", &crate::support::obj(json!({"x": 1})), COLLECTION).await;
    assert!(refused.is_err(), "a write succeeded with one real member of three: {refused:?}");

    // The member back: the old cluster serves again, with everything it acknowledged.
    cluster.restart(1);
    let until = std::time::Instant::now() + strata_chaos::cluster::SETTLE_TIMEOUT;
    loop {
        match kv.put("back", &crate::support::obj(json!({"ok": true})), COLLECTION).await {
            Ok(()) => break,
            Err(e) => assert!(std::time::Instant::now() < until, "the old cluster did not come back: {e}"),
        }
    }
    for k in 0..30 {
        assert_eq!(
            kv.get(&format!("k{k}"), COLLECTION).await.expect("get"),
            Some(crate::support::obj(json!({"k": k})))
        );
    }
    assert!(kv.get("after", COLLECTION).await.expect("get").is_some());
}
