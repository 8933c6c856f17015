//! One namespace's vectors in memory, derived from the shard's records (the truth stays
//! in sled): a slot per stored vector with its node id, metadata (parsed once, for
//! filters), source document, insertion sequence and the stored metadata and node texts
//! (so a search answers without reading a record); the vectors contiguous in one
//! `Vec<f32>` with their norms. A replaced or deleted vector's slot is a tombstone until
//! [`NamespaceIndex::compact`] sweeps it.
//!
//! [`NamespaceIndex::search`] plans each query: an exact scan (similarities in f64 from
//! the stored f32 components, as LlamaIndex computes them in numpy) for small namespaces,
//! node-id lists and selective filters; otherwise a walk of the HNSW graph
//! ([`super::ann`]) with the filter applied on the way, plus an exact scan of the slots
//! the published graph does not cover yet; the winners are re-scored exactly.

use super::ann::saved::{self, Loaded, LoadedSearch};
use super::ann::{Ann, BuilderState, PARK_AFTER, SaveTo, graph::Dist};
use super::filter;
use super::mmr;
use super::postings::Postings;
use super::pyheap;
use super::simd;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use strata_api::{Distance, Error, MetadataFilters, VectorRecord};

/// One stored vector.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The node id.
    pub node_id: Arc<str>,
    /// Its source document.
    pub ref_doc_id: Option<Arc<str>>,
    /// Its filterable metadata.
    pub metadata: Arc<Map<String, Value>>,
    /// The metadata as stored (JSON text): what a hit returns.
    pub metadata_text: Arc<str>,
    /// The node as stored (JSON text), if any: what a hit returns.
    pub node_text: Option<Arc<str>>,
    /// Insertion order (LlamaIndex's dict order).
    pub seq: u64,
    /// False once replaced or deleted.
    pub alive: bool,
}

impl Slot {
    /// The live slot of `record` (stored at `seq`, its metadata parsed).
    fn live(node_id: Arc<str>, record: &VectorRecord, metadata: Map<String, Value>, seq: u64) -> Self {
        Slot {
            node_id,
            ref_doc_id: record.ref_doc_id.as_deref().map(Arc::from),
            metadata: Arc::new(metadata),
            metadata_text: Arc::from(record.metadata.as_str()),
            node_text: record.node.as_ref().map(|n| Arc::from(n.as_str())),
            seq,
            alive: true,
        }
    }
}

/// Below this many vectors a namespace is only searched exactly (no graph is built).
pub const ANN_MIN_VECTORS: usize = 2_048;
/// Candidate lists (from node ids or filters) at most this large are scanned exactly
/// (or a twentieth of the namespace, when larger).
const EXACT_MAX: usize = 4_096;
/// MMR runs over every allowed vector (as LlamaIndex does) up to this many.
const MMR_EXACT_MAX: usize = 20_000;
/// Exact scans of more candidates than this are shortlisted in f32 before f64 scoring.
const SHORTLIST_MIN: usize = 256;
/// How far (in graph distance) past the k-th candidate the exact re-scoring looks.
const RESCORE_MARGIN: f32 = 1e-3;
/// How many of the walk's finds (by code distance) are measured exactly: this many times k,
/// and at least [`RESCORE_MIN`].
const RESCORE_FACTOR: usize = 3;
/// The fewest finds measured exactly (see [`RESCORE_FACTOR`]).
const RESCORE_MIN: usize = 32;
/// The graph search's candidate list size for an unfiltered top-10 (recall@10 ≈ 0.98 on
/// real 384-d embeddings) up to [`EF_GROWS_FROM`] vectors; larger for larger k, for
/// filters and for larger graphs (see [`base_ef`]).
pub const EF_SEARCH: usize = 64;
/// Graphs larger than this get a larger `ef`: a walk over a larger graph needs a longer
/// candidate list for the same recall (64 gave 0.952 at a million vectors, 0.999 at 100k).
pub const EF_GROWS_FROM: usize = 250_000;

/// The candidate list size of an unfiltered top-10 walk over a graph of `n` vectors:
/// [`EF_SEARCH`], plus 16 for each doubling past [`EF_GROWS_FROM`] (96 at a million).
pub fn base_ef(n: usize) -> usize {
    if n <= EF_GROWS_FROM {
        return EF_SEARCH;
    }
    let doublings = (n as f64 / EF_GROWS_FROM as f64).log2();
    EF_SEARCH + (16.0 * doublings).round() as usize
}

