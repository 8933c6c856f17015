//! Backups at the record level: a group is captured as an image of its records
//! ([`image`]), and a restore lays every record of every captured group out again for
//! the target's shape ([`layout`]: a cluster with its own KV shard count and partition
//! counts, or one embedded tree), then recomputes what is derived from the records
//! ([`restore`]).
//!
//! Why records and not whole trees: a backup must restore into a cluster of any size and
//! into an embedded directory, and a namespace may get a new partition count. Every
//! record's key says which collection, namespace, graph and node it belongs to, and the
//! placement rules ([`crate::placement`]) say where that lives; so a record goes where a
//! fresh write of it would have gone. What is not a fact of its own — the entry counts,
//! the graph schema counters, the in-memory vector indexes, the replication layer's
//! records — is dropped and recomputed, never copied from a layout it no longer matches.

pub mod image;
pub mod items;
pub mod layout;
pub mod restore;
