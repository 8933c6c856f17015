//! One handle per store, with LlamaIndex's method names.

pub mod chat;
pub mod docstore;
pub mod graph;
mod graph_parts;
pub mod index_store;
pub mod kv;
pub mod property_graph;
pub mod vector;

pub use chat::ChatStore;
pub use docstore::{ADD_DOCUMENTS_BATCH, AddDocumentsOptions, DocStore};
pub use graph::GraphStore;
pub use index_store::IndexStore;
pub use kv::KvStore;
pub use property_graph::PropertyGraphStore;
pub use vector::{VectorStore, VectorStoreQueryResult};