/// A namespace's vectors.
pub struct NamespaceIndex {
    dim: usize,
    distance: Distance,
    slots: Vec<Slot>,
    vectors: Vec<f32>,
    norms: Vec<f64>,
    inv_norms: Vec<f32>,
    by_id: HashMap<Arc<str>, u32>,
    dead: usize,
    ann: Option<Ann>,
    save_to: Option<SaveTo>,
    /// While loading: the fingerprints of the saved graph's points.
    saved_fingerprints: Vec<u64>,
    /// How many stored vectors the load found in a saved graph.
    revived: usize,
    /// Slots by scalar metadata value, to narrow selective filters.
    postings: Postings,
}

/// A candidate of a search: its slot and similarity.
#[derive(Clone, Copy, Debug)]
pub struct Scored {
    /// The slot.
    pub slot: u32,
    /// Its similarity to the query.
    pub similarity: f64,
}

/// Which stored vectors a search may return.
pub struct Restriction<'a> {
    /// Only these node ids.
    pub node_ids: Option<&'a [String]>,
    /// Only these source documents.
    pub doc_ids: Option<&'a [String]>,
    /// Only vectors whose metadata passes.
    pub filters: Option<&'a MetadataFilters>,
}

impl Restriction<'_> {
    /// Whether `slot` may be returned.
    pub fn allows(&self, slot: &Slot) -> Result<bool, Error> {
        if !self.allows_ignoring_filters(slot) {
            return Ok(false);
        }
        match self.filters {
            Some(f) => filter::matches(f, &slot.metadata),
            None => Ok(true),
        }
    }

    /// Whether `slot` is alive and passes the node id and document restrictions.
    fn allows_ignoring_filters(&self, slot: &Slot) -> bool {
        if !slot.alive {
            return false;
        }
        if let Some(ids) = self.node_ids
            && !ids.iter().any(|id| **id == *slot.node_id)
        {
            return false;
        }
        if let Some(docs) = self.doc_ids {
            let Some(doc) = &slot.ref_doc_id else { return false };
            if !docs.iter().any(|d| **d == **doc) {
                return false;
            }
        }
        true
    }

    /// True when nothing is restricted.
    pub fn is_open(&self) -> bool {
        self.node_ids.is_none() && self.doc_ids.is_none() && self.filters.is_none_or(|f| f.filters.is_empty())
    }
}

/// f64 dot product of two f32 slices.
pub fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

/// f64 Euclidean norm.
pub fn norm64(a: &[f32]) -> f64 {
    dot64(a, a).sqrt()
}

/// The similarity of two vectors under `distance`, given their norms (f64).
pub fn similarity(distance: Distance, a: &[f32], a_norm: f64, b: &[f32], b_norm: f64) -> f64 {
    match distance {
        Distance::Cosine => dot64(a, b) / (a_norm * b_norm),
        Distance::Dot => dot64(a, b),
        Distance::L2 => -a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt(),
    }
}

/// Checks a vector can be compared under `distance`: finite, and not all zeros for cosine.
pub fn check_vector(distance: Distance, v: &[f32], what: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::InvalidVector { what: what.to_string(), why: why.to_string() });
    if v.iter().any(|x| !x.is_finite()) {
        return bad("it has a NaN or infinite component");
    }
    if distance == Distance::Cosine && v.iter().all(|x| *x == 0.0) {
        return bad("a zero vector has no cosine similarity");
    }
    Ok(())
}

/// Checks records for `namespace` (settings `s`) before anything is written: an id, the
/// namespace's dimension, finite components (and not all zero under cosine).
pub fn check_records(s: &strata_api::VectorNamespace, records: &[VectorRecord]) -> Result<(), Error> {
    for r in records {
        if r.node_id.is_empty() {
            return Err(Error::InvalidInput("a node without an id".into()));
        }
        if r.embedding.len() != s.dim as usize {
            return Err(Error::WrongDimension { namespace: s.name.clone(), expected: s.dim, got: r.embedding.len() });
        }
        check_vector(s.distance, &r.embedding, &format!("node {}", r.node_id))?;
    }
    Ok(())
}

