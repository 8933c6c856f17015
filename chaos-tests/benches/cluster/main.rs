//! Replicated writes and reads: Strata on a 3-node loopback cluster against a 3-member etcd
//! cluster on the same machine, in one run, driven by the same load generator.
//!
//! ```sh
//! cargo bench -p strata-chaos --bench cluster            # 10 s per measurement
//! STRATA_BENCH_SECS=30 cargo bench -p strata-chaos --bench cluster
//! STRATA_BENCH_ONLY=put cargo bench -p strata-chaos --bench cluster   # phases named put, docs, get
//! STRATA_BENCH_ETCD=0 STRATA_BENCH_CLIENTS=64 ...                       # Strata alone, one client count
//! STRATA_BENCH_CLUSTER=127.0.0.1:7400,... ...                           # a running cluster (8 shards)
//! ```
//!
//! Every write is acknowledged only once committed by a majority and fsynced there (both
//! systems). Values are 1 KiB. Each client is its own task with its own connection(s) and
//! one request in flight. etcd is skipped (with a note) when `etcd` is not on the PATH.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a bench binary

mod etcd;
mod load;

use load::{Client, Stats};
use serde_json::{Map, Value, json};
use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::StorageContext;
use strata_client::api::{Node, RelatedNodeInfo};

const CLIENTS: [usize; 3] = [1, 16, 64];
/// Collections the spread load writes to (the KV shards they land on are listed).
const COLLECTIONS: usize = 8;
const DOCS_PER_CALL: usize = 100;

fn value_1k() -> Map<String, Value> {
    match json!({"v": "x".repeat(1012)}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

struct StrataPut {
    ctx: StorageContext,
    collection: String,
    value: Map<String, Value>,
}

impl Client for StrataPut {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        self.ctx.kv_store().put(&format!("k{seq}"), &self.value, &self.collection).await.map_err(|e| e.to_string())
    }
}

struct StrataGet {
    ctx: StorageContext,
    keys: Vec<(String, String)>,
}

impl Client for StrataGet {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        let (coll, key) = &self.keys[seq as usize % self.keys.len()];
        match self.ctx.kv_store().get(key, coll).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!("{key} missing")),
            Err(e) => Err(e.to_string()),
        }
    }
}

struct StrataAddDocuments {
    ctx: StorageContext,
    text: String,
}

impl Client for StrataAddDocuments {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        let nodes: Vec<Node> = (0..DOCS_PER_CALL)
            .map(|i| {
                Node::text_node(format!("n{seq}-{i}"), self.text.clone())
                    .with_source(RelatedNodeInfo::new(format!("doc{seq}")))
            })
            .collect();
        self.ctx.docstore().add_documents(&nodes).await.map_err(|e| e.to_string())
    }
}

struct EtcdPut {
    client: etcd::EtcdClient,
    value: Vec<u8>,
}

impl Client for EtcdPut {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        self.client.put(format!("k{seq}").as_bytes(), &self.value).await.map_err(|e| e.to_string())
    }
}

struct EtcdGet {
    client: etcd::EtcdClient,
    keys: Vec<String>,
}

