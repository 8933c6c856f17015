//! One handle per store, with LlamaIndex's method names.

pub mod chat;
pub mod docstore;
pub mod index_store;
pub mod kv;
pub mod vector;

pub use chat::ChatStore;
pub use docstore::{AddDocumentsOptions, DocStore};
pub use index_store::IndexStore;
pub use kv::KvStore;
pub use vector::{VectorStore, VectorStoreQueryResult};
