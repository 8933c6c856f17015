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
//!
//! | module | job |
//! | --- | --- |
//! | `lifecycle` | loading a saved graph, the graph builder's start, state, saves and stats |
//! | `planner` | which search a query gets (exact scan, graph walk, MMR) and the scans themselves |
//! | `restriction` | which stored vectors a search may return (node ids, documents, filters) |
//! | `checks` | vector checks and f64 similarities (what LlamaIndex computes in numpy) |

mod checks;
mod lifecycle;
mod planner;
mod restriction;

pub use checks::{check_records, check_vector, dot64, norm64, similarity};
pub use planner::{EF_GROWS_FROM, EF_SEARCH, base_ef};
pub use restriction::Restriction;

use super::ann::saved;
use super::ann::{Ann, SaveTo};
use super::postings::Postings;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use strata_api::{Distance, Error, VectorRecord};

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
}
