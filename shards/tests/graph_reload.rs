//! A vector namespace's HNSW graph is saved next to its shard and reloaded when the shard
//! reopens: the stored vectors are found in the saved graph (not inserted anew), vectors
//! deleted or replaced after the save never come back, later additions are searchable,
//! and a damaged save is ignored (the graph is rebuilt) without changing any answer.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use strata_api::{
    Command, Distance, JsonText, Query, Response, VectorCommand, VectorNamespace, VectorQuery, VectorRecord,
    VectorSearch, VectorStoreQuery,
};
use strata_shards::Shard;

mod common;
use common::Rng;

const NS: &str = "docs";
const DIM: usize = 24;
const N: usize = 6_000;
const WAIT: Duration = Duration::from_secs(300);

fn record(id: &str, embedding: Vec<f32>) -> VectorRecord {
    VectorRecord {
        node_id: id.to_string(),
        embedding,
        ref_doc_id: None,
        metadata: JsonText::from_map(serde_json::json!({"n": id}).as_object().expect("object")),
        node: None,
        exact_f32: false,
    }
}

fn open(dir: &Path) -> (sled::Db, Shard) {
    let db = strata_shards::open_db(&dir.join("db"), &strata_shards::OpenOptions::default()).expect("db");
    let shard = Shard::open_with_graphs(&db, "s", Some(dir.join("hnsw"))).expect("shard");
    (db, shard)
}

fn apply(shard: &Shard, cmd: VectorCommand) {
    shard.apply(&Command::Vector(cmd)).expect("apply");
}

fn search(shard: &Shard, query: &[f32], k: usize) -> Vec<(String, f64)> {
    let q = VectorStoreQuery { query_embedding: Some(query.to_vec()), similarity_top_k: k, ..Default::default() };
    let search = VectorSearch { query: q, candidates: k, with_embeddings: false, every_candidate: false };
    match shard
        .query(&Query::Vector(VectorQuery::Search { namespace: NS.into(), search: Box::new(search) }))
        .expect("search")
    {
        Response::VectorHits(hits) => hits.into_iter().map(|h| (h.node_id, h.similarity)).collect(),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// The exact top-k of `query` among `live` (id → vector), by cosine similarity.
fn exact(live: &std::collections::BTreeMap<String, Vec<f32>>, query: &[f32], k: usize) -> Vec<String> {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let mut scored: Vec<(f64, &String)> = live
        .iter()
        .map(|(id, v)| {
            let dot: f64 = v.iter().zip(query).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            (dot / (norm(v) * norm(query)), id)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, id)| id.clone()).collect()
}

struct World {
    live: std::collections::BTreeMap<String, Vec<f32>>,
    deleted: HashSet<String>,
    queries: Vec<Vec<f32>>,
}

/// Fills a shard, waits for its graph and saves it, then changes it after the save.
fn build(dir: &Path) -> World {
    let (_db, shard) = open(dir);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let centres: Vec<Vec<f32>> = (0..40).map(|_| (0..DIM).map(|_| 2.0 * rng.next()).collect()).collect();
    let settings = VectorNamespace { name: NS.into(), dim: DIM as u32, distance: Distance::Cosine, partitions: 1 };
    apply(&shard, VectorCommand::CreateNamespace { settings });
    let mut live = std::collections::BTreeMap::new();
    let mut records = Vec::new();
    for i in 0..N {
        let v = rng.clustered(&centres, 0.3);
        live.insert(format!("n{i}"), v.clone());
        records.push(record(&format!("n{i}"), v));
    }
    for chunk in records.chunks(1000) {
        apply(&shard, VectorCommand::Add { namespace: NS.into(), records: chunk.to_vec(), order: Vec::new() });
    }
    let queries: Vec<Vec<f32>> = (0..30).map(|_| rng.clustered(&centres, 0.3)).collect();
    search(&shard, &queries[0], 10); // loads the namespace and starts its graph
    let indexed = shard.with_vector_index(NS, |ix| ix.expect("loaded").wait_indexed(WAIT)).expect("index");
    assert!(indexed, "the graph covers every vector");
    // An idle builder saves by itself ...
    let deadline = std::time::Instant::now() + WAIT;
    while !dir.join("hnsw").read_dir().is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.path().join("CURRENT").exists())))
    {
        assert!(std::time::Instant::now() < deadline, "no graph saved by an idle builder");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ... and saves on request (a raft snapshot asks) once every queued point is in.
    let saved = shard.with_vector_index(NS, |ix| ix.expect("loaded").save_graph_and_wait(WAIT)).expect("index");
    assert!(saved, "the graph is saved");

    // After the save: 100 deleted, 50 replaced by other vectors, 200 added.
    let mut deleted = HashSet::new();
    let doomed: Vec<String> = (0..100).map(|i| format!("n{}", i * 7)).collect();
    for id in &doomed {
        live.remove(id);
        deleted.insert(id.clone());
    }
    apply(&shard, VectorCommand::DeleteNodes { namespace: NS.into(), node_ids: Some(doomed), filters: None });
    let mut changed = Vec::new();
    for i in 0..50 {
        let id = format!("n{}", i * 7 + 3);
        let v = rng.clustered(&centres, 0.3);
        live.insert(id.clone(), v.clone());
        changed.push(record(&id, v));
    }
    for i in 0..200 {
        let id = format!("new{i}");
        let v = rng.clustered(&centres, 0.3);
        live.insert(id.clone(), v.clone());
        changed.push(record(&id, v));
    }
    apply(&shard, VectorCommand::Add { namespace: NS.into(), records: changed, order: Vec::new() });
    shard.flush().expect("flush");
    World { live, deleted, queries }
}

