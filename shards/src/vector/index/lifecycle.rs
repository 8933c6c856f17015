//! A namespace index's graph: loading a saved one (its points matched to the stored
//! vectors by fingerprint), starting the builder, its state, saves and progress.

use super::{NamespaceIndex, Slot, norm64};
use crate::vector::ann::saved::{self, Loaded, LoadedSearch};
use crate::vector::ann::{Ann, BuilderState, PARK_AFTER, SaveTo};
use serde_json::Map;
use std::sync::Arc;
use strata_api::{Distance, Error, VectorRecord};

impl NamespaceIndex {
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

    /// What the graph builder gets for `slot`: the vector, unit length for cosine.
    pub(super) fn build_vector(&self, slot: u32) -> Vec<f32> {
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
    pub(super) fn start_ann(&mut self) {
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
}
