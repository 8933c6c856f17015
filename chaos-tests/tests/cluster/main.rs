//! Cluster scenarios with real node processes on 127.0.0.1, and the embedded store-semantics
//! suite (`client/tests/conformance`) run again against a 3-node cluster: one suite, two
//! backends.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed expectation is the test failing

mod auth;
mod backup;
mod budgets;
mod cli;
mod compat;
mod deploy;
mod failover;
mod graph_faults;
mod graph_reads;
mod hostile;
mod large_writes;
mod leader_moves;
mod membership;
mod nemesis;
mod operations;
mod recovery;
mod replication;
mod restored_leader;
mod rolling_restart;
mod support;
mod tenancy;
mod tls;
mod vector_add_visibility;
mod vector_faults;
mod vector_mmr;
mod wiped_bootstrap;

// The store-semantics suite, module for module as the embedded run has it.
#[path = "../../../client/tests/conformance/bad_input.rs"]
mod conformance_bad_input;
#[path = "../../../client/tests/conformance/chat.rs"]
mod conformance_chat;
#[path = "../../../client/tests/conformance/docstore.rs"]
mod conformance_docstore;
#[path = "../../../client/tests/conformance/fixture.rs"]
mod conformance_fixture;
#[path = "../../../client/tests/conformance/graph.rs"]
mod conformance_graph;
#[path = "../../../client/tests/conformance/index_store.rs"]
mod conformance_index_store;
#[path = "../../../client/tests/conformance/kv.rs"]
mod conformance_kv;
#[path = "../../../client/tests/conformance/property_graph.rs"]
mod conformance_property_graph;
#[path = "../../../client/tests/conformance/vector.rs"]
mod conformance_vector;
