//! A leader restarted in its own term answers linearizable reads with its last
//! acknowledged write.
//!
//! Every node is killed at once right after a write is acknowledged, and the leader comes
//! back first: openraft restores a node whose saved vote is its own committed leadership
//! as leader at once, with the commit index it saved last, which is not flushed and may
//! lag the writes it acknowledged. A read index taken from that commit index would let
//! the restored leader answer from before those writes (seed 2 of the nemesis found it).

use serde_json::json;
use std::time::{Duration, Instant};
use strata_api::{KvQuery, Query, ReadConsistency, Response};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_shards::placement::group_of_collection;

const COLLECTION: &str = "restored";
const ROUNDS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_leader_reads_its_last_acknowledged_write() {
    let options = ClusterOptions::default();
    let mut cluster = TestCluster::start(3, options.clone());
    cluster.wait_settled(3).await;
    let group = group_of_collection(COLLECTION, options.shards);
    for round in 0..ROUNDS {
        cluster
            .wait_for("the group has a leader", |_, st| {
                st.iter().any(|s| s.groups.iter().any(|g| g.group == group && g.role == "Leader"))
            })
            .await;
        let leader = cluster.leader_of(group).await.expect("a leader");
        let ctx = cluster.context().await;
        ctx.kv_store().put("k", &crate::support::obj(json!({"round": round})), COLLECTION).await.expect("put");
        for i in 0..cluster.nodes.len() {
            cluster.kill(i);
        }
        cluster.restart(leader);
        // Reads at the restored leader, from before its followers are back until one is
        // served (it needs a quorum to confirm its leadership).
        let reader = cluster.reader(leader);
        let reads = tokio::spawn(async move {
            let until = Instant::now() + Duration::from_secs(60);
            let query = Query::Kv(KvQuery::Get { collection: COLLECTION.into(), key: "k".into() });
            loop {
                match reader.read(group, query.clone(), ReadConsistency::Linearizable).await {
                    Ok(response) => return Some(response),
                    Err(_) if Instant::now() < until => tokio::task::yield_now().await,
                    Err(_) => return None,
                }
            }
        });
        for i in (0..cluster.nodes.len()).filter(|&i| i != leader) {
            cluster.restart(i);
        }
        let response = reads.await.expect("reader task").expect("a linearizable read served within 60 s");
        let Response::Value(Some(value)) = response else { panic!("round {round}: no value: {response:?}") };
        let value: serde_json::Value = serde_json::from_str(value.as_str()).expect("stored JSON");
        assert_eq!(value, json!({"round": round}), "round {round}: the read missed the last acknowledged write");
    }
}
