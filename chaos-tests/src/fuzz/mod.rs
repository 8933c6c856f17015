//! Fuzz targets: each takes arbitrary bytes and drives one of the decoders or evaluators
//! that read what a client, a peer or a file sent, the way the node or the importer
//! does; each must return, whatever the bytes. A panic, an abort, a stack overflow or a
//! runaway allocation is what they look for.
//!
//! They run two ways, on the same functions:
//! - `cargo test -p strata-chaos --test fuzz` (CI): a fixed budget of proptest cases per
//!   target, from structured inputs, mutations of valid seeds and random bytes;
//! - cargo-fuzz (`fuzz/`, libFuzzer, coverage guided), for as long as one likes, from a
//!   corpus of the same seeds (`strata-chaos --fuzz-corpus DIR`); see docs/security.md.
//!
//! | target | what it drives |
//! | --- | --- |
//! | `wire_client` | frame decoding, the decoding budget, then the client service's requests (MessagePack), then the request limits |
//! | `wire_peer` | the same for the raft peer service's requests |
//! | `filter` | a metadata filter and metadata (MessagePack or JSON), the filter limits, the evaluator |
//! | `persist` | a persist-dir file (the first byte picks which), its parser and validation |
//! | `cypher` | a Cypher query: the length limit, the lexer and the parser, then the query run on a small graph within a budget |

pub mod seeds;

use bytes::BytesMut;
use serde_json::{Map, Value};
use strata_api::service::StrataServiceRequest;
use strata_api::{Limits, MetadataFilters};
use strata_wire::{FrameCodec, FrameLimit};
use tokio_util::codec::Decoder;

/// A target: bytes in, nothing out.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("wire_client", wire_client),
    ("wire_peer", wire_peer),
    ("filter", filter),
    ("persist", persist),
    ("cypher", cypher),
];

/// The persist-dir files the `persist` target's first byte picks from (modulo).
pub const PERSIST_FILES: &[&str] = &[
    "docstore.json",
    "index_store.json",
    "chat_store.json",
    "default__vector_store.json",
    "image__vector_store.json",
    "graph_store.json",
    "property_graph_store.json",
    "image_store.json",
];

/// The frames in `data` as the node's framing reads them (stopping at the first error),
/// after `data` itself as one frame: so both a stream and a lone frame reach the decoder.
fn frames(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![data.to_vec()];
    let mut codec = FrameCodec::new(FrameLimit::new(1 << 20));
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        out.push(frame.to_vec());
    }
    out
}

/// Client-port bytes: each frame decoded as the service decodes requests, then checked
/// against the default limits as the node checks them before doing anything.
pub fn wire_client(data: &[u8]) {
    let limits = Limits::default();
    for frame in frames(data) {
        // As a server does: priced first, decoded only within its budget.
        let Ok(tarpc::ClientMessage::Request(request)) =
            strata_wire::msgpack::decode_within_budget::<tarpc::ClientMessage<StrataServiceRequest>>(&frame)
        else {
            continue;
        };
        let _ = match &request.message {
            StrataServiceRequest::Write { command, .. } => limits.check_command(command),
            StrataServiceRequest::Read { query, .. } => limits.check_query(query),
            StrataServiceRequest::GraphCall { call, .. } => limits.check_graph_call(call),
            _ => Ok(()),
        };
    }
}

/// Raft-port bytes: each frame decoded as the peer service decodes requests.
pub fn wire_peer(data: &[u8]) {
    for frame in frames(data) {
        let _ = strata_wire::msgpack::decode_within_budget::<
            tarpc::ClientMessage<strata_raft::network::service::RaftPeerRequest>,
        >(&frame);
    }
}

/// A `[filters, metadata]` pair, as MessagePack (how filters cross the wire) or JSON;
/// filters within the limits are evaluated against the metadata.
pub fn filter(data: &[u8]) {
    let decoded = strata_wire::msgpack::decode::<(MetadataFilters, Map<String, Value>)>(data)
        .ok()
        .or_else(|| serde_json::from_slice(data).ok());
    if let Some((filters, metadata)) = decoded
        && Limits::default().check_filters(&filters).is_ok()
    {
        let _ = strata_shards::vector::filter::matches(&filters, &metadata);
    }
}

