//! Writes acknowledged through any node are read back through every node; shard
//! leadership is spread over the nodes.

use serde_json::json;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::StorageContext;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_any_node_are_read_back_through_every_node() {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    // 4 shards on 3 nodes, all created on the first: each node ends up leading one or two.
    for st in cluster.statuses().await {
        let led = st.groups.iter().filter(|g| g.group != 0 && g.role == "Leader").count();
        assert!((1..=2).contains(&led), "node {} leads {led} shards", st.node.id);
    }
    let addrs = cluster.client_addrs();
    for (i, addr) in addrs.iter().enumerate() {
        let ctx = StorageContext::connect(std::slice::from_ref(addr)).await.expect("connect");
        for k in 0..20 {
            let coll = format!("coll{}", k % 5);
            let value = crate::support::obj(json!({"writer": i, "k": k}));
            ctx.kv_store().put(&format!("n{i}-k{k}"), &value, &coll).await.expect("put");
        }
        let node = strata_client::api::Node::text_node(format!("doc-{i}"), "text");
        ctx.docstore().add_documents(&[node]).await.expect("add");
    }
    for addr in &addrs {
        let ctx = StorageContext::connect(std::slice::from_ref(addr)).await.expect("connect");
        for i in 0..addrs.len() {
            for k in 0..20 {
                let coll = format!("coll{}", k % 5);
                let got = ctx.kv_store().get(&format!("n{i}-k{k}"), &coll).await.expect("get");
                assert_eq!(got, Some(crate::support::obj(json!({"writer": i, "k": k}))), "via {addr}");
            }
            assert!(ctx.docstore().document_exists(&format!("doc-{i}")).await.expect("exists"), "via {addr}");
        }
        let collections = ctx.kv_store().collections().await.expect("collections");
        for c in 0..5 {
            assert!(collections.contains(&format!("coll{c}")), "{collections:?}");
        }
    }
}
