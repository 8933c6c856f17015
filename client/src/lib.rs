//! # strata-client
//!
//! [`StorageContext`] gives Rust programs LlamaIndex's stores — [`DocStore`],
//! [`IndexStore`], [`KvStore`], [`ChatStore`], [`VectorStore`], [`GraphStore`],
//! [`PropertyGraphStore`] — with LlamaIndex's method names and
//! semantics. [`StorageContext::open`] runs them embedded (in-process, on sled, durable on
//! return); [`StorageContext::connect`] reaches the same stores on a replicated cluster.
//!
//! ```no_run
//! # async fn demo() -> strata_client::Result<()> {
//! use strata_client::{StorageContext, api::Node};
//! let ctx = StorageContext::open("./strata-data")?;
//! let node = Node::text_node("n1", "Hello world");
//! ctx.docstore().add_documents(&[node]).await?;
//! let back = ctx.docstore().get_document("n1", true).await?;
//! assert_eq!(back.map(|n| n.text().to_string()).as_deref(), Some("Hello world"));
//! # Ok(()) }
//! ```
//!
//! | module | job |
//! | --- | --- |
//! | [`context`] | `StorageContext`: open, handles |
//! | [`stores`] | one handle per store |
//! | [`backend`] | where requests go: embedded or cluster |
//! | [`cluster`] | the cluster backend: routing, retries with request ids, scatter-gather |
//! | [`persist`] | import/export of LlamaIndex persist directories |
//! | [`backup`] | backups of a cluster or directory: create, verify, restore |

pub mod backend;
pub mod backup;
pub mod cluster;
pub mod context;
pub mod error;
pub mod persist;
pub mod stores;

pub use context::StorageContext;
pub use error::{Error, Result};
pub use persist::{ExportSummary, ImportSummary, Progress};
pub use stores::{
    ADD_DOCUMENTS_BATCH, AddDocumentsOptions, ChatStore, DocStore, GraphStore, IndexStore, KvStore, PropertyGraphStore,
    VectorStore, VectorStoreQueryResult,
};
pub use strata_api as api;
