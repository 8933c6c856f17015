//! Graph stores: LlamaIndex's labelled property graph (`EntityNode`, `ChunkNode`,
//! `Relation`, `Triplet`) and the names the triplet `GraphStore` and the
//! `PropertyGraphStore` share. JSON forms (pydantic's and `graph_store.json`) are in
//! [`super::graph_json`].
//!
//! Ids are LlamaIndex's: an entity's id is its name with every `"` replaced by a space; a
//! chunk's id is its `id_` (LlamaIndex falls back to Python's per-process string hash,
//! which nothing outside that process can reproduce, so a chunk without an id is refused);
//! a relation's `id` is its label.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The graph namespace a `StorageContext`'s graph stores use.
pub const DEFAULT_GRAPH: &str = "default";
/// The property LlamaIndex stamps on every extracted node and relation: the id of the
/// chunk it came from.
pub const TRIPLET_SOURCE_KEY: &str = "triplet_source_id";
/// `EntityNode`'s default label.
pub const ENTITY_LABEL: &str = "entity";
/// `ChunkNode`'s default label.
pub const CHUNK_LABEL: &str = "text_chunk";
/// The relation type of the edges from a chunk to the entities extracted from it. They
/// are derived from each entity's `triplet_source_id` and exist for Cypher only (as
/// Neo4j's `MENTIONS` edges, which its `get_rel_map` never traverses).
pub const MENTIONS: &str = "MENTIONS";
/// The Cypher label every entity carries (Neo4j's layout).
pub const ENTITY_CYPHER_LABEL: &str = "__Entity__";
/// The Cypher label every node carries.
pub const NODE_CYPHER_LABEL: &str = "__Node__";
/// The Cypher label every chunk carries.
pub const CHUNK_CYPHER_LABEL: &str = "Chunk";

/// What kind of labelled node, with the fields only that kind has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GraphNodeBody {
    /// `EntityNode(name=...)`.
    Entity {
        /// The entity's name.
        name: String,
    },
    /// `ChunkNode(text=..., id_=...)`.
    Chunk {
        /// The chunk's text.
        text: String,
        /// The id as LlamaIndex holds it (`None` when it fell back to a text hash: the
        /// id is then the key the node was stored under).
        id_: Option<String>,
    },
}

/// LlamaIndex's `LabelledNode` (an `EntityNode` or a `ChunkNode`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelledNode {
    /// The node's id (see the module doc).
    pub id: String,
    /// Its label (`entity`, `text_chunk`, or any other: `PERSON`, ...).
    pub label: String,
    /// Its embedding, as f32 (see [`LabelledNode::exact_f32`]).
    #[serde(default, with = "super::f32_bytes::option")]
    pub embedding: Option<Vec<f32>>,
    /// Whether the embedding's components are exactly the values given (an embedding
    /// model's float32 output), else the nearest f32s of them.
    #[serde(default)]
    pub exact_f32: bool,
    /// Its properties (any JSON).
    pub properties: Map<String, Value>,
    /// The entity or chunk fields.
    pub body: GraphNodeBody,
}

/// `EntityNode.id`: the name with every `"` replaced by a space.
pub fn entity_id(name: &str) -> String {
    name.replace('"', " ")
}

