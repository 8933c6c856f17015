//! # strata-chaos
//!
//! Fault tests with real processes. Each scenario says which property it checks:
//!
//! | scenario (`tests/`) | property |
//! | --- | --- |
//! | `crash.rs` | an embedded writer killed with SIGKILL loses no acknowledged write and never leaves half a command |
//! | `exclusive_open.rs` | two processes opening one data directory: the second gets `AlreadyOpen`, nothing is corrupted |
//! | `cluster/nemesis.rs` | KV registers stay linearizable under seeded partitions, delays, kills, pauses and whole-cluster crashes |
//!
//! The helper process is `src/bin/chaos_worker.rs`; [`workload`] holds what it writes and
//! how a test recognises it.
//!
//! The fault-testing parts (issue 13), each a plain module with in-process tests:
//!
//! | module | job |
//! | --- | --- |
//! | [`net`] | the fault proxy every raft link of a proxied [`cluster::TestCluster`] goes through |
//! | [`nemesis`] | seeded fault schedules, and applying and ending each fault |
//! | [`history`] | recording invoke/ok/fail/unknown with one monotonic clock |
//! | [`check`] | the checkers (linearizability, acknowledged writes, convergence) |
//! | [`registers`] | the KV register workload's clients |
//! | [`stores`] | the stores workload's clients (chat, docstore, vectors, property graph) and the final-state read |
//! | [`rng`] | the seeded generator schedules and workloads draw from |
//! | [`run`] | one seeded run (cluster, workload, nemesis, checkers), saved when it fails |
//!
//! `src/bin/strata_chaos.rs` is the `strata-chaos` soak binary over [`run`].
//!
//! [`hostile`] speaks raw bytes to a node's ports (issue 14's hostile-input suite,
//! `tests/cluster/hostile.rs`); [`fuzz`] holds the fuzz targets (the wire decoders, the
//! filter evaluator, the persist-dir parsers, the Cypher parser) that `tests/fuzz.rs`
//! and cargo-fuzz (`fuzz/`) drive.

pub mod check;
pub mod cluster;
pub mod fuzz;
pub mod history;
pub mod hostile;
pub mod http;
pub mod nemesis;
pub mod net;
pub mod registers;
pub mod rng;
pub mod run;
pub mod stores;
pub mod workload;
