//! A compact, immutable copy of an hnsw_rs graph and the search over it.
//!
//! hnsw_rs builds a good graph, but its own search is several times slower than
//! hnswlib's (per-neighbour locks, `Arc` clones, a hashed visited set), so queries walk
//! this copy instead. Layer 0 is one array of fixed-size blocks, one per slot, each
//! holding what a walk reads about that slot: its 8-bit codes ([`super::super::quant`]),
//! a distance term, and its neighbours, so measuring a slot and later expanding it touch
//! one region of memory (hnswlib's layout, with a quarter of the vector bytes). Upper
//! layers are small maps; the visited set is an epoch-stamped array reused per thread.

use crate::vector::quant::{PreparedQuery, Quantizer};
use crate::vector::simd;
use hnsw_rs::prelude::Hnsw;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use strata_api::Distance;

/// How many neighbours ahead of the one being measured are being fetched.
const AHEAD: usize = 2;
/// Vectors the quantiser's scales are fitted to (the first slots).
const QUANT_SAMPLE: usize = 4_096;
/// Blocks are padded to whole cache lines.
pub(super) const LINE: usize = 64;
/// How many of a block's lines are prefetched before it is measured: the start of its
/// codes; the CPU's own prefetcher follows the rest as the kernel streams through them
/// (prefetching all seven at 384 dimensions measured ~10% slower at a million vectors:
/// the fill buffers overflow).
const WARM_LINES: usize = 3;

/// A distance in a heap: ordered by value (distances are never NaN here: the vectors
/// are finite and checked when stored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dist(pub f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A query ready to be measured against the graph's codes.
pub struct GraphQuery {
    prepared: PreparedQuery,
    /// `|q|²` for L2 (else 0).
    query_sq: f32,
}

/// The searchable copy of a graph over slots `0..covered`.
#[derive(Debug)]
pub struct Graph {
    /// Slots `0..covered` are in the graph.
    pub covered: u32,
    pub(super) distance: Distance,
    pub(super) dim: usize,
    /// Neighbours a block has room for.
    pub(super) degree: usize,
    /// Bytes per block: `[term: f32][codes: dim × u8][count: u32][neighbours: degree × u32]`,
    /// padded to whole cache lines.
    pub(super) block: usize,
    pub(super) blocks: Vec<u8>,
    pub(super) upper: Vec<HashMap<u32, Vec<u32>>>,
    pub(super) entry: Option<u32>,
    pub(super) quantizer: Quantizer,
}

