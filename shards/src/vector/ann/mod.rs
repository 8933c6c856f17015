//! The approximate index of one namespace: hnsw_rs builds the graph on a thread of its
//! own (an insert costs about a millisecond, far too slow for the write path), and every
//! so often publishes a [`graph::Graph`] copy that queries search. Slots the published
//! graph does not cover yet are searched exactly by the caller, so a write is searchable
//! as soon as it is applied.

pub mod graph;

use super::simd;
use graph::Graph;
use hnsw_rs::anndists::dist::Distance as HnswDistance;
use hnsw_rs::prelude::Hnsw;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use strata_api::Distance;

/// Neighbours per node and layer (M) of the graphs we build.
pub const MAX_NEIGHBOURS: usize = 16;
/// Candidates considered while inserting.
pub const EF_CONSTRUCTION: usize = 200;
/// The most points one round of the builder inserts.
const ROUND: usize = 20_000;
/// New points that make the builder publish a graph copy at once (or a tenth of those
/// already published, when more).
const PUBLISH_MIN: u32 = 2_000;
/// How long the builder waits for more points before it publishes what it has.
const IDLE_PUBLISH: Duration = Duration::from_millis(200);

/// The distance hnsw_rs builds with: ours, which cannot panic (anndists' `DistDot`
/// asserts on unnormalised input). Cosine vectors arrive normalised, so it is `1 - dot`.
#[derive(Clone, Copy, Debug)]
pub struct BuildDistance(pub Distance);

impl HnswDistance<f32> for BuildDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        match self.0 {
            Distance::Cosine => (1.0 - simd::dot(a, b)).max(0.0),
            Distance::Dot => 1.0 - simd::dot(a, b),
            Distance::L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
        }
    }
}

struct Published {
    graph: Mutex<Option<Arc<Graph>>>,
    changed: Condvar,
}

/// A namespace's approximate index. Dropping it stops its builder.
pub struct Ann {
    tx: mpsc::Sender<(u32, Vec<f32>)>,
    published: Arc<Published>,
}

impl Ann {
    /// Starts a builder for vectors under `distance`.
    pub fn start(distance: Distance, expected: usize) -> Self {
        let (tx, rx) = mpsc::channel();
        let published = Arc::new(Published { graph: Mutex::new(None), changed: Condvar::new() });
        let shared = published.clone();
        let spawned = std::thread::Builder::new()
            .name("strata-hnsw".into())
            .spawn(move || build(distance, expected, rx, &shared));
        if let Err(e) = spawned {
            // Searches then stay exact: slower, never wrong.
            tracing::error!(error = %e, "cannot start an HNSW builder thread");
        }
        Self { tx, published }
    }

    /// Queues `vector` (normalised for cosine by the caller) as slot `slot`; slots must
    /// come in increasing order.
    pub fn insert(&self, slot: u32, vector: Vec<f32>) {
        let _ = self.tx.send((slot, vector));
    }

    /// The newest published graph.
    pub fn graph(&self) -> Option<Arc<Graph>> {
        self.published.graph.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits (at most `timeout`) until a published graph covers `slots` slots; answers
    /// whether one does.
    pub fn wait_covering(&self, slots: u32, timeout: Duration) -> bool {
        let guard = self.published.graph.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .published
            .changed
            .wait_timeout_while(guard, timeout, |g| g.as_ref().is_none_or(|g| g.covered < slots))
            .unwrap_or_else(|p| p.into_inner());
        guard.as_ref().is_some_and(|g| g.covered >= slots)
    }
}

fn build(distance: Distance, expected: usize, rx: mpsc::Receiver<(u32, Vec<f32>)>, published: &Published) {
    let hnsw: Hnsw<'static, f32, BuildDistance> =
        Hnsw::new(MAX_NEIGHBOURS, expected.max(1024), 16, EF_CONSTRUCTION, BuildDistance(distance));
    let mut covered = 0u32;
    let mut published_upto = 0u32;
    loop {
        // With inserts not yet published, wait only a little: an idle builder publishes.
        let wait = if covered > published_upto { IDLE_PUBLISH } else { Duration::from_secs(3600) };
        let first = match rx.recv_timeout(wait) {
            Ok(item) => Some(item),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if let Some(first) = first {
            let mut batch = vec![first];
            while batch.len() < ROUND {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let refs: Vec<(&[f32], usize)> = batch.iter().map(|(s, v)| (v.as_slice(), *s as usize)).collect();
            if refs.len() >= 256 {
                hnsw.parallel_insert_slice(&refs);
            } else {
                for r in refs {
                    hnsw.insert_slice(r);
                }
            }
            covered = covered.max(batch.iter().map(|(s, _)| s + 1).max().unwrap_or(0));
            // Copying the graph costs a pass over it: do it when enough is new.
            let new = covered - published_upto;
            if new < PUBLISH_MIN.max(published_upto / 10) {
                continue;
            }
        }
        if covered > published_upto {
            let graph = Arc::new(Graph::export(&hnsw, covered));
            *published.graph.lock().unwrap_or_else(|p| p.into_inner()) = Some(graph);
            published.changed.notify_all();
            published_upto = covered;
        }
    }
}
