//! Vector stores: records, LlamaIndex's `VectorStoreQuery` and `MetadataFilters` (field
//! names and JSON shape as LlamaIndex writes them), namespace settings and query hits.

use super::Metadata;
use crate::json::JsonText;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// LlamaIndex's default vector store namespace.
pub const DEFAULT_VECTOR_NAMESPACE: &str = "default";
/// LlamaIndex's image vector store namespace (always present in a `StorageContext`).
pub const IMAGE_VECTOR_NAMESPACE: &str = "image";

/// How a namespace measures closeness; similarities are "higher is closer" for all three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distance {
    /// Cosine similarity (LlamaIndex's `SimpleVectorStore`), in `[-1, 1]`.
    #[default]
    Cosine,
    /// Dot product.
    Dot,
    /// Euclidean: the similarity is the negated distance.
    L2,
}

/// A vector namespace's settings (LlamaIndex's named vector stores of a `StorageContext`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorNamespace {
    /// The name (`default`, `image`, ...).
    pub name: String,
    /// Embedding dimension; 0 until the first vector fixes it.
    pub dim: u32,
    /// How similarity is measured.
    pub distance: Distance,
    /// How many partitions (raft groups in a cluster) hold its vectors.
    pub partitions: u32,
}

/// One stored vector: what `add(nodes)` writes for each node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorRecord {
    /// The node id.
    pub node_id: String,
    /// The embedding.
    #[serde(with = "super::f32_bytes")]
    pub embedding: Vec<f32>,
    /// The node's source document (`None` is LlamaIndex's `"None"`).
    pub ref_doc_id: Option<String>,
    /// What filters see: the node's metadata plus `_node_type`, `document_id`, `doc_id`
    /// and `ref_doc_id` (LlamaIndex's `node_to_metadata_dict` without `_node_content`).
    pub metadata: JsonText,
    /// The node itself (LlamaIndex's `doc_to_json` form, embedding left out), when the
    /// writer had it: query results return it. Records imported from a
    /// `SimpleVectorStore` file have none.
    pub node: Option<JsonText>,
    /// Whether every embedding component arrived as an exact f32 value (what a float32
    /// model hands Python): an export then writes each as Python's `repr` of that value,
    /// the very text LlamaIndex wrote; otherwise as the shortest text of the f32.
    #[serde(default)]
    pub exact_f32: bool,
}

/// An embedding as stored (f32) from LlamaIndex's floats, and whether every component
/// was an f32 value exactly.
pub fn embedding_to_f32(values: &[f64]) -> (Vec<f32>, bool) {
    let stored: Vec<f32> = values.iter().map(|x| *x as f32).collect();
    let exact = values.iter().zip(&stored).all(|(x, s)| f64::from(*s) == *x);
    (stored, exact)
}

/// `FilterOperator`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterOperator {
    /// `==`
    #[default]
    #[serde(rename = "==")]
    Eq,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `>=`
    #[serde(rename = ">=")]
    Gte,
    /// `<=`
    #[serde(rename = "<=")]
    Lte,
    /// `in`: the metadata value is one of the filter's.
    #[serde(rename = "in")]
    In,
    /// `nin`: not one of them.
    #[serde(rename = "nin")]
    Nin,
    /// `any`: the metadata list holds any of the filter's values.
    #[serde(rename = "any")]
    Any,
    /// `all`: it holds all of them.
    #[serde(rename = "all")]
    All,
    /// `text_match`: case-sensitive substring.
    #[serde(rename = "text_match")]
    TextMatch,
    /// `text_match_insensitive`: case-insensitive substring.
    #[serde(rename = "text_match_insensitive")]
    TextMatchInsensitive,
    /// `contains`: the metadata list (or string) contains the value.
    #[serde(rename = "contains")]
    Contains,
    /// `is_empty`: missing, `""` or `[]`.
    #[serde(rename = "is_empty")]
    IsEmpty,
}

/// `FilterCondition`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterCondition {
    /// Every filter matches.
    #[default]
    And,
    /// At least one matches.
    Or,
    /// None of them matches.
    Not,
}

/// `MetadataFilter{key, value, operator}`. The value has LlamaIndex's strict types: an
/// int, a float, a string, a list of one of those, or null ([`MetadataFilter::validate`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetadataFilter {
    /// The metadata key.
    pub key: String,
    /// The value compared with.
    #[serde(default)]
    pub value: Value,
    /// How.
    #[serde(default)]
    pub operator: FilterOperator,
}

