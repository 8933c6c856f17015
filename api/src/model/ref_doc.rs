//! `RefDocInfo`: which nodes were parsed from one source document.

use super::node::Metadata;
use serde_json::{Map, Value};

/// `RefDocInfo`: the node ids of one source document and that document's metadata.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RefDocInfo {
    /// Node ids in insertion order.
    pub node_ids: Vec<String>,
    /// Metadata of the source document (taken from its first node).
    pub metadata: Metadata,
}

impl RefDocInfo {
    /// `to_dict()`: the stored form.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("node_ids".into(), Value::Array(self.node_ids.iter().cloned().map(Value::String).collect()));
        m.insert("metadata".into(), Value::Object(self.metadata.clone()));
        m
    }

    /// Reads a stored value, converting the legacy `doc_ids` / `extra_info` layout.
    /// Values of the wrong type read as empty, as LlamaIndex's dataclass would hold them.
    pub fn from_json(m: &Map<String, Value>) -> Self {
        let ids = m.get("node_ids").or_else(|| m.get("doc_ids"));
        let node_ids = match ids {
            Some(Value::Array(xs)) => xs.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        let metadata = match m.get("metadata").or_else(|| m.get("extra_info")) {
            Some(Value::Object(md)) => md.clone(),
            _ => Map::new(),
        };
        Self { node_ids, metadata }
    }
}
