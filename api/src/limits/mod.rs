//! What one request may make a node hold or do, and the check of a request against it.
//!
//! A node decodes a request whole before it can look at it, so the frame limit (in the
//! wire crate, read as bytes arrive) bounds what decoding holds; these limits bound what
//! a decoded request asks of the stores: how many items, how long an id, how wide a
//! vector, how much metadata per item, how deep a filter, how long a Cypher query. Each
//! is configurable on the node (`[limits]` in `strata.toml`) and each refusal is a
//! typed, deterministic [`Error::LimitExceeded`] naming the limit, before any store
//! is touched. The defaults sit far above what LlamaIndex's stores send (documented with
//! each field and in `docs/security.md`); the client batches large calls below them.

mod command;
mod query;

use crate::error::Error;
use crate::model::{FilterItem, MetadataFilters};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most items the client puts in one write when it splits a large call itself (a
/// vector add's share of one partition, a persist-dir import's chunk): a node must allow
/// at least this many per request ([`Limits::validate`]).
pub const CLIENT_BATCH_ITEMS: usize = 2048;

/// About the most bytes the client puts in one such write (it starts a new one past
/// this): a node's frame limit must allow twice this ([`Limits::validate`]).
pub const CLIENT_BATCH_BYTES: usize = 32 << 20;

/// Limits on requests and connections, with their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest frame (one encoded request) a client connection accepts, in bytes.
    pub max_frame_bytes: usize,
    /// Largest frame a connection whose key may not write (a read-only key) accepts:
    /// reads are small, so a reader never gets a limit sized for writes.
    pub max_read_frame_bytes: usize,
    /// Open connections per port; more are closed as they arrive.
    pub max_connections: usize,
    /// Open connections per port from one remote address (a share of
    /// `max_connections`, so one client holding connections cannot take them all).
    pub max_connections_per_address: usize,
    /// How long a new connection may take to send its first complete request, in ms.
    pub first_frame_timeout_ms: u64,
    /// How long a request may take to arrive from its first byte to its last (and an
    /// answer to be written), in ms.
    pub frame_timeout_ms: u64,
    /// How long a connection with nothing in flight stays open without a request, in ms.
    pub idle_timeout_ms: u64,
    /// What the requests running on a port may hold together, in bytes as decoding
    /// prices them (a request past what is left is answered `Busy`).
    pub max_request_memory_bytes: usize,
    /// Bytes of answers a connection may leave unread before the node stops reading its
    /// requests (past twice this, while the client still does not read, it is closed).
    pub max_unsent_bytes: usize,
    /// Requests one client connection may have in flight; more are answered `Busy`.
    pub max_in_flight_per_connection: usize,
    /// Of those, requests that run at once; the others wait their turn (a client
    /// pipelining many large reads has this many answers being made at most).
    pub max_running_per_connection: usize,
    /// Client requests the node runs at once, all connections together; more are
    /// answered `Busy` (retryable).
    pub max_in_flight: usize,
    /// Items (nodes, records, pairs, ids, messages, ...) in one request.
    pub max_items_per_request: usize,
    /// Dimension of a vector (namespaces, records, queries).
    pub max_vector_dim: usize,
    /// Metadata (or properties) of one item, in bytes of JSON.
    pub max_metadata_bytes: usize,
    /// Length of an id or a name (node, document, key, collection, namespace, graph), in bytes.
    pub max_id_bytes: usize,
    /// Nesting depth of a metadata filter.
    pub max_filter_depth: usize,
    /// Length of a Cypher query, in bytes.
    pub max_cypher_bytes: usize,
    /// Vector namespaces one API key may create (counted within its prefixes; an
    /// `[[auth.api_keys]]` entry may set its own `max_namespaces`).
    pub max_namespaces_per_key: u64,
    /// Graphs one API key may create (its own: `max_graphs`).
    pub max_graphs_per_key: u64,
    /// Partitions of one key's namespaces and graphs in all (its own: `max_partitions`).
    pub max_partitions_per_key: u64,
    /// Partitions one vector namespace or graph may be created with.
    pub max_partitions_per_namespace: u32,
    /// Deepest nesting of a Cypher expression (parser and evaluator).
    pub cypher_max_depth: usize,
    /// Most bytes a Cypher query's values may hold at once.
    pub cypher_memory_bytes: usize,
    /// Longest a Cypher query may run, in ms (an API key may set its own:
    /// `cypher_time_ms` in its `[[auth.api_keys]]` entry).
    pub cypher_time_ms: u64,
    /// Threads Cypher queries run on (0: one per core, at least 2); never the async
    /// workers that serve every other request.
    pub cypher_threads: usize,
    /// Memory the vector namespaces' graph builders may hold at once, in bytes (0: half
    /// the machine's memory); builds past it queue (`strata_shards::vector::ann::budget`).
    pub vector_build_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: crate::service::MAX_FRAME,
            max_read_frame_bytes: 8 << 20,
            max_connections: 1024,
            max_connections_per_address: 256,
            first_frame_timeout_ms: 10_000,
            frame_timeout_ms: 60_000,
            idle_timeout_ms: 600_000,
            max_unsent_bytes: 64 << 20,
            max_request_memory_bytes: 2 << 30,
            max_in_flight_per_connection: 1024,
            max_running_per_connection: 64,
            max_in_flight: 4096,
            max_items_per_request: 100_000,
            max_vector_dim: 65_536,
            max_metadata_bytes: 1 << 20,
            max_id_bytes: 4096,
            max_filter_depth: 32,
            max_cypher_bytes: 64 << 10,
            max_namespaces_per_key: 1_000,
            max_graphs_per_key: 1_000,
            max_partitions_per_key: 4_096,
            max_partitions_per_namespace: 64,
            cypher_max_depth: 128,
            cypher_memory_bytes: 256 << 20,
            cypher_time_ms: 5_000,
            cypher_threads: 0,
            vector_build_memory_bytes: 0,
        }
    }
}

