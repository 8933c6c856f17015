//! # strata-shards
//!
//! Each store's semantics as a deterministic state machine over one sled tree. A
//! [`Shard`] takes [`strata_api::Command`]s (`apply`) and [`strata_api::Query`]s (`query`);
//! the replication layer replays the same commands on every replica, and the embedded mode
//! calls them directly.
//!
//! | module | job |
//! | --- | --- |
//! | [`shard`] | the state machine: dispatch, atomic batches, read isolation, flush |
//! | [`flusher`] | group commit: writers wait on one shared sled flush |
//! | [`kv`] | KV collections (`put`, `get`, `delete`, `get_all`, `put_all`) |
//! | [`docstore`] | `KVDocumentStore` over `{ns}/data`, `{ns}/metadata`, `{ns}/ref_doc_info` |
//! | [`index_store`] | `KVIndexStore` over `{ns}/data` |
//! | [`backup`] | images of a group's records; where a backed-up record goes; restoring them |
//! | [`chat`] | `SimpleChatStore` semantics, one record per message |
//! | [`counts`] | entries per KV collection and chat keys, kept by writes |
//! | [`meta`] | the meta group's shard map (members, shards, replicas, epoch) |
//! | [`vector`] | vector stores: records, filters, exact search, MMR |
//! | [`graph`] | graph stores: a partition's nodes, relations, triplet lists, schema; the coordinator over partitions |
//! | [`placement`] | which shard holds a collection; which nodes should hold a shard |
//! | [`private`] | folders and files only their owner can read (0700/0600) |
//! | [`ordered`] | insertion-ordered maps (Python dict order) inside the tree |
//! | [`txn`] | a command's buffered writes, with savepoints, committed atomically |
//! | [`redo`] | atomic multi-record writes without sled batches (crash-safe via a redo record) |
//! | [`keys`] | the key encoding, in one place |
//!
//! Nothing here knows about the network, raft or actors.

pub mod backup;
pub mod chat;
pub mod counts;
pub mod docstore;
pub mod error;
pub mod flusher;
pub mod format;
pub mod graph;
pub mod index_store;
pub mod keys;
pub mod kv;
pub mod meta;
pub mod ordered;
pub mod placement;
pub mod private;
pub mod redo;
pub mod shard;
pub mod txn;
pub mod vector;

pub use error::{Error, Result};
pub use shard::{Answer, OpenOptions, Shard, open_db};
