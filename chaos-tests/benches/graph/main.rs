//! Graph stores: Strata embedded and on a 3-node cluster (P = 3, R = 3) against, in the
//! same run, llama-index-core's SimplePropertyGraphStore and Kùzu (embedded), on one
//! seeded power-law graph.
//!
//! ```sh
//! cargo bench -p strata-chaos --bench graph                      # 100k entities, 1M relations
//! STRATA_BENCH_GRAPH=20000 cargo bench -p strata-chaos --bench graph   # entities (relations: 10×)
//! STRATA_BENCH_MODES=embedded,cluster,peers ...
//! STRATA_BENCH_KEEP=DIR ...   # keep the embedded data in DIR; a later run only reopens it
//! ```
//!
//! The graph: N entities `e{i}` with one of 5 labels, a 384-d clustered embedding and a
//! property; 10·N distinct relations of 8 types, sources uniform, targets power-law
//! (`N·u³`: a few hubs with thousands of incoming relations, most nodes with few).
//! Measured: upserts (nodes in batches of 1,000, relations in batches of 10,000,
//! one client); `get_rel_map` depth 1 and 2 (limit 30, LlamaIndex's default) from 10
//! seeds; `vector_query` top 4; a 2-hop Cypher query; p50/p99 over every seed and round;
//! reopening the embedded graph (open to first answered rel map). The peers run from
//! `bench/graph_peers.py` with `.venv-bench/bin/python` on the same `.npy` files.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a bench binary

use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, TestCluster, rss};
use strata_client::api::{LabelledNode, Relation, VectorStoreQuery};
use strata_client::{PropertyGraphStore, StorageContext};

const DIM: usize = 384;
const LABELS: [&str; 5] = ["PERSON", "ORG", "PLACE", "EVENT", "THING"];
const TYPES: usize = 8;
const SEEDS: usize = 10;
const ROUNDS: usize = 20;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

struct Graph {
    n: usize,
    embeddings: Vec<f32>,
    edges: Vec<(u32, u32, u8)>,
    seeds: Vec<usize>,
    queries: Vec<Vec<f32>>,
}

fn generate(n: usize) -> Graph {
    let mut rng = Rng(0x5eed_9a9f);
    let centres: Vec<Vec<f32>> =
        (0..64).map(|_| (0..DIM).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect()).collect();
    let mut embeddings = Vec::with_capacity(n * DIM);
    let vector = |rng: &mut Rng| -> Vec<f32> {
        let c = &centres[(rng.next() % 64) as usize];
        let mut v: Vec<f32> = c.iter().map(|x| x + 0.6 * (rng.uniform() as f32 - 0.5)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    };
    for _ in 0..n {
        embeddings.extend(vector(&mut rng));
    }
    let mut seen = std::collections::HashSet::new();
    let mut edges = Vec::with_capacity(10 * n);
    while edges.len() < 10 * n {
        let s = (rng.next() % n as u64) as u32;
        let t = ((n as f64) * rng.uniform().powi(3)) as u32;
        let ty = (rng.next() % TYPES as u64) as u8;
        if seen.insert((s, t, ty)) {
            edges.push((s, t, ty));
        }
    }
    let seeds = (0..SEEDS).map(|_| (rng.next() % n as u64) as usize).collect();
    let queries = (0..200).map(|_| vector(&mut rng)).collect();
    Graph { n, embeddings, edges, seeds, queries }
}

fn node(g: &Graph, i: usize) -> LabelledNode {
    let props: Map<String, Value> = json!({"rank": i % 1000}).as_object().cloned().unwrap_or_default();
    let emb: Vec<f64> = g.embeddings[i * DIM..(i + 1) * DIM].iter().map(|x| f64::from(*x)).collect();
    LabelledNode::entity(format!("e{i}"), LABELS[i % LABELS.len()]).with_properties(props).with_embedding(&emb)
}

fn relation(e: &(u32, u32, u8)) -> Relation {
    Relation::new(format!("e{}", e.0), format!("T{}", e.2), format!("e{}", e.1))
}

fn data_dir(n: usize) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data").join(format!("graph-{n}"))
}

fn write_npy(path: &Path, descr: &str, rows: usize, cols: usize, bytes: &[u8]) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bytes);
    std::fs::write(path, out).expect("write npy");
}

