//! Read queries and the one response type shared by queries and commands.

use crate::json::JsonText;
use crate::model::{
    ChatMessage, IndexStruct, LabelledNode, MetadataFilters, RefDocInfo, Relation, RelationKey, VectorHit,
    VectorNamespace, VectorRecord, VectorSearch, VectorStoreQuery,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every read any store answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Query {
    /// Key-value store reads.
    Kv(KvQuery),
    /// Document store reads.
    Docstore(DocstoreQuery),
    /// Index store reads.
    IndexStore(IndexStoreQuery),
    /// Chat store reads.
    Chat(ChatQuery),
    /// Cluster metadata reads (meta group only).
    Meta(crate::cluster::MetaQuery),
    /// Vector store reads.
    Vector(VectorQuery),
    /// Graph store reads (one partition of a graph in a cluster).
    Graph(GraphQuery),
}

impl Query {
    /// Whether any replica of its group answers this read, a linearizable one after a
    /// read-index confirmation with the leader (`strata_raft::read_index`): the
    /// searches, vector and graph, which cost CPU in proportion to the data and so are
    /// spread over a partition's replicas (a cluster's search capacity grows with its
    /// replicas). Other reads go to the leader. Clients and nodes both decide by this.
    pub fn any_replica_serves(&self) -> bool {
        matches!(self, Query::Vector(VectorQuery::Search { .. }) | Query::Graph(GraphQuery::VectorSearch { .. }))
    }
}

/// Which nodes a [`GraphQuery::Nodes`] asks for: every given condition must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSelect {
    /// Only these ids (none: any).
    pub ids: Option<Vec<String>>,
    /// LlamaIndex's `get(properties=...)`: any of these pairs equals a property (Python's
    /// `==`); empty: no condition.
    pub any_properties: Map<String, Value>,
    /// Cypher labels the node must all carry (`__Entity__`, `__Node__`, `Chunk`, or a
    /// LlamaIndex label).
    pub labels: Vec<String>,
    /// Cypher property map: every pair equals a property.
    pub all_properties: Map<String, Value>,
    /// A property whose value is one of these.
    pub property_in: Option<(String, Vec<Value>)>,
    /// Answer the nodes without their embeddings (what a traversal returns, as Neo4j's).
    #[serde(default)]
    pub without_embeddings: bool,
}

/// Which relations of a node a [`GraphQuery::Edges`] answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Those it is the source of.
    Outgoing,
    /// Those it is the target of.
    Incoming,
    /// Both.
    #[default]
    Both,
}

/// A relation as a partition answers it, with where it was inserted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    /// The relation.
    pub relation: Relation,
    /// Its insertion position (comparable across partitions for stamped writes).
    pub position: u64,
}

/// Graph store reads, in one graph (one partition of it in a cluster).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GraphQuery {
    /// The triplet `GraphStore`: these subjects' `[rel, obj]` lists (the first `cap` of
    /// each; unknown subjects left out), or every subject's → `TripletLists`.
    TripletLists {
        /// The graph.
        graph: String,
        /// Subjects (none: all).
        subjects: Option<Vec<String>>,
        /// At most this many pairs per subject.
        cap: usize,
    },
    /// Nodes passing `select`, in insertion order → `GraphNodes`.
    Nodes {
        /// The graph.
        graph: String,
        /// Which.
        select: NodeSelect,
    },
    /// The relations of `nodes` (owned here) in `direction`, only of `labels` when some are
    /// given (each node's outgoing ones, then its incoming ones, each side by label then
    /// the other end's id; a self-loop once), and the nodes themselves (without their
    /// embeddings) when `with_nodes` → `GraphEdges`.
    Edges {
        /// The graph.
        graph: String,
        /// Node ids.
        nodes: Vec<String>,
        /// Which way.
        direction: Direction,
        /// Relation labels (empty: all).
        labels: Vec<String>,
        /// Answer the nodes too.
        with_nodes: bool,
        /// At most this many relations per node not in `ignore` (with the ignored ones
        /// met before the last of them): what a traversal under a limit can use.
        #[serde(default)]
        cap: Option<usize>,
        /// Relation labels `cap` does not count.
        #[serde(default)]
        ignore: Vec<String>,
    },
    /// Relations stored here with one of `labels` (empty: any) and any of
    /// `any_properties` (empty: no condition) → `GraphEdges`.
    Relations {
        /// The graph.
        graph: String,
        /// Relation labels.
        labels: Vec<String>,
        /// Property pairs, any of which must equal (Python's `==`).
        any_properties: Map<String, Value>,
    },
    /// This partition's share of the schema → `GraphSchemaCounts`.
    Schema {
        /// The graph.
        graph: String,
    },
    /// `vector_query` over the embedded entities here → `GraphHits`, best first.
    VectorSearch {
        /// The graph.
        graph: String,
        /// LlamaIndex's query (its filters see each node's properties).
        query: Box<VectorStoreQuery>,
    },
    /// How far this partition's index of entity embeddings has got → `VectorIndexStats`.
    IndexStats {
        /// The graph.
        graph: String,
    },
    /// Whether these nodes exist here, and their labels → `GraphLabels`.
    Labels {
        /// The graph.
        graph: String,
        /// Node ids.
        ids: Vec<String>,
    },
}

