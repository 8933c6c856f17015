//! Vector stores: LlamaIndex's `BasePydanticVectorStore` semantics over a shard.
//!
//! The truth is in sled ([`stored`]); searches run on [`Indexes`], the in-memory form
//! derived from those records ([`indexes`]); reads are answered by [`read`].
//!
//! | module | job |
//! | --- | --- |
//! | [`stored`] | settings and records in sled, and the writes that change them |
//! | [`indexes`] | the loaded namespaces, kept in step with landed writes |
//! | [`read`] | vector queries: listings, stored nodes, searches |
//! | [`filter`] | metadata filters with Python's semantics |
//! | [`index`] | a namespace's vectors in memory; query planning, exact search |
//! | [`ann`] | the HNSW graph: built by hnsw_rs on its own thread, searched by our loop |
//! | [`simd`] | the dot product kernel, picked at run time |
//! | [`mmr`] | LlamaIndex's MMR |
//! | [`quant`] | 8-bit codes of the vectors, for the graph walk |
//! | [`record`] | the stored form of a record |
//! | [`postings`] | metadata postings that narrow a filtered scan |
//! | [`pyheap`] | Python's heap order of equal similarities, replayed |

pub mod ann;
pub mod filter;
pub mod index;
pub mod indexes;
pub mod mmr;
pub mod postings;
pub mod pyheap;
pub mod quant;
pub mod read;
pub mod record;
pub mod simd;
pub mod stored;

pub use indexes::Indexes;
pub(crate) use read::query_internal;
pub use read::{SMALL_PARTITION, mmr_candidates, query};
pub use stored::{Change, INTERNAL_PREFIX, apply, namespaces, settings};
pub(crate) use stored::{apply_internal, ensure_internal, stored_embedding};
