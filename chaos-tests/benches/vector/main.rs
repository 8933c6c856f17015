//! Vector search: Strata embedded and on a 3-node cluster (P = 3, R = 3) against an exact
//! scan and, in the same run, hnswlib, faiss and llama-index-core's SimpleVectorStore.
//!
//! ```sh
//! cargo bench -p strata-chaos --bench vector                       # wordnet 20k + synthetic 100k
//! STRATA_BENCH_SETS=wordnet,100k,1000k cargo bench -p strata-chaos --bench vector
//! STRATA_BENCH_MODES=embedded,exact,peers ...   # of embedded, cluster, exact, index, peers, tail
//! STRATA_BENCH_KEEP=DIR ...   # keep embedded data in DIR/<set>; a later run reopens it
//! STRATA_BENCH_ROUNDS=N ...   # single-client rounds (2; more to profile the queries)
//! STRATA_BENCH_REPLICAS=1 ...  # the cluster's replicas per partition (3)
//! ```
//!
//! Sets: `wordnet` (`testdata/wordnet-minilm`, 20,000 real 384-d embeddings, 1,000
//! queries, exact ground truth) and `<N>k` (N thousand seeded clustered synthetic 384-d
//! vectors, see `data.rs`; ground truth computed here by exact scan). Each query asks for
//! the top 10 by cosine through `VectorStore::query` (results decoded into LlamaIndex
//! nodes, as a user gets them). Build time runs from the first `add` until the HNSW graph
//! covers every vector (`index_stats`); memory is the growth of resident memory (the
//! bench process for embedded; the three node processes, all replicas, for the cluster)
//! per vector, after the build and again once the idle builders parked their graphs.
//! The peers run from `bench/vector_peers.py` with `.venv-bench/bin/python` (skipped
//! with a note when it is missing) on the same `.npy` files.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a bench binary

mod data;
mod tail;

use data::Set;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, TestCluster, rss};
use strata_client::StorageContext;
use strata_client::VectorStore;
use strata_client::api::{
    Distance, FilterItem, FilterOperator, JsonText, MetadataFilter, MetadataFilters, VectorNamespace, VectorRecord,
    VectorStoreQuery,
};

const BATCH: usize = 1_000;
const CONCURRENT_EMBEDDED: usize = 4;
const CONCURRENT_CLUSTER: usize = 16;
const FILTER_QUERIES: usize = 200;

fn record(set: &Set, i: usize) -> VectorRecord {
    let metadata = serde_json::json!({"b1": i % 100});
    VectorRecord {
        node_id: i.to_string(),
        embedding: set.vector(i).to_vec(),
        ref_doc_id: None,
        metadata: JsonText::from_map(metadata.as_object().expect("object")),
        node: None,
        exact_f32: false,
    }
}

fn query(set: &Set, q: usize, filtered: bool) -> VectorStoreQuery {
    let filters = filtered.then(|| MetadataFilters {
        filters: vec![FilterItem::Filter(MetadataFilter::new("b1", serde_json::json!(q % 100), FilterOperator::Eq))],
        condition: None,
    });
    VectorStoreQuery {
        query_embedding: Some(set.query(q).to_vec()),
        similarity_top_k: 10,
        filters,
        ..Default::default()
    }
}

async fn ask(vs: &VectorStore, set: &Set, q: usize, filtered: bool) -> Vec<u32> {
    let result = vs.query(&query(set, q, filtered)).await.expect("query");
    result.ids.iter().map(|id| id.parse().expect("numeric id")).collect()
}

/// One system's figures on one set.
#[derive(Default)]
struct Row {
    system: String,
    build: Option<Duration>,
    recall: f64,
    qps: f64,
    p99: Duration,
    concurrent_qps: f64,
    bytes_per_vector: Option<f64>,
    note: String,
}

impl Row {
    fn print(&self, set: &Set) {
        let build = self.build.map_or("–".into(), |b| format!("{:.1}", b.as_secs_f64()));
        let mem = self.bytes_per_vector.map_or("–".into(), |b| format!("{b:.0}"));
        println!(
            "| {} | {} | {build} | {:.3} | {:.0} | {:.2} | {:.0} | {mem} | {} |",
            self.system,
            set.name,
            self.recall,
            self.qps,
            self.p99.as_secs_f64() * 1e3,
            self.concurrent_qps,
            self.note
        );
    }
}

