//! The stored forms of a graph node and of a relation (MessagePack; properties as JSON
//! text, parsed only when read).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strata_api::{GraphNodeBody, LabelledNode};

/// A node as stored (after its ordered-map position).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The LlamaIndex label.
    pub label: String,
    /// Entity or chunk fields.
    pub body: GraphNodeBody,
    /// The properties, as JSON text.
    pub properties: String,
    /// A chunk's embedding (an entity's lives in the graph's vector namespace).
    #[serde(with = "strata_api::model::f32_bytes::option")]
    pub embedding: Option<Vec<f32>>,
    /// Whether the embedding's components are exactly the values given.
    pub exact_f32: bool,
    /// Whether the node has an embedding kept in the graph's vector namespace.
    pub indexed: bool,
}

impl NodeRecord {
    /// The record of `node` (`indexed`: its embedding goes to the vector namespace).
    pub fn of(node: &LabelledNode, indexed: bool) -> Self {
        NodeRecord {
            label: node.label.clone(),
            body: node.body.clone(),
            properties: serde_json::to_string(&node.properties).unwrap_or_else(|_| "{}".into()),
            embedding: if indexed { None } else { node.embedding.clone() },
            exact_f32: node.exact_f32,
            indexed,
        }
    }

    /// Encodes it.
    pub fn encode(&self) -> Result<Vec<u8>> {
        rmp_serde::to_vec(self).map_err(|e| Error::Corrupt(format!("graph node record: {e}")))
    }

    /// Decodes a stored record.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        rmp_serde::from_slice(bytes).map_err(|e| Error::Corrupt(format!("graph node record: {e}")))
    }

    /// The properties.
    pub fn properties(&self) -> Result<Map<String, Value>> {
        parse_properties(&self.properties)
    }

    /// The node (`embedding`: the one kept in the vector namespace, when `indexed`).
    pub fn node(self, id: &str, embedding: Option<(Vec<f32>, bool)>) -> Result<LabelledNode> {
        let properties = self.properties()?;
        let (embedding, exact_f32) = match (self.indexed, embedding) {
            (true, Some((v, exact))) => (Some(v), exact),
            _ => (self.embedding, self.exact_f32),
        };
        Ok(LabelledNode { id: id.to_string(), label: self.label, embedding, exact_f32, properties, body: self.body })
    }

    /// True for an entity.
    pub fn is_entity(&self) -> bool {
        matches!(self.body, GraphNodeBody::Entity { .. })
    }
}

/// Parses stored properties.
pub fn parse_properties(text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("graph properties: {e}")))
}

/// A relation as stored (under its `o` key at the source, or its `i` key at the target).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelationValue {
    /// Its insertion position.
    pub position: u64,
    /// Its source's schema label (for the schema; empty in `i` entries).
    pub source_label: String,
    /// Its target's schema label (for the schema; empty in `i` entries).
    pub target_label: String,
    /// The properties, as JSON text.
    pub properties: String,
}

impl RelationValue {
    /// Encodes it.
    pub fn encode(&self) -> Result<Vec<u8>> {
        rmp_serde::to_vec(self).map_err(|e| Error::Corrupt(format!("graph relation record: {e}")))
    }

    /// Decodes a stored value.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        rmp_serde::from_slice(bytes).map_err(|e| Error::Corrupt(format!("graph relation record: {e}")))
    }
}
