//! MMR on a cluster weighs every allowed vector, as LlamaIndex's does: on 3,000 vectors
//! in 3 partitions it picks what the embedded store (one partition, exact MMR) picks,
//! for every λ, including λ = 0 where the first pick is the earliest inserted vector.

use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::StorageContext;
use strata_client::api::{Distance, VectorNamespace, VectorQueryMode, VectorStoreQuery};

const DIM: usize = 16;

fn vector(seed: u64) -> Vec<f64> {
    crate::support::pseudo_vector(seed, DIM)
}

async fn fill(ctx: &StorageContext) {
    let settings = VectorNamespace { name: "kb".into(), dim: DIM as u32, distance: Distance::Cosine, partitions: 3 };
    let vs = ctx.add_vector_store(settings).await.expect("create");
    for chunk in crate::support::pseudo_nodes(3_000, DIM).chunks(500) {
        vs.add(chunk).await.expect("add");
    }
}

async fn mmr_answers(ctx: &StorageContext) -> Vec<(Vec<String>, Vec<f64>)> {
    let vs = ctx.vector_store_in("kb");
    let mut out = Vec::new();
    for (q, lambda) in [0.0, 0.3, 0.5, 0.8].into_iter().enumerate() {
        let query = VectorStoreQuery {
            query_embedding: Some(vector(50_000 + q as u64).iter().map(|x| *x as f32).collect()),
            similarity_top_k: 6,
            mode: VectorQueryMode::Mmr,
            mmr_threshold: Some(lambda),
            ..Default::default()
        };
        let r = vs.query(&query).await.expect("mmr");
        out.push((r.ids, r.similarities));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mmr_picks_what_embedded_mmr_picks() {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let on_cluster = cluster.context().await;
    fill(&on_cluster).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = StorageContext::open(dir.path()).expect("open");
    fill(&embedded).await;

    let want = mmr_answers(&embedded).await;
    assert_eq!(want[0].0[0], "n0", "λ = 0: every first score is 0 and the earliest vector wins");
    let got = mmr_answers(&on_cluster).await;
    for (i, ((got_ids, got_scores), (want_ids, want_scores))) in got.iter().zip(&want).enumerate() {
        assert_eq!(got_ids, want_ids, "query {i}");
        for (g, w) in got_scores.iter().zip(want_scores) {
            assert!((g - w).abs() < 1e-9, "query {i}: {got_scores:?} vs {want_scores:?}");
        }
    }
}
