//! Write commands: what a state machine applies. They are the raft log's payload, hence a
//! persisted format: add variants at the end and never change an existing one's fields.

use crate::json::JsonText;
use crate::model::{
    ChatMessage, IndexStruct, LabelledNode, Metadata, MetadataFilters, Relation, RelationKey, VectorNamespace,
    VectorRecord,
};
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
    /// Graph store writes (one partition of a graph in a cluster).
    Graph(GraphCommand),
    /// A restore's records and its last step (`strata backup restore`; admin only).
    Restore(crate::backup::RestoreCommand),
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
            Command::Graph(g) => g.record_count(),
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

/// Graph store writes, in one graph (one partition of it in a cluster). The client
/// splits each LlamaIndex call into one of these per partition (see the graph coordinator
/// in `strata-shards`); a partition holds the nodes whose id it owns, the relations whose
/// source it owns, and an incoming entry (a copy) of each relation whose target it owns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GraphCommand {
    /// The triplet `GraphStore`'s `upsert_triplet` for subjects of this partition, in call
    /// order: appends `[rel, obj]` to the subject's list unless it is there.
    UpsertTriplets {
        /// The graph.
        graph: String,
        /// `(subject, rel, object)` triplets.
        triplets: Vec<(String, String, String)>,
        /// Insertion stamps of subjects new to the graph, one per triplet (or none).
        order: Vec<u64>,
    },
    /// The triplet `GraphStore`'s `delete(subj, rel, obj)`: removes the pair, and the
    /// subject once its list is empty.
    DeleteTriplet {
        /// The graph.
        graph: String,
        /// Subject.
        subject: String,
        /// Relation.
        relation: String,
        /// Object.
        object: String,
    },
    /// `upsert_nodes`: each node replaces the one with its id (keeping its position).
    /// Answers `GraphRelabel` with the relations elsewhere whose target changed label.
    UpsertNodes {
        /// The graph.
        graph: String,
        /// Nodes owned by this partition, in call order.
        nodes: Vec<LabelledNode>,
        /// Insertion stamps, one per node (or none).
        order: Vec<u64>,
    },
    /// `upsert_relations`: relations whose source this partition owns (a triplet already
    /// present is left as it is, as LlamaIndex does), incoming entries of relations whose
    /// target it owns, and the endpoint nodes it owns to create (as `EntityNode(name=id)`)
    /// when missing.
    UpsertRelations {
        /// The graph.
        graph: String,
        /// Relations stored here.
        outgoing: Vec<RelationWrite>,
        /// Relations indexed here (at their target).
        incoming: Vec<RelationWrite>,
        /// Endpoint ids with the stamp to create them at, if missing.
        create: Vec<(String, u64)>,
    },
    /// Removes relations stored here, incoming entries here and nodes here, then every
    /// node of `collect` left with no relation at all (LlamaIndex main's `delete`: an
    /// endpoint of a deleted triplet goes once nothing references it).
    Remove {
        /// The graph.
        graph: String,
        /// Relations stored here.
        outgoing: Vec<RelationKey>,
        /// Incoming entries here.
        incoming: Vec<RelationKey>,
        /// Nodes here (with every relation they are an end of).
        nodes: Vec<String>,
        /// Nodes here to remove if unreferenced.
        collect: Vec<String>,
    },
    /// Records the new label of relations' targets (stored here; their target lives in
    /// another partition and was relabelled), for the schema.
    SetTargetLabels {
        /// The graph.
        graph: String,
        /// The relations and their target's label.
        relations: Vec<(RelationKey, String)>,
    },
}

/// A relation as a graph partition writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelationWrite {
    /// The relation.
    pub relation: Relation,
    /// Its insertion stamp (0: the partition numbers it).
    pub order: u64,
    /// The label its target has (for the schema; none: the partition looks it up, which
    /// it can when it owns the target).
    pub target_label: Option<String>,
}

impl VectorCommand {
    /// The vector namespace it writes (which group owns it follows from this).
    pub fn namespace(&self) -> &str {
        match self {
            VectorCommand::CreateNamespace { settings } => &settings.name,
            VectorCommand::Add { namespace, .. }
            | VectorCommand::Delete { namespace, .. }
            | VectorCommand::DeleteNodes { namespace, .. }
            | VectorCommand::Clear { namespace } => namespace,
        }
    }
}

impl GraphCommand {
    /// The graph it writes.
    pub fn graph(&self) -> &str {
        match self {
            GraphCommand::UpsertTriplets { graph, .. }
            | GraphCommand::DeleteTriplet { graph, .. }
            | GraphCommand::UpsertNodes { graph, .. }
            | GraphCommand::UpsertRelations { graph, .. }
            | GraphCommand::Remove { graph, .. }
            | GraphCommand::SetTargetLabels { graph, .. } => graph,
        }
    }

    fn record_count(&self) -> usize {
        match self {
            GraphCommand::UpsertTriplets { triplets, .. } => triplets.len(),
            GraphCommand::DeleteTriplet { .. } => 1,
            GraphCommand::UpsertNodes { nodes, .. } => nodes.len(),
            GraphCommand::UpsertRelations { outgoing, incoming, create, .. } => {
                outgoing.len() + incoming.len() + create.len()
            }
            GraphCommand::Remove { outgoing, incoming, nodes, collect, .. } => {
                outgoing.len() + incoming.len() + 16 * nodes.len() + collect.len()
            }
            GraphCommand::SetTargetLabels { relations, .. } => relations.len(),
        }
    }
}
