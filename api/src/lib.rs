//! # strata-api
//!
//! The types every other Strata crate speaks, and nothing else:
//!
//! * [`model`]: LlamaIndex's storage data model — the node family ([`Node`]), [`RefDocInfo`],
//!   [`IndexStruct`], [`ChatMessage`] — with serde forms that read and write LlamaIndex's own
//!   JSON (`__type__`/`__data__`, field names and order) and hashes equal to LlamaIndex's.
//! * [`command`] and [`query`]: the writes and reads a store state machine accepts. Commands
//!   are the raft log's payload, so they are a persisted format.
//! * [`graph_call`]: the multi-round graph reads one node runs whole for a client.
//! * [`cluster`]: node and group ids, the shard map, and the meta group's commands.
//! * [`service`]: the client-facing tarpc service every node serves.
//! * [`backup`]: a captured group on the wire, and the restore command.
//! * [`access`]: API keys' roles and namespace prefixes, and what each request touches.
//! * [`limits`]: what one request may ask of a node, and the check against it.
//! * [`metrics`]: the counters and histograms a node keeps, cheap to count.
//! * [`rate_limited`]: log lines that repeat at most so often.
//! * [`clock`]: wall-clock milliseconds, as nodes report times to people.
//! * [`trace`]: request ids carried across nodes, and the stages a request spent time in.
//! * [`tenancy`]: what a prefix-limited key sees, and its quotas.
//! * [`version`]: the format and protocol versions, and when two sides agree.
//! * [`error`]: the one error type that crosses every boundary, with
//!   [`Error::is_deterministic`] for the replication layer.
//! * [`pyrepr`]: Python's `repr`/`str`/`json.dumps` text forms, which LlamaIndex's hashes
//!   and files are made of.
//!
//! No I/O and no store logic lives here.

pub mod access;
pub mod backup;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod error;
pub mod graph_call;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod pyrepr;
pub mod query;
pub mod rate_limited;
pub mod service;
pub mod tenancy;
pub mod trace;
pub mod version;

pub use cluster::{
    GroupId, GroupStatus, META_GROUP, MetaCommand, MetaQuery, NodeId, NodeInfo, NodeStatus, ReadConsistency, RequestId,
    Served, ShardInfo, ShardMap, StateDigest, VectorPartition, same_cluster,
};
pub use command::{
    ChatCommand, Command, DocstoreCommand, GraphCommand, IndexStoreCommand, KvCommand, NodeWrite, RelationWrite,
    SourceLink, VectorCommand,
};
pub use error::{Error, Result};
pub use graph_call::GraphCall;
pub use json::JsonText;
pub use limits::Limits;
pub use model::{
    ChatMessage, ContentBlock, DEFAULT_VECTOR_NAMESPACE, Distance, FILTER_VIEW_KEYS, FilterCondition, FilterItem,
    FilterOperator, IMAGE_VECTOR_NAMESPACE, IndexStruct, MessageRole, Metadata, MetadataFilter, MetadataFilters,
    NO_LIMIT, Node, NodeBody, NodeRelationship, ObjectType, RefDocInfo, Related, RelatedNodeInfo, VectorHit,
    VectorIndexStats, VectorNamespace, VectorQueryMode, VectorRecord, VectorSearch, VectorStoreQuery, embedding_to_f32,
    filter_view,
};
pub use model::{
    DEFAULT_GRAPH, GraphNamespace, GraphNodeBody, GraphSchema, LabelledNode, Relation, RelationKey, TRIPLET_SOURCE_KEY,
    Triplet, TripletSelector,
};
pub use query::{
    ChatQuery, Direction, DocstoreQuery, GraphEdge, GraphHit, GraphQuery, IndexStoreQuery, KvQuery, NodeSelect, Query,
    Response, SchemaCounts, VectorQuery,
};
pub use rate_limited::RateLimited;

/// The docstore namespace LlamaIndex uses by default.
pub const DEFAULT_DOCSTORE_NAMESPACE: &str = "docstore";
/// The index store namespace LlamaIndex uses by default.
pub const DEFAULT_INDEX_STORE_NAMESPACE: &str = "index_store";
/// The KV collection LlamaIndex uses by default.
pub const DEFAULT_COLLECTION: &str = "data";
