//! Read queries and the one response type shared by queries and commands.

use crate::json::JsonText;
use crate::model::{
    ChatMessage, IndexStruct, MetadataFilters, RefDocInfo, VectorHit, VectorNamespace, VectorRecord, VectorSearch,
};
use serde::{Deserialize, Serialize};

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
}
