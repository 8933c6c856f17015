//! Write commands: what a state machine applies. They are the raft log's payload, hence a
//! persisted format: add variants at the end and never change an existing one's fields.

use crate::json::JsonText;
use crate::model::{ChatMessage, IndexStruct, Metadata, MetadataFilters, VectorNamespace, VectorRecord};
use serde::{Deserialize, Serialize};

/// Every write any store accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Key-value store writes.
    Kv(KvCommand),
    /// Document store writes.
    Docstore(DocstoreCommand),
    /// Index store writes.
    IndexStore(IndexStoreCommand),
    /// Chat store writes.
    Chat(ChatCommand),
    /// Cluster metadata writes (meta group only).
    Meta(crate::cluster::MetaCommand),
    /// Vector store writes.
    Vector(VectorCommand),
}

impl Command {
    /// Roughly how many records the command writes: what batching and offloading weigh it by.
    pub fn record_count(&self) -> usize {
        match self {
            Command::Kv(KvCommand::PutAll { pairs, .. }) => pairs.len(),
            Command::Kv(KvCommand::EnsureCollections { collections }) => collections.len(),
            Command::Docstore(DocstoreCommand::AddDocuments { nodes, .. }) => nodes.len(),
            Command::Docstore(DocstoreCommand::SetDocumentHashes { hashes, .. }) => hashes.len(),
            Command::Chat(ChatCommand::SetMessages { messages, .. }) => messages.len(),
            // Removes every node of the document: unknown here, weighed as many.
            Command::Docstore(DocstoreCommand::DeleteRefDoc { .. }) => 256,
            Command::Vector(VectorCommand::Add { records, .. }) => records.len(),
            Command::Vector(VectorCommand::Delete { .. } | VectorCommand::DeleteNodes { .. }) => 256,
            Command::Vector(VectorCommand::Clear { .. }) => 4096,
            _ => 1,
        }
    }
}

/// `BaseKVStore` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KvCommand {
    /// `put(key, val, collection)`: upsert.
    Put {
        /// Collection name.
        collection: String,
        /// Key.
        key: String,
        /// Value (a JSON object).
        value: JsonText,
    },
    /// `put_all(kv_pairs, collection)`: upserts in order, all or nothing.
    PutAll {
        /// Collection name.
        collection: String,
        /// Pairs in order.
        pairs: Vec<(String, JsonText)>,
    },
    /// `delete(key, collection)`: answers whether something was removed.
    Delete {
        /// Collection name.
        collection: String,
        /// Key.
        key: String,
    },
    /// Records collections (possibly empty) so listings and exports keep them.
    EnsureCollections {
        /// Collection names.
        collections: Vec<String>,
    },
}

/// One node of an `add_documents` call, prepared by the caller (hash and JSON computed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeWrite {
    /// The node id.
    pub node_id: String,
    /// `doc_to_json(node)`, or none when `store_text` is false.
    pub data: Option<JsonText>,
    /// `node.hash`.
    pub doc_hash: String,
    /// The source document link, when the node has a non-empty SOURCE.
    pub source: Option<SourceLink>,
}

/// A node's link to its source document, for the ref-doc info merge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceLink {
    /// The source document id (`node.ref_doc_id`).
    pub ref_doc_id: String,
    /// The node's metadata (becomes the ref doc's metadata when it has none yet).
    pub metadata: Metadata,
}

/// `BaseDocumentStore` writes, all in one namespace (`docstore` by default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DocstoreCommand {
    /// `add_documents(nodes, allow_update, store_text)`.
    AddDocuments {
        /// Docstore namespace.
        namespace: String,
        /// Nodes in call order.
        nodes: Vec<NodeWrite>,
        /// When false, an id already present fails the whole call.
        allow_update: bool,
    },
    /// `delete_document(doc_id)`; answers whether the node's data existed.
    DeleteDocument {
        /// Docstore namespace.
        namespace: String,
        /// Node id.
        doc_id: String,
    },
    /// `delete_ref_doc(ref_doc_id)`; answers whether the ref doc existed.
    DeleteRefDoc {
        /// Docstore namespace.
        namespace: String,
        /// Source document id.
        ref_doc_id: String,
    },
    /// `set_document_hashes({id: hash})` (and `set_document_hash`).
    SetDocumentHashes {
        /// Docstore namespace.
        namespace: String,
        /// `(doc_id, hash)` in order.
        hashes: Vec<(String, String)>,
    },
}

/// `BaseIndexStore` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum IndexStoreCommand {
    /// `add_index_struct(struct)`: upsert under its `index_id`.
    Add {
        /// Index store namespace (`index_store` by default).
        namespace: String,
        /// The struct.
        index_struct: IndexStruct,
    },
    /// `delete_index_struct(key)`: silent when absent.
    Delete {
        /// Index store namespace.
        namespace: String,
        /// The `index_id`.
        index_id: String,
    },
}

/// `BaseChatStore` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChatCommand {
    /// `set_messages(key, messages)`: replaces the history.
    SetMessages {
        /// Chat key.
        key: String,
        /// The new history.
        messages: Vec<ChatMessage>,
    },
    /// `add_message(key, message, idx)`: append, or Python `list.insert` at `idx`.
    AddMessage {
        /// Chat key.
        key: String,
        /// The message.
        message: ChatMessage,
        /// Insert position (negative counts from the end, out of range clamps).
        idx: Option<i64>,
    },
    /// `delete_messages(key)`: removes the key; answers its history.
    DeleteMessages {
        /// Chat key.
        key: String,
    },
    /// `delete_message(key, idx)`: answers the removed message.
    DeleteMessage {
        /// Chat key.
        key: String,
        /// Position (negative counts from the end).
        idx: i64,
    },
    /// `delete_last_message(key)`: answers the removed message.
    DeleteLastMessage {
        /// Chat key.
        key: String,
    },
}

/// Vector store writes, in one namespace (one partition of it in a cluster).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum VectorCommand {
    /// Creates the namespace with these settings (answers `Done`; an existing namespace
    /// with other settings is an error). `default` and `image` exist without it and take
    /// their dimension from their first vector.
    CreateNamespace {
        /// The settings.
        settings: VectorNamespace,
    },
    /// `add(nodes)`: upserts the records (a node id already stored is replaced).
    Add {
        /// Namespace.
        namespace: String,
        /// Records in call order.
        records: Vec<VectorRecord>,
        /// Insertion stamps, one per record, or none: then each partition numbers new
        /// records itself. A cluster client stamps its writes from one clock so that
        /// partitions agree on the order nodes were added in (LlamaIndex's dict order,
        /// which breaks MMR ties and orders listings).
        #[serde(default)]
        order: Vec<u64>,
    },
    /// `delete(ref_doc_id)`: removes every node of that source document (`"None"`: the
    /// nodes without one).
    Delete {
        /// Namespace.
        namespace: String,
        /// The source document id.
        ref_doc_id: String,
    },
    /// `delete_nodes(node_ids, filters)`: removes the nodes in `node_ids` (when given)
    /// that match `filters` (when given); neither given removes everything.
    DeleteNodes {
        /// Namespace.
        namespace: String,
        /// Ids.
        node_ids: Option<Vec<String>>,
        /// Filters.
        filters: Option<MetadataFilters>,
    },
    /// `clear()`.
    Clear {
        /// Namespace.
        namespace: String,
    },
}