/// Adds the set (`writers` concurrent batches), waits for the graph; answers the build time.
async fn load(vs: &VectorStore, set: &Arc<Set>, writers: usize) -> Duration {
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (vs, set, next) = (vs.clone(), set.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let from = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                if from >= set.len() {
                    break;
                }
                let records = (from..(from + BATCH).min(set.len())).map(|i| record(&set, i)).collect();
                vs.add_records(records).await.expect("add");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let ingested = start.elapsed();
    loop {
        let stats = vs.index_stats().await.expect("index stats");
        if stats.vectors as usize == set.len() && stats.unindexed == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "  {} vectors acknowledged in {:.1} s, indexed in {:.1} s",
        set.len(),
        ingested.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    start.elapsed()
}

/// Single-client latency and recall, then `clients` concurrent clients' throughput; the
/// CPU time `pids` spent per query in that concurrent phase goes into the notes.
async fn measure_queries(vs: &VectorStore, set: &Arc<Set>, clients: usize, pids: &[u32], row: &mut Row) {
    let nq = set.query_count();
    // Two rounds (the first also warms caches and connections); the last is reported.
    // STRATA_BENCH_ROUNDS=N runs more (to profile queries alone).
    let rounds: usize = std::env::var("STRATA_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(2);
    let (mut got, mut latencies) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        (got, latencies) = (Vec::with_capacity(nq), Vec::with_capacity(nq));
        let start = Instant::now();
        for q in 0..nq {
            let t = Instant::now();
            got.push(ask(vs, set, q, false).await);
            latencies.push(t.elapsed());
        }
        row.qps = nq as f64 / start.elapsed().as_secs_f64();
        eprintln!("  single-client round {round}: {:.0} queries/s", row.qps);
    }
    latencies.sort();
    row.p99 = latencies[(nq * 99 / 100).min(nq - 1)];
    row.recall = data::recall(&got, &set.truth);

    let rounds = 2;
    let cpu = || pids.iter().map(|p| strata_chaos::cluster::cpu_secs(*p)).sum::<f64>();
    let cpu_before = cpu();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (vs, set) = (vs.clone(), set.clone());
        tasks.push(tokio::spawn(async move {
            for q in (c..nq * rounds).step_by(clients) {
                ask(&vs, &set, q % nq, false).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    row.concurrent_qps = (nq * rounds) as f64 / start.elapsed().as_secs_f64();
    let per_query = (cpu() - cpu_before) / (nq * rounds) as f64;
    row.note.push_str(&format!("CPU {:.0} µs/query with {clients} clients; ", per_query * 1e6));
}

/// recall@10 of 1%-selective filtered queries against the exact filtered answer, and
/// how many of them one client answers per second.
async fn filtered_recall(vs: &VectorStore, set: &Arc<Set>, truth: &[Vec<u32>]) -> String {
    let mut got = Vec::new();
    let start = Instant::now();
    for q in 0..truth.len() {
        got.push(ask(vs, set, q, true).await);
    }
    let qps = truth.len() as f64 / start.elapsed().as_secs_f64();
    format!("1%-filter recall {:.3} at {qps:.0} queries/s", data::recall(&got, truth))
}

fn settings(set: &Set, partitions: u32) -> VectorNamespace {
    VectorNamespace { name: "bench".into(), dim: set.dim as u32, distance: Distance::Cosine, partitions }
}

async fn embedded(set: &Arc<Set>, filtered_truth: &[Vec<u32>]) -> Row {
    // STRATA_BENCH_KEEP=DIR keeps the data directory (DIR/<set>) and, when it already
    // holds the whole set, reopens it instead of loading: the build is measured once.
    let kept = std::env::var_os("STRATA_BENCH_KEEP").map(|d| std::path::PathBuf::from(d).join(&set.name));
    let (path, _temp) = match kept {
        Some(kept) => (kept, None),
        None => {
            let temp = tempfile::tempdir().expect("tempdir");
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    std::fs::create_dir_all(&path).expect("bench dir");
    let me = std::process::id();
    let before = rss(me);
    let t = Instant::now();
    let ctx = StorageContext::open(&path).expect("open");
    let existing = ctx.vector_store_in("bench");
    let reused = existing.index_stats().await.is_ok_and(|s| s.vectors as usize == set.len());
    let mut row = Row { system: "Strata embedded".into(), ..Row::default() };
    let (vs, reopen_note) = if reused {
        ask(&existing, set, 0, false).await;
        let stats = existing.index_stats().await.expect("stats");
        let note = format!(
            "reopened a kept directory: first answer {:.1} s, {} of {} vectors from the saved graph",
            t.elapsed().as_secs_f64(),
            stats.revived,
            stats.vectors
        );
        (existing, Some(note))
    } else {
        drop(existing);
        let vs = ctx.add_vector_store(settings(set, 1)).await.expect("namespace");
        row.build = Some(load(&vs, set, 1).await);
        (vs, None)
    };
    row.bytes_per_vector = Some(rss(me).saturating_sub(before) as f64 / set.len() as f64);
    // A builder save in progress competes for the cores: let it finish first.
    let saved = vs.index_stats().await.expect("stats");
    let ns_dir = path.join("hnsw");
    let deadline = Instant::now() + Duration::from_secs(1_800);
    while !has_saved_graph(&ns_dir) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    measure_queries(&vs, set, CONCURRENT_EMBEDDED, &[me], &mut row).await;
    let fr = filtered_recall(&vs, set, filtered_truth).await;
    let parked = parked_memory(&vs, me, before, set.len()).await;
    if let Some(note) = reopen_note {
        row.note += &format!("{CONCURRENT_EMBEDDED} clients; {fr}; {parked}; {note}");
        return row;
    }
    // Reopening: the saved graph is loaded, not rebuilt.
    drop(vs);
    drop(ctx);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = Instant::now();
    let ctx = StorageContext::open(&path).expect("reopen");
    let vs = ctx.vector_store_in("bench");
    ask(&vs, set, 0, false).await;
    let reopened = t.elapsed();
    let stats = vs.index_stats().await.expect("stats");
    row.note += &format!(
        "{} clients; {fr}; {parked}; reopen to first answer {:.1} s ({} of {} vectors from the saved graph)",
        CONCURRENT_EMBEDDED,
        reopened.as_secs_f64(),
        stats.revived,
        saved.vectors
    );
    row
}

/// Waits (up to half an hour) until `partitions` graph builders have parked their graphs.
async fn wait_parked(vs: &VectorStore, partitions: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1_800);
    while !vs.index_stats().await.is_ok_and(|s| s.parked >= partitions) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    true
}

/// Memory per vector once the idle graph builder has parked its graph on disk.
async fn parked_memory(vs: &VectorStore, me: u32, before: u64, n: usize) -> String {
    if !wait_parked(vs, 1).await {
        return "the builder did not park".into();
    }
    let per_vector = rss(me).saturating_sub(before) as f64 / n as f64;
    format!("{per_vector:.0} B/vector once the idle builder parked its graph")
}

fn has_saved_graph(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).map(|d| d.flatten().any(|ns| ns.path().join("CURRENT").exists())).unwrap_or(false)
}

async fn cluster(set: &Arc<Set>, filtered_truth: &[Vec<u32>]) -> Row {
    // STRATA_BENCH_REPLICAS=1 fits a million vectors on one machine (R = 3 holds three
    // full copies in this one machine's memory).
    let replicas: u32 = std::env::var("STRATA_BENCH_REPLICAS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let options = ClusterOptions { replication: replicas, ..ClusterOptions::default() };
    let cluster = TestCluster::start(3, options);
    cluster.wait_settled(replicas as usize).await;
    let ctx = cluster.context().await;
    let vs = ctx.add_vector_store(settings(set, 3)).await.expect("namespace");
    let total_rss = || cluster.nodes.iter().filter_map(|n| n.pid()).map(rss).sum::<u64>();
    let before = total_rss();
    let mut row = Row { system: format!("Strata 3 nodes, P=3, R={replicas}"), ..Row::default() };
    let started = Instant::now();
    row.build = Some(load(&vs, set, 4).await);
    // index_stats counts one replica per partition: wait for every replica's graph too,
    // so the queries do not share the cores with the followers' last inserts.
    let expected = (set.len() * replicas as usize) as f64;
    loop {
        let (mut vectors, mut unindexed) = (0.0, 0.0);
        for node in &cluster.nodes {
            let text = strata_chaos::http::get(&node.http_addr, "/metrics", None, None).await.map(|r| r.body);
            let text = text.unwrap_or_default();
            let ns = [("namespace", "bench")];
            vectors += strata_chaos::http::sample(&text, "strata_vector_vectors", &ns).unwrap_or(0.0);
            unindexed += strata_chaos::http::sample(&text, "strata_vector_unindexed", &ns).unwrap_or(f64::MAX);
        }
        if vectors >= expected && unindexed == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    row.note += &format!("every replica indexed after {:.1} s; ", started.elapsed().as_secs_f64());
    row.bytes_per_vector = Some(total_rss().saturating_sub(before) as f64 / set.len() as f64);
    let mut pids: Vec<u32> = cluster.nodes.iter().filter_map(|n| n.pid()).collect();
    pids.push(std::process::id());
    let searches_before = searches_per_node(&cluster).await;
    measure_queries(&vs, set, CONCURRENT_CLUSTER, &pids, &mut row).await;
    let spread: Vec<String> = searches_per_node(&cluster)
        .await
        .iter()
        .zip(&searches_before)
        .map(|(after, before)| format!("{:.0}/{:.0}", after[0] - before[0], after[1] - before[1]))
        .collect();
    row.note += &format!("partition searches per node as leader/follower {}; ", spread.join(", "));
    let fr = filtered_recall(&vs, set, filtered_truth).await;
    // Parked builders, as index_stats counts them: one replica (the one answering) per partition.
    let parked = if wait_parked(&vs, 3).await {
        let per_vector = total_rss().saturating_sub(before) as f64 / set.len() as f64;
        format!("{per_vector:.0} B/vector once the idle builders parked their graphs")
    } else {
        "the builders did not park".into()
    };
    row.note += &format!("{CONCURRENT_CLUSTER} clients; {fr}; memory is all {replicas} replica(s); {parked}");
    row
}

/// Each node's partition searches so far, as leader and as follower (its metrics).
async fn searches_per_node(cluster: &TestCluster) -> Vec<[f64; 2]> {
    let mut out = Vec::new();
    for node in &cluster.nodes {
        let text = strata_chaos::http::get(&node.http_addr, "/metrics", None, None).await.map(|r| r.body);
        let text = text.unwrap_or_default();
        let count =
            |role| strata_chaos::http::sample(&text, "strata_vector_searches_total", &[("role", role)]).unwrap_or(0.0);
        out.push([count("leader"), count("follower")]);
    }
    out
}

/// The vector index alone (no sled, no API, no node decoding), one thread.
fn index_only(set: &Set) -> Row {
    use strata_shards::vector::index::{NamespaceIndex, Restriction};
    let start = Instant::now();
    let mut ix = NamespaceIndex::new(set.dim, Distance::Cosine);
    for i in 0..set.len() {
        ix.upsert(&record(set, i), i as u64).expect("upsert");
    }
    assert!(ix.wait_indexed(Duration::from_secs(3600)), "indexed");
    let build = start.elapsed();
    let open = Restriction { node_ids: None, doc_ids: None, filters: None };
    let nq = set.query_count();
    // The best of five rounds: this machine is shared and noisy.
    let (mut got, mut lat, mut qps) = (Vec::new(), Vec::new(), 0.0f64);
    for _ in 0..5 {
        (got, lat) = (Vec::new(), Vec::new());
        let start = Instant::now();
        for q in 0..nq {
            let t = Instant::now();
            let hits = ix.search(set.query(q), &open, 10, None).expect("search");
            lat.push(t.elapsed());
            got.push(hits.iter().map(|h| ix.slots()[h.slot as usize].node_id.parse::<u32>().expect("id")).collect());
        }
        let round = nq as f64 / start.elapsed().as_secs_f64();
        eprintln!("  round: {round:.0} queries/s");
        qps = qps.max(round);
    }
    lat.sort();
    Row {
        system: "Strata index alone".into(),
        build: Some(build),
        recall: data::recall(&got, &set.truth),
        qps,
        p99: lat[(nq * 99 / 100).min(nq - 1)],
        note: "NamespaceIndex::search in-process: no sled, no API, no node decoding".into(),
        ..Row::default()
    }
}

/// Exact scan over the flat vectors with the same kernel, one thread.
fn exact(set: &Set) -> Row {
    let nq = set.query_count().min(200);
    let start = Instant::now();
    let mut lat = Vec::new();
    for q in 0..nq {
        let t = Instant::now();
        let query = set.query(q);
        let mut best: Vec<(f32, usize)> =
            (0..set.len()).map(|i| (strata_shards::vector::simd::dot(query, set.vector(i)), i)).collect();
        best.select_nth_unstable_by(10, |a, b| b.0.total_cmp(&a.0));
        std::hint::black_box(&best[..10]);
        lat.push(t.elapsed());
    }
    lat.sort();
    Row {
        system: format!("exact scan ({} kernel)", strata_shards::vector::simd::kernel_name()),
        recall: 1.0,
        qps: nq as f64 / start.elapsed().as_secs_f64(),
        p99: lat[(nq * 99 / 100).min(nq - 1)],
        note: "in-process, no API".into(),
        ..Row::default()
    }
}

fn peers(set: &Set, simple: usize) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-bench/bin/python");
    if !python.exists() {
        println!(
            "| (peers skipped: {} missing; see docs/benchmarks.md) | {} | | | | | | | |",
            python.display(),
            set.name
        );
        return;
    }
    let out = std::process::Command::new(python)
        .arg(root.join("bench/vector_peers.py"))
        .arg(data::out_dir(&set.name))
        .arg(&set.name)
        .arg(simple.to_string())
        .output()
        .expect("run vector_peers.py");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        println!(
            "| (peers failed: {}) | {} | | | | | | | |",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or(""),
            set.name
        );
    }
}

#[tokio::main]
async fn main() {
    let sets = std::env::var("STRATA_BENCH_SETS").unwrap_or_else(|_| "wordnet,100k".into());
    let modes = std::env::var("STRATA_BENCH_MODES").unwrap_or_else(|_| "exact,embedded,cluster,peers".into());
    let on = |m: &str| modes.split(',').any(|x| x.trim() == m);
    println!(
        "| system | data | build s | recall@10 | 1-client QPS | p99 ms | concurrent QPS | memory B/vector | notes |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for name in sets.split(',').map(str::trim) {
        let set = match name {
            "wordnet" => data::wordnet(),
            n => data::synthetic(n.trim_end_matches('k').parse::<usize>().expect("a set: wordnet or <N>k") * 1000),
        };
        eprintln!("{}: {} vectors, {} queries", set.name, set.len(), set.query_count());
        let set = Arc::new(set);
        if on("tail") {
            tail::run(&set).await;
            continue;
        }
        data::save(&set);
        let filtered_truth: Vec<Vec<u32>> = {
            let allow = |q: usize, i: usize| i % 100 == q % 100;
            let mut t = data::exact_top10(&set, Some(&allow));
            t.truncate(FILTER_QUERIES);
            t
        };
        if on("exact") {
            exact(&set).print(&set);
        }
        if on("index") {
            index_only(&set).print(&set);
        }
        if on("embedded") {
            embedded(&set, &filtered_truth).await.print(&set);
        }
        if on("cluster") {
            cluster(&set, &filtered_truth).await.print(&set);
        }
        if on("peers") {
            // SimpleVectorStore at 10k on the real set, 100k on the 100k set.
            let simple = if set.len() <= 20_000 {
                10_000
            } else if set.len() <= 100_000 {
                set.len()
            } else {
                0
            };
            peers(&set, simple);
        }
    }
}
