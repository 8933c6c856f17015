//! The Rust side of the Python retrieval benchmark (`python/bench/bench_stores.py`): the
//! same top-k queries through `VectorStore::query`, timed one at a time, so that the cost
//! of going through Python can be read off as a ratio.
//!
//! ```sh
//! cargo run --release -p strata-client --example query_latency -- \
//!     (--data DIR | --cluster ADDR,ADDR,...) --namespace NS --queries FILE --dim 384 [--top-k 10]
//! ```
//!
//! `FILE` holds the query embeddings as little-endian `f32`, row after row (numpy's
//! `tofile`). It waits until the namespace's HNSW graph covers every vector (as the Python
//! side does), runs every query once to warm up, then prints one JSON line:
//! `{"queries": N, "p50_ms": ..., "p99_ms": ...}`.

use std::time::{Duration, Instant};
use strata_client::StorageContext;
use strata_client::api::VectorStoreQuery;

struct Args {
    data: Option<String>,
    cluster: Option<String>,
    namespace: String,
    queries: String,
    dim: usize,
    top_k: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { data: None, cluster: None, namespace: String::new(), queries: String::new(), dim: 0, top_k: 10 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data" => a.data = Some(value),
            "--cluster" => a.cluster = Some(value),
            "--namespace" => a.namespace = value,
            "--queries" => a.queries = value,
            "--dim" => a.dim = value.parse().map_err(|e| format!("--dim: {e}"))?,
            "--top-k" => a.top_k = value.parse().map_err(|e| format!("--top-k: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.namespace.is_empty() || a.queries.is_empty() || a.dim == 0 || a.data.is_some() == a.cluster.is_some() {
        return Err("usage: (--data DIR | --cluster ADDRS) --namespace NS --queries FILE --dim D [--top-k K]".into());
    }
    Ok(a)
}

fn read_queries(path: &str, dim: usize) -> Result<Vec<Vec<f32>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if bytes.len() % (4 * dim) != 0 {
        return Err(format!("{path}: {} bytes is not a whole number of {dim}-d f32 rows", bytes.len()));
    }
    Ok(bytes
        .chunks_exact(4 * dim)
        .map(|row| row.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        .collect())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let queries = read_queries(&args.queries, args.dim)?;
    let ctx = match (&args.data, &args.cluster) {
        (Some(dir), _) => StorageContext::open(dir)?,
        (_, Some(addrs)) => {
            let addrs: Vec<String> = addrs.split(',').map(str::to_string).collect();
            StorageContext::connect(&addrs).await?
        }
        _ => unreachable!("parse() demands exactly one of --data and --cluster"),
    };
    let store = ctx.vector_store_in(&args.namespace);
    let started = Instant::now();
    while store.index_stats().await?.unindexed > 0 {
        if started.elapsed() > Duration::from_secs(1800) {
            return Err("the HNSW graph did not cover the namespace within 30 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let query_of = |e: &Vec<f32>| VectorStoreQuery {
        query_embedding: Some(e.clone()),
        similarity_top_k: args.top_k,
        ..VectorStoreQuery::default()
    };
    for e in &queries {
        store.query(&query_of(e)).await?;
    }
    let mut lat = Vec::with_capacity(queries.len());
    for e in &queries {
        let q = query_of(e);
        let t = Instant::now();
        let result = store.query(&q).await?;
        lat.push(t.elapsed());
        if result.ids.len() != args.top_k {
            return Err(format!("a query returned {} hits, not {}", result.ids.len(), args.top_k).into());
        }
    }
    lat.sort();
    println!(
        "{{\"queries\": {}, \"p50_ms\": {:.4}, \"p99_ms\": {:.4}}}",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    Ok(())
}
