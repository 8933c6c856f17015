//! Valid inputs for each fuzz target: what mutations start from (proptest's and
//! libFuzzer's), so that most mutated inputs get past the first byte of a decoder.

use crate::hostile::{frame, request};
use serde_json::json;
use std::time::Duration;
use strata_api::service::StrataServiceRequest;
use strata_api::{Command, GraphCall, JsonText, KvCommand, KvQuery, Query, ReadConsistency};

/// The persist dir of the fixtures (real llama-index-core output), when the binary runs
/// from the project.
fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/llamaindex-persist")
}

/// Cypher queries of the kinds LlamaIndex's retrievers and text-to-Cypher send.
pub const CYPHER: &[&str] = &[
    "MATCH (c:Chunk)-[:MENTIONS]->(o) WHERE o.name IN $names RETURN c.text, o.name, o.label",
    "MATCH (p:PERSON)-[:WORKED_ON]->(x) WHERE toLower(p.name) CONTAINS 'paul graham' RETURN x.name AS project, labels(x) AS type LIMIT 20",
    "MATCH (a:`__Entity__` {name: 'Interleaf'})-[r:`Got crushed by`|Made]->(b) RETURN a.name, type(r), b.name",
    "MATCH p=(a:`__Entity__` {name: $src})-[*1..2]-(b:`__Entity__`) WHERE ALL(rel IN relationships(p) WHERE type(rel) <> 'MENTIONS') RETURN [n IN nodes(p) | n.name] AS path LIMIT 25",
    "MATCH (c:Chunk)-[:MENTIONS]->(e:ORGANIZATION) RETURN e.name AS org, count(DISTINCT c) AS mentions, collect(DISTINCT c.file_name)[..5] AS files ORDER BY mentions DESC LIMIT 10",
    "OPTIONAL MATCH (n) WITH DISTINCT n.x AS x, n UNWIND [1, 2.5e3, 'a', null] AS y RETURN x, y, n IS NOT NULL AS known ORDER BY x DESC SKIP 1 LIMIT 2",
];

/// The seeds of the target named `target` (none for an unknown name).
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "wire_client" => client_requests().iter().map(|r| frame(r)).collect(),
        "wire_peer" => peer_requests(),
        "filter" => filters(),
        "persist" => persist_files(),
        "cypher" => CYPHER.iter().map(|q| q.as_bytes().to_vec()).collect(),
        _ => Vec::new(),
    }
}

fn client_requests() -> Vec<Vec<u8>> {
    let object = json!({"text": "a", "n": [1, 2.5, null, {"x": true}]});
    let value = JsonText::from_map(object.as_object().unwrap_or(&serde_json::Map::new()));
    let messages = [
        StrataServiceRequest::Status {},
        StrataServiceRequest::ShardMap {},
        StrataServiceRequest::Write {
            group: 1,
            request_id: None,
            command: Command::Kv(KvCommand::Put { collection: "data".into(), key: "k".into(), value }),
            hops: 0,
        },
        StrataServiceRequest::Read {
            group: 1,
            query: Query::Kv(KvQuery::Get { collection: "data".into(), key: "k".into() }),
            consistency: ReadConsistency::default(),
            hops: 0,
        },
        StrataServiceRequest::GraphCall {
            group: 1,
            call: GraphCall::Cypher { graph: "kg".into(), query: CYPHER[0].into(), params: Default::default() },
            consistency: ReadConsistency::default(),
        },
        StrataServiceRequest::Authenticate { key: "strata_key".into() },
        StrataServiceRequest::Hello { client: strata_api::version::CLIENT_PROTOCOL },
    ];
    messages.iter().enumerate().map(|(i, m)| request(m, Duration::from_secs(10), i as u64)).collect()
}

fn peer_requests() -> Vec<Vec<u8>> {
    use strata_raft::network::service::RaftPeerRequest;
    let vote = openraft::raft::VoteRequest::new(openraft::Vote::new(3, 1), None);
    let messages = [
        RaftPeerRequest::Hello { cluster: 7, from: 1, proof: vec![0; 32], speaks: strata_api::version::PEER_PROTOCOL },
        RaftPeerRequest::Challenge {},
        RaftPeerRequest::Vote { group: 1, to: 2, req: vote },
        RaftPeerRequest::ReadIndex { group: 1 },
        RaftPeerRequest::Retire {},
    ];
    messages
        .iter()
        .filter_map(|m| {
            let msg =
                tarpc::ClientMessage::Request(tarpc::Request { context: tarpc::context::current(), id: 1, message: m });
            strata_wire::msgpack::encode(&msg).ok().map(|b| frame(&b))
        })
        .collect()
}

fn filters() -> Vec<Vec<u8>> {
    let cases = [
        json!([{"filters": [{"key": "year", "value": 2020, "operator": ">"}]}, {"year": 2021}]),
        json!([
            {"condition": "or", "filters": [
                {"key": "tags", "value": ["a", "b"], "operator": "any"},
                {"filters": [{"key": "name", "value": "x", "operator": "text_match"},
                             {"key": "n", "value": [1, 2], "operator": "nin"}], "condition": "not"}
            ]},
            {"tags": ["b"], "name": "xyz", "n": 3}
        ]),
        json!([{"filters": [{"key": "k", "value": null, "operator": "is_empty"}]}, {"k": []}]),
    ];
    let mut out = Vec::new();
    for case in cases {
        out.push(serde_json::to_vec(&case).unwrap_or_default());
        if let Ok(bytes) = strata_wire::msgpack::encode(&case) {
            out.push(bytes.to_vec());
        }
    }
    out
}

fn persist_files() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (pick, name) in super::PERSIST_FILES.iter().enumerate() {
        if let Ok(text) = std::fs::read(fixture_dir().join(name)) {
            out.push([&[pick as u8][..], &text].concat());
        }
    }
    let small = [
        (0, r#"{"docstore/data": {"n1": {"__type__": "1", "__data__": {"id_": "n1", "text": "a"}}}}"#),
        (2, r#"{"store": {"k": [{"role": "user", "content": "hi"}]}, "class_name": "SimpleChatStore"}"#),
        (3, r#"{"embedding_dict": {"n1": [0.5, 1.0]}, "text_id_to_ref_doc_id": {"n1": "d"}, "metadata_dict": {}}"#),
        (5, r#"{"graph_dict": {"a": [["r", "b"]]}}"#),
    ];
    out.extend(small.iter().map(|(pick, text)| [&[*pick as u8][..], text.as_bytes()].concat()));
    out
}