impl LabelledNode {
    /// `EntityNode(name=name, label=label)`.
    pub fn entity(name: impl Into<String>, label: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            id: entity_id(&name),
            label: label.into(),
            embedding: None,
            exact_f32: false,
            properties: Map::new(),
            body: GraphNodeBody::Entity { name },
        }
    }

    /// `ChunkNode(text=text, id_=id)` with LlamaIndex's default label.
    pub fn chunk(id: impl Into<String>, text: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            id: id.clone(),
            label: CHUNK_LABEL.to_string(),
            embedding: None,
            exact_f32: false,
            properties: Map::new(),
            body: GraphNodeBody::Chunk { text: text.into(), id_: Some(id) },
        }
    }

    /// This node with `properties`.
    pub fn with_properties(mut self, properties: Map<String, Value>) -> Self {
        self.properties = properties;
        self
    }

    /// This node with an embedding given as LlamaIndex's floats.
    pub fn with_embedding(mut self, embedding: &[f64]) -> Self {
        let (values, exact) = super::embedding_to_f32(embedding);
        self.embedding = Some(values);
        self.exact_f32 = exact;
        self
    }

    /// The embedding as LlamaIndex's floats: each component exactly when it came as an
    /// f32 value, else the shortest decimal that gives its f32 back (`0.628184`, as it
    /// was given, not `0.6281840205192566`).
    pub fn embedding_f64(&self) -> Option<Vec<f64>> {
        self.embedding.as_ref().map(|v| v.iter().map(|x| widen_f32(*x, self.exact_f32)).collect())
    }

    /// True for an `EntityNode`.
    pub fn is_entity(&self) -> bool {
        matches!(self.body, GraphNodeBody::Entity { .. })
    }

    /// The entity's name, or none for a chunk.
    pub fn name(&self) -> Option<&str> {
        match &self.body {
            GraphNodeBody::Entity { name } => Some(name),
            GraphNodeBody::Chunk { .. } => None,
        }
    }

    /// The chunk's text, or none for an entity.
    pub fn text(&self) -> Option<&str> {
        match &self.body {
            GraphNodeBody::Chunk { text, .. } => Some(text),
            GraphNodeBody::Entity { .. } => None,
        }
    }

    /// LlamaIndex's `str(node)`: an entity's name (with its properties when it has some),
    /// a chunk's text.
    pub fn display(&self) -> String {
        match &self.body {
            GraphNodeBody::Entity { name } if self.properties.is_empty() => name.clone(),
            GraphNodeBody::Entity { name } => format!("{name} ({})", crate::pyrepr::repr_map(&self.properties)),
            GraphNodeBody::Chunk { text, .. } => text.clone(),
        }
    }

    /// Checks what LlamaIndex's pydantic model would refuse, and what Strata cannot store:
    /// an empty id, an id that does not follow from the fields, a non-finite embedding.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("a graph node needs a non-empty id".into());
        }
        if let GraphNodeBody::Entity { name } = &self.body
            && entity_id(name) != self.id
        {
            return Err(format!("entity {name:?} must have the id {:?}, not {:?}", entity_id(name), self.id));
        }
        if let GraphNodeBody::Chunk { id_: Some(id_), .. } = &self.body
            && *id_ != self.id
        {
            return Err(format!("chunk id_ {id_:?} differs from its id {:?}", self.id));
        }
        if let Some(e) = &self.embedding {
            if e.iter().any(|x| !x.is_finite()) {
                return Err(format!("node {:?}: its embedding has a NaN or infinite component", self.id));
            }
            if e.is_empty() {
                return Err(format!("node {:?}: an empty embedding", self.id));
            }
        }
        Ok(())
    }
}

/// An f32 as the float LlamaIndex held: exactly when it was an f32 value, else the
/// shortest decimal that rounds to it.
pub fn widen_f32(x: f32, exact: bool) -> f64 {
    if exact || !x.is_finite() {
        return f64::from(x);
    }
    format!("{x:e}").parse::<f64>().unwrap_or(f64::from(x))
}

/// LlamaIndex's `Relation`: `label` from `source_id` to `target_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// The relation type (also its `id`).
    pub label: String,
    /// The source node's id.
    pub source_id: String,
    /// The target node's id.
    pub target_id: String,
    /// Its properties (any JSON).
    pub properties: Map<String, Value>,
}

impl Relation {
    /// `Relation(label=label, source_id=source, target_id=target)`.
    pub fn new(source: impl Into<String>, label: impl Into<String>, target: impl Into<String>) -> Self {
        Self { label: label.into(), source_id: source.into(), target_id: target.into(), properties: Map::new() }
    }

    /// This relation with `properties`.
    pub fn with_properties(mut self, properties: Map<String, Value>) -> Self {
        self.properties = properties;
        self
    }

    /// What identifies it in a graph: `(source, label, target)`.
    pub fn key(&self) -> RelationKey {
        RelationKey { source_id: self.source_id.clone(), label: self.label.clone(), target_id: self.target_id.clone() }
    }

    /// Checks it names both ends and a type.
    pub fn validate(&self) -> Result<(), String> {
        if self.label.is_empty() || self.source_id.is_empty() || self.target_id.is_empty() {
            return Err(format!(
                "relation {:?} -[{:?}]-> {:?}: a relation needs a label, a source and a target",
                self.source_id, self.label, self.target_id
            ));
        }
        Ok(())
    }
}

/// `(source id, label, target id)`: a relation's identity (LlamaIndex's triplet set entry).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RelationKey {
    /// The source node's id.
    pub source_id: String,
    /// The relation type.
    pub label: String,
    /// The target node's id.
    pub target_id: String,
}

/// LlamaIndex's `Triplet`: `(source node, relation, target node)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Triplet {
    /// The source node.
    pub source: LabelledNode,
    /// The relation.
    pub relation: Relation,
    /// The target node.
    pub target: LabelledNode,
}

impl Triplet {
    /// The ids, as `(source, label, target)`.
    pub fn ids(&self) -> (&str, &str, &str) {
        (&self.source.id, &self.relation.label, &self.target.id)
    }
}

/// A triplet-store subject's `[rel, obj]` pairs, in order.
pub type Pairs = Vec<(String, String)>;

/// A graph namespace's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNamespace {
    /// Its name (`default`, ...).
    pub name: String,
    /// How many partitions (raft groups in a cluster) hold it; fixed at creation.
    pub partitions: u32,
}

