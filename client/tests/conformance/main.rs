//! The store-semantics suite: LlamaIndex's conformance checklist
//! (`shared/reference/llamaindex-storage.md` §11) as Rust tests, plus fixture answers,
//! bad input and a model-based property test. One binary, one module per store.
//! `chaos-tests/tests/cluster` runs the store modules again against a 3-node cluster.
#![allow(clippy::expect_used)] // test code: a failed expectation is the test failing

mod bad_input;
mod chat;
mod docstore;
mod embedded;
mod fixture;
mod graph;
mod index_store;
mod kv;
mod model;
mod property_graph;
mod support;
mod vector;