fn save(g: &Graph) {
    let dir = data_dir(g.n);
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let emb: Vec<u8> = g.embeddings.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_npy(&dir.join("embeddings.npy"), "<f4", g.n, DIM, &emb);
    let edges: Vec<u8> = g
        .edges
        .iter()
        .flat_map(|(s, t, ty)| [*s as i32, *t as i32, i32::from(*ty)])
        .flat_map(i32::to_le_bytes)
        .collect();
    write_npy(&dir.join("edges.npy"), "<i4", g.edges.len(), 3, &edges);
    let q: Vec<u8> = g.queries.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    write_npy(&dir.join("queries.npy"), "<f4", g.queries.len(), DIM, &q);
    let seeds: Vec<u8> = g.seeds.iter().flat_map(|s| (*s as i32).to_le_bytes()).collect();
    write_npy(&dir.join("seeds.npy"), "<i4", g.seeds.len(), 1, &seeds);
}

fn percentile(lat: &mut [Duration], p: usize) -> f64 {
    lat.sort();
    lat[(lat.len() * p / 100).min(lat.len() - 1)].as_secs_f64() * 1e3
}

fn ms(lat: &mut [Duration]) -> String {
    format!("{:.2} / {:.2}", percentile(lat, 50), percentile(lat, 99))
}

struct Row {
    system: String,
    node_rate: f64,
    rel_rate: f64,
    hop1: String,
    hop2: String,
    vector: String,
    cypher: String,
    reopen: String,
    note: String,
}

impl Row {
    fn new(system: &str) -> Self {
        Row {
            system: system.into(),
            node_rate: 0.0,
            rel_rate: 0.0,
            hop1: String::new(),
            hop2: String::new(),
            vector: String::new(),
            cypher: String::new(),
            reopen: "–".into(),
            note: String::new(),
        }
    }

    fn print(&self) {
        println!(
            "| {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} |",
            self.system,
            self.node_rate,
            self.rel_rate,
            self.hop1,
            self.hop2,
            self.vector,
            self.cypher,
            self.reopen,
            self.note
        );
    }
}

async fn load(pg: &PropertyGraphStore, g: &Graph) -> (f64, f64) {
    let start = Instant::now();
    for chunk in (0..g.n).collect::<Vec<_>>().chunks(1_000) {
        let nodes: Vec<LabelledNode> = chunk.iter().map(|i| node(g, *i)).collect();
        pg.upsert_nodes(&nodes).await.expect("upsert_nodes");
    }
    let node_rate = g.n as f64 / start.elapsed().as_secs_f64();
    eprintln!("  {} nodes in {:?}", g.n, start.elapsed());
    let start = Instant::now();
    for (i, chunk) in g.edges.chunks(10_000).enumerate() {
        let rels: Vec<Relation> = chunk.iter().map(relation).collect();
        pg.upsert_relations(&rels).await.expect("upsert_relations");
        if i % 20 == 0 {
            eprintln!("  {} relations after {:?}", (i + 1) * 10_000, start.elapsed());
        }
    }
    (node_rate, g.edges.len() as f64 / start.elapsed().as_secs_f64())
}

const CYPHER: &str = "MATCH (a:`__Entity__` {name: $name})-[r1]->(b)-[r2]->(c) \
                      RETURN c.name AS name, count(*) AS paths ORDER BY paths DESC, name LIMIT 10";

