//! The store-semantics suite: LlamaIndex's conformance checklist
//! (`shared/reference/llamaindex-storage.md` §11) as Rust tests, plus fixture answers,
//! bad input and a model-based property test. One binary, one module per store.
#![allow(clippy::expect_used)] // test code: a failed expectation is the test failing

mod bad_input;
mod chat;
mod docstore;
mod fixture;
mod index_store;
mod kv;
mod model;
mod support;
