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
//! | `wire_client` | frame decoding, then the client service's requests (MessagePack), then the request limits |
//! | `wire_peer` | the same for the raft peer service's requests |
//! | `filter` | a metadata filter and metadata (MessagePack or JSON), the filter limits, the evaluator |
//! | `persist` | a persist-dir file (the first byte picks which), its parser and validation |
//! | `cypher` | a Cypher query: the length limit, the lexer and the parser |

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
        let Ok(tarpc::ClientMessage::Request(request)) =
            strata_wire::msgpack::decode::<tarpc::ClientMessage<StrataServiceRequest>>(&frame)
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
        let _ = strata_wire::msgpack::decode::<tarpc::ClientMessage<strata_raft::network::service::RaftPeerRequest>>(
            &frame,
        );
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
