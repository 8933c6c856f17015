//! What authentication and TLS cost: the same load on two 3-node clusters started in one
//! run, one plain (loopback, no credentials) and one with API keys, a cluster secret and
//! TLS on both ports, measured alternately (plain, secure, plain, secure, ...) so that
//! both see the same machine.
//!
//! ```sh
//! cargo bench -p strata-chaos --bench security            # 10 s per measurement, 2 rounds
//! STRATA_BENCH_SECS=20 STRATA_BENCH_ROUNDS=3 cargo bench -p strata-chaos --bench security
//! STRATA_BENCH_SECURE=tls ...     # TLS alone against plain (=auth: keys and secret alone)
//! STRATA_BENCH_ONLY=get,put ...   # some phases only (put, get, query)
//! STRATA_BENCH_SECURE=metrics-off STRATA_BENCH_ONLY=put,get,scrape ...
//! ```
//!
//! `STRATA_BENCH_SECURE=metrics-off` makes the second cluster a plain one with
//! `metrics = false` (no request counting): the cost of metrics, measured the same way.
//! The `scrape` phase (with it) creates 100 vector namespaces of 3 partitions on the
//! first cluster (300 raft groups on every node) and times scrapes of one node's
//! `/metrics`.
//!
//! Phases: 1 KiB KV puts (16 clients over 8 collections: replicated, fsynced), KV gets
//! (16 clients, linearizable) and vector queries (16 clients, top 10 of 20,000 × 384
//! vectors in 3 partitions). Each client is its own connection (a TLS session and an
//! `authenticate` per connection, as a pooled application has), one request in flight.
//! Each phase starts once both clusters' nodes are idle (the vectors are loaded just
//! before the query phase: every replica builds its graph in the background).
//!
//! Besides throughput and latency, each window reports the CPU time (user + system) the
//! three nodes and the clients (this process) used per operation: the cost itself, less
//! exposed than throughput to what else the machine runs.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a bench binary

#[path = "../cluster/load.rs"]
mod load;

use load::{Client, Stats};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster, strata_bin};
use strata_client::StorageContext;
use strata_client::api::{Distance, JsonText, VectorNamespace, VectorRecord, VectorStoreQuery};

const CLIENTS: usize = 16;
const COLLECTIONS: usize = 8;
const VECTORS: usize = 20_000;
const DIM: usize = 384;

fn value_1k() -> Map<String, Value> {
    json!({"v": "x".repeat(1012)}).as_object().cloned().unwrap_or_default()
}

/// A seeded unit vector.
fn vector(i: usize) -> Vec<f32> {
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v: Vec<f32> = (0..DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-9);
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

struct Put {
    ctx: StorageContext,
    collection: String,
    value: Map<String, Value>,
}

impl Client for Put {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        self.ctx.kv_store().put(&format!("k{seq}"), &self.value, &self.collection).await.map_err(|e| e.to_string())
    }
}

struct Get {
    ctx: StorageContext,
}

impl Client for Get {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        let (coll, key) = (format!("read{}", seq % COLLECTIONS as u64), format!("r{}", seq % 100));
        match self.ctx.kv_store().get(&key, &coll).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!("{coll}/{key} missing")),
            Err(e) => Err(e.to_string()),
        }
    }
}

struct Query {
    ctx: StorageContext,
}

impl Client for Query {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        let q = VectorStoreQuery {
            query_embedding: Some(vector(1_000_000 + (seq % 1000) as usize)),
            similarity_top_k: 10,
            ..Default::default()
        };
        let got = self.ctx.vector_store_in("bench").query(&q).await.map_err(|e| e.to_string())?;
        if got.ids.len() == 10 { Ok(()) } else { Err(format!("{} hits", got.ids.len())) }
    }
}

