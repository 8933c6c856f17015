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
//! ```
//!
//! Phases: 1 KiB KV puts (16 clients over 8 collections: replicated, fsynced), KV gets
//! (16 clients, linearizable) and vector queries (16 clients, top 10 of 20,000 × 384
//! vectors in 3 partitions). Each client is its own connection (a TLS session and an
//! `authenticate` per connection, as a pooled application has), one request in flight.

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

/// The data every phase reads: 100 keys in each of 8 collections, and the vectors.
async fn load_data(cluster: &TestCluster) {
    let ctx = cluster.context().await;
    for c in 0..COLLECTIONS {
        let pairs: Vec<(String, Map<String, Value>)> = (0..100).map(|i| (format!("r{i}"), value_1k())).collect();
        ctx.kv_store().put_all(&pairs, &format!("read{c}")).await.expect("put_all");
    }
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

async fn measure(cluster: &TestCluster, phase: &str, warmup: Duration, secs: Duration) -> Stats {
    let mut ctxs = Vec::new();
    for _ in 0..CLIENTS {
        ctxs.push(cluster.context().await);
    }
    match phase {
        "put" => {
            let clients = ctxs
                .into_iter()
                .enumerate()
                .map(|(c, ctx)| Put { ctx, collection: format!("bench{}", c % COLLECTIONS), value: value_1k() })
                .collect();
            load::run(clients, warmup, secs).await
        }
        "get" => load::run(ctxs.into_iter().map(|ctx| Get { ctx }).collect(), warmup, secs).await,
        _ => load::run(ctxs.into_iter().map(|ctx| Query { ctx }).collect(), warmup, secs).await,
    }
    .expect(phase)
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
    load_data(&plain).await;
    load_data(&secure).await;

    println!(
        "| operation ({CLIENTS} clients) | round | plain ops/s | auth + TLS ops/s | plain p50 / p99 ms | auth + TLS p50 / p99 ms | ops measured |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let only = std::env::var("STRATA_BENCH_ONLY").unwrap_or_default();
    let phases = [("put", "put 1 KiB"), ("get", "get (linearizable)"), ("query", "vector query top 10")];
    for (phase, what) in phases.into_iter().filter(|(p, _)| only.is_empty() || only.split(',').any(|o| o == *p)) {
        let (mut sum_plain, mut sum_secure) = (0.0, 0.0);
        for round in 1..=rounds {
            let p = measure(&plain, phase, warmup, secs).await;
            let s = measure(&secure, phase, warmup, secs).await;
            sum_plain += p.per_sec;
            sum_secure += s.per_sec;
            println!(
                "| {what} | {round} | {:.0} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {} / {} |",
                p.per_sec, s.per_sec, p.p50_ms, p.p99_ms, s.p50_ms, s.p99_ms, p.ops, s.ops
            );
        }
        let change = 100.0 * (sum_secure / sum_plain - 1.0);
        println!(
            "| {what} | mean | {:.0} | {:.0} | change {change:+.1} % | | |",
            sum_plain / rounds as f64,
            sum_secure / rounds as f64
        );
    }
}
