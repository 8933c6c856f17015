use super::*;
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!("{}/../testdata/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn obj(v: Value) -> Metadata {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[test]
fn hashes_equal_llamaindex_on_fixture_vectors() {
    let doc: Value = serde_json::from_str(&fixture("python-repr-vectors.json")).expect("parses");
    for case in doc["cases"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        let metadata = obj(case["metadata"].clone());
        let node = Node::text_node("n", text).with_metadata(metadata.clone());
        assert_eq!(node.hash(), case["text_node_hash"].as_str().expect("hash"), "TextNode {case}");
        let document = Node::document("d", text).with_metadata(metadata);
        assert_eq!(document.hash(), case["document_hash"].as_str().expect("hash"), "Document {case}");
    }
}

#[test]
fn every_fixture_node_round_trips_to_identical_json_and_hash() {
    let store: Value = serde_json::from_str(&fixture("llamaindex-persist/docstore.json")).expect("parses");
    let data = store["docstore/data"].as_object().expect("data collection");
    let metadata = store["docstore/metadata"].as_object().expect("metadata collection");
    assert_eq!(data.len(), 107);
    for (id, value) in data {
        let doc = value.as_object().expect("object");
        let node = Node::from_doc_json(doc).expect("node parses");
        assert_eq!(&node.id, id);
        assert_eq!(&node.to_doc_json(), doc, "node {id} re-serialises identically");
        assert_eq!(Some(node.hash().as_str()), metadata[id]["doc_hash"].as_str(), "hash of {id}");
    }
}

#[test]
fn document_json_carries_derived_text_and_resources() {
    let d = Node::document("d1", "hi").with_metadata(obj(json!({"a": 1})));
    let j = Value::Object(d.to_doc_json());
    assert_eq!(j["__type__"], "4");
    assert_eq!(j["__data__"]["text"], "hi");
    assert_eq!(j["__data__"]["class_name"], "Document");
    assert_eq!(j["__data__"]["text_resource"]["text"], "hi");
    // Document(text="hi", metadata={"a": 1}).hash == sha256("a: 1-" + sha256("hi"))
    let inner = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"hi"));
    let want = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!("a: 1-{inner}").as_bytes()));
    assert_eq!(d.hash(), want);
}

#[test]
fn legacy_layout_is_read_with_doc_id_as_id() {
    for (ty, class) in [("1", "TextNode"), ("4", "Document"), ("2", "ImageNode"), ("3", "IndexNode")] {
        let legacy = obj(json!({"__type__": ty, "__data__": {
            "text": "old", "extra_info": {"k": "v"}, "doc_id": "legacy-1",
            "relationships": {"1": "src-9"}, "index_id": "ix"}}));
        let node = Node::from_doc_json(&legacy).expect("legacy parses");
        assert_eq!(node.id, "legacy-1");
        assert_eq!(node.class_name(), class);
        assert_eq!(node.text(), "old");
        assert_eq!(node.ref_doc_id(), Some("src-9"));
        assert_eq!(node.metadata, obj(json!({"k": "v"})));
    }
}

#[test]
fn unknown_type_is_an_error() {
    let bad = obj(json!({"__type__": "9", "__data__": {"id_": "x"}}));
    let err = Node::from_doc_json(&bad).expect_err("unknown type");
    assert_eq!(err, crate::Error::InvalidInput("Unknown doc type: 9".into()));
}

#[test]
fn index_struct_data_string_is_python_json() {
    let s = IndexStruct::new("list", "summary-index", obj(json!({"nodes": ["a", "b"]})));
    let j = s.to_json();
    assert_eq!(j["__data__"], r#"{"index_id": "summary-index", "summary": null, "nodes": ["a", "b"]}"#);
    assert_eq!(IndexStruct::from_json(&j).expect("parses"), s);
}

#[test]
fn chat_message_accepts_content_and_blocks() {
    let m = ChatMessage::from_json(&obj(json!({"role": "user", "content": "hello"}))).expect("parses");
    assert_eq!(m.content().as_deref(), Some("hello"));
    let back = m.to_json();
    assert_eq!(
        Value::Object(back),
        json!({"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "hello"}]})
    );
    assert!(ChatMessage::from_json(&obj(json!({"role": "wizard"}))).is_err());
}

#[test]
fn streamed_doc_json_text_equals_the_map_form() {
    let image =
        ImageFields { image: Some("aGk=".into()), text_embedding: Some(vec![0.5, f64::NAN]), ..Default::default() };
    let nodes = [
        Node::document("d", "hi").with_metadata(obj(json!({"a": [1, 2.5]}))),
        Node::image_node("i", "t", image),
        Node::index_node("x", "t", "idx").with_source(RelatedNodeInfo::new("d")),
        Node::multimodal("m", MediaFields::text("q")),
    ];
    for node in nodes {
        let text = node.to_doc_json_text();
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed, Value::Object(node.to_doc_json()));
        assert_eq!(crate::JsonText::from_node(&node).as_str(), text);
    }
}