fn check_answers(shard: &Shard, world: &World) {
    let mut agree = 0;
    for q in &world.queries {
        let got = search(shard, q, 10);
        assert_eq!(got.len(), 10);
        for (id, _) in &got {
            assert!(!world.deleted.contains(id), "deleted node {id} returned");
            assert!(world.live.contains_key(id), "unknown node {id} returned");
        }
        let truth = exact(&world.live, q, 10);
        agree += got.iter().filter(|(id, _)| truth.contains(id)).count();
    }
    let recall = agree as f64 / (world.queries.len() * 10) as f64;
    assert!(recall >= 0.9, "recall@10 {recall} after reopening");
}

#[test]
fn a_saved_graph_is_reloaded_not_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let world = build(dir.path());
    let (_db, shard) = open(dir.path());
    let revived = shard.with_vector_index(NS, |ix| ix.expect("loaded").revived()).expect("index");
    // Everything saved and still stored as saved: all but the 100 deleted and 50 replaced.
    assert_eq!(revived, N - 150, "stored vectors found in the saved graph");
    check_answers(&shard, &world);
    // Replaced nodes answer with their new vector's similarity.
    let id = "n10"; // n(1 * 7 + 3), replaced
    let v = world.live.get(id).expect("replaced node");
    let got = search(&shard, v, 1);
    assert_eq!(got[0].0, id);
    assert!((got[0].1 - 1.0).abs() < 1e-6, "similarity of a node to its own new vector: {}", got[0].1);
}

#[test]
fn a_damaged_saved_graph_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let world = build(dir.path());
    // Flip bytes in the middle of the saved vectors and of the searchable copy.
    let mut damaged = 0;
    for ns in std::fs::read_dir(dir.path().join("hnsw")).expect("graphs").flatten() {
        for generation in std::fs::read_dir(ns.path()).expect("generations").flatten() {
            for file in ["graph.hnsw.data", "search.graph"] {
                if let Ok(mut bytes) = std::fs::read(generation.path().join(file)) {
                    let mid = bytes.len() / 2;
                    bytes[mid] ^= 0xff;
                    bytes[mid + 1] ^= 0xff;
                    std::fs::write(generation.path().join(file), bytes).expect("damage");
                    damaged += 1;
                }
            }
        }
    }
    assert_eq!(damaged, 2, "one saved generation, both files");
    let (_db, shard) = open(dir.path());
    let revived = shard
        .with_vector_index(NS, |ix| {
            let ix = ix.expect("loaded");
            assert!(ix.wait_indexed(WAIT), "the graph is rebuilt");
            ix.revived()
        })
        .expect("index");
    assert_eq!(revived, 0, "nothing taken from a damaged save");
    check_answers(&shard, &world);
}

#[test]
fn a_build_cut_short_by_a_restart_resumes_from_its_save() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut world = build(dir.path());
    // Reopened, the namespace takes a tail twice its size, and the shard closes while
    // the builder is inserting it (as a node stopped mid-build): nothing of the tail is
    // in a save.
    const TAIL: usize = 2 * N;
    {
        let (_db, shard) = open(dir.path());
        let mut rng = Rng(0x5eed_1234_abcd_0002);
        let centres: Vec<Vec<f32>> = (0..40).map(|_| (0..DIM).map(|_| 2.0 * rng.next()).collect()).collect();
        let mut tail = Vec::new();
        for i in 0..TAIL {
            let id = format!("tail{i}");
            let v = rng.clustered(&centres, 0.3);
            world.live.insert(id.clone(), v.clone());
            tail.push(record(&id, v));
        }
        for chunk in tail.chunks(1000) {
            apply(&shard, VectorCommand::Add { namespace: NS.into(), records: chunk.to_vec(), order: Vec::new() });
        }
        shard.flush().expect("flush");
        search(&shard, &world.queries[0], 10); // loads the namespace: its builder starts on the tail
        let done = shard.with_vector_index(NS, |ix| ix.expect("loaded").wait_indexed(Duration::ZERO)).expect("index");
        assert!(!done, "closed in the middle of the build");
    }
    let (_db, shard) = open(dir.path());
    let (revived, indexed) = shard
        .with_vector_index(NS, |ix| {
            let ix = ix.expect("loaded");
            (ix.revived(), ix.wait_indexed(WAIT))
        })
        .expect("index");
    assert_eq!(revived, N - 150, "the build resumed from the last save, not from nothing");
    assert!(indexed, "the resumed build covers every vector, the tail included");
    check_answers(&shard, &world);
    for i in (0..TAIL).step_by(97) {
        let id = format!("tail{i}");
        let got = search(&shard, world.live.get(&id).expect("tail vector"), 1);
        assert_eq!(got[0].0, id, "a tail vector is its own nearest neighbour");
    }
}

#[test]
fn a_written_namespace_builds_its_graph_without_being_searched() {
    // What a follower does: it applies adds and is asked nothing, yet its graph is built
    // as they land, ready when searches come to it.
    let dir = tempfile::tempdir().expect("tempdir");
    let (_db, shard) = open(dir.path());
    let settings = VectorNamespace { name: NS.into(), dim: DIM as u32, distance: Distance::Cosine, partitions: 1 };
    apply(&shard, VectorCommand::CreateNamespace { settings });
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let records: Vec<VectorRecord> =
        (0..3_000).map(|i| record(&format!("w{i}"), (0..DIM).map(|_| rng.next()).collect())).collect();
    for chunk in records.chunks(500) {
        apply(&shard, VectorCommand::Add { namespace: NS.into(), records: chunk.to_vec(), order: Vec::new() });
    }
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let stats = shard.loaded_vector_stats().unwrap_or_default();
        let ns = stats.iter().find(|(name, _)| name == NS).map(|(_, s)| (s.vectors, s.unindexed));
        if ns == Some((3_000, 0)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no graph built from writes alone: {ns:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
