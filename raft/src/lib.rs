//! # strata-raft
//!
//! Replication, knowing nothing of documents: every raft group replicates a log of
//! [`Request`]s (batches of opaque `strata_api::Command`s, each with the request id that
//! makes retries apply once) and applies it to a `strata_shards::Shard`.
//!
//! | module | job |
//! | --- | --- |
//! | [`log_store`] | openraft's log and vote storage over sled; appends acknowledged after fsync |
//! | [`flusher`] | group commit: one sled fsync answers every append and vote waiting on it |
//! | [`state_machine`] | applies entries to a shard, state and applied log id in one sled batch; snapshots |
//! | [`network`] | the peer-to-peer tarpc service (tagged by group) and openraft's network over it |
//! | [`proposer`] | folds concurrent writes to a group into one log entry |
//! | [`group`] | one raft group: writes, linearizable reads, status |
//! | [`leaders`] | counts the leader changes of every group; keeps the latest few |
//! | [`read_batch`] | folds concurrent linearizable reads of a group into one leadership confirmation |
//! | [`read_index`] | linearizable reads on any replica: the leader's read index, then apply up to it |
//! | [`registry`] | every group a node hosts, created and dropped as the shard map says |
//! | [`error`] | this crate's error, mapped to `strata_api::Error` at the edge |
//!
//! Durability: a log append or vote is reported to openraft only once sled has flushed it.
//! Recovery needs sled alone: log, vote, committed id, shard state with its applied log id.

// openraft fixes the error types its traits return; they are large by its design.
#![allow(clippy::result_large_err)]

pub mod error;
pub mod group;
pub mod leaders;
pub mod log_store;
pub mod members;
pub mod network;
pub mod proposer;
pub mod read_batch;
pub mod read_index;
pub mod registry;
pub mod restored;
pub mod state_machine;

use serde::{Deserialize, Serialize};
use std::io::Cursor;
use strata_api::{Command, RequestId};

pub use error::{Error, Result};
pub use group::Group;
pub use proposer::Proposer;
pub use registry::{Registry, RegistryConfig};

/// One raft log payload: writes applied in order as one atomic entry. Concurrent writes
/// to a group share an entry (see [`proposer`]), so one fsync serves them all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The writes, in the order they are applied.
    pub writes: Vec<Write>,
}

/// One write of a [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Write {
    /// Set by clients that may retry; the state machine answers a repeat from memory.
    pub id: Option<RequestId>,
    /// The command.
    pub command: Command,
}

/// What applying one log entry answered: one answer per write (none for blank and
/// membership entries).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply(pub Vec<strata_shards::Answer>);

openraft::declare_raft_types!(
    /// Strata's openraft type configuration.
    pub TypeConfig:
        D = Request,
        R = Reply,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// openraft's types specialised to [`TypeConfig`].
pub mod typ {
    use super::TypeConfig;
    /// A raft handle.
    pub type Raft = openraft::Raft<TypeConfig>;
    /// A log id.
    pub type LogId = openraft::LogId<u64>;
    /// A vote.
    pub type Vote = openraft::Vote<u64>;
    /// A log entry.
    pub type Entry = openraft::Entry<TypeConfig>;
    /// A membership as stored with its log id.
    pub type StoredMembership = openraft::StoredMembership<u64, openraft::BasicNode>;
    /// A snapshot's metadata.
    pub type SnapshotMeta = openraft::SnapshotMeta<u64, openraft::BasicNode>;
    /// A snapshot.
    pub type Snapshot = openraft::Snapshot<TypeConfig>;
    /// A storage error.
    pub type StorageError = openraft::StorageError<u64>;
    /// A raft error with an API-specific part.
    pub type RaftError<E = openraft::error::Infallible> = openraft::error::RaftError<u64, E>;
    /// An RPC error as openraft's network reports it.
    pub type RPCError<E = openraft::error::Infallible> =
        openraft::error::RPCError<u64, openraft::BasicNode, openraft::error::RaftError<u64, E>>;
}