impl DocstoreQuery {
    /// The namespace it reads.
    pub fn namespace(&self) -> &str {
        match self {
            DocstoreQuery::GetDocuments { namespace, .. }
            | DocstoreQuery::Docs { namespace }
            | DocstoreQuery::DocumentExists { namespace, .. }
            | DocstoreQuery::GetRefDocInfo { namespace, .. }
            | DocstoreQuery::GetAllRefDocInfo { namespace }
            | DocstoreQuery::GetDocumentHash { namespace, .. }
            | DocstoreQuery::GetAllDocumentHashes { namespace } => namespace,
        }
    }
}

impl GraphQuery {
    /// The graph it reads.
    pub fn graph(&self) -> &str {
        match self {
            GraphQuery::TripletLists { graph, .. }
            | GraphQuery::Nodes { graph, .. }
            | GraphQuery::Edges { graph, .. }
            | GraphQuery::Relations { graph, .. }
            | GraphQuery::Schema { graph }
            | GraphQuery::VectorSearch { graph, .. }
            | GraphQuery::IndexStats { graph }
            | GraphQuery::Labels { graph, .. } => graph,
        }
    }
}

/// A partition's share of a graph's schema: how many nodes, properties and relations of
/// each kind it holds (summed over partitions, the counts say what exists).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaCounts {
    /// `(label, property, type)` of nodes (chunks under `Chunk`).
    pub node_props: Vec<((String, String, String), u64)>,
    /// Nodes per label.
    pub node_labels: Vec<(String, u64)>,
    /// `(source label, type, target label)` of relations stored here.
    pub relationships: Vec<((String, String, String), u64)>,
    /// `(type, property, value type)` of relations stored here.
    pub rel_props: Vec<((String, String, String), u64)>,
}

/// One hit of a graph `vector_query`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphHit {
    /// The node.
    pub node: LabelledNode,
    /// Its similarity (higher is more similar).
    pub similarity: f64,
    /// Its insertion position (ties are broken by it).
    pub position: u64,
}

/// Vector store reads, in one namespace (one partition of it in a cluster).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum VectorQuery {
    /// A similarity search → `VectorHits`, best first.
    Search {
        /// Namespace.
        namespace: String,
        /// What to search.
        search: Box<VectorSearch>,
    },
    /// `get_nodes(node_ids, filters)` → `VectorRecords` in insertion order.
    GetNodes {
        /// Namespace.
        namespace: String,
        /// Ids.
        node_ids: Option<Vec<String>>,
        /// Filters.
        filters: Option<MetadataFilters>,
    },
    /// Every namespace's settings → `VectorNamespaces`.
    Namespaces,
    /// How far the namespace's approximate index has got → `VectorIndexStats` (summed
    /// over the partitions in a cluster).
    IndexStats {
        /// Namespace.
        namespace: String,
    },
}

impl VectorQuery {
    /// The vector namespace it reads (none: the listing of namespaces).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            VectorQuery::Search { namespace, .. }
            | VectorQuery::GetNodes { namespace, .. }
            | VectorQuery::IndexStats { namespace } => Some(namespace),
            VectorQuery::Namespaces => None,
        }
    }
}

/// `BaseKVStore` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KvQuery {
    /// `get(key, collection)` → `Value`.
    Get {
        /// Collection.
        collection: String,
        /// Key.
        key: String,
    },
    /// `get_all(collection)` → `Entries` in insertion order.
    GetAll {
        /// Collection.
        collection: String,
    },
    /// Every collection name, in the order they were created → `Names`.
    Collections,
}

/// `BaseDocumentStore` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DocstoreQuery {
    /// The stored JSON of each id, in order → `Values`.
    GetDocuments {
        /// Namespace.
        namespace: String,
        /// Ids.
        ids: Vec<String>,
    },
    /// Every stored node → `Entries`.
    Docs {
        /// Namespace.
        namespace: String,
    },
    /// `document_exists(id)` → `Bool`.
    DocumentExists {
        /// Namespace.
        namespace: String,
        /// Id.
        doc_id: String,
    },
    /// `get_ref_doc_info(id)` → `RefDocInfo`.
    GetRefDocInfo {
        /// Namespace.
        namespace: String,
        /// Ref doc id.
        ref_doc_id: String,
    },
    /// `get_all_ref_doc_info()` → `RefDocInfos`.
    GetAllRefDocInfo {
        /// Namespace.
        namespace: String,
    },
    /// `get_document_hash(id)` → `Hash`.
    GetDocumentHash {
        /// Namespace.
        namespace: String,
        /// Id.
        doc_id: String,
    },
    /// Every `(id, hash)` with a non-empty hash, in iteration order → `Hashes`.
    GetAllDocumentHashes {
        /// Namespace.
        namespace: String,
    },
}

