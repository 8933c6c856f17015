//! An idle graph builder saves its hnsw_rs graph in full and drops it from memory
//! ("parks"); the next insert loads it back first. Searches answer the same while it is
//! parked, inserts after it are indexed, a reopened namespace starts parked (searching
//! the saved searchable copy), and a parked graph that cannot be loaded back (its files
//! gone) is rebuilt from the namespace's own vectors.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code

mod common;

use common::{Rng, record};
use std::time::Duration;
use strata_api::Distance;
use strata_shards::vector::ann::BuilderState;
use strata_shards::vector::index::{NamespaceIndex, Restriction};

const DIM: usize = 32;
const N: usize = 3_000;
const PARK_AFTER: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(300);

fn answers(ix: &NamespaceIndex, queries: &[Vec<f32>]) -> Vec<Vec<(String, f64)>> {
    let open = Restriction { node_ids: None, doc_ids: None, filters: None };
    queries
        .iter()
        .map(|q| {
            ix.search(q, &open, 10, None)
                .expect("search")
                .iter()
                .map(|s| (ix.slots()[s.slot as usize].node_id.to_string(), s.similarity))
                .collect()
        })
        .collect()
}

struct Setup {
    _dir: tempfile::TempDir,
    graphs: std::path::PathBuf,
    ix: NamespaceIndex,
    rng: Rng,
    centres: Vec<Vec<f32>>,
    queries: Vec<Vec<f32>>,
    stored: Vec<Vec<f32>>,
}

/// A namespace of `N` vectors whose builder has parked its graph.
fn parked() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let graphs = dir.path().join("graphs");
    let mut ix = NamespaceIndex::with_saved_graph_parking(DIM, Distance::Cosine, graphs.clone(), PARK_AFTER);
    let mut rng = Rng(0x9a4c_0000_0000_0007);
    let centres: Vec<Vec<f32>> = (0..16).map(|_| (0..DIM).map(|_| 2.0 * rng.next()).collect()).collect();
    let mut stored = Vec::new();
    for i in 0..N {
        let v = rng.clustered(&centres, 0.3);
        ix.upsert(&record(i, v.clone()), i as u64).expect("upsert");
        stored.push(v);
    }
    assert!(ix.wait_indexed(WAIT), "the graph covers every vector");
    assert!(ix.wait_builder(BuilderState::Parked, WAIT), "an idle builder parks its graph");
    assert!(graphs.join("CURRENT").exists(), "parked on disk");
    let queries = (0..20).map(|_| rng.clustered(&centres, 0.3)).collect();
    Setup { _dir: dir, graphs, ix, rng, centres, queries, stored }
}

/// The stored vector `v` is found through the graph, at similarity 1.
fn assert_found(ix: &NamespaceIndex, id: &str, v: &[f32]) {
    let got = answers(ix, &[v.to_vec()]);
    assert_eq!(got[0][0].0, id, "{got:?}");
    assert!((got[0][0].1 - 1.0).abs() < 1e-6);
}

#[test]
fn a_parked_graph_answers_the_same_and_is_loaded_back_for_inserts() {
    let mut s = parked();
    assert_eq!(s.ix.builder_state(), Some(BuilderState::Parked));
    let while_parked = answers(&s.ix, &s.queries);
    assert!(while_parked.iter().all(|a| a.len() == 10));

    // Inserts load the graph back and are indexed by it.
    let mut added = Vec::new();
    for i in N..N + 500 {
        let v = s.rng.clustered(&s.centres, 0.3);
        s.ix.upsert(&record(i, v.clone()), i as u64).expect("upsert");
        added.push((format!("n{i:05}"), v));
    }
    assert!(s.ix.wait_indexed(WAIT), "the graph covers the new vectors too");
    assert_eq!(s.ix.stats().unindexed, 0);
    for (id, v) in added.iter().step_by(50) {
        assert_found(&s.ix, id, v);
    }
    // ... and the builder parks again once idle.
    assert!(s.ix.wait_builder(BuilderState::Parked, WAIT), "parks again");
    let after = answers(&s.ix, &s.queries);
    for (before, now) in while_parked.iter().zip(&after) {
        // The 500 new vectors may enter a top-10; every old answer that stays keeps its score.
        for (id, sim) in now {
            if let Some((_, was)) = before.iter().find(|(b, _)| b == id) {
                assert!((sim - was).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn a_reopened_namespace_starts_parked_on_the_saved_search_graph() {
    let s = parked();
    let before = answers(&s.ix, &s.queries);
    drop(s.ix);
    let mut ix = NamespaceIndex::with_saved_graph_parking(DIM, Distance::Cosine, s.graphs.clone(), PARK_AFTER);
    assert_eq!(ix.builder_state(), Some(BuilderState::Parked), "hnsw_rs's graph stays on disk");
    for (i, v) in s.stored.iter().enumerate() {
        ix.load_record(&record(i, v.clone()), i as u64).expect("load");
    }
    ix.finish_load();
    assert_eq!(ix.revived(), N, "every stored vector is in the saved graph");
    assert_eq!(ix.stats().unindexed, 0);
    assert_eq!(ix.builder_state(), Some(BuilderState::Parked));
    assert_eq!(answers(&ix, &s.queries), before, "the same answers from the saved copy");

    // A write loads hnsw_rs's graph and is indexed.
    let mut rng = Rng(0x9a4c_0000_0000_0099);
    let v = rng.clustered(&s.centres, 0.3);
    ix.upsert(&record(N, v.clone()), N as u64).expect("upsert");
    assert!(ix.wait_indexed(WAIT), "the new vector is indexed");
    assert_found(&ix, &format!("n{N:05}"), &v);
}

#[test]
fn a_parked_graph_that_cannot_be_loaded_back_is_rebuilt() {
    let mut s = parked();
    let before = answers(&s.ix, &s.queries);
    std::fs::remove_dir_all(&s.graphs).expect("remove the saved graph");

    let lost = s.rng.clustered(&s.centres, 0.3);
    s.ix.upsert(&record(N, lost.clone()), N as u64).expect("upsert");
    assert!(s.ix.wait_builder(BuilderState::Broken, WAIT), "the builder cannot load its graph back");
    assert!(!s.ix.wait_indexed(Duration::from_millis(1)), "the insert that found it broken is not indexed yet");
    assert_found(&s.ix, &format!("n{N:05}"), &lost); // searched exactly meanwhile

    // The namespace's next use starts a new builder from its own vectors.
    assert!(s.ix.restart_broken_builder());
    assert!(s.ix.wait_indexed(WAIT), "the new graph covers every vector");
    assert_eq!(s.ix.stats().unindexed, 0);
    assert_found(&s.ix, &format!("n{N:05}"), &lost);
    let after = answers(&s.ix, &s.queries);
    let agree: usize = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.iter().filter(|(id, _)| b.iter().any(|(x, _)| x == id) || *id == format!("n{N:05}")).count())
        .sum();
    assert!(agree as f64 >= 0.95 * (10 * s.queries.len()) as f64, "the rebuilt graph finds the same: {agree}");
}
