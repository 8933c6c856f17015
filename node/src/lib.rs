//! # strata-node
//!
//! The `strata` binary: the node server (`strata serve`) and the command line that talks to
//! a running cluster or an embedded data directory.
//!
//! | module | job |
//! | --- | --- |
//! | [`config`] | figment: defaults → `strata.toml` / `--config` → `STRATA_*` |
//! | [`ctx`] | the node's context, shared by the request path, the actors and the rebalancer |
//! | [`server`] | node start: identity, bootstrap or join, raft groups, shutdown |
//! | [`service`] | the client-facing tarpc service, validating at the edge |
//! | [`session`] | one client connection's credentials and frame limit |
//! | [`auth`] | API keys, the cluster secret, loopback-only without them |
//! | [`actors`] | the supervisor, the meta actor and one actor per store type |
//! | [`route`] | serve locally or forward to the group's leader |
//! | [`graph_call`] | multi-round graph reads run whole on this node, over its own replicas |
//! | [`cypher`] | what a Cypher query may spend here |
//! | [`rebalance`] | the meta leader's loop that moves replicas to the planned layout |
//! | [`cli`] | argument parsing, subcommands, progress bars, exit codes |
//! | [`telemetry`] | the tracing subscriber |
//! | [`http`] | the operators' HTTP port: probes, metrics, status |
//! | [`probes`] | `/livez` and `/readyz`: named checks, recomputed on every call |
//! | [`metrics`] | `/metrics` in Prometheus' text format |

pub mod actors;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod ctx;
pub mod cypher;
pub mod drain;
pub mod graph_call;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod probes;
pub mod rebalance;
pub mod route;
pub mod scheduled_backup;
pub mod server;
pub mod service;
pub mod session;
pub mod telemetry;
pub mod tls;
