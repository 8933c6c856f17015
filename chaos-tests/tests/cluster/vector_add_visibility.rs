//! What a reader sees of a vector add that spans partitions, as `VectorStore::add` states
//! it: the add's nodes of one partition appear together (each partition's part is one
//! atomic write), and once the add has answered every later read sees all of them.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_chaos::rng::pseudo_vector;
use strata_client::api::{Distance, Node, VectorNamespace};
use strata_shards::placement::partition_of;

const DIM: usize = 8;
const PARTITIONS: usize = 3;
const BATCHES: usize = 40;
const PER_BATCH: usize = 12;

fn batch_ids(b: usize) -> Vec<String> {
    (0..PER_BATCH).map(|i| format!("b{b}-n{i}")).collect()
}

fn batch(b: usize) -> Vec<Node> {
    batch_ids(b)
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let mut n = Node::text_node(id, "t");
            n.embedding = Some(pseudo_vector((b * PER_BATCH + i) as u64, DIM));
            n
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vector_add_is_seen_whole_per_partition_and_whole_once_answered() {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let settings = VectorNamespace {
        name: "vis".into(),
        dim: DIM as u32,
        distance: Distance::Cosine,
        partitions: PARTITIONS as u32,
    };
    let vs = ctx.add_vector_store(settings).await.expect("create");
    for b in 0..BATCHES {
        let parts: BTreeSet<usize> = batch_ids(b).iter().map(|id| partition_of(id, PARTITIONS)).collect();
        assert_eq!(parts.len(), PARTITIONS, "batch {b} spans every partition");
    }
    let every_id: Vec<String> = (0..BATCHES).flat_map(batch_ids).collect();
    let answered = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (vs, answered) = (vs.clone(), answered.clone());
        tokio::spawn(async move {
            for b in 0..BATCHES {
                vs.add(&batch(b)).await.expect("add");
                answered.store(b + 1, Ordering::SeqCst);
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let answered_before = answered.load(Ordering::SeqCst);
        let seen: BTreeSet<String> = vs
            .get_nodes(Some(&every_id), None)
            .await
            .expect("get_nodes")
            .iter()
            .map(|n| n.node_id().to_string())
            .collect();
        reads += 1;
        for b in 0..BATCHES {
            let ids = batch_ids(b);
            for p in 0..PARTITIONS {
                let in_part: Vec<&String> = ids.iter().filter(|id| partition_of(id, PARTITIONS) == p).collect();
                let present = in_part.iter().filter(|id| seen.contains(**id)).count();
                assert!(
                    present == 0 || present == in_part.len(),
                    "read {reads}: batch {b} seen in part within partition {p}"
                );
            }
            if b < answered_before {
                assert!(
                    ids.iter().all(|id| seen.contains(id)),
                    "read {reads}: batch {b} had answered but is not all there"
                );
            }
        }
    }
    writer.await.expect("writer");
}
