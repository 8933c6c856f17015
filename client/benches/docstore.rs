//! Docstore benchmark: N nodes of ~1 KiB text with three metadata keys and a SOURCE link.
//!
//! Measures, for Strata embedded: `add_documents` throughput (batches of 1000 nodes, each
//! batch durable before the next), `get_document` p50/p99 over 10k random ids,
//! `get_all_document_hashes`, close, and reopen (open + first read). In the same run, when
//! a Python with llama-index-core is found (`STRATA_BENCH_PYTHON`, else
//! `target/venv-llamaindex/bin/python`), SimpleDocumentStore on the same nodes: add,
//! persist, load, get_document, get_all_document_hashes.
//!
//! Run: `cargo bench -p strata-client --bench docstore` (`STRATA_BENCH_NODES` sets N).
#![allow(clippy::expect_used)] // test code: a failed expectation is the test failing

use std::io::Write;
use std::time::Instant;
use strata_client::StorageContext;
use strata_client::api::{Node, RelatedNodeInfo};

const WORDS: [&str; 16] = [
    "replica",
    "quorum",
    "snapshot",
    "vector",
    "index",
    "latency",
    "commit",
    "shard",
    "leader",
    "follower",
    "tokio",
    "sled",
    "raft",
    "query",
    "embedding",
    "document",
];

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn make_nodes(n: usize) -> Vec<Node> {
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let mut text = String::with_capacity(1100);
            while text.len() < 1024 {
                text.push_str(WORDS[(rng.next() % 16) as usize]);
                text.push(' ');
            }
            let mut metadata = serde_json::Map::new();
            metadata.insert("file_name".into(), format!("notes/file_{}.md", i / 10).into());
            metadata.insert("page".into(), ((i % 50) as i64).into());
            metadata.insert("score".into(), ((rng.next() % 1000) as f64 / 1000.0).into());
            Node::text_node(format!("node-{i:07}"), text)
                .with_metadata(metadata)
                .with_source(RelatedNodeInfo::new(format!("doc-{:06}", i / 10)))
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn python() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("STRATA_BENCH_PYTHON") {
        return Some(p.into());
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv-llamaindex/bin/python");
    p.exists().then_some(p)
}

fn main() {
    let n: usize = std::env::var("STRATA_BENCH_NODES").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let tmp = tempfile::tempdir().expect("temp dir");
    let nodes = make_nodes(n);
    let mut rng = Rng(7);
    let get_ids: Vec<String> = (0..10_000).map(|_| nodes[(rng.next() % n as u64) as usize].id.clone()).collect();
    let data = tmp.path().join("strata");

    let (add_s, p50, p99, hashes_s, distinct, close_s, reopen_s) = runtime.block_on(async {
        let ctx = StorageContext::open(&data).expect("open");
        let ds = ctx.docstore();
        let t = Instant::now();
        for batch in nodes.chunks(1000) {
            ds.add_documents(batch).await.expect("add");
        }
        let add_s = t.elapsed().as_secs_f64();
        let mut lat = Vec::with_capacity(get_ids.len());
        for id in &get_ids {
            let t = Instant::now();
            let node = ds.get_document(id, true).await.expect("get");
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            assert!(node.is_some());
        }
        lat.sort_by(f64::total_cmp);
        let t = Instant::now();
        let hashes = ds.get_all_document_hashes().await.expect("hashes");
        let hashes_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        ctx.flush().expect("flush");
        drop(ds);
        drop(ctx);
        let close_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let ctx = StorageContext::open(&data).expect("reopen");
        let first = ctx.docstore().get_document(&get_ids[0], true).await.expect("get");
        let reopen_s = t.elapsed().as_secs_f64();
        assert!(first.is_some());
        (add_s, percentile(&lat, 0.5), percentile(&lat, 0.99), hashes_s, hashes.len(), close_s, reopen_s)
    });
    let size: u64 = walk_size(&data);
    println!("Strata embedded, {n} nodes (~1 KiB text, 3 metadata keys, SOURCE link):");
    println!(
        "  add_documents       {:>9.2} s  {:>9.0} nodes/s (batches of 1000, each durable)",
        add_s,
        n as f64 / add_s
    );
    println!("  get_document        p50 {p50:.1} us  p99 {p99:.1} us (10k random ids)");
    println!("  get_all_doc_hashes  {hashes_s:>9.3} s  ({distinct} hashes)");
    println!("  close               {close_s:>9.3} s");
    println!("  reopen + first get  {reopen_s:>9.3} s");
    println!("  on disk             {:>9.1} MiB", size as f64 / (1 << 20) as f64);

    let Some(py) = python() else {
        println!("llama-index-core: no Python with llama-index-core found (set STRATA_BENCH_PYTHON); skipped");
        return;
    };
    let nodes_path = tmp.path().join("nodes.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&nodes_path).expect("create"));
    for node in &nodes {
        serde_json::to_writer(&mut f, &node.to_doc_json()).expect("write");
        f.write_all(b"\n").expect("write");
    }
    drop(f);
    let ids_path = tmp.path().join("ids.json");
    std::fs::write(&ids_path, serde_json::to_string(&get_ids).expect("json")).expect("write");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/llamaindex_docstore.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .arg(&nodes_path)
        .arg(tmp.path().join("docstore.json"))
        .arg(&ids_path)
        .output()
        .expect("run python");
    if !out.status.success() {
        println!("llama-index-core run failed: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python json");
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let li_add_persist = f("add_s") + f("persist_s");
    println!("llama-index-core 0.14.25 SimpleDocumentStore, same nodes:");
    println!("  add_documents       {:>9.2} s  {:>9.0} nodes/s", f("add_s"), n as f64 / f("add_s"));
    println!("  persist             {:>9.2} s", f("persist_s"));
    println!("  load                {:>9.2} s", f("load_s"));
    println!("  get_document        p50 {:.1} us  p99 {:.1} us", f("get_p50_us"), f("get_p99_us"));
    println!("  get_all_doc_hashes  {:>9.3} s", f("hashes_s"));
    println!("ratios (Strata vs llama-index-core):");
    println!("  add+persist throughput  {:.1}x", li_add_persist / add_s);
    println!("  reopen vs load          {:.1}x faster", f("load_s") / reopen_s);
}

fn walk_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
