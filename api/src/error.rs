//! The error that crosses every boundary: from a state machine to the client, and (later)
//! over the wire. Each variant says whether it is deterministic: a deterministic error is
//! the command's answer on every replica (applied, nothing changed); a non-deterministic one
//! (I/O) means this replica could not apply it.

/// Strata's error, with LlamaIndex's messages where LlamaIndex has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Error {
    /// `get_document`/`delete_document` with `raise_error` on an unknown id.
    #[error("doc_id {doc_id} not found.")]
    DocumentNotFound {
        /// The id asked for.
        doc_id: String,
    },
    /// `delete_ref_doc` with `raise_error` on an unknown ref doc.
    #[error("ref_doc_id {ref_doc_id} not found.")]
    RefDocNotFound {
        /// The id asked for.
        ref_doc_id: String,
    },
    /// `add_documents(allow_update=False)` with an id the store already holds.
    #[error("node_id {node_id} already exists. Set allow_update to True to overwrite.")]
    DocumentExists {
        /// The id that exists.
        node_id: String,
    },
    /// `get_index_struct()` without an id when the store does not hold exactly one.
    #[error("expected exactly one index struct, found {count}; pass an index_id")]
    IndexStructNotUnique {
        /// How many the store holds.
        count: usize,
    },
    /// Input that cannot be what it claims: malformed JSON, a node without an id, ...
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A stored value that does not parse (written by something other than Strata).
    #[error("invalid data in the store: {0}")]
    InvalidData(String),
    /// Disk or database failure.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The data directory is locked by another process (or another open handle).
    #[error("the data directory {path} is already open by another process")]
    AlreadyOpen {
        /// The directory.
        path: String,
    },
    /// The node asked does not lead the group and could not forward the request.
    #[error("node does not lead raft group {group} (leader: {leader:?})")]
    NotLeader {
        /// The group.
        group: u64,
        /// The leader, when known.
        leader: Option<u64>,
    },
    /// The group cannot serve now (no leader yet, a peer unreachable, a deadline passed);
    /// retrying later may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The node does not host the group and does not know who does.
    #[error("raft group {0} is not hosted here")]
    UnknownGroup(u64),
    /// A cluster operation that cannot be done (removing the last node, joining twice, ...).
    #[error("cluster: {0}")]
    Cluster(String),
    /// A vector namespace that does not exist.
    #[error("unknown vector store namespace {namespace:?}")]
    UnknownNamespace {
        /// The name asked for.
        namespace: String,
    },
    /// A vector whose length is not the namespace's dimension.
    #[error("vector of dimension {got} for namespace {namespace:?} of dimension {expected}")]
    WrongDimension {
        /// The namespace.
        namespace: String,
        /// Its dimension.
        expected: u32,
        /// The vector's.
        got: usize,
    },
    /// A vector that cannot be compared: a NaN or infinite component, or (for cosine) all
    /// zeros.
    #[error("invalid vector for {what}: {why}")]
    InvalidVector {
        /// Which vector (a node id, or "the query").
        what: String,
        /// What is wrong with it.
        why: String,
    },
    /// A metadata filter that cannot be evaluated: LlamaIndex raises `TypeError` or
    /// `ValueError` for these (ordering a string against a number, a text match on a
    /// non-string, ...).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// A query mode Strata does not answer (sparse, hybrid, learners...).
    #[error("unsupported query mode: {0}")]
    UnsupportedQueryMode(String),
    /// A call the store does not offer (LlamaIndex raises `NotImplementedError`), e.g. the
    /// triplet graph store's `query`.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A Cypher query that does not parse or cannot be run (an unknown variable, a wrong
    /// argument): the message says where.
    #[error("invalid Cypher query: {0}")]
    InvalidQuery(String),
    /// A Cypher construct outside Strata's read-only subset (writes, procedures, ...).
    #[error(
        "Cypher construct not supported: {construct} (structured queries are read-only: MATCH, OPTIONAL MATCH, WHERE, WITH, UNWIND, RETURN, ORDER BY, SKIP, LIMIT)"
    )]
    UnsupportedCypher {
        /// The construct, as written (`CREATE`, `CALL`, ...).
        construct: String,
    },
    /// A request past one of the node's limits (`[limits]` in its configuration).
    #[error("limit exceeded: {what} is {got}, more than the limit of {limit}")]
    LimitExceeded {
        /// What was measured.
        what: String,
        /// The limit.
        limit: u64,
        /// What the request had.
        got: u64,
    },
    /// The node (or this connection) has as many requests in flight as it takes: retry
    /// after a moment.
    #[error("busy: {0}")]
    Busy(String),
    /// No valid credential on this connection (the message never says which part was wrong).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The connection's credential does not allow this call.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Data, a peer or a client of a version this build cannot read or speak (see
    /// `strata_api::version`): refused before anything of it is decoded.
    #[error("incompatible {what}: this Strata ({build}) handles versions {oldest} to {ours}, found version {theirs}")]
    IncompatibleVersion {
        /// What carries the version (`peer protocol`, `data directory`, ...).
        what: String,
        /// The newest version this build handles.
        ours: u32,
        /// The oldest version this build handles.
        oldest: u32,
        /// The version found.
        theirs: u32,
        /// This build's release.
        build: String,
    },
}

impl Error {
    /// True when every replica applying the same command reaches the same error, so the
    /// command counts as applied and the error is its answer. False for I/O failures.
    pub fn is_deterministic(&self) -> bool {
        !matches!(
            self,
            Error::Storage(_)
                | Error::AlreadyOpen { .. }
                | Error::NotLeader { .. }
                | Error::Unavailable(_)
                | Error::UnknownGroup(_)
                | Error::Busy(_)
        )
    }

    /// True when the same request may succeed if sent again (to the same or another node).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::NotLeader { .. } | Error::Unavailable(_) | Error::UnknownGroup(_) | Error::Busy(_))
    }
}

/// Result with Strata's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The text of a caught panic's payload (what `panic!` was given), or nothing.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
