//! # strata-chaos
//!
//! Fault tests with real processes. Each scenario says which property it checks:
//!
//! | scenario (`tests/`) | property |
//! | --- | --- |
//! | `crash.rs` | an embedded writer killed with SIGKILL loses no acknowledged write and never leaves half a command |
//! | `exclusive_open.rs` | two processes opening one data directory: the second gets `AlreadyOpen`, nothing is corrupted |
//!
//! The helper process is `src/bin/chaos_worker.rs`; [`workload`] holds what it writes and
//! how a test recognises it.

pub mod check;
pub mod cluster;
pub mod history;
pub mod net;
pub mod rng;
pub mod workload;
