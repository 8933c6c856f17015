//! # strata-raft
//!
//! Replication, knowing nothing of documents: openraft's type config, the sled-backed log
//! and vote storage, the state-machine adapter that applies `strata_api::Command`s to a
//! `strata_shards::Shard` (state and applied index in one sled batch), snapshots, the raft
//! transport over tarpc (one connection per peer shared by all groups), and the registry
//! of raft groups on a node.
//!
//! This crate is empty until the replicated-cluster work lands (issue 3); the embedded
//! mode applies the same commands to the same shards without it.