/// One entry of `MetadataFilters.filters`: a filter or a nested group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterItem {
    /// A single filter (an object with a `key`).
    Filter(MetadataFilter),
    /// A nested group (LlamaIndex's remote stores nest; `SimpleVectorStore` does not).
    Group(MetadataFilters),
}

/// `MetadataFilters{filters, condition}`; a missing or null condition is AND.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataFilters {
    /// The filters and nested groups.
    #[serde(default)]
    pub filters: Vec<FilterItem>,
    /// How they combine.
    #[serde(default)]
    pub condition: Option<FilterCondition>,
}

impl MetadataFilter {
    /// A filter.
    pub fn new(key: impl Into<String>, value: Value, operator: FilterOperator) -> Self {
        Self { key: key.into(), value, operator }
    }

    /// Checks LlamaIndex's strict value types (a bool, an object, or a mixed or nested
    /// list is refused, as pydantic refuses it).
    pub fn validate(&self) -> Result<(), String> {
        let scalar_kind = |v: &Value| match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(0),
            Value::Number(_) => Some(1),
            Value::String(_) => Some(2),
            _ => None,
        };
        let ok = match &self.value {
            Value::Null | Value::Number(_) | Value::String(_) => true,
            Value::Array(items) => {
                let kinds: Vec<Option<u8>> = items.iter().map(scalar_kind).collect();
                kinds.iter().all(|k| k.is_some()) && kinds.windows(2).all(|w| w[0] == w[1])
            }
            Value::Bool(_) | Value::Object(_) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "filter on {:?}: value {} is not an int, float, string, list of one of those, or null",
                self.key, self.value
            ))
        }
    }
}

impl MetadataFilters {
    /// Filters combined with `condition`.
    pub fn new(filters: Vec<FilterItem>, condition: FilterCondition) -> Self {
        Self { filters, condition: Some(condition) }
    }

    /// Every filter's value checked, nested groups included.
    pub fn validate(&self) -> Result<(), String> {
        for item in &self.filters {
            match item {
                FilterItem::Filter(f) => f.validate()?,
                FilterItem::Group(g) => g.validate()?,
            }
        }
        Ok(())
    }
}

impl From<MetadataFilter> for FilterItem {
    fn from(f: MetadataFilter) -> Self {
        FilterItem::Filter(f)
    }
}

/// `VectorStoreQueryMode`. Strata answers `default` and `mmr`; the others are refused
/// with a typed error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VectorQueryMode {
    /// Top-k by similarity.
    #[default]
    Default,
    /// Sparse vectors.
    Sparse,
    /// Dense and sparse.
    Hybrid,
    /// Full-text search.
    TextSearch,
    /// Semantic hybrid.
    SemanticHybrid,
    /// scikit-learn SVM.
    Svm,
    /// scikit-learn logistic regression.
    LogisticRegression,
    /// scikit-learn linear regression.
    LinearRegression,
    /// Maximal marginal relevance.
    Mmr,
}

fn default_top_k() -> usize {
    1
}

/// `similarity_top_k` for LlamaIndex's `None`: every allowed vector.
pub const NO_LIMIT: usize = usize::MAX;

fn top_k_or_no_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    Ok(Option::<usize>::deserialize(d)?.unwrap_or(NO_LIMIT))
}

/// LlamaIndex's `VectorStoreQuery` (field names and defaults as its dataclass has them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorStoreQuery {
    /// The query vector.
    #[serde(default)]
    pub query_embedding: Option<Vec<f32>>,
    /// How many results (default 1; 0 answers nothing, as upstream's main does; `None`
    /// in Python, null in JSON, is no limit: [`NO_LIMIT`]).
    #[serde(default = "default_top_k", deserialize_with = "top_k_or_no_limit")]
    pub similarity_top_k: usize,
    /// Only nodes of these source documents.
    #[serde(default)]
    pub doc_ids: Option<Vec<String>>,
    /// Only these nodes.
    #[serde(default)]
    pub node_ids: Option<Vec<String>>,
    /// The query text (not used by dense search).
    #[serde(default)]
    pub query_str: Option<String>,
    /// Not used.
    #[serde(default)]
    pub output_fields: Option<Vec<String>>,
    /// Not used.
    #[serde(default)]
    pub embedding_field: Option<String>,
    /// Default or MMR.
    #[serde(default)]
    pub mode: VectorQueryMode,
    /// Hybrid weighting (not used).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Metadata filters.
    #[serde(default)]
    pub filters: Option<MetadataFilters>,
    /// MMR's λ (0.5 when unset).
    #[serde(default)]
    pub mmr_threshold: Option<f64>,
    /// Not used.
    #[serde(default)]
    pub sparse_top_k: Option<usize>,
    /// Not used.
    #[serde(default)]
    pub hybrid_top_k: Option<usize>,
}

