use super::*;
use crate::command::{Command, DocstoreCommand, KvCommand, NodeWrite, VectorCommand};
use crate::graph_call::GraphCall;
use crate::json::JsonText;
use crate::model::{FilterItem, MetadataFilter, MetadataFilters, VectorRecord};
use crate::query::{DocstoreQuery, Query};

fn small() -> Limits {
    Limits {
        max_items_per_request: 3,
        max_vector_dim: 4,
        max_metadata_bytes: 64,
        max_id_bytes: 8,
        max_filter_depth: 2,
        max_cypher_bytes: 16,
        ..Limits::default()
    }
}

fn limit_of(r: Result<(), Error>) -> (String, u64, u64) {
    match r {
        Err(Error::LimitExceeded { what, limit, got }) => (what, limit, got),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

fn record(id: &str, dim: usize, metadata: &str) -> VectorRecord {
    VectorRecord {
        node_id: id.into(),
        embedding: vec![0.5; dim],
        ref_doc_id: None,
        metadata: JsonText::from_map(&serde_json::from_str(metadata).unwrap()),
        node: None,
        exact_f32: false,
    }
}

fn add(records: Vec<VectorRecord>) -> Command {
    Command::Vector(VectorCommand::Add { namespace: "ns".into(), records, order: vec![] })
}

#[test]
fn requests_within_the_limits_pass() {
    let l = small();
    l.check_command(&add(vec![record("a", 4, "{}"), record("b", 4, r#"{"k": "v"}"#)])).unwrap();
    let put =
        KvCommand::Put { collection: "data".into(), key: "12345678".into(), value: JsonText::from_map(&Map::new()) };
    l.check_command(&Command::Kv(put)).unwrap();
    let cypher = GraphCall::Cypher {
        graph: "g".into(),
        query: "MATCH (n) RETURN n".chars().take(16).collect(),
        params: Map::new(),
    };
    l.check_graph_call(&cypher).unwrap();
}

#[test]
fn each_limit_names_itself_and_the_sizes() {
    let l = small();
    let (what, limit, got) = limit_of(l.check_command(&add(vec![record("a", 5, "{}")])));
    assert_eq!((what.as_str(), limit, got), ("dimension of an embedding", 4, 5));
    let many = (0..4).map(|i| record(&i.to_string(), 4, "{}")).collect();
    assert_eq!(limit_of(l.check_command(&add(many))).2, 4);
    let (what, _, got) = limit_of(l.check_command(&add(vec![record("123456789", 4, "{}")])));
    assert_eq!((what.as_str(), got), ("bytes of a node id", 9));
    let big = format!(r#"{{"k": "{}"}}"#, "x".repeat(100));
    assert!(limit_of(l.check_command(&add(vec![record("a", 4, &big)]))).0.starts_with("metadata bytes"));
    let q = Query::Docstore(DocstoreQuery::GetDocuments { namespace: "n".into(), ids: vec!["a".into(); 4] });
    assert_eq!(limit_of(l.check_query(&q)).0, "document ids in one request");
    let cypher =
        GraphCall::Cypher { graph: "g".into(), query: "MATCH (n) RETURN n LIMIT 1".into(), params: Map::new() };
    assert_eq!(limit_of(l.check_graph_call(&cypher)).0, "bytes of a Cypher query");
}

#[test]
fn a_long_namespace_is_refused_whatever_the_call() {
    let l = small();
    let node = NodeWrite { node_id: "a".into(), data: None, doc_hash: "h".into(), source: None };
    let c = DocstoreCommand::AddDocuments {
        namespace: "a-very-long-namespace".into(),
        nodes: vec![node],
        allow_update: true,
    };
    assert_eq!(limit_of(l.check_command(&Command::Docstore(c))).0, "bytes of a namespace");
}

#[test]
fn filters_are_limited_in_depth() {
    let leaf = || {
        FilterItem::Filter(MetadataFilter {
            key: "k".into(),
            value: serde_json::json!(1),
            operator: Default::default(),
        })
    };
    let mut f = MetadataFilters { filters: vec![leaf()], condition: None };
    let delete = |f: &MetadataFilters| {
        Command::Vector(VectorCommand::DeleteNodes { namespace: "ns".into(), node_ids: None, filters: Some(f.clone()) })
    };
    small().check_command(&delete(&f)).unwrap();
    f = MetadataFilters { filters: vec![FilterItem::Group(f)], condition: None };
    small().check_command(&delete(&f)).unwrap();
    f = MetadataFilters { filters: vec![FilterItem::Group(f)], condition: None };
    let (what, limit, got) = limit_of(small().check_command(&delete(&f)));
    assert_eq!((what.as_str(), limit, got), ("nesting depth of a metadata filter", 2, 3));
}

#[test]
fn the_defaults_take_what_llamaindex_sends() {
    let l = Limits::default();
    let records =
        (0..4096).map(|i| record(&format!("node-{i}"), 1536, r#"{"file_name": "a.txt", "page": 3}"#)).collect();
    l.check_command(&add(records)).unwrap();
}
