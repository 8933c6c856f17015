//! A graph partition's leader killed with SIGKILL during a stream of upserts: every
//! acknowledged node and relation is still there afterwards, and rel maps of the part of
//! the graph written before are identical before and after the kill.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, SETTLE_TIMEOUT, TestCluster};
use strata_client::StorageContext;
use strata_client::api::{LabelledNode, Relation, TripletSelector};
use tokio::sync::Notify;

const WRITERS: usize = 3;

fn id(prefix: &str, w: usize, n: usize) -> String {
    format!("{prefix}{w}-{n}")
}

/// Writer `w` adds node `prefix w-n` and the relation from it to `prefix w-(n-1)`, in
/// turn, counting in `acked[w]` the steps acknowledged.
fn writer(
    ctx: StorageContext,
    prefix: &'static str,
    w: usize,
    acked: Arc<Vec<AtomicUsize>>,
    stop: Arc<AtomicBool>,
    progress: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let g = ctx.property_graph_store_in("kg");
        let mut n = 0usize;
        while !stop.load(Ordering::SeqCst) {
            let node = LabelledNode::entity(id(prefix, w, n), "STEP")
                .with_properties(serde_json::json!({"n": n, "writer": w}).as_object().cloned().unwrap_or_default());
            // No retry here: the client must ride out the failover itself.
            g.upsert_nodes(&[node]).await.expect("upsert_nodes failed");
            if n > 0 {
                let rel = Relation::new(id(prefix, w, n), "NEXT", id(prefix, w, n - 1));
                g.upsert_relations(&[rel]).await.expect("upsert_relations failed");
            }
            n += 1;
            acked[w].store(n, Ordering::SeqCst);
            progress.notify_waiters();
        }
    })
}

struct Stream {
    acked: Arc<Vec<AtomicUsize>>,
    stop: Arc<AtomicBool>,
    progress: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Stream {
    fn start(ctx: &StorageContext, prefix: &'static str) -> Self {
        let acked: Arc<Vec<AtomicUsize>> = Arc::new((0..WRITERS).map(|_| AtomicUsize::new(0)).collect());
        let (stop, progress) = (Arc::new(AtomicBool::new(false)), Arc::new(Notify::new()));
        let tasks = (0..WRITERS)
            .map(|w| writer(ctx.clone(), prefix, w, acked.clone(), stop.clone(), progress.clone()))
            .collect();
        Stream { acked, stop, progress, tasks }
    }

    fn total(&self) -> usize {
        self.acked.iter().map(|a| a.load(Ordering::SeqCst)).sum()
    }

    async fn wait_acks(&self, target: usize) {
        loop {
            let notified = self.progress.notified();
            if self.total() >= target {
                return;
            }
            tokio::time::timeout(Duration::from_secs(120), notified).await.expect("writes stalled");
        }
    }

    async fn finish(self) -> Vec<usize> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.expect("writer task");
        }
        self.acked.iter().map(|a| a.load(Ordering::SeqCst)).collect()
    }
}

/// Every acknowledged step of a stream is there: its nodes, and its relations both ways.
async fn check_acked(ctx: &StorageContext, prefix: &str, acked: &[usize]) {
    let g = ctx.property_graph_store_in("kg");
    for (w, &n) in acked.iter().enumerate() {
        let ids: Vec<String> = (0..n).map(|i| id(prefix, w, i)).collect();
        let found = g.get(None, Some(&ids)).await.expect("get");
        assert_eq!(found.len(), n, "writer {prefix}{w}: every acknowledged node is there");
        let sel = TripletSelector { ids: ids.clone(), relation_names: vec!["NEXT".into()], ..Default::default() };
        let rels = g.get_triplets(&sel).await.expect("triplets");
        assert_eq!(rels.len(), n.saturating_sub(1), "writer {prefix}{w}: every acknowledged relation is there");
        if n > 2 {
            // Traversable from its target too (the incoming entry at the target's partition).
            let map = g.get_rel_map_of(&[id(prefix, w, 0)], n, 1000, None).await.expect("rel map");
            assert_eq!(map.len(), n - 1, "writer {prefix}{w}: the whole chain is reachable from its first node");
        }
    }
}

async fn rel_maps(ctx: &StorageContext, seeds: &[String]) -> Vec<Vec<(String, String, String)>> {
    let g = ctx.property_graph_store_in("kg");
    let mut out = Vec::new();
    for s in seeds {
        let map = g.get_rel_map_of(std::slice::from_ref(s), 2, 30, None).await.expect("rel map");
        out.push(map.into_iter().map(|t| (t.source.id, t.relation.label, t.target.id)).collect());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_graph_partition_leader_loses_no_acknowledged_node_or_relation() {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    // Phase one: a part of the graph that stays as it is.
    let first = Stream::start(&ctx, "a");
    first.wait_acks(60).await;
    let first_acked = first.finish().await;
    cluster.wait_settled(3).await;
    let seeds: Vec<String> = (0..WRITERS).flat_map(|w| [id("a", w, 0), id("a", w, 5), id("a", w, 10)]).collect();
    let before = rel_maps(&ctx, &seeds).await;
    assert!(before.iter().any(|m| m.len() >= 2), "the rel maps are not trivial: {before:?}");

    // Phase two: another part written while a partition's leader is killed.
    let groups = cluster.shard_map().await.expect("map").graph_partitions("kg");
    assert_eq!(groups.len(), 3, "the graph has its partitions");
    let second = Stream::start(&ctx, "b");
    second.wait_acks(30).await;
    let victim = cluster.leader_of(groups[0]).await.expect("the partition has a leader");
    let killed_at = Instant::now();
    cluster.kill(victim);
    let at_kill = second.total();
    second.wait_acks(at_kill + 30).await;
    eprintln!("graph writes resumed {:?} after killing node {victim}", killed_at.elapsed());
    assert!(killed_at.elapsed() < SETTLE_TIMEOUT + Duration::from_secs(60));
    let second_acked = second.finish().await;

    let ctx = StorageContext::connect(&cluster.client_addrs()).await.expect("connect");
    check_acked(&ctx, "a", &first_acked).await;
    check_acked(&ctx, "b", &second_acked).await;
    assert_eq!(rel_maps(&ctx, &seeds).await, before, "rel maps of the first part are identical after the kill");
}
