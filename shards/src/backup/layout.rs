//! Where a backed-up record goes: what its key says it belongs to (a KV placement key, a
//! vector namespace's or a graph's node), so a restore can send it to the group of the
//! target's layout that a fresh write of it would reach. Records derived from others or
//! kept by the replication layer are dropped (`restore` recomputes what it needs).

use crate::error::{Error, Result};
use crate::graph::keys::split;
use crate::keys::{self, Space};
use crate::placement::{CHAT_PLACEMENT, collection_placement};
use crate::vector::INTERNAL_PREFIX;

/// Where one record belongs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Derived or replication-layer state: not restored (recomputed or meaningless in a
    /// new cluster: applied indexes, remembered answers, counters).
    Drop,
    /// The next insertion position of the source group (a restore keeps the largest).
    NextSeq(u64),
    /// A KV shard's record, under this placement key (`placement::group_of`).
    Kv(String),
    /// A client vector namespace's settings (each partition of the target gets the
    /// target's settings instead).
    VectorSettings(String),
    /// A record of a client vector namespace, owned by a node id.
    Vector {
        /// The namespace.
        namespace: String,
        /// The node id (`placement::partition_of`).
        id: String,
    },
    /// A graph's internal settings record (its entity embeddings' namespace): copied to
    /// every partition of the graph.
    GraphSettings(String),
    /// A record of a graph, owned by a node id (or a triplet subject).
    Graph {
        /// The graph.
        graph: String,
        /// The owning id.
        id: String,
    },
}

/// Where the record under `key` belongs.
pub fn place(key: &[u8], value: &[u8]) -> Result<Place> {
    let corrupt = || Error::Corrupt(format!("a backed-up record with an unreadable key ({} bytes)", key.len()));
    let Some(&tag) = key.first() else { return Err(corrupt()) };
    if tag == Space::Meta as u8 {
        if key == keys::META_NEXT_SEQ {
            return keys::read_u64(value).map(Place::NextSeq).ok_or_else(corrupt);
        }
        return Ok(Place::Drop);
    }
    let (name, tail) = keys::split_name(key).ok_or_else(corrupt)?;
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| corrupt());
    let graph = |graph: String, id: &[u8]| Ok(Place::Graph { graph, id: text(id)? });
    match tag {
        t if t == Space::KvEntry as u8 => Ok(Place::Kv(collection_placement(&name).to_string())),
        t if t == Space::CollectionEntry as u8 => Ok(Place::Kv(collection_placement(&text(tail)?).to_string())),
        t if t == Space::ChatKeyEntry as u8 || t == Space::ChatMessage as u8 => Ok(Place::Kv(CHAT_PLACEMENT.into())),
        t if t == Space::VectorNamespace as u8 => Ok(match internal_graph(&name) {
            Some(g) => Place::GraphSettings(g),
            None => Place::VectorSettings(name),
        }),
        t if t == Space::VectorRecord as u8 || t == Space::VectorRefDoc as u8 => {
            let id = if t == Space::VectorRecord as u8 { tail } else { split(tail, 1).ok_or_else(corrupt)?.1 };
            match internal_graph(&name) {
                Some(g) => graph(g, id),
                None => Ok(Place::Vector { namespace: name, id: text(id)? }),
            }
        }
        t if t == Space::GraphSubject as u8 || t == Space::GraphNode as u8 => graph(name, tail),
        t if t == Space::GraphPair as u8 => {
            // `len(graph) \0 graph subject` (see `graph::triplets`).
            let (len, rest) = name.split_once('\0').ok_or_else(corrupt)?;
            let len: usize = len.parse().map_err(|_| corrupt())?;
            let (g, subject) = (rest.get(..len).ok_or_else(corrupt)?, rest.get(len..).ok_or_else(corrupt)?);
            graph(g.to_string(), subject.as_bytes())
        }
        t if t == Space::GraphLabel as u8 => graph(name, split(tail, 1).ok_or_else(corrupt)?.1),
        t if t == Space::GraphNodeProp as u8 => graph(name, split(tail, 2).ok_or_else(corrupt)?.1),
        // Relations live with their source, and are indexed at their target.
        t if t == Space::GraphOut as u8 || t == Space::GraphIn as u8 => {
            graph(name, split(tail, 2).ok_or_else(corrupt)?.0[0])
        }
        t if t == Space::GraphRelLabel as u8 => graph(name, split(tail, 2).ok_or_else(corrupt)?.0[1]),
        t if t == Space::GraphRelProp as u8 => graph(name, split(tail, 4).ok_or_else(corrupt)?.0[2]),
        t if t == Space::GraphSchema as u8 => Ok(Place::Drop),
        _ => Err(corrupt()),
    }
}

/// The graph whose entity embeddings internal namespace `ns` holds.
fn internal_graph(ns: &str) -> Option<String> {
    ns.strip_prefix(INTERNAL_PREFIX)?.strip_prefix("graph/").map(str::to_string)
}