impl Client for EtcdGet {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        let key = &self.keys[seq as usize % self.keys.len()];
        self.client.get(key.as_bytes()).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Whether phase `name` runs (`STRATA_BENCH_ONLY` names the phases to run, comma-separated).
fn phase(name: &str) -> bool {
    std::env::var("STRATA_BENCH_ONLY").map(|only| only.split(',').any(|p| p == name)).unwrap_or(true)
}

fn row(system: &str, what: &str, clients: usize, s: &Stats) {
    println!("| {system} | {what} | {clients} | {:.0} | {:.2} | {:.2} | {} |", s.per_sec, s.p50_ms, s.p99_ms, s.ops);
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("STRATA_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let (warmup, measure) = (Duration::from_secs(2), Duration::from_secs(secs));
    // STRATA_BENCH_CLUSTER=ADDR,... measures a running cluster instead of starting one.
    let (_cluster, addrs) = match std::env::var("STRATA_BENCH_CLUSTER") {
        Ok(addrs) => (None, addrs.split(',').map(str::to_string).collect::<Vec<_>>()),
        Err(_) => {
            let cluster = TestCluster::start(3, ClusterOptions { shards: 8, ..ClusterOptions::default() });
            cluster.wait_settled(3).await;
            let addrs = cluster.client_addrs();
            (Some(cluster), addrs)
        }
    };
    let etcd_dir = tempfile::tempdir().expect("temp dir");
    let with_etcd = std::env::var("STRATA_BENCH_ETCD").map(|v| v != "0").unwrap_or(true);
    let started = if with_etcd {
        etcd::EtcdCluster::start(etcd_dir.path()).await
    } else {
        Err(std::io::Error::other("STRATA_BENCH_ETCD=0"))
    };
    let etcd = match started {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("etcd not measured: {e}");
            None
        }
    };
    let shards: Vec<u64> =
        (0..COLLECTIONS).map(|c| strata_shards::placement::group_of_collection(&format!("bench{c}"), 8)).collect();
    eprintln!("spread load: collections bench0..bench{} on KV shards {shards:?}", COLLECTIONS - 1);
    println!("| system | operation | clients | ops/s | p50 ms | p99 ms | ops measured |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");

    let counts: Vec<usize> = match std::env::var("STRATA_BENCH_CLIENTS") {
        Ok(v) => v.split(',').filter_map(|c| c.parse().ok()).collect(),
        Err(_) => CLIENTS.to_vec(),
    };
    for &n in counts.iter().filter(|_| phase("put")) {
        let mut clients = Vec::new();
        for c in 0..n {
            let ctx = StorageContext::connect(&addrs).await.expect("connect");
            clients.push(StrataPut { ctx, collection: format!("bench{}", c % COLLECTIONS), value: value_1k() });
        }
        let s = load::run(clients, warmup, measure).await.expect("strata put");
        row("strata", "put 1 KiB (8 collections)", n, &s);
        if let Some(etcd) = &etcd {
            let mut clients = Vec::new();
            for c in 0..n {
                let addr = &etcd.client_addrs[c % etcd.client_addrs.len()];
                clients.push(EtcdPut {
                    client: etcd::EtcdClient::connect(addr).await.expect("etcd"),
                    value: vec![b'x'; 1024],
                });
            }
            let s = load::run(clients, warmup, measure).await.expect("etcd put");
            row("etcd", "put 1 KiB", n, &s);
        }
    }
    if phase("put") {
        let mut clients = Vec::new();
        for _ in 0..64 {
            let ctx = StorageContext::connect(&addrs).await.expect("connect");
            clients.push(StrataPut { ctx, collection: "single".into(), value: value_1k() });
        }
        let s = load::run(clients, warmup, measure).await.expect("strata put");
        row("strata", "put 1 KiB (1 collection = 1 shard)", 64, &s);
    }
    for &n in [1usize, 16].iter().filter(|_| phase("docs")) {
        let mut clients = Vec::new();
        for _ in 0..n {
            let ctx = StorageContext::connect(&addrs).await.expect("connect");
            clients.push(StrataAddDocuments { ctx, text: "y".repeat(1024) });
        }
        let s = load::run(clients, warmup, measure).await.expect("strata add_documents");
        let docs = Stats { per_sec: s.per_sec * DOCS_PER_CALL as f64, ..s.clone() };
        row("strata", &format!("add_documents ({DOCS_PER_CALL} x 1 KiB nodes per call; ops = nodes)"), n, &docs);
    }

    if !phase("get") {
        return;
    }
    // The keys the readers read: 100 per collection, 1 KiB each.
    let writer = StorageContext::connect(&addrs).await.expect("connect");
    let mut keys = Vec::new();
    for c in 0..COLLECTIONS {
        let pairs: Vec<(String, Map<String, Value>)> = (0..100).map(|i| (format!("r{i}"), value_1k())).collect();
        writer.kv_store().put_all(&pairs, &format!("bench{c}")).await.expect("put_all");
        keys.extend(pairs.into_iter().map(|(k, _)| (format!("bench{c}"), k)));
    }
    let etcd_keys: Vec<String> = (0..800u64).map(|i| format!("r{i}")).collect();
    if let Some(etcd) = &etcd {
        let mut client = etcd::EtcdClient::connect(&etcd.client_addrs[0]).await.expect("etcd");
        for k in &etcd_keys {
            client.put(k.as_bytes(), &[b'x'; 1024]).await.expect("etcd put");
        }
    }
    for &n in &[1usize, 16] {
        let mut clients = Vec::new();
        for _ in 0..n {
            let ctx = StorageContext::connect(&addrs).await.expect("connect");
            clients.push(StrataGet { ctx, keys: keys.clone() });
        }
        let s = load::run(clients, warmup, measure).await.expect("strata get");
        row("strata", "get (linearizable)", n, &s);
        if let Some(etcd) = &etcd {
            let mut clients = Vec::new();
            for c in 0..n {
                let addr = &etcd.client_addrs[c % etcd.client_addrs.len()];
                let client = etcd::EtcdClient::connect(addr).await.expect("etcd");
                clients.push(EtcdGet { client, keys: etcd_keys.clone() });
            }
            let s = load::run(clients, warmup, measure).await.expect("etcd get");
            row("etcd", "get (linearizable)", n, &s);
        }
    }
}