/// `BaseIndexStore` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum IndexStoreQuery {
    /// `get_index_struct(struct_id)` → `IndexStruct`; without an id the store must hold exactly one.
    Get {
        /// Namespace.
        namespace: String,
        /// The id, or none for "the only one".
        index_id: Option<String>,
    },
    /// `index_structs()` → `IndexStructs`.
    All {
        /// Namespace.
        namespace: String,
    },
}

/// `BaseChatStore` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChatQuery {
    /// `get_messages(key)` → `Messages` (empty for an unknown key).
    GetMessages {
        /// Chat key.
        key: String,
    },
    /// `get_keys()` → `Names`.
    GetKeys,
}

/// The answer to a command or query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// A write with nothing to report.
    Done,
    /// Whether something was there to delete.
    Deleted(bool),
    /// A yes/no answer.
    Bool(bool),
    /// One optional stored value.
    Value(Option<JsonText>),
    /// Optional stored values, one per asked id.
    Values(Vec<Option<JsonText>>),
    /// Key/value pairs in insertion order.
    Entries(Vec<(String, JsonText)>),
    /// Names (collections, chat keys) in insertion order.
    Names(Vec<String>),
    /// One optional ref-doc info.
    RefDocInfo(Option<RefDocInfo>),
    /// All ref-doc infos in insertion order.
    RefDocInfos(Vec<(String, RefDocInfo)>),
    /// One optional hash.
    Hash(Option<String>),
    /// `(id, hash)` pairs in insertion order.
    Hashes(Vec<(String, String)>),
    /// One optional index struct.
    IndexStruct(Option<IndexStruct>),
    /// Index structs in insertion order.
    IndexStructs(Vec<IndexStruct>),
    /// One optional chat message.
    Message(Option<ChatMessage>),
    /// A chat history; none when the key was absent (for `delete_messages`).
    Messages(Option<Vec<ChatMessage>>),
    /// The cluster's shard map.
    ShardMap(crate::cluster::ShardMap),
    /// A node id (the one `AddNode` handed out).
    NodeId(u64),
    /// Search hits, best first.
    VectorHits(Vec<VectorHit>),
    /// Stored vector records, with their insertion positions (parallel lists).
    VectorRecords {
        /// The records.
        records: Vec<VectorRecord>,
        /// Where each was inserted: larger is later (comparable across a namespace's
        /// partitions for records a cluster client stamped).
        positions: Vec<u64>,
    },
    /// Vector namespaces.
    VectorNamespaces(Vec<VectorNamespace>),
    /// A vector namespace's index progress.
    VectorIndexStats(crate::model::vector::VectorIndexStats),
    /// Ids (of records a write added or removed).
    Ids(Vec<String>),
    /// Triplet store subjects: `(subject, position, [(rel, obj)])`.
    TripletLists(Vec<(String, u64, crate::model::Pairs)>),
    /// Graph nodes with their insertion positions, in insertion order.
    GraphNodes(Vec<(u64, LabelledNode)>),
    /// Relations, and (when asked) the nodes they were asked for.
    GraphEdges {
        /// The nodes asked for that exist, with their positions.
        nodes: Vec<(u64, LabelledNode)>,
        /// The relations.
        edges: Vec<GraphEdge>,
        /// For an `Edges` read: per node asked (in order, repeats dropped), how many of
        /// `edges` are its outgoing and its incoming relations, which follow one another.
        #[serde(default)]
        sides: Vec<(u32, u32)>,
    },
    /// A partition's share of a graph schema.
    GraphSchemaCounts(SchemaCounts),
    /// Graph vector search hits, best first.
    GraphHits(Vec<GraphHit>),
    /// Relations stored elsewhere whose target's label changed, with the new label.
    GraphRelabel(Vec<(RelationKey, String)>),
    /// Labels of the asked nodes that exist: `(id, label, is_entity)`.
    GraphLabels(Vec<(String, String, bool)>),
    /// A property graph `get_rel_map`'s triplets (a [`crate::GraphCall`]'s answer).
    GraphTriplets(Vec<crate::model::Triplet>),
    /// A triplet store `get_rel_map`: per subject, its paths as `[subj, rel, obj]` hops.
    GraphRelMap(Vec<(String, Vec<[String; 3]>)>),
    /// A Cypher query's rows.
    GraphRows(Vec<serde_json::Map<String, serde_json::Value>>),
}
