//! Graph builds under a memory cap (`vector_build_memory_bytes`): three namespaces
//! building at once, with room for one build at a time, queue for the memory instead of
//! holding it all at once; every build finishes, the memory reserved never passes the
//! cap, and each finished graph finds its vectors. (A test binary of its own: the cap is
//! the process's.)
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code

mod common;

use common::{Rng, record};
use std::time::Duration;
use strata_api::Distance;
use strata_shards::vector::ann::budget;
use strata_shards::vector::index::{NamespaceIndex, Restriction};

const DIM: usize = 32;
const N: usize = 3_000;
const NAMESPACES: usize = 3;
const CHUNK: usize = 500;
const WAIT: Duration = Duration::from_secs(300);

#[test]
fn builds_beyond_the_memory_cap_queue_and_all_finish() {
    // Room for 4,000 points: one namespace's build at a time, never two.
    let cap = budget::point_bytes(DIM) * 4_000;
    budget::configure(cap);
    assert_eq!(budget::global().cap(), cap);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut namespaces: Vec<NamespaceIndex> = (0..NAMESPACES)
        .map(|i| {
            let graphs = dir.path().join(format!("graphs-{i}"));
            NamespaceIndex::with_saved_graph_parking(DIM, Distance::Cosine, graphs, Duration::from_secs(3600))
        })
        .collect();
    let mut rng = Rng(0x5eed_0000_0000_0028);
    let centres: Vec<Vec<f32>> = (0..16).map(|_| (0..DIM).map(|_| 2.0 * rng.next()).collect()).collect();
    let mut stored: Vec<Vec<Vec<f32>>> = vec![Vec::new(); NAMESPACES];
    // Adds to the three interleaved, a chunk each in turn, as a restore or an import would.
    for start in (0..N).step_by(CHUNK) {
        for (ix, vectors) in namespaces.iter_mut().zip(&mut stored) {
            for i in start..start + CHUNK {
                let v = rng.clustered(&centres, 0.3);
                ix.upsert(&record(i, v.clone()), i as u64).expect("upsert");
                vectors.push(v);
            }
        }
    }
    for (i, ix) in namespaces.iter().enumerate() {
        assert!(ix.wait_indexed(WAIT), "namespace {i}'s graph covers every vector (its build finished)");
    }
    let b = budget::global();
    assert!(b.queued_total() > 0, "some build had to queue");
    assert!(b.peak() <= cap, "reserved {} bytes at most, under the cap of {cap}", b.peak());
    assert!(b.peak() >= budget::point_bytes(DIM) * N as u64, "a whole build was reserved: {}", b.peak());

    // Each graph, parked and loaded back along the way, finds its own vectors.
    let open = Restriction { node_ids: None, doc_ids: None, filters: None };
    for (ix, vectors) in namespaces.iter().zip(&stored) {
        let mut found = 0;
        for (i, v) in vectors.iter().enumerate().step_by(50) {
            let hits = ix.search(v, &open, 1, None).expect("search");
            let top = hits.first().map(|s| ix.slots()[s.slot as usize].node_id.to_string());
            found += usize::from(top.as_deref() == Some(format!("n{i:05}").as_str()));
        }
        assert!(found >= 58, "{found} of 60 stored vectors are their own nearest neighbour");
    }
}
