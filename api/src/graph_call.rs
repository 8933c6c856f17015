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

#[cfg(test)]
mod tests {
    use super::GraphCall;
    use crate::query::Response;
    use serde_json::json;

    #[test]
    fn a_call_starts_at_its_first_seed_or_subject() {
        let rel_map = |seeds: &[&str]| GraphCall::RelMap {
            graph: "g".into(),
            seeds: seeds.iter().map(|s| s.to_string()).collect(),
            depth: 2,
            limit: 30,
            ignore_rels: vec![],
        };
        assert_eq!(rel_map(&["b", "a"]).start(), Some("b"));
        assert_eq!(rel_map(&[]).start(), None);
        let walk = GraphCall::TripletRelMap { graph: "g".into(), subjs: Some(vec!["s".into()]), depth: 2, limit: 30 };
        assert_eq!(walk.start(), Some("s"));
        let all = GraphCall::TripletRelMap { graph: "g".into(), subjs: None, depth: 2, limit: 30 };
        assert_eq!(all.start(), None);
        let cypher =
            GraphCall::Cypher { graph: "kg".into(), query: "MATCH (n) RETURN n".into(), params: Default::default() };
        assert_eq!((cypher.start(), cypher.graph()), (None, "kg"));
    }

    /// Cypher rows and parameters cross the wire as MessagePack: every JSON kind comes
    /// back as it went, integers as integers and floats as floats.
    #[test]
    fn cypher_calls_and_rows_survive_the_wire() {
        let params = json!({"names": ["a", "é"], "n": 3, "x": 1.0, "none": null, "m": {"k": [true]}});
        let call = GraphCall::Cypher {
            graph: "kg".into(),
            query: "MATCH (n) WHERE n.name IN $names RETURN n".into(),
            params: params.as_object().cloned().unwrap_or_default(),
        };
        let bytes = rmp_serde::to_vec(&call).expect("encode");
        assert_eq!(rmp_serde::from_slice::<GraphCall>(&bytes).expect("decode"), call);
        let row = json!({"count(*)": 2, "avg": 2.5, "path": ["a", "b"], "n": {"name": "a"}, "x": null});
        let rows = Response::GraphRows(vec![row.as_object().cloned().unwrap_or_default()]);
        let bytes = rmp_serde::to_vec(&rows).expect("encode");
        let back: Response = rmp_serde::from_slice(&bytes).expect("decode");
        let Response::GraphRows(back) = back else { panic!("not rows: {back:?}") };
        assert_eq!(serde_json::Value::Object(back[0].clone()), row);
        assert!(back[0]["count(*)"].is_i64() || back[0]["count(*)"].is_u64());
        assert!(back[0]["avg"].is_f64());
    }
}
