//! A compact, immutable copy of an hnsw_rs graph and the search over it.
//!
//! hnsw_rs builds a good graph, but its own search is several times slower than
//! hnswlib's (per-neighbour locks, `Arc` clones, a hashed visited set), so queries walk
//! this copy instead: layer 0 as one CSR array of slot numbers, upper layers as small
//! maps, an epoch-stamped visited array reused per thread, and `(distance, slot)` heaps.

use hnsw_rs::prelude::Hnsw;
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// How many neighbours ahead of the one being measured are being fetched.
const AHEAD: usize = 2;

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

/// The searchable copy of a graph over slots `0..covered`.
#[derive(Debug, Default)]
pub struct Graph {
    /// Slots `0..covered` are in the graph.
    pub covered: u32,
    offsets0: Vec<u32>,
    adjacency0: Vec<u32>,
    upper: Vec<HashMap<u32, Vec<u32>>>,
    entry: Option<u32>,
}

impl Graph {
    /// Copies `hnsw`'s graph, whose points are slots `0..covered`.
    pub fn export<D>(hnsw: &Hnsw<'static, f32, D>, covered: u32) -> Self
    where
        D: hnsw_rs::anndists::dist::Distance<f32> + Send + Sync,
    {
        let n = covered as usize;
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
        }
        let mut offsets0 = Vec::with_capacity(n + 1);
        let mut adjacency0 = Vec::with_capacity(layer0.iter().map(Vec::len).sum());
        offsets0.push(0);
        for ids in layer0 {
            adjacency0.extend(ids);
            offsets0.push(adjacency0.len() as u32);
        }
        Self { covered, offsets0, adjacency0, upper, entry: entry.map(|(_, s)| s) }
    }

    fn neighbours0(&self, slot: u32) -> &[u32] {
        let (a, b) = (self.offsets0[slot as usize] as usize, self.offsets0[slot as usize + 1] as usize);
        &self.adjacency0[a..b]
    }

    /// The `ef` nearest slots that `accept` lets through, nearest first, by `distance`.
    /// Rejected slots are still walked through (they connect the graph). `warm(slot)` is
    /// called on each neighbour about to be measured, before any of them is: loading the
    /// start of every vector first lets the CPU fetch them from memory in parallel.
    pub fn search(
        &self,
        distance: &dyn Fn(u32) -> f32,
        warm: &dyn Fn(u32),
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(Dist, u32)> {
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
                let mut fresh = [0u32; 64];
                let mut count = 0;
                for &n in self.neighbours0(slot) {
                    if count < fresh.len() && visited.mark(n, epoch) {
                        fresh[count] = n;
                        count += 1;
                    }
                }
                for &n in fresh.iter().take(count.min(AHEAD)) {
                    warm(n);
                }
                for (i, &n) in fresh[..count].iter().enumerate() {
                    if let Some(&next) = fresh[..count].get(i + AHEAD) {
                        warm(next);
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