/// The refusal for `what` at `got` past `limit`.
pub(crate) fn exceeded(what: impl Into<String>, limit: usize, got: usize) -> Error {
    Error::LimitExceeded { what: what.into(), limit: limit as u64, got: got as u64 }
}

impl Limits {
    pub(crate) fn id(&self, what: &str, id: &str) -> Result<(), Error> {
        if id.len() > self.max_id_bytes {
            return Err(exceeded(format!("bytes of {what}"), self.max_id_bytes, id.len()));
        }
        Ok(())
    }

    pub(crate) fn ids<'a>(&self, what: &str, ids: impl IntoIterator<Item = &'a String>) -> Result<(), Error> {
        let mut n = 0;
        for id in ids {
            self.id(what, id)?;
            n += 1;
        }
        self.items(what, n)
    }

    /// The quotas a key without its own has.
    pub fn default_quotas(&self) -> crate::tenancy::Quotas {
        crate::tenancy::Quotas {
            max_namespaces: Some(self.max_namespaces_per_key),
            max_graphs: Some(self.max_graphs_per_key),
            max_partitions: Some(self.max_partitions_per_key),
        }
    }

    /// Refuses creating a namespace or graph of `partitions` partitions past the limit.
    pub fn check_partitions(&self, partitions: u32) -> Result<(), Error> {
        if partitions > self.max_partitions_per_namespace {
            let (limit, got) = (self.max_partitions_per_namespace as usize, partitions as usize);
            return Err(exceeded("partitions of a vector namespace or graph", limit, got));
        }
        Ok(())
    }

    /// The frame limit of a connection whose key has `role`.
    pub fn frame_for(&self, role: crate::access::Role) -> usize {
        if role >= crate::access::Role::ReadWrite { self.max_frame_bytes } else { self.max_read_frame_bytes }
    }

    /// Checks that these limits let the client's own batches through (see
    /// [`CLIENT_BATCH_ITEMS`]); the error says which setting is too low.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_items_per_request < CLIENT_BATCH_ITEMS {
            return Err(format!("limits.max_items_per_request must be at least {CLIENT_BATCH_ITEMS}"));
        }
        if self.max_frame_bytes < 2 * CLIENT_BATCH_BYTES {
            return Err(format!("limits.max_frame_bytes must be at least {}", 2 * CLIENT_BATCH_BYTES));
        }
        Ok(())
    }

    pub(crate) fn items(&self, what: &str, n: usize) -> Result<(), Error> {
        if n > self.max_items_per_request {
            return Err(exceeded(format!("{what} in one request"), self.max_items_per_request, n));
        }
        Ok(())
    }

    pub(crate) fn dim(&self, what: &str, n: usize) -> Result<(), Error> {
        if n > self.max_vector_dim {
            return Err(exceeded(format!("dimension of {what}"), self.max_vector_dim, n));
        }
        Ok(())
    }

    pub(crate) fn metadata_text(&self, what: &str, json: &str) -> Result<(), Error> {
        if json.len() > self.max_metadata_bytes {
            return Err(exceeded(format!("metadata bytes of {what}"), self.max_metadata_bytes, json.len()));
        }
        Ok(())
    }

    pub(crate) fn metadata(&self, what: &str, map: &Map<String, Value>) -> Result<(), Error> {
        let bytes = map.iter().map(|(k, v)| k.len() + 4 + json_bytes(v)).sum::<usize>() + 2;
        if bytes > self.max_metadata_bytes {
            return Err(exceeded(format!("metadata bytes of {what}"), self.max_metadata_bytes, bytes));
        }
        Ok(())
    }

    /// Checks a metadata filter's nesting depth and filter count.
    pub fn check_filters(&self, filters: &MetadataFilters) -> Result<(), Error> {
        let depth = filter_depth(filters);
        if depth > self.max_filter_depth {
            return Err(exceeded("nesting depth of a metadata filter", self.max_filter_depth, depth));
        }
        let mut n = 0;
        count_filters(filters, &mut n);
        self.items("metadata filters", n)
    }
}

/// About how many bytes `v` takes as JSON (exact for strings' contents, close for the rest).
fn json_bytes(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => items.iter().map(|i| json_bytes(i) + 1).sum::<usize>() + 2,
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + 4 + json_bytes(v)).sum::<usize>() + 2,
    }
}

fn filter_depth(f: &MetadataFilters) -> usize {
    1 + f
        .filters
        .iter()
        .map(|item| match item {
            FilterItem::Filter(_) => 0,
            FilterItem::Group(g) => filter_depth(g),
        })
        .max()
        .unwrap_or(0)
}

fn count_filters(f: &MetadataFilters, n: &mut usize) {
    for item in &f.filters {
        *n += 1;
        if let FilterItem::Group(g) = item {
            count_filters(g, n);
        }
    }
}

#[cfg(test)]
mod tests;