/// The selectors of `get_triplets` and `delete` (LlamaIndex's keyword arguments; an
/// empty list or map counts as not given, as Python's truthiness has it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TripletSelector {
    /// Triplets whose source or target id is one of these.
    pub entity_names: Vec<String>,
    /// Triplets whose relation label is one of these.
    pub relation_names: Vec<String>,
    /// Triplets where any of these pairs equals a property of the source, the relation or
    /// the target (Python's `==`).
    pub properties: Map<String, Value>,
    /// Triplets whose source or target id is one of these.
    pub ids: Vec<String>,
}

impl TripletSelector {
    /// True when no selector is given (LlamaIndex then answers nothing and deletes nothing).
    pub fn is_empty(&self) -> bool {
        self.entity_names.is_empty()
            && self.relation_names.is_empty()
            && self.properties.is_empty()
            && self.ids.is_empty()
    }
}

/// A property graph's schema, kept up to date as writes land: Neo4j's structured schema
/// (`node_props`, `rel_props`, `relationships`), which LlamaIndex's text-to-Cypher
/// prompts are written for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphSchema {
    /// Per node label (chunks under `Chunk`): its properties and their types, by name.
    pub node_props: std::collections::BTreeMap<String, Vec<PropertyType>>,
    /// Per relation type: its properties and their types, by name.
    pub rel_props: std::collections::BTreeMap<String, Vec<PropertyType>>,
    /// Every `(:start)-[:type]->(:end)` combination present.
    pub relationships: Vec<SchemaRelationship>,
}

/// One property of a label or relation type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PropertyType {
    /// The property name.
    pub property: String,
    /// Neo4j's type name: `STRING`, `INTEGER`, `FLOAT`, `BOOLEAN`, `LIST` or `MAP`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One relationship pattern of the schema.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SchemaRelationship {
    /// The source label.
    pub start: String,
    /// The relation type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The target label.
    pub end: String,
}

/// Neo4j's type name of a property value (`None` for null, which Neo4j does not store).
pub fn neo4j_type(v: &Value) -> Option<&'static str> {
    match v {
        Value::Null => None,
        Value::Bool(_) => Some("BOOLEAN"),
        Value::Number(n) if n.is_f64() => Some("FLOAT"),
        Value::Number(_) => Some("INTEGER"),
        Value::String(_) => Some("STRING"),
        Value::Array(_) => Some("LIST"),
        Value::Object(_) => Some("MAP"),
    }
}

impl GraphSchema {
    /// Neo4j's `get_schema_str` layout: `Node properties:`, `Relationship properties:`,
    /// `The relationships:`, each followed by its lines.
    pub fn to_text(&self) -> String {
        let props = |m: &std::collections::BTreeMap<String, Vec<PropertyType>>| -> String {
            m.iter()
                .map(|(label, ps)| {
                    let inner: Vec<String> = ps.iter().map(|p| format!("{}: {}", p.property, p.kind)).collect();
                    format!("{label} {{{}}}", inner.join(", "))
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let rels: Vec<String> =
            self.relationships.iter().map(|r| format!("(:{})-[:{}]->(:{})", r.start, r.kind, r.end)).collect();
        [
            "Node properties:".to_string(),
            props(&self.node_props),
            "Relationship properties:".to_string(),
            props(&self.rel_props),
            "The relationships:".to_string(),
            rels.join("\n"),
        ]
        .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_llamaindex() {
        let e = LabelledNode::entity("say \"hi\"", "PHRASE");
        assert_eq!(e.id, "say  hi ");
        assert!(e.validate().is_ok());
        let mut bad = e.clone();
        bad.id = "other".into();
        assert!(bad.validate().is_err());
        assert_eq!(LabelledNode::chunk("c1", "text").id, "c1");
        assert_eq!(Relation::new("a", "R", "b").key().label, "R");
    }

    #[test]
    fn embeddings_come_back_as_given() {
        let n = LabelledNode::entity("x", "X").with_embedding(&[0.628184, 0.5, -1e-7]);
        assert!(!n.exact_f32);
        assert_eq!(n.embedding_f64(), Some(vec![0.628184, 0.5, -1e-7]));
        let exact = LabelledNode::entity("y", "Y").with_embedding(&[f64::from(0.1f32), 0.25]);
        assert!(exact.exact_f32);
        assert_eq!(exact.embedding_f64(), Some(vec![f64::from(0.1f32), 0.25]));
    }

    #[test]
    fn schema_text_has_neo4j_layout() {
        let mut s = GraphSchema::default();
        s.node_props.insert("PERSON".into(), vec![PropertyType { property: "name".into(), kind: "STRING".into() }]);
        s.relationships.push(SchemaRelationship { start: "PERSON".into(), kind: "KNOWS".into(), end: "PERSON".into() });
        assert_eq!(
            s.to_text(),
            "Node properties:\nPERSON {name: STRING}\nRelationship properties:\n\nThe relationships:\n(:PERSON)-[:KNOWS]->(:PERSON)"
        );
    }
}