impl Graph {
    /// Copies `hnsw`'s graph, whose points are slots `0..covered` (vectors as the builder
    /// got them: unit length for cosine), for searches under `distance`.
    pub fn export<D>(hnsw: &Hnsw<'static, f32, D>, covered: u32, distance: Distance) -> Self
    where
        D: hnsw_rs::anndists::dist::Distance<f32> + Send + Sync,
    {
        let n = covered as usize;
        let mut points = vec![None; n];
        let mut layer0: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut upper: Vec<HashMap<u32, Vec<u32>>> = Vec::new();
        let mut entry: Option<(u8, u32)> = None;
        for point in hnsw.get_point_indexation() {
            let slot = point.get_origin_id();
            if slot >= n {
                continue;
            }
            let level = point.get_point_id().0;
            if entry.is_none_or(|(l, _)| level > l) {
                entry = Some((level, slot as u32));
            }
            for (layer, neighbours) in point.get_neighborhood_id().into_iter().enumerate() {
                let ids: Vec<u32> =
                    neighbours.iter().map(|nb| nb.get_origin_id()).filter(|s| *s < n).map(|s| s as u32).collect();
                if layer == 0 {
                    layer0[slot] = ids;
                } else if !ids.is_empty() {
                    if upper.len() < layer {
                        upper.resize_with(layer, HashMap::new);
                    }
                    upper[layer - 1].insert(slot as u32, ids);
                }
            }
            points[slot] = Some(point);
        }
        let dim = points.iter().flatten().next().map_or(0, |p| p.get_v().len());
        let quantizer = Quantizer::fit(
            dim,
            points.iter().take(QUANT_SAMPLE).flatten().map(|p| p.get_v()).filter(|v| v.len() == dim),
        );
        let degree = layer0.iter().map(Vec::len).max().unwrap_or(0);
        let block = (4 + dim + 4 + 4 * degree).div_ceil(LINE) * LINE;
        let mut blocks = Vec::with_capacity(n * block);
        let mut codes = Vec::with_capacity(dim);
        for (point, neighbours) in points.iter().zip(&layer0) {
            let start = blocks.len();
            // A slot hnsw_rs lacks (none should) gets zero codes and no neighbours.
            let v = point.as_ref().map(|p| p.get_v()).filter(|v| v.len() == dim).unwrap_or(&[]);
            let term = if distance == Distance::L2 { simd::dot(v, v) } else { 0.0 };
            blocks.extend_from_slice(&term.to_le_bytes());
            codes.clear();
            if v.is_empty() {
                codes.resize(dim, 128);
            } else {
                quantizer.encode(v, &mut codes);
            }
            blocks.extend_from_slice(&codes);
            blocks.extend_from_slice(&(neighbours.len() as u32).to_le_bytes());
            for nb in neighbours {
                blocks.extend_from_slice(&nb.to_le_bytes());
            }
            blocks.resize(start + block, 0);
        }
        Self { covered, distance, dim, degree, block, blocks, upper, entry: entry.map(|(_, s)| s), quantizer }
    }

    /// Prepares `query` (unit length for cosine) for [`Graph::search`].
    pub fn prepare(&self, query: &[f32]) -> GraphQuery {
        let query_sq = if self.distance == Distance::L2 { simd::dot(query, query) } else { 0.0 };
        GraphQuery { prepared: self.quantizer.prepare_query(query), query_sq }
    }

    fn block(&self, slot: u32) -> &[u8] {
        let start = slot as usize * self.block;
        &self.blocks[start..start + self.block]
    }

    /// The approximate distance (smaller is closer) of `q` to `slot`, from its codes.
    fn distance(&self, q: &GraphQuery, slot: u32) -> f32 {
        let b = self.block(slot);
        let d = q.prepared.dot(&b[4..4 + self.dim]);
        match self.distance {
            Distance::Cosine => 1.0 - d,
            Distance::Dot => -d,
            Distance::L2 => q.query_sq + f32::from_le_bytes([b[0], b[1], b[2], b[3]]) - 2.0 * d,
        }
    }

    /// Copies `slot`'s layer-0 neighbours into `out`; answers how many.
    fn neighbours0(&self, slot: u32, out: &mut [u32]) -> usize {
        let b = self.block(slot);
        let at = 4 + self.dim;
        let count = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        let count = count.min(self.degree).min(out.len());
        for (i, o) in out.iter_mut().take(count).enumerate() {
            let p = at + 4 + 4 * i;
            *o = u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]);
        }
        count
    }

    /// Starts loading what measuring `slot` reads first (its term and the start of its
    /// codes) into the caches; its neighbours, read only if it is expanded, are fetched
    /// then.
    fn warm(&self, slot: u32) {
        simd::prefetch(&self.block(slot)[..(WARM_LINES * LINE).min(4 + self.dim)]);
    }

    /// The `ef` nearest slots to `q` that `accept` lets through, nearest first, by code
    /// distance. Rejected slots are still walked through (they connect the graph).
    pub fn search(&self, q: &GraphQuery, ef: usize, accept: &dyn Fn(u32) -> bool) -> Vec<(Dist, u32)> {
        let distance = |s: u32| self.distance(q, s);
        let Some(mut entry) = self.entry else { return Vec::new() };
        let mut d_entry = Dist(distance(entry));
        for layer in self.upper.iter().rev() {
            loop {
                let mut moved = false;
                for &n in layer.get(&entry).map(Vec::as_slice).unwrap_or(&[]) {
                    let d = Dist(distance(n));
                    if d < d_entry {
                        (entry, d_entry, moved) = (n, d, true);
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        VISITED.with(|v| {
            let mut visited = v.borrow_mut();
            let epoch = visited.next(self.covered as usize);
            let mut candidates: BinaryHeap<Reverse<(Dist, u32)>> = BinaryHeap::new();
            let mut results: BinaryHeap<(Dist, u32)> = BinaryHeap::new();
            visited.mark(entry, epoch);
            candidates.push(Reverse((d_entry, entry)));
            if accept(entry) {
                results.push((d_entry, entry));
            }
            while let Some(Reverse((d, slot))) = candidates.pop() {
                if results.len() >= ef && results.peek().is_some_and(|(worst, _)| d > *worst) {
                    break;
                }
                let mut fresh = [0u32; 128];
                let listed = self.neighbours0(slot, &mut fresh);
                for &n in &fresh[..listed] {
                    visited.warm(n);
                }
                let mut count = 0;
                for i in 0..listed {
                    let n = fresh[i];
                    if visited.mark(n, epoch) {
                        fresh[count] = n;
                        count += 1;
                    }
                }
                // Loading the first blocks before measuring any lets the CPU fetch them
                // from memory in parallel; each measure then fetches one further ahead.
                for &n in fresh.iter().take(count.min(AHEAD)) {
                    self.warm(n);
                }
                for (i, &n) in fresh[..count].iter().enumerate() {
                    if let Some(&next) = fresh[..count].get(i + AHEAD) {
                        self.warm(next);
                    }
                    let dn = Dist(distance(n));
                    let worst = results.peek().map(|(w, _)| *w);
                    if results.len() < ef || worst.is_some_and(|w| dn < w) {
                        candidates.push(Reverse((dn, n)));
                        if accept(n) {
                            results.push((dn, n));
                            if results.len() > ef {
                                results.pop();
                            }
                        }
                    }
                }
            }
            let mut out = results.into_vec();
            out.sort_unstable();
            out
        })
    }
}

/// An epoch-stamped visited set: marking needs no clearing between searches.
#[derive(Default)]
struct Visited {
    stamps: Vec<u32>,
    epoch: u32,
}

impl Visited {
    fn next(&mut self, size: usize) -> u32 {
        if self.stamps.len() < size {
            self.stamps.resize(size, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
        self.epoch
    }

    /// Starts loading `slot`'s stamp into the caches.
    fn warm(&self, slot: u32) {
        if let Some(stamp) = self.stamps.get(slot as usize) {
            simd::prefetch(std::slice::from_ref(stamp));
        }
    }

    /// Marks `slot`; false when it was already marked in this epoch.
    fn mark(&mut self, slot: u32, epoch: u32) -> bool {
        match self.stamps.get_mut(slot as usize) {
            Some(s) if *s != epoch => {
                *s = epoch;
                true
            }
            _ => false,
        }
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::default());
}