/// A persist-dir file: the first byte picks its name from [`PERSIST_FILES`], the rest
/// (as UTF-8, invalid sequences replaced, as a file read as text would fail instead) is
/// its text.
pub fn persist(data: &[u8]) {
    let Some((&pick, text)) = data.split_first() else { return };
    let name = PERSIST_FILES[usize::from(pick) % PERSIST_FILES.len()];
    let _ = strata_client::persist::check_file(name, &String::from_utf8_lossy(text));
}

/// A Cypher query (as UTF-8, invalid sequences replaced), within the length limit,
/// parsed.
pub fn cypher(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    if query.len() <= Limits::default().max_cypher_bytes {
        let _ = strata_shards::graph::cypher::parser::parse(&query);
    }
}

/// The `cypher_eval` target: a Cypher query run on `graph` within a small budget (50 ms,
/// 16 MiB): whatever it asks, an answer or a typed error. (Not in [`TARGETS`]: it needs
/// a graph; CI's harness makes one per run, cargo-fuzz's target one per process.)
pub fn cypher_eval(graph: &SmallGraph, data: &[u8]) {
    use strata_shards::graph::cypher::{self, budget};
    let query = String::from_utf8_lossy(data);
    if query.len() > Limits::default().max_cypher_bytes || cypher::parser::parse(&query).is_err() {
        return;
    }
    let limits = budget::CypherLimits {
        max_memory_bytes: 16 << 20,
        max_time: std::time::Duration::from_millis(50),
        ..budget::CypherLimits::default()
    };
    let budget = budget::Budget::new(limits, Default::default());
    let params = Map::from_iter([("p".to_string(), Value::from(1))]);
    let _ = graph.runtime.block_on(cypher::structured_query(&graph.parts, &query, &params, &budget));
}

/// A few entities, relations and a chunk in a temporary database, and a runtime to
/// query them on: what [`cypher_eval`] runs queries over.
pub struct SmallGraph {
    parts: SetupParts,
    runtime: tokio::runtime::Runtime,
}

/// One shard as a graph's only partition, read and written directly.
struct SetupParts {
    shard: strata_shards::Shard,
    _db: sled::Db,
}

impl strata_shards::graph::coord::Partitions for SetupParts {
    fn graph(&self) -> &str {
        "g"
    }
    fn count(&self) -> usize {
        1
    }
    fn read(
        &self,
        _: usize,
        q: strata_api::GraphQuery,
    ) -> impl Future<Output = strata_api::Result<strata_api::Response>> + Send {
        let r = self.shard.query(&strata_api::Query::Graph(q)).map_err(Into::into);
        async move { r }
    }
    fn write(
        &self,
        _: usize,
        c: strata_api::GraphCommand,
    ) -> impl Future<Output = strata_api::Result<strata_api::Response>> + Send {
        let r = self.shard.apply(&strata_api::Command::Graph(c)).map_err(Into::into);
        async move { r }
    }
    fn stamps(&self, _: usize) -> u64 {
        0
    }
}

impl SmallGraph {
    /// The graph, in a database under `dir` (removed with it).
    pub fn new(dir: &std::path::Path) -> Option<Self> {
        use strata_api::{LabelledNode, Relation};
        let db = sled::Config::new().path(dir).open().ok()?;
        let shard = strata_shards::Shard::open(&db, "g").ok()?;
        let parts = SetupParts { shard, _db: db };
        let runtime = tokio::runtime::Builder::new_current_thread().build().ok()?;
        let nodes: Vec<LabelledNode> = (0..8)
            .map(|i| LabelledNode::entity(format!("e{i}"), if i % 2 == 0 { "A" } else { "B" }))
            .chain([LabelledNode::chunk("c0", "a chunk")])
            .collect();
        let relations: Vec<Relation> =
            (0..8).map(|i| Relation::new(format!("e{i}"), "R", format!("e{}", (i + 1) % 8))).collect();
        runtime.block_on(strata_shards::graph::coord::pg::upsert_nodes(&parts, &nodes)).ok()?;
        runtime.block_on(strata_shards::graph::coord::pg::upsert_relations(&parts, &relations)).ok()?;
        Some(SmallGraph { parts, runtime })
    }
}
