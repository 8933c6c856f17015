//! What a backup counts in each group it holds: the manifest's item counts, recounted by
//! `verify` from the images and compared after a deep restore.

use crate::keys::Space;
use crate::vector::INTERNAL_PREFIX;
use serde::{Deserialize, Serialize};

/// Items of one group (or of a whole backup, summed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items {
    /// KV entries (documents, their metadata and ref-doc infos, index structs, plain KV).
    pub kv_entries: u64,
    /// Chat store keys.
    pub chat_keys: u64,
    /// Chat messages.
    pub chat_messages: u64,
    /// Vectors of client namespaces.
    pub vectors: u64,
    /// Property graph nodes.
    pub graph_nodes: u64,
    /// Property graph relations (counted where they are stored, with their source).
    pub graph_relations: u64,
    /// Triplet store subjects.
    pub triplet_subjects: u64,
}

impl Items {
    /// Counts the record under `key`, if it is an item.
    pub fn count(&mut self, key: &[u8]) {
        let Some(&tag) = key.first() else { return };
        let n = match tag {
            t if t == Space::KvEntry as u8 => &mut self.kv_entries,
            t if t == Space::ChatKeyEntry as u8 => &mut self.chat_keys,
            t if t == Space::ChatMessage as u8 => &mut self.chat_messages,
            t if t == Space::VectorRecord as u8 => {
                let internal = crate::keys::split_name(key).is_some_and(|(ns, _)| ns.starts_with(INTERNAL_PREFIX));
                if internal {
                    return;
                }
                &mut self.vectors
            }
            t if t == Space::GraphNode as u8 => &mut self.graph_nodes,
            t if t == Space::GraphOut as u8 => &mut self.graph_relations,
            t if t == Space::GraphSubject as u8 => &mut self.triplet_subjects,
            _ => return,
        };
        *n += 1;
    }

    /// Adds another group's counts.
    pub fn add(&mut self, o: &Items) {
        self.kv_entries += o.kv_entries;
        self.chat_keys += o.chat_keys;
        self.chat_messages += o.chat_messages;
        self.vectors += o.vectors;
        self.graph_nodes += o.graph_nodes;
        self.graph_relations += o.graph_relations;
        self.triplet_subjects += o.triplet_subjects;
    }

    /// All items.
    pub fn total(&self) -> u64 {
        self.kv_entries
            + self.chat_keys
            + self.chat_messages
            + self.vectors
            + self.graph_nodes
            + self.graph_relations
            + self.triplet_subjects
    }
}