impl NamespaceIndex {
    /// An empty index for vectors of `dim` components.
    pub fn new(dim: usize, distance: Distance) -> Self {
        Self {
            dim,
            distance,
            slots: Vec::new(),
            vectors: Vec::new(),
            norms: Vec::new(),
            inv_norms: Vec::new(),
            by_id: HashMap::new(),
            dead: 0,
            ann: None,
            save_to: None,
            saved_fingerprints: Vec::new(),
            revived: 0,
            postings: Postings::default(),
        }
    }

    /// An empty index whose graph is saved in (and first loaded from) `dir`: call
    /// [`NamespaceIndex::load_record`] with every stored record, then
    /// [`NamespaceIndex::finish_load`].
    pub fn with_saved_graph(dim: usize, distance: Distance, dir: std::path::PathBuf) -> Self {
        Self::with_saved_graph_parking(dim, distance, dir, PARK_AFTER)
    }

    /// As [`NamespaceIndex::with_saved_graph`], the graph builder parking its graph on
    /// disk after `park_after` idle (see [`super::ann`]).
    pub fn with_saved_graph_parking(
        dim: usize,
        distance: Distance,
        dir: std::path::PathBuf,
        park_after: std::time::Duration,
    ) -> Self {
        let mut ix = Self::new(dim, distance);
        let save_to = SaveTo { dir, dim: dim as u32, park_after };
        // The searchable copy alone when the save has one (hnsw_rs's graph stays on disk
        // until a write needs it), else hnsw_rs's graph.
        match saved::load_search(&save_to.dir, distance, dim as u32) {
            Ok(Some(loaded)) => {
                ix.adopt_search(loaded, save_to.clone());
                ix.save_to = Some(save_to);
                return ix;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(dir = %save_to.dir.display(), error = %e, "ignoring a saved search graph");
            }
        }
        match saved::load(&save_to.dir, distance, dim as u32) {
            Ok(Some(loaded)) => ix.adopt(loaded, save_to.clone()),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(dir = %save_to.dir.display(), error = %e, "ignoring a saved HNSW graph (rebuilding it)");
            }
        }
        ix.save_to = Some(save_to);
        ix
    }

    /// Takes a saved graph's searchable copy: its points become tombstone slots, revived
    /// by [`NamespaceIndex::load_record`] (vectors and all) when the record they stand for
    /// is still stored.
    fn adopt_search(&mut self, loaded: LoadedSearch, save_to: SaveTo) {
        let LoadedSearch { graph, manifest } = loaded;
        let n = manifest.node_ids.len();
        self.vectors = vec![0.0; n * self.dim];
        self.norms = vec![0.0; n];
        self.inv_norms = vec![0.0; n];
        let names = self.add_tombstones(manifest);
        self.ann = Some(Ann::resume_parked(self.distance, graph, names, save_to));
    }

    /// Adds a tombstone slot per point of a saved graph; answers the points' names.
    fn add_tombstones(&mut self, manifest: saved::Manifest) -> Vec<(Arc<str>, u64)> {
        let empty = Arc::new(Map::new());
        let empty_text: Arc<str> = Arc::from("{}");
        let mut names = Vec::with_capacity(manifest.node_ids.len());
        for (i, (node_id, fp)) in manifest.node_ids.into_iter().zip(manifest.fingerprints).enumerate() {
            let node_id: Arc<str> = Arc::from(node_id);
            // Only a node's last point can be live (earlier ones were replaced).
            self.by_id.insert(node_id.clone(), i as u32);
            self.slots.push(Slot {
                node_id: node_id.clone(),
                ref_doc_id: None,
                metadata: empty.clone(),
                metadata_text: empty_text.clone(),
                node_text: None,
                seq: 0,
                alive: false,
            });
            names.push((node_id, fp));
        }
        self.dead = names.len();
        self.saved_fingerprints = names.iter().map(|(_, fp)| *fp).collect();
        names
    }

    /// Takes a saved graph: its points become tombstone slots, revived by
    /// [`NamespaceIndex::load_record`] when the record they stand for is still stored.
    fn adopt(&mut self, loaded: Loaded, save_to: SaveTo) {
        let Loaded { hnsw, manifest } = loaded;
        let n = manifest.node_ids.len();
        self.vectors = vec![0.0; n * self.dim];
        for point in hnsw.get_point_indexation() {
            let (slot, v) = (point.get_origin_id(), point.get_v());
            if slot >= n || v.len() != self.dim {
                tracing::warn!(dir = %save_to.dir.display(), "a saved HNSW graph does not match its manifest");
                *self = Self::new(self.dim, self.distance);
                return;
            }
            self.vectors[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(v);
        }
        let names = self.add_tombstones(manifest);
        for i in 0..n {
            let norm = norm64(&self.vectors[i * self.dim..(i + 1) * self.dim]);
            self.norms.push(norm);
            self.inv_norms.push(if norm > 0.0 { (1.0 / norm) as f32 } else { 0.0 });
        }
        self.ann = Some(Ann::resume(self.distance, hnsw, names, Some(save_to)));
    }

    /// Adds a stored record while loading: it revives the saved graph's point for it when
    /// that point holds this very vector, else it is inserted anew.
    pub fn load_record(&mut self, record: &VectorRecord, seq: u64) -> Result<u32, Error> {
        if let Some(&slot) = self.by_id.get(record.node_id.as_str()) {
            let i = slot as usize;
            let fp = saved::fingerprint(&record.embedding);
            if !self.slots[i].alive && self.saved_fingerprints.get(i) == Some(&fp) {
                let metadata = record.metadata.to_map()?;
                self.postings.add(slot, &metadata);
                self.slots[i] = Slot::live(self.slots[i].node_id.clone(), record, metadata, seq);
                self.vectors[i * self.dim..(i + 1) * self.dim].copy_from_slice(&record.embedding);
                let norm = norm64(&record.embedding);
                self.norms[i] = norm;
                self.inv_norms[i] = if norm > 0.0 { (1.0 / norm) as f32 } else { 0.0 };
                self.dead -= 1;
                self.revived += 1;
                return Ok(slot);
            }
            // A point of an older vector of this node: it stays a tombstone.
            self.by_id.remove(record.node_id.as_str());
        }
        self.upsert(record, seq)
    }

    /// Ends a load: forgets the saved points no record revived.
    pub fn finish_load(&mut self) {
        self.by_id.retain(|_, slot| self.slots[*slot as usize].alive);
        self.saved_fingerprints = Vec::new();
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many live vectors.
    pub fn len(&self) -> usize {
        self.slots.len() - self.dead
    }

    /// True without live vectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slots (tombstones included).
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The vector of `slot`.
    pub fn vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    /// Adds (or replaces) a record's vector; `seq` is its insertion position.
    pub fn upsert(&mut self, record: &VectorRecord, seq: u64) -> Result<u32, Error> {
        let metadata = record.metadata.to_map()?;
        self.remove(&record.node_id);
        let slot = self.slots.len() as u32;
        let node_id: Arc<str> = Arc::from(record.node_id.as_str());
        self.postings.add(slot, &metadata);
        self.slots.push(Slot::live(node_id.clone(), record, metadata, seq));
        self.vectors.extend_from_slice(&record.embedding);
        let norm = norm64(&record.embedding);
        self.norms.push(norm);
        self.inv_norms.push(if norm > 0.0 { (1.0 / norm) as f32 } else { 0.0 });
        self.by_id.insert(node_id, slot);
        if self.restart_broken_builder() {
            return Ok(slot); // the new builder got every slot, this one too
        }
        match &self.ann {
            Some(ann) => ann.insert(
                slot,
                self.build_vector(slot),
                self.slots[slot as usize].node_id.clone(),
                saved::fingerprint(&record.embedding),
            ),
            None if self.len() >= ANN_MIN_VECTORS => self.start_ann(),
            None => {}
        }
        Ok(slot)
    }

    /// What the graph builder gets for `slot`: the vector, unit length for cosine.
    fn build_vector(&self, slot: u32) -> Vec<f32> {
        let v = self.vector(slot);
        match self.distance {
            Distance::Cosine => {
                let inv = self.inv_norms[slot as usize];
                v.iter().map(|x| x * inv).collect()
            }
            _ => v.to_vec(),
        }
    }

    /// Starts a graph builder and hands it every slot so far.
    fn start_ann(&mut self) {
        let ann = Ann::start(self.distance, self.slots.len() * 2, self.save_to.clone());
        for slot in 0..self.slots.len() as u32 {
            let fp = saved::fingerprint(self.vector(slot));
            ann.insert(slot, self.build_vector(slot), self.slots[slot as usize].node_id.clone(), fp);
        }
        self.ann = Some(ann);
    }

    /// Where the graph builder's own graph is (`None` without a builder).
    pub fn builder_state(&self) -> Option<BuilderState> {
        self.ann.as_ref().map(Ann::builder_state)
    }

    /// Waits (at most `timeout`) until the graph builder is in state `wanted`; answers
    /// whether it is.
    pub fn wait_builder(&self, wanted: BuilderState, timeout: std::time::Duration) -> bool {
        self.ann.as_ref().is_some_and(|a| a.wait_builder(wanted, timeout))
    }

    /// Starts a new graph builder in place of a broken one (see [`super::ann`]); answers
    /// whether it did.
    pub fn restart_broken_builder(&mut self) -> bool {
        if self.builder_state() != Some(BuilderState::Broken) {
            return false;
        }
        self.start_ann();
        true
    }

    /// Asks the graph builder to save the graph (when there is one to save).
    pub fn save_graph(&self) {
        if let Some(ann) = &self.ann {
            ann.save();
        }
    }

    /// Saves the graph and waits (at most `timeout`); answers whether the saved graph
    /// holds every vector stored so far.
    pub fn save_graph_and_wait(&self, timeout: std::time::Duration) -> bool {
        self.ann.as_ref().is_some_and(|a| a.save_and_wait(timeout))
    }

    /// How many of the stored vectors were found in a saved graph when the namespace was
    /// loaded (the others were inserted anew).
    pub fn revived(&self) -> usize {
        self.revived
    }

    /// The index's progress.
    pub fn stats(&self) -> strata_api::VectorIndexStats {
        let unindexed = match &self.ann {
            Some(ann) => {
                let covered = ann.graph().map_or(0, |g| g.covered as usize);
                self.slots.iter().skip(covered).filter(|s| s.alive).count()
            }
            None => 0,
        };
        strata_api::VectorIndexStats {
            vectors: self.len() as u64,
            unindexed: unindexed as u64,
            tombstones: self.dead as u64,
            revived: self.revived as u64,
            parked: u64::from(self.builder_state() == Some(BuilderState::Parked)),
        }
    }

    /// How many slots the searchable graph covers now.
    pub fn graph_covered(&self) -> u32 {
        self.ann.as_ref().and_then(Ann::graph).map_or(0, |g| g.covered)
    }

    /// Waits (at most `timeout`) until the graph covers every vector stored so far;
    /// answers whether it does (false for a namespace too small to have one).
    pub fn wait_indexed(&self, timeout: std::time::Duration) -> bool {
        self.ann.as_ref().is_some_and(|a| a.wait_covering(self.slots.len() as u32, timeout))
    }

    /// Tombstones `node_id`'s vector; answers whether there was one.
    pub fn remove(&mut self, node_id: &str) -> bool {
        match self.by_id.remove(node_id) {
            Some(slot) => {
                self.slots[slot as usize].alive = false;
                self.dead += 1;
                true
            }
            None => false,
        }
    }

    /// The slot holding `node_id`.
    pub fn slot_of(&self, node_id: &str) -> Option<u32> {
        self.by_id.get(node_id).copied()
    }

    /// Fraction of slots that are tombstones.
    pub fn dead_fraction(&self) -> f64 {
        if self.slots.is_empty() { 0.0 } else { self.dead as f64 / self.slots.len() as f64 }
    }

    /// Drops the tombstones (slots are renumbered, and the graph is rebuilt).
    pub fn compact(&mut self) {
        let mut fresh = NamespaceIndex::new(self.dim, self.distance);
        fresh.save_to = self.save_to.clone();
        for (i, slot) in self.slots.iter().enumerate() {
            if !slot.alive {
                continue;
            }
            let n = fresh.slots.len() as u32;
            fresh.postings.add(n, &slot.metadata);
            fresh.slots.push(slot.clone());
            fresh.vectors.extend_from_slice(self.vector(i as u32));
            fresh.norms.push(self.norms[i]);
            fresh.inv_norms.push(self.inv_norms[i]);
            fresh.by_id.insert(slot.node_id.clone(), n);
        }
        if fresh.len() >= ANN_MIN_VECTORS {
            fresh.start_ann();
        }
        *self = fresh;
    }

    /// Similarity of `query` (with norm `query_norm`) to `slot`.
    pub fn score(&self, query: &[f32], query_norm: f64, slot: u32) -> f64 {
        similarity(self.distance, query, query_norm, self.vector(slot), self.norms[slot as usize])
    }

    /// Similarity between two stored vectors.
    pub fn pair_similarity(&self, a: u32, b: u32) -> f64 {
        similarity(self.distance, self.vector(a), self.norms[a as usize], self.vector(b), self.norms[b as usize])
    }

    /// Every allowed live slot, in insertion order.
    pub fn allowed(&self, restriction: &Restriction<'_>) -> Result<Vec<u32>, Error> {
        let mut out = self.allowed_in_slot_order(restriction)?;
        out.sort_by_key(|s| self.slots[*s as usize].seq);
        Ok(out)
    }

    /// Every allowed live slot, by slot (node ids: in the order given). Filters are read
    /// from the metadata postings where they bound them exactly, and evaluated on the
    /// candidates the postings leave (or on every slot) otherwise.
    fn allowed_in_slot_order(&self, restriction: &Restriction<'_>) -> Result<Vec<u32>, Error> {
        let mut out = Vec::new();
        if let Some(ids) = restriction.node_ids {
            // Look the ids up instead of scanning every slot.
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if let Some(slot) = self.slot_of(id)
                    && seen.insert(slot)
                    && restriction.allows(&self.slots[slot as usize])?
                {
                    out.push(slot);
                }
            }
            return Ok(out);
        }
        match restriction.filters.and_then(|f| self.postings.candidates(f)) {
            Some(bound) if bound.exact => {
                out = bound.slots;
                out.retain(|s| restriction.allows_ignoring_filters(&self.slots[*s as usize]));
            }
            Some(bound) => {
                for s in bound.slots {
                    if restriction.allows(&self.slots[s as usize])? {
                        out.push(s);
                    }
                }
            }
            None => {
                for (i, slot) in self.slots.iter().enumerate() {
                    if restriction.allows(slot)? {
                        out.push(i as u32);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The `k` most similar of `candidates` (all when `k` exceeds them), best first; at
    /// the cut equal similarities keep the later id, and within the answer they come in
    /// the order LlamaIndex's heap leaves them (see [`pyheap`]).
    pub fn top_k(&self, query: &[f32], candidates: &[u32], k: usize) -> Vec<Scored> {
        let scored = self.top_k_by_similarity(query, candidates, k);
        if !scored.windows(2).any(|w| w[0].similarity == w[1].similarity) {
            return scored;
        }
        // Ties: LlamaIndex's order depends on every candidate, in insertion order.
        let mut in_order = candidates.to_vec();
        in_order.sort_by_key(|s| self.slots[*s as usize].seq);
        let qn = norm64(query);
        let entries: Vec<pyheap::Entry<'_>> =
            in_order.iter().map(|s| (self.score(query, qn, *s), &*self.slots[*s as usize].node_id)).collect();
        pyheap::llamaindex_top_k(&entries, k)
            .into_iter()
            .map(|i| Scored { slot: in_order[i], similarity: entries[i].0 })
            .collect()
    }

    fn top_k_by_similarity(&self, query: &[f32], candidates: &[u32], k: usize) -> Vec<Scored> {
        let shortlist;
        let candidates =
            if k > 0 && candidates.len() > SHORTLIST_MIN.max(k.saturating_mul(4)) && self.distance != Distance::L2 {
                shortlist = self.shortlist(query, candidates, k);
                shortlist.as_slice()
            } else {
                candidates
            };
        let qn = norm64(query);
        let mut scored: Vec<Scored> =
            candidates.iter().map(|s| Scored { slot: *s, similarity: self.score(query, qn, *s) }).collect();
        let by_rank = |a: &Scored, b: &Scored| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| self.slots[b.slot as usize].node_id.cmp(&self.slots[a.slot as usize].node_id))
        };
        if k < scored.len() {
            scored.select_nth_unstable_by(k, by_rank);
            scored.truncate(k);
        }
        scored.sort_by(by_rank);
        scored
    }

    /// The candidates whose f32 similarity (one SIMD pass) is within a wide margin of the
    /// k-th best: f32 and f64 agree to ~1e-6, so the exact top k is among them and only
    /// they are scored in f64. Cosine and dot only (`k` > 0).
    fn shortlist(&self, query: &[f32], candidates: &[u32], k: usize) -> Vec<u32> {
        let qn = norm64(query);
        let (q, margin): (Vec<f32>, f32) = match self.distance {
            Distance::Cosine => (query.iter().map(|x| (f64::from(*x) / qn) as f32).collect(), RESCORE_MARGIN),
            _ => {
                let widest = candidates.iter().map(|s| self.norms[*s as usize]).fold(0.0f64, f64::max);
                (query.to_vec(), RESCORE_MARGIN * (qn * widest) as f32)
            }
        };
        let mut measured: Vec<(Dist, u32)> = Vec::with_capacity(candidates.len());
        for (i, s) in candidates.iter().enumerate() {
            if let Some(ahead) = candidates.get(i + 2) {
                simd::prefetch(self.vector(*ahead));
            }
            measured.push((Dist(self.graph_distance(&q, 0.0, *s)), *s));
        }
        let kth = measured.select_nth_unstable(k - 1).1.0.0;
        let cut = kth + margin;
        measured.into_iter().filter(|(d, _)| d.0 <= cut).map(|(_, s)| s).collect()
    }

    /// The graph distance of `query` (unit length for cosine, with `query_sq` its squared
    /// norm for L2) to `slot`: smaller is closer, same order as the similarity.
    fn graph_distance(&self, query: &[f32], query_sq: f32, slot: u32) -> f32 {
        let d = simd::dot(query, self.vector(slot));
        match self.distance {
            Distance::Cosine => 1.0 - d * self.inv_norms[slot as usize],
            Distance::Dot => -d,
            Distance::L2 => {
                let n = self.norms[slot as usize] as f32;
                query_sq + n * n - 2.0 * d
            }
        }
    }

    /// Searches: the top `k` allowed vectors (or LlamaIndex's MMR when `mmr` is λ),
    /// exactly or through the graph (see the module docs).
    pub fn search(
        &self,
        query: &[f32],
        restriction: &Restriction<'_>,
        k: usize,
        mmr: Option<f64>,
    ) -> Result<Vec<Scored>, Error> {
        if k >= self.len() {
            // Every vector may be wanted (LlamaIndex's `similarity_top_k=None`): scan.
            return self.search_exact(query, restriction, k, mmr);
        }
        let graph = self.ann.as_ref().and_then(Ann::graph);
        let Some(graph) = graph.filter(|_| restriction.node_ids.is_none() && k > 0) else {
            return self.search_exact(query, restriction, k, mmr);
        };
        // Few allowed vectors are scanned exactly; otherwise the walk skips what is not
        // allowed (a mask from the filters, or only tombstones).
        let exact_max = EXACT_MAX.max(self.len() / 20);
        let exact_enough = |allowed: usize| allowed <= exact_max || (mmr.is_some() && allowed <= MMR_EXACT_MAX);
        let (mask, allowed) = if restriction.is_open() {
            if exact_enough(self.len()) {
                return self.search_exact(query, restriction, k, mmr);
            }
            (None, self.len())
        } else {
            let mut list = self.allowed_in_slot_order(restriction)?;
            if exact_enough(list.len()) {
                list.sort_by_key(|s| self.slots[*s as usize].seq);
                return Ok(self.rank(query, &list, k, mmr));
            }
            let mut mask = vec![false; self.slots.len()];
            for s in &list {
                mask[*s as usize] = true;
            }
            (Some(mask), list.len())
        };
        let want = if mmr.is_some() { super::mmr_candidates(k) } else { k };
        let selectivity = allowed as f64 / self.len().max(1) as f64;
        let ef = ((base_ef(graph.covered as usize).max(2 * want) as f64) / selectivity.max(0.05)).ceil() as usize;
        let unit: Vec<f32>;
        let (q, q_sq) = match self.distance {
            Distance::Cosine => {
                let inv = (1.0 / norm64(query)) as f32;
                unit = query.iter().map(|x| x * inv).collect();
                (unit.as_slice(), 0.0)
            }
            Distance::Dot => (query, 0.0),
            Distance::L2 => (query, simd::dot(query, query)),
        };
        let all_alive = self.dead == 0 && mask.is_none();
        let accept =
            |s: u32| all_alive || (self.slots[s as usize].alive && mask.as_ref().is_none_or(|m| m[s as usize]));
        // Walk on the codes, then measure the walk's first finds exactly: codes misplace
        // a vector by ~1e-3 at most, so the exact top k is among the first few k.
        let mut walked = graph.search(&graph.prepare(q), ef, &accept);
        walked.truncate(if mmr.is_some() { walked.len() } else { RESCORE_MIN.max(RESCORE_FACTOR.saturating_mul(k)) });
        let mut found = Vec::with_capacity(walked.len());
        for (i, (_, s)) in walked.iter().enumerate() {
            if let Some((_, ahead)) = walked.get(i + 2) {
                simd::prefetch(self.vector(*ahead));
            }
            found.push((Dist(self.graph_distance(q, q_sq, *s)), *s));
        }
        // Slots written after the published graph: scanned exactly.
        for s in graph.covered..self.slots.len() as u32 {
            if accept(s) {
                found.push((Dist(self.graph_distance(q, q_sq, s)), s));
            }
        }
        found.sort_unstable();
        if mmr.is_none() && found.len() > k {
            // Exact re-scoring can only reorder near-ties at the cut (f32 and f64 agree to
            // ~1e-6): keep the top k and whatever is within a wide margin of the k-th.
            let cut = found[k - 1].0.0 + RESCORE_MARGIN;
            let keep = found.iter().position(|(d, _)| d.0 > cut).unwrap_or(found.len());
            found.truncate(keep);
        } else {
            found.truncate(want.max(EF_SEARCH));
        }
        let mut candidates: Vec<u32> = found.into_iter().map(|(_, s)| s).collect();
        if mmr.is_some() {
            candidates.sort_by_key(|s| self.slots[*s as usize].seq);
        }
        Ok(self.rank(query, &candidates, k, mmr))
    }

    /// Exact search: the top `k` allowed vectors (or LlamaIndex's MMR over all allowed
    /// vectors when `mmr` is λ).
    pub fn search_exact(
        &self,
        query: &[f32],
        restriction: &Restriction<'_>,
        k: usize,
        mmr: Option<f64>,
    ) -> Result<Vec<Scored>, Error> {
        let candidates = self.allowed(restriction)?;
        Ok(self.rank(query, &candidates, k, mmr))
    }

    /// The top `k` of `candidates` by exact similarity, or LlamaIndex's MMR (λ = `mmr`)
    /// over them, in which case they come in insertion order (MMR breaks ties by it).
    fn rank(&self, query: &[f32], candidates: &[u32], k: usize, mmr: Option<f64>) -> Vec<Scored> {
        match mmr {
            None => self.top_k(query, candidates, k),
            Some(lambda) => {
                let qn = norm64(query);
                let sims: Vec<f64> = candidates.iter().map(|s| self.score(query, qn, *s)).collect();
                mmr::select(&sims, k, lambda, |i, j| self.pair_similarity(candidates[i], candidates[j]))
                    .into_iter()
                    .map(|(i, score)| Scored { slot: candidates[i], similarity: score })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ef_grows_with_the_graph_past_a_quarter_million() {
        assert_eq!(base_ef(20_000), EF_SEARCH);
        assert_eq!(base_ef(EF_GROWS_FROM), EF_SEARCH);
        assert_eq!(base_ef(2 * EF_GROWS_FROM), EF_SEARCH + 16);
        assert_eq!(base_ef(1_000_000), 96);
        let sizes = [300_000, 700_000, 3_000_000, 50_000_000];
        assert!(sizes.windows(2).all(|w| base_ef(w[0]) <= base_ef(w[1])));
    }
}
