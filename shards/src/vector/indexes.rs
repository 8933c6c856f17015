//! The in-memory side of a shard's vector namespaces: each namespace's index, loaded from
//! the landed records the first time it is used or written, then kept in step by every
//! applied write's [`Change`]s.

use super::index::NamespaceIndex;
use super::stored::{Change, settings};
use super::{ann, record};
use crate::error::{Error, Result};
use crate::keys::{self, Space};
use std::collections::HashMap;
use std::path::PathBuf;

/// The in-memory indexes of a shard's vector namespaces (those used since it opened).
#[derive(Default)]
pub struct Indexes {
    loaded: HashMap<String, NamespaceIndex>,
    /// Where the namespaces' HNSW graphs are saved, if anywhere.
    graph_dir: Option<PathBuf>,
}

impl Indexes {
    /// No namespace loaded yet; graphs saved under `graph_dir` when set.
    pub fn new(graph_dir: Option<PathBuf>) -> Self {
        Self { loaded: HashMap::new(), graph_dir }
    }

    /// Asks every loaded namespace's graph builder to save its graph.
    pub fn save_graphs(&self) {
        self.loaded.values().for_each(NamespaceIndex::save_graph);
    }

    /// Mirrors landed changes (already in `tree`) in memory. A namespace written here that
    /// is not loaded yet is loaded now, from `tree`, which holds these changes already:
    /// every replica keeps the graph of every namespace written to it warm (building as
    /// adds land), so a follower can serve searches at once rather than build its whole
    /// graph at its first search.
    pub fn apply(&mut self, tree: &sled::Tree, changes: Vec<Change>) -> Result<()> {
        let mut fresh: Vec<String> = Vec::new();
        for change in changes {
            let namespace = match &change {
                Change::Settings(s) => &s.name,
                Change::Upsert { namespace, .. } | Change::Remove { namespace, .. } => namespace,
            };
            if fresh.iter().any(|f| f == namespace) {
                continue; // loaded from `tree` with this change in it
            }
            if !self.loaded.contains_key(namespace) {
                let namespace = namespace.clone();
                self.ensure_loaded(tree, &namespace)?;
                fresh.push(namespace);
                continue;
            }
            match change {
                Change::Settings(s) => {
                    if let Some(ix) = self.loaded.get(&s.name)
                        && ix.dim() != s.dim as usize
                    {
                        self.loaded.remove(&s.name); // reloaded with the new dimension
                    }
                }
                Change::Upsert { namespace, record, seq } => {
                    if let Some(ix) = self.loaded.get_mut(&namespace) {
                        ix.upsert(&record, seq)?;
                    }
                }
                Change::Remove { namespace, node_id } => {
                    if let Some(ix) = self.loaded.get_mut(&namespace) {
                        ix.remove(&node_id);
                        if ix.dead_fraction() > 0.5 {
                            ix.compact();
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Loads `namespace` from the landed records if it is not loaded yet.
    /// A loaded namespace whose graph builder broke gets a new builder.
    pub fn ensure_loaded(&mut self, tree: &sled::Tree, namespace: &str) -> Result<()> {
        if let Some(ix) = self.loaded.get_mut(namespace) {
            ix.restart_broken_builder();
            return Ok(());
        }
        let Some(s) = settings(tree, namespace)? else { return Ok(()) };
        let mut ix = match &self.graph_dir {
            Some(dir) if s.dim > 0 => {
                NamespaceIndex::with_saved_graph(s.dim as usize, s.distance, ann::saved::namespace_dir(dir, namespace))
            }
            _ => NamespaceIndex::new(s.dim as usize, s.distance),
        };
        let prefix = keys::prefix(Space::VectorRecord, namespace);
        for item in tree.scan_prefix(&prefix) {
            let (k, v) = item?;
            let node_id = std::str::from_utf8(&k[prefix.len()..])
                .map_err(|_| Error::Corrupt("vector key is not UTF-8".into()))?;
            let seq = keys::read_u64(&v).ok_or_else(|| Error::Corrupt("vector record without sequence".into()))?;
            ix.load_record(&record::decode(node_id, &v[8..])?, seq)?;
        }
        ix.finish_load();
        if ix.dead_fraction() > 0.5 {
            ix.compact();
        }
        self.loaded.insert(namespace.to_string(), ix);
        Ok(())
    }

    /// Whether `namespace` is loaded with a sound graph builder (else
    /// [`Indexes::ensure_loaded`] has work to do).
    pub fn is_ready(&self, namespace: &str) -> bool {
        self.loaded.get(namespace).is_some_and(|ix| ix.builder_state() != Some(ann::BuilderState::Broken))
    }

    /// The loaded index of `namespace`.
    pub fn get(&self, namespace: &str) -> Option<&NamespaceIndex> {
        self.loaded.get(namespace)
    }

    /// The figures of every loaded namespace (none is loaded for this).
    pub fn loaded_stats(&self) -> Vec<(String, strata_api::VectorIndexStats)> {
        self.loaded.iter().map(|(name, ix)| (name.clone(), ix.stats())).collect()
    }
}
