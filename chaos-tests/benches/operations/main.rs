//! Operations (issue 27): backup and restore rates against the disk's sequential write
//! rate, a steady write load with and without a backup running, and the longest wait any
//! client saw during rolling restarts by drain (SIGTERM) and by crash (SIGKILL), each node
//! down 3 s — on 3-node release clusters on loopback, one run.
//!
//! ```sh
//! cargo bench -p strata-chaos --bench operations                # 100k docs, 100k vectors, 1M relations
//! STRATA_BENCH_SCALE=10 cargo bench -p strata-chaos --bench operations   # a tenth of each
//! STRATA_BENCH_ONLY=backup,rolling ...
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a bench binary

#[path = "../cluster/load.rs"]
mod load;

use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, TestCluster, strata_bin};
use strata_chaos::rng::Rng;
use strata_client::StorageContext;
use strata_client::api::{LabelledNode, Node, Relation};

const DIM: usize = 384;

fn phase(name: &str) -> bool {
    std::env::var("STRATA_BENCH_ONLY").map(|only| only.split(',').any(|p| p == name)).unwrap_or(true)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn strata(args: &[&str]) -> String {
    let out = Command::new(strata_bin()).args(args).output().expect("run strata");
    assert!(out.status.success(), "strata {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The disk's sequential write rate where `dir` lives: 1 GiB in 8 MiB writes, fsynced.
fn disk_write_rate(dir: &Path) -> f64 {
    use std::io::Write;
    let file = dir.join("disk-rate");
    let chunk = vec![0x5au8; 8 << 20];
    let start = Instant::now();
    let mut f = std::fs::File::create(&file).expect("create");
    for _ in 0..128 {
        f.write_all(&chunk).expect("write");
    }
    f.sync_all().expect("fsync");
    let rate = 1024.0 / start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    rate
}

/// 100k documents (≈1 KiB of text), 100k 384-d vectors, a graph of 100k entities and 1M
/// relations, divided by `scale`.
async fn load_data(ctx: &StorageContext, scale: usize) -> u64 {
    let (docs, vectors, entities) = (100_000 / scale, 100_000 / scale, 100_000 / scale);
    let mut rng = Rng::new(0x0b5e_55ed);
    let start = Instant::now();
    let text: String = "lorem ipsum dolor sit amet ".repeat(38);
    for chunk in (0..docs).collect::<Vec<_>>().chunks(1_000) {
        let nodes: Vec<Node> =
            chunk.iter().map(|i| Node::text_node(format!("doc-{i}"), format!("{i} {text}"))).collect();
        ctx.docstore().add_documents(&nodes).await.expect("documents");
    }
    eprintln!("  {docs} documents in {:?}", start.elapsed());
    let settings = strata_api::VectorNamespace {
        name: "bench".into(),
        dim: DIM as u32,
        distance: Default::default(),
        partitions: 3,
    };
    let store = ctx.add_vector_store(settings).await.expect("namespace");
    for chunk in (0..vectors).collect::<Vec<_>>().chunks(1_000) {
        let nodes: Vec<Node> = chunk
            .iter()
            .map(|i| {
                let mut n = Node::text_node(format!("v-{i}"), format!("vector {i}"));
                n.embedding = Some((0..DIM).map(|_| rng.below(1 << 20) as f64 / f64::from(1 << 20) - 0.5).collect());
                n
            })
            .collect();
        store.add(&nodes).await.expect("vectors");
    }
    eprintln!("  {vectors} vectors after {:?}", start.elapsed());
    let pg = ctx.property_graph_store();
    for chunk in (0..entities).collect::<Vec<_>>().chunks(1_000) {
        let nodes: Vec<LabelledNode> = chunk.iter().map(|i| LabelledNode::entity(format!("e{i}"), "THING")).collect();
        pg.upsert_nodes(&nodes).await.expect("entities");
    }
    let relations = entities * 10;
    for start_at in (0..relations).step_by(10_000) {
        let rels: Vec<Relation> = (start_at..(start_at + 10_000).min(relations))
            .map(|j| {
                let (s, t) = (rng.below(entities as u64), rng.below(entities as u64));
                Relation {
                    label: format!("R{}", j % 8),
                    source_id: format!("e{s}"),
                    target_id: format!("e{t}"),
                    properties: Map::new(),
                }
            })
            .collect();
        pg.upsert_relations(&rels).await.expect("relations");
    }
    eprintln!("  {relations} relations after {:?}", start.elapsed());
    (docs + vectors + entities + relations) as u64
}

/// 1 KiB KV puts of unique keys.
struct Put {
    kv: strata_client::KvStore,
    value: Map<String, Value>,
}

impl load::Client for Put {
    async fn op(&mut self, seq: u64) -> Result<(), String> {
        self.kv.put(&format!("k{seq}"), &self.value, "steady").await.map_err(|e| e.to_string())
    }
}

fn puts(ctx: &StorageContext, n: usize) -> Vec<Put> {
    let value = json!({"text": "x".repeat(1000)}).as_object().cloned().unwrap();
    (0..n).map(|_| Put { kv: ctx.kv_store(), value: value.clone() }).collect()
}

async fn backup_phase(scale: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = TestCluster::start(3, ClusterOptions::default());
    source.wait_settled(3).await;
    let ctx = source.context().await;
    eprintln!("loading");
    let items = load_data(&ctx, scale).await;
    source.wait_settled(3).await;
    let disk = disk_write_rate(source.dir());
    println!("\ndisk sequential write (1 GiB, 8 MiB writes, fsync): {disk:.0} MB/s\n");
    println!("| step | seconds | MB | MB/s | items/s | against the disk |\n| --- | ---: | ---: | ---: | ---: | ---: |");
    let addrs = source.client_addrs().join(",");
    let backup = dir.path().join("backup");
    let t = Instant::now();
    strata(&["backup", "create", path(&backup), "--cluster", &addrs]);
    let secs = t.elapsed().as_secs_f64();
    let bytes: u64 =
        std::fs::read_dir(backup.join("groups")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    let mb = bytes as f64 / 1e6;
    let row = |what: &str, secs: f64| {
        println!(
            "| {what} | {secs:.1} | {mb:.0} | {:.1} | {:.0} | {:.0} % |",
            mb / secs,
            items as f64 / secs,
            100.0 * mb / secs / disk
        );
    };
    row("backup create (3-node cluster)", secs);
    let t = Instant::now();
    strata(&["backup", "verify", path(&backup)]);
    row("backup verify (checksums, records, counts)", t.elapsed().as_secs_f64());
    let target = TestCluster::start(3, ClusterOptions::default());
    target.wait_settled(3).await;
    let t = Instant::now();
    let said = strata(&["backup", "restore", path(&backup), "--cluster", &target.client_addrs().join(",")]);
    row("backup restore (fresh 3-node cluster, HNSW built)", t.elapsed().as_secs_f64());
    eprintln!("  {}", said.trim());
    drop(target);
    let t = Instant::now();
    let said = strata(&["backup", "restore", path(&backup), "--data", path(&dir.path().join("embedded"))]);
    row("backup restore (embedded directory, HNSW built)", t.elapsed().as_secs_f64());
    eprintln!("  {}", said.trim());

    // A steady write load without, then with, a backup running.
    println!("\n| 1 KiB puts, 16 clients, 10 s | ops/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |");
    let quiet = load::run(puts(&ctx, 16), Duration::from_secs(2), Duration::from_secs(10)).await.expect("load");
    println!("| no backup ({} ops) | {:.0} | {:.2} | {:.2} |", quiet.ops, quiet.per_sec, quiet.p50_ms, quiet.p99_ms);
    let during = dir.path().join("during");
    let backup_task = tokio::task::spawn_blocking({
        let addrs = addrs.clone();
        move || {
            let t = Instant::now();
            strata(&["backup", "create", path(&during), "--cluster", &addrs]);
            t.elapsed()
        }
    });
    let busy = load::run(puts(&ctx, 16), Duration::from_millis(500), Duration::from_secs(10)).await.expect("load");
    let took = backup_task.await.unwrap();
    println!(
        "| a backup running (it took {:.1} s; the window covers {:.0} % of it) | {:.0} | {:.2} | {:.2} |",
        took.as_secs_f64(),
        100.0 * (10.0f64 / took.as_secs_f64()).min(1.0),
        busy.per_sec,
        busy.p50_ms,
        busy.p99_ms
    );
}

/// Rolling restarts under 8 writers and 2 readers: the longest call any client saw.
async fn rolling_phase(drain: bool) -> (u128, usize, u64) {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let longest = Arc::new(Mutex::new((0u128, 0usize, 0u64)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for w in 0..10 {
        let (kv, longest, stopped) = (ctx.kv_store(), longest.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move {
            let value = json!({"v": w}).as_object().cloned().unwrap();
            let mut i = 0u64;
            while !*stopped.borrow() {
                i += 1;
                let t = Instant::now();
                let r = if w < 8 {
                    kv.put(&format!("w{w}-{i}"), &value, "rolling").await
                } else {
                    kv.get(&format!("w0-{}", i / 2), "rolling").await.map(|_| ())
                };
                let mut l = longest.lock().unwrap();
                l.0 = l.0.max(t.elapsed().as_millis());
                l.1 += usize::from(r.is_err());
                l.2 += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..3 {
        if drain {
            tokio::task::block_in_place(|| cluster.terminate(i));
        } else {
            tokio::task::block_in_place(|| cluster.kill(i));
        }
        // Down a while, as a node being upgraded or rebooted is.
        tokio::time::sleep(Duration::from_secs(3)).await;
        tokio::task::block_in_place(|| cluster.restart(i));
        cluster.wait_settled(3).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.send_replace(true);
    for t in tasks {
        t.await.unwrap();
    }
    *longest.lock().unwrap()
}

#[tokio::main]
async fn main() {
    let scale: usize = std::env::var("STRATA_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    if phase("backup") {
        backup_phase(scale).await;
    }
    if phase("rolling") {
        println!(
            "\n| rolling restart of 3 nodes, 8 writers + 2 readers | run | longest call ms | errors | calls |\n| --- | ---: | ---: | ---: | ---: |"
        );
        for run in 1..=3 {
            for (what, drain) in [("drain (SIGTERM)", true), ("crash (SIGKILL)", false)] {
                let (ms, errors, calls) = rolling_phase(drain).await;
                println!("| {what} | {run} | {ms} | {errors} | {calls} |");
            }
        }
    }
}
