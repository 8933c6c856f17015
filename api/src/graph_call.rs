//! Graph calls a node runs whole: the multi-round reads of a graph (traversals and Cypher),
//! sent by a cluster client to one node, which runs the graph coordinator beside its own
//! replicas of the partitions instead of the client paying a network round per hop.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A multi-round graph read, answered by one node → `GraphTriplets`, `GraphRelMap` or
/// `GraphRows`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GraphCall {
    /// The property graph's `get_rel_map` from node ids → `GraphTriplets`.
    RelMap {
        /// The graph.
        graph: String,
        /// The seeds' ids.
        seeds: Vec<String>,
        /// Levels.
        depth: u32,
        /// Most relations answered.
        limit: u32,
        /// Relation labels traversed but not answered.
        ignore_rels: Vec<String>,
    },
    /// The triplet store's `get_rel_map` → `GraphRelMap`.
    TripletRelMap {
        /// The graph.
        graph: String,
        /// The subjects (none: every subject).
        subjs: Option<Vec<String>>,
        /// Levels.
        depth: u32,
        /// Most paths per subject.
        limit: u32,
    },
    /// A read-only Cypher query with its parameters → `GraphRows`.
    Cypher {
        /// The graph.
        graph: String,
        /// The query text.
        query: String,
        /// `$parameters`.
        params: Map<String, Value>,
    },
}

impl GraphCall {
    /// The graph the call reads.
    pub fn graph(&self) -> &str {
        match self {
            GraphCall::RelMap { graph, .. }
            | GraphCall::TripletRelMap { graph, .. }
            | GraphCall::Cypher { graph, .. } => graph,
        }
    }

    /// The id whose partition the call starts in (its first seed or subject): the node
    /// leading that partition is the best one to run it.
    pub fn start(&self) -> Option<&str> {
        match self {
            GraphCall::RelMap { seeds, .. } => seeds.first().map(String::as_str),
            GraphCall::TripletRelMap { subjs, .. } => subjs.as_ref().and_then(|s| s.first()).map(String::as_str),
            GraphCall::Cypher { .. } => None,
        }
    }
}
