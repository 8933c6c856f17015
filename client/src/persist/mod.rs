//! LlamaIndex persist directories: importing one written by llama-index-core, and
//! exporting one it loads back unchanged.
//!
//! `docstore.json` and `index_store.json` are dumps of KV collections and map onto ours
//! one to one; `chat_store.json` feeds the chat store; `*__vector_store.json` files feed
//! the vector stores; `graph_store.json` and `property_graph_store.json` feed the
//! `default` graph's two stores; any other JSON file is kept verbatim and written back on
//! export.

mod export;
mod import;
mod vector_file;

pub use export::ExportSummary;
pub use import::{ImportSummary, check_file};

/// The collection holding files kept verbatim (`{"content": text}` per file name).
pub(crate) const KEPT_FILES: &str = "__strata__/persist_files";

/// How far an import or export is.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// What is being moved (a file name).
    pub stage: &'a str,
    /// Entries done in this stage.
    pub done: u64,
    /// Entries in this stage.
    pub total: u64,
}

/// A progress callback.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress<'_>) + Send + Sync);

/// LlamaIndex's file names.
pub mod files {
    /// The document store.
    pub const DOCSTORE: &str = "docstore.json";
    /// The index store.
    pub const INDEX_STORE: &str = "index_store.json";
    /// A `SimpleChatStore`'s `persist()`.
    pub const CHAT_STORE: &str = "chat_store.json";
    /// The (triplet) graph store.
    pub const GRAPH_STORE: &str = "graph_store.json";
    /// The property graph store.
    pub const PROPERTY_GRAPH_STORE: &str = "property_graph_store.json";
    /// The default vector store (others are `{namespace}__vector_store.json`).
    pub const DEFAULT_VECTOR_STORE: &str = "default__vector_store.json";
}

/// Whether a file is one a store of Strata's now holds (files kept verbatim by older
/// versions under such a name are stale).
pub(crate) fn is_store_file(name: &str) -> bool {
    vector_file::namespace_of(name).is_some() || name == files::GRAPH_STORE || name == files::PROPERTY_GRAPH_STORE
}

/// Which exported file a KV collection belongs to.
pub(crate) fn is_index_store_collection(name: &str) -> bool {
    name.starts_with("index_store/")
}
