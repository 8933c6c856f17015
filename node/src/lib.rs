//! # strata-node
//!
//! The `strata` binary: today its command line over an embedded data directory
//! (`strata import`, `strata export`); the node server (`strata serve`, actors per store,
//! the client-facing RPC service) joins it with the replicated cluster.
//!
//! | module | job |
//! | --- | --- |
//! | [`cli`] | argument parsing, subcommands, progress bars, exit codes |
//! | [`telemetry`] | the tracing subscriber |

pub mod cli;
pub mod telemetry;