/// Waits until the entity embeddings are all in the HNSW graph; answers how long that took.
async fn wait_indexed(pg: &PropertyGraphStore) -> Duration {
    let start = Instant::now();
    loop {
        let s = pg.vector_index_stats().await.expect("index stats");
        if s.unindexed == 0 || start.elapsed() > Duration::from_secs(1800) {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn queries(pg: &PropertyGraphStore, g: &Graph, row: &mut Row) {
    for depth in [1, 2] {
        let mut lat = Vec::new();
        let mut sizes = Vec::new();
        for _ in 0..ROUNDS {
            for s in &g.seeds {
                let t = Instant::now();
                let map = pg.get_rel_map_of(&[format!("e{s}")], depth, 30, None).await.expect("rel map");
                lat.push(t.elapsed());
                sizes.push(map.len());
            }
        }
        eprintln!("  depth {depth}: sizes {:?}", &sizes[..SEEDS]);
        if depth == 1 {
            row.hop1 = ms(&mut lat);
        } else {
            row.hop2 = ms(&mut lat);
        }
    }
    let waited = wait_indexed(pg).await;
    row.note
        .push_str(&format!("HNSW of entity embeddings finished {:.0} s after the last upsert; ", waited.as_secs_f64()));
    let mut lat = Vec::new();
    for q in &g.queries {
        let query = VectorStoreQuery { query_embedding: Some(q.clone()), similarity_top_k: 4, ..Default::default() };
        let t = Instant::now();
        let (nodes, _) = pg.vector_query(&query).await.expect("vector query");
        lat.push(t.elapsed());
        assert_eq!(nodes.len(), 4);
    }
    row.vector = ms(&mut lat);
    let mut lat = Vec::new();
    for _ in 0..(ROUNDS / 4).max(1) {
        for s in &g.seeds {
            let params: Map<String, Value> = json!({"name": format!("e{s}")}).as_object().cloned().unwrap_or_default();
            let t = Instant::now();
            pg.structured_query(CYPHER, Some(&params)).await.expect("cypher");
            lat.push(t.elapsed());
        }
    }
    row.cypher = ms(&mut lat);
}

async fn embedded(g: &Graph) -> Row {
    let scratch = tempfile::tempdir().expect("temp dir");
    // STRATA_BENCH_KEEP=DIR keeps the data in DIR; a later run finding it only reopens.
    let kept = std::env::var_os("STRATA_BENCH_KEEP").map(PathBuf::from);
    let data = kept.clone().unwrap_or_else(|| scratch.path().join("data"));
    let reuse = kept.is_some() && data.exists();
    let mut row = Row::new("Strata embedded");
    if !reuse {
        let ctx = StorageContext::open(&data).expect("open");
        let pg = ctx.property_graph_store();
        let before = rss(std::process::id());
        (row.node_rate, row.rel_rate) = load(&pg, g).await;
        queries(&pg, g, &mut row).await;
        let grew = rss(std::process::id()).saturating_sub(before);
        row.note.push_str(&format!("one client; process memory +{} MiB", grew >> 20));
    }
    // Reopen as a restarted application does: a new process opens the directory and
    // answers a depth-2 rel map (`strata graph rel-map`, process start included). The
    // handle dropped above writes out its dirty pages before sled lets go of the
    // directory: wait for that first (a closing handle is not an opening one).
    let closing = Instant::now();
    while StorageContext::open(&data).is_err() {
        assert!(closing.elapsed() < Duration::from_secs(300), "the directory stays locked");
    }
    eprintln!("  the dropped handle let go after {:?}", closing.elapsed());
    let strata = strata_chaos::cluster::strata_bin(); // built before the clock starts
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t = Instant::now();
    let out = std::process::Command::new(strata)
        .args(["graph", "rel-map", &format!("e{}", g.seeds[0]), "--depth", "2", "--json", "--data"])
        .arg(&data)
        .output()
        .expect("run strata graph rel-map");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    row.reopen = format!("{:.2}", t.elapsed().as_secs_f64());
    row
}

async fn cluster(g: &Graph) -> Row {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let pg = ctx.property_graph_store();
    pg.upsert_nodes(&[node(g, 0)]).await.expect("create the graph");
    cluster.wait_settled(3).await;
    let mut row = Row::new("Strata 3 nodes, P=3, R=3");
    let total_rss = || cluster.nodes.iter().filter_map(|n| n.pid()).map(rss).sum::<u64>();
    let before = total_rss();
    (row.node_rate, row.rel_rate) = load(&pg, g).await;
    queries(&pg, g, &mut row).await;
    let grew = total_rss().saturating_sub(before) >> 20;
    row.note.push_str(&format!("one client; linearizable reads; 3 processes' memory +{grew} MiB (all replicas)"));
    row.print();
    // The same reads served by any replica (`with_stale_reads`): no leader confirmation.
    let stale = pg.with_stale_reads(true);
    let mut row = Row { system: "Strata 3 nodes, stale_ok reads".into(), note: String::new(), ..row };
    queries(&stale, g, &mut row).await;
    row.note.push_str("reads served by any replica (possibly behind the latest writes)");
    row
}

fn peers(g: &Graph) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-bench/bin/python");
    if !python.exists() {
        println!("| (peers skipped: {} missing; see docs/benchmarks.md) | | | | | | | | |", python.display());
        return;
    }
    let out = std::process::Command::new(python)
        .arg(root.join("bench/graph_peers.py"))
        .arg(data_dir(g.n))
        .output()
        .expect("run graph_peers.py");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("STRATA_BENCH_GRAPH").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let modes = std::env::var("STRATA_BENCH_MODES").unwrap_or_else(|_| "embedded,cluster,peers".into());
    let on = |m: &str| modes.split(',').any(|x| x.trim() == m);
    let g = generate(n);
    save(&g);
    let max_in = {
        let mut deg = vec![0u32; n];
        g.edges.iter().for_each(|(_, t, _)| deg[*t as usize] += 1);
        deg.into_iter().max().unwrap_or(0)
    };
    eprintln!("graph: {n} entities, {} relations, largest in-degree {max_in}", g.edges.len());
    println!(
        "| system | nodes/s | relations/s | rel map depth 1 p50/p99 ms | depth 2 p50/p99 ms | vector_query top 4 p50/p99 ms | 2-hop Cypher p50/p99 ms | reopen s | notes |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    if on("embedded") {
        embedded(&g).await.print();
    }
    if on("cluster") {
        cluster(&g).await.print();
    }
    if on("peers") {
        peers(&g);
    }
}
