//! Vector stores under faults: a namespace of 3 partitions on 3 nodes answers the same
//! queries identically after a node restarts and after a partition's leader is killed
//! with SIGKILL, and nodes deleted before the faults never come back.

use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, SETTLE_TIMEOUT, TestCluster};
use strata_client::StorageContext;
use strata_client::api::{Distance, VectorNamespace, VectorStoreQuery};

const DIM: usize = 32;

fn vector(seed: u64) -> Vec<f64> {
    crate::support::pseudo_vector(seed, DIM)
}

async fn answers(ctx: &StorageContext) -> Vec<Vec<String>> {
    let vs = ctx.vector_store_in("kb");
    let mut out = Vec::new();
    for q in 0..20u64 {
        let query = VectorStoreQuery {
            query_embedding: Some(vector(10_000 + q).iter().map(|x| *x as f32).collect()),
            similarity_top_k: 5,
            ..Default::default()
        };
        out.push(vs.query(&query).await.expect("query").ids);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_answers_survive_a_restart_and_a_leader_kill() {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let settings = VectorNamespace { name: "kb".into(), dim: DIM as u32, distance: Distance::Cosine, partitions: 3 };
    let vs = ctx.add_vector_store(settings).await.expect("create");
    let nodes = crate::support::pseudo_nodes(600, DIM);
    for chunk in nodes.chunks(100) {
        vs.add(chunk).await.expect("add");
    }
    let before = answers(&ctx).await;
    // Delete a node from every answer: it must never come back.
    let deleted: Vec<String> = before.iter().map(|ids| ids[0].clone()).collect();
    vs.delete_nodes(Some(&deleted), None).await.expect("delete");
    let after_delete = answers(&ctx).await;
    for ids in &after_delete {
        assert!(ids.iter().all(|id| !deleted.contains(id)), "a deleted node came back: {ids:?}");
    }
    cluster.wait_settled(3).await;

    cluster.restart(1);
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    assert_eq!(answers(&ctx).await, after_delete, "same answers after a node restart");

    let groups = cluster.shard_map().await.expect("map").vector_partitions("kb");
    let victim = cluster.leader_of(groups[0]).await.expect("the partition has a leader");
    let killed_at = Instant::now();
    cluster.kill(victim);
    let ctx = StorageContext::connect(&cluster.client_addrs()).await.expect("connect");
    let got = answers(&ctx).await;
    eprintln!("answers after killing node {victim} came back in {:?}", killed_at.elapsed());
    assert!(killed_at.elapsed() < SETTLE_TIMEOUT + Duration::from_secs(60));
    assert_eq!(got, after_delete, "same answers after a partition leader is killed");
    for ids in &got {
        assert!(ids.iter().all(|id| !deleted.contains(id)));
    }
}