/// `strata keys tls`, a secret file and an admin key: the secure cluster's options.
fn secure_options(dir: &Path) -> ClusterOptions {
    let pki = dir.join("pki");
    let out = std::process::Command::new(strata_bin())
        .args(["keys", "tls"])
        .arg(&pki)
        .args(["--name", "node", "--host", "127.0.0.1"])
        .output()
        .expect("strata keys tls");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = dir.join("cluster.secret");
    std::fs::write(&secret, "a-bench-secret-of-at-least-thirty-two-bytes\n").expect("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let key = "strata_bench_admin_key";
    let path = |name: &str| pki.join(name).display().to_string();
    // STRATA_BENCH_SECURE=auth or =tls measures one of the two alone.
    let what = std::env::var("STRATA_BENCH_SECURE").unwrap_or_else(|_| "both".into());
    if what == "metrics-off" {
        eprintln!("the second cluster: metrics off");
        return ClusterOptions { shards: 8, config: Some("metrics = false\n".into()), ..ClusterOptions::default() };
    }
    let mut config = String::new();
    if what != "tls" {
        config += &format!(
            "[auth]\ncluster_secret_file = \"{}\"\n[[auth.api_keys]]\nname = \"bench\"\nhash = \"{}\"\nrole = \"admin\"\nprefixes = []\n",
            secret.display(),
            strata_api::access::hash_key(key),
        );
    }
    if what != "auth" {
        config += &format!(
            "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\nca_file = \"{}\"\n",
            path("node.pem"),
            path("node.key"),
            path("ca.pem")
        );
    }
    eprintln!("the secure cluster: {what}");
    ClusterOptions {
        shards: 8,
        config: Some(config),
        api_key: (what != "tls").then(|| key.into()),
        ca_file: (what != "auth").then(|| pki.join("ca.pem")),
        ..ClusterOptions::default()
    }
}

/// The keys the gets read: 100 in each of 8 collections.
async fn load_keys(cluster: &TestCluster) {
    let ctx = cluster.context().await;
    for c in 0..COLLECTIONS {
        let pairs: Vec<(String, Map<String, Value>)> = (0..100).map(|i| (format!("r{i}"), value_1k())).collect();
        ctx.kv_store().put_all(&pairs, &format!("read{c}")).await.expect("put_all");
    }
}

/// The vectors the queries search, loaded just before the query phase: each replica
/// builds its own HNSW graph in the background, which would otherwise take CPU from the
/// other phases (and more from the cluster loaded second).
async fn load_vectors(cluster: &TestCluster) {
    let ctx = cluster.context().await;
    let settings = VectorNamespace { name: "bench".into(), dim: DIM as u32, distance: Distance::Cosine, partitions: 3 };
    let vs = ctx.add_vector_store(settings).await.expect("namespace");
    let records: Vec<VectorRecord> = (0..VECTORS)
        .map(|i| VectorRecord {
            node_id: i.to_string(),
            embedding: vector(i),
            ref_doc_id: None,
            metadata: JsonText::from_map(&Map::new()),
            node: None,
            exact_f32: true,
        })
        .collect();
    for chunk in records.chunks(2000) {
        vs.add_records(chunk.to_vec()).await.expect("add");
    }
    // Queries are measured on the built index, not on the exact scan that answers while
    // the background builder catches up.
    for _ in 0..600 {
        let stats = vs.index_stats().await.expect("index stats");
        if stats.vectors as usize == VECTORS && stats.unindexed == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the vector index was not built within 5 minutes");
}

/// Waits until the nodes of both clusters are idle (under a tenth of a core together
/// over 2 s): what the last phase or load left to do (the followers' graph builders,
/// which the leaders' index figures do not cover; sled's flushing) is done.
async fn wait_quiet(clusters: &[&TestCluster]) {
    let pids: Vec<u32> = clusters.iter().flat_map(|c| c.nodes.iter().filter_map(|n| n.pid())).collect();
    let used = || pids.iter().map(|p| load::cpu_secs(*p)).sum::<f64>();
    for _ in 0..150 {
        let before = used();
        tokio::time::sleep(Duration::from_secs(2)).await; // the sampling window
        if used() - before < 0.2 {
            return;
        }
    }
    panic!("the nodes were still busy after 5 minutes");
}

/// A measured window: the load's figures and the CPU it took, in microseconds per
/// operation, of the three nodes together and of the clients (this process).
struct Measured {
    stats: Stats,
    node_us: f64,
    client_us: f64,
}

async fn measure(cluster: &TestCluster, phase: &str, warmup: Duration, secs: Duration) -> Measured {
    let mut ctxs = Vec::new();
    for _ in 0..CLIENTS {
        ctxs.push(cluster.context().await);
    }
    let mut pids: Vec<u32> = cluster.nodes.iter().filter_map(|n| n.pid()).collect();
    pids.push(std::process::id());
    let (stats, cpu) = match phase {
        "put" => {
            let clients = ctxs
                .into_iter()
                .enumerate()
                .map(|(c, ctx)| Put { ctx, collection: format!("bench{}", c % COLLECTIONS), value: value_1k() })
                .collect();
            load::run_with_cpu(clients, warmup, secs, &pids).await
        }
        "get" => load::run_with_cpu(ctxs.into_iter().map(|ctx| Get { ctx }).collect(), warmup, secs, &pids).await,
        _ => load::run_with_cpu(ctxs.into_iter().map(|ctx| Query { ctx }).collect(), warmup, secs, &pids).await,
    }
    .expect(phase);
    let per_op = |secs: f64| secs * 1e6 / stats.ops.max(1) as f64;
    let (client, nodes) = cpu.split_last().map(|(c, n)| (*c, n.iter().sum())).unwrap_or((0.0, 0.0));
    Measured { node_us: per_op(nodes), client_us: per_op(client), stats }
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("STRATA_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds: usize = std::env::var("STRATA_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let (warmup, secs) = (Duration::from_secs(2), Duration::from_secs(secs));
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = TestCluster::start(3, ClusterOptions { shards: 8, ..ClusterOptions::default() });
    let secure = TestCluster::start(3, secure_options(dir.path()));
    plain.wait_settled(3).await;
    secure.wait_settled(3).await;
    load_keys(&plain).await;
    load_keys(&secure).await;

    let variant = match std::env::var("STRATA_BENCH_SECURE").as_deref() {
        Ok("metrics-off") => "metrics off",
        Ok("tls") => "TLS",
        Ok("auth") => "auth",
        _ => "auth + TLS",
    };
    println!(
        "| operation ({CLIENTS} clients) | round | plain ops/s | {variant} ops/s | plain p50 / p99 ms | {variant} p50 / p99 ms | node CPU µs/op plain / {variant} | client CPU µs/op plain / {variant} |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let only = std::env::var("STRATA_BENCH_ONLY").unwrap_or_default();
    let phases = [("put", "put 1 KiB"), ("get", "get (linearizable)"), ("query", "vector query top 10")];
    for (phase, what) in phases.into_iter().filter(|(p, _)| only.is_empty() || only.split(',').any(|o| o == *p)) {
        if phase == "query" {
            load_vectors(&plain).await;
            load_vectors(&secure).await;
        }
        wait_quiet(&[&plain, &secure]).await;
        let mut sums = [0.0f64; 6];
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let p = measure(&plain, phase, warmup, secs).await;
            let s = measure(&secure, phase, warmup, secs).await;
            for (sum, x) in
                sums.iter_mut().zip([p.stats.per_sec, s.stats.per_sec, p.node_us, s.node_us, p.client_us, s.client_us])
            {
                *sum += x / rounds as f64;
            }
            let (p_, s_) = (&p.stats, &s.stats);
            ratios.push(s_.per_sec / p_.per_sec.max(1e-9));
            println!(
                "| {what} | {round} | {:.0} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} / {:.0} | {:.0} / {:.0} |",
                p_.per_sec,
                s_.per_sec,
                p_.p50_ms,
                p_.p99_ms,
                s_.p50_ms,
                s_.p99_ms,
                p.node_us,
                s.node_us,
                p.client_us,
                s.client_us
            );
        }
        let change = |a: f64, b: f64| 100.0 * (b / a - 1.0);
        println!(
            "| {what} | mean | {:.0} | {:.0} | throughput {:+.1} % | | {:.0} / {:.0} ({:+.1} %) | {:.0} / {:.0} ({:+.1} %) |",
            sums[0],
            sums[1],
            change(sums[0], sums[1]),
            sums[2],
            sums[3],
            change(sums[2], sums[3]),
            sums[4],
            sums[5],
            change(sums[4], sums[5]),
        );
        // The median of the rounds' own ratios: a round pairs two windows measured back
        // to back, so a slow spell of the machine mostly hits both.
        ratios.sort_by(f64::total_cmp);
        let median = match ratios.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => ratios[n / 2],
            n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
        };
        println!("| {what} | median of the rounds' ratios | | | throughput {:+.1} % | | | |", 100.0 * (median - 1.0));
    }
    if only.split(',').any(|o| o == "scrape") {
        scrape(&plain).await;
    }
}

/// Times scrapes of node 1's `/metrics` once it replicates 300 raft groups of 100
/// vector namespaces.
async fn scrape(cluster: &TestCluster) {
    let ctx = cluster.context().await;
    for i in 0..100 {
        let settings = VectorNamespace { name: format!("ns{i}"), dim: 8, distance: Distance::Cosine, partitions: 3 };
        ctx.add_vector_store(settings).await.expect("namespace");
    }
    cluster.wait_settled(3).await;
    let addr = cluster.nodes[0].http_addr.clone();
    let mut times = Vec::new();
    let mut groups = 0.0;
    for _ in 0..30 {
        let t = std::time::Instant::now();
        let answer = strata_chaos::http::get(&addr, "/metrics", None, None).await.expect("scrape");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        groups = strata_chaos::http::sample(&answer.body, "strata_raft_voters", &[])
            .map_or(0.0, |_| answer.body.lines().filter(|l| l.starts_with("strata_raft_voters{")).count() as f64);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "scrape of node 1 replicating {groups} raft groups: p50 {:.1} ms, max {:.1} ms (30 scrapes)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