impl Default for VectorStoreQuery {
    fn default() -> Self {
        Self {
            query_embedding: None,
            similarity_top_k: 1,
            doc_ids: None,
            node_ids: None,
            query_str: None,
            output_fields: None,
            embedding_field: None,
            mode: VectorQueryMode::Default,
            alpha: None,
            filters: None,
            mmr_threshold: None,
            sparse_top_k: None,
            hybrid_top_k: None,
        }
    }
}

/// How far a namespace's approximate index has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorIndexStats {
    /// Stored vectors.
    pub vectors: u64,
    /// Stored vectors not in the searchable HNSW graph yet (searched exactly meanwhile);
    /// zero for namespaces small enough to be searched exactly only.
    pub unindexed: u64,
    /// Replaced or deleted vectors still in the graph (swept by a rebuild).
    pub tombstones: u64,
    /// Vectors found in a saved graph when the namespace was last loaded.
    pub revived: u64,
    /// Partitions whose idle graph builder has saved its graph and dropped it from
    /// memory (it is loaded back on the next write; searches are unaffected).
    #[serde(default)]
    pub parked: u64,
}

impl VectorIndexStats {
    /// Adds another partition's figures.
    pub fn add(&mut self, other: &VectorIndexStats) {
        self.vectors += other.vectors;
        self.unindexed += other.unindexed;
        self.tombstones += other.tombstones;
        self.revived += other.revived;
        self.parked += other.parked;
    }
}

/// One hit of a search: a node id, its similarity, and what the client needs to return
/// the node (and, for MMR across partitions, its embedding).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorHit {
    /// The node id.
    pub node_id: String,
    /// The similarity (or, after MMR, the MMR score).
    pub similarity: f64,
    /// The stored node, when there is one.
    pub node: Option<JsonText>,
    /// The filterable metadata.
    pub metadata: JsonText,
    /// The source document.
    pub ref_doc_id: Option<String>,
    /// The embedding, when the search asked for it.
    #[serde(default, with = "super::f32_bytes::option")]
    pub embedding: Option<Vec<f32>>,
    /// Where the record was inserted (see `VectorCommand::Add`'s `order`).
    #[serde(default)]
    pub position: u64,
}

/// What a search asks of one partition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VectorSearch {
    /// The LlamaIndex query (its `mmr_threshold` already resolved from query kwargs).
    pub query: VectorStoreQuery,
    /// How many candidates to answer (the final top-k, or more for MMR).
    pub candidates: usize,
    /// Whether to include embeddings (MMR done by the caller over several partitions).
    pub with_embeddings: bool,
    /// Answer every allowed vector, exactly scored, in insertion order, but no more than
    /// `candidates + 1` (so the caller can tell there were more): what a cluster client
    /// replays LlamaIndex's heap over when equal similarities make its order matter.
    #[serde(default)]
    pub every_candidate: bool,
}

/// The keys [`filter_view`] adds to a node's metadata.
pub const FILTER_VIEW_KEYS: [&str; 4] = ["_node_type", "document_id", "doc_id", "ref_doc_id"];

/// Builds the filterable metadata LlamaIndex's `node_to_metadata_dict(remove_text=True)`
/// gives (without `_node_content`): the node's metadata, `_node_type`, and `document_id`,
/// `doc_id`, `ref_doc_id` set to the source document id or `"None"`.
pub fn filter_view(metadata: &Metadata, node_type: &str, ref_doc_id: Option<&str>) -> Metadata {
    let mut out = metadata.clone();
    let doc = Value::String(ref_doc_id.unwrap_or("None").to_string());
    out.insert("_node_type".into(), Value::String(node_type.to_string()));
    out.insert("document_id".into(), doc.clone());
    out.insert("doc_id".into(), doc.clone());
    out.insert("ref_doc_id".into(), doc);
    out
}
