//! Docstore items of the checklist (`test_simple_docstore.py`, `test_legacy_json_to_doc.py`)
//! and the semantics of every `BaseDocumentStore` method.

use crate::support::{child, ctx, obj, quiet};
use serde_json::json;
use std::collections::BTreeMap;
use strata_client::api::{Error, Node, NodeRelationship, Related, RelatedNodeInfo};
use strata_client::{AddDocumentsOptions, StorageContext};

async fn raw(ctx: &StorageContext, coll: &str, key: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    ctx.kv_store().get(key, coll).await.expect("kv get")
}

/// Checklist 1 (`test_docstore`): a Document and a TextNode come back equal.
#[tokio::test]
async fn docstore_returns_equal_documents_and_nodes() {
    let (_d, ctx) = ctx().await;
    let doc = Node::document("d1", "hello").with_metadata(obj(json!({"k": "v"})));
    let node = Node::text_node("d2", "world");
    ctx.docstore().add_documents(&[doc.clone(), node.clone()]).await.expect("add");
    assert_eq!(ctx.docstore().get_document("d1", true).await.expect("get"), Some(doc));
    assert_eq!(ctx.docstore().get_document("d2", true).await.expect("get"), Some(node));
}

/// Checklist 2–3 (`test_docstore_persist`, `test_docstore_dict`): export and re-import
/// round-trips both nodes.
#[tokio::test]
async fn docstore_persist_round_trip() {
    let (dir, ctx) = ctx().await;
    let doc = Node::document("d1", "hello");
    let node = child("d2", "world", "d1");
    ctx.docstore().add_documents(&[doc.clone(), node.clone()]).await.expect("add");
    let out = dir.path().join("persist");
    ctx.export_persist_dir(&out, &quiet).await.expect("export");
    let other = StorageContext::open(dir.path().join("other")).expect("open");
    other.import_persist_dir(&out, &quiet).await.expect("import");
    assert_eq!(other.docstore().get_document("d1", true).await.expect("get"), Some(doc));
    assert_eq!(other.docstore().get_document("d2", true).await.expect("get"), Some(node));
    assert_eq!(
        other.docstore().get_ref_doc_info("d1").await.expect("info").map(|i| i.node_ids),
        Some(vec!["d2".into()])
    );
}

/// Checklist 4 (`test_docstore_delete_document`).
#[tokio::test]
async fn delete_document_removes_it_from_every_collection() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[child("d1", "a", "src"), child("d2", "b", "src")]).await.expect("add");
    ds.delete_document("d1", true).await.expect("delete");
    assert!(raw(&ctx, "docstore/data", "d1").await.is_none());
    assert!(raw(&ctx, "docstore/metadata", "d1").await.is_none());
    let info = ds.get_ref_doc_info("src").await.expect("info").expect("still there");
    assert_eq!(info.node_ids, vec!["d2".to_string()]);
    assert!(ds.document_exists("d2").await.expect("exists"));
    assert!(raw(&ctx, "docstore/metadata", "d2").await.is_some());
}

/// Checklist 5 (`test_docstore_delete_ref_doc`).
#[tokio::test]
async fn delete_ref_doc_removes_document_and_children() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    let d1 = Node::document("d1", "root");
    let d2 = Node::document("d2", "child doc").with_source(RelatedNodeInfo::new("d1"));
    let d3 = child("d3", "child node", "d1");
    ds.add_documents(&[d1, d2, d3]).await.expect("add");
    ds.delete_ref_doc("d1", true).await.expect("delete");
    for id in ["d1", "d2", "d3"] {
        for coll in ["docstore/data", "docstore/metadata", "docstore/ref_doc_info"] {
            assert!(raw(&ctx, coll, id).await.is_none(), "{id} left in {coll}");
        }
    }
}

/// Checklist 6 (`test_docstore_delete_ref_doc_not_in_docstore`).
#[tokio::test]
async fn delete_ref_doc_works_when_the_ref_doc_itself_was_never_added() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[child("d2", "x", "d1"), child("d3", "y", "d1")]).await.expect("add");
    assert!(ds.ref_doc_exists("d1").await.expect("exists"));
    assert!(!ds.document_exists("d1").await.expect("exists"));
    ds.delete_ref_doc("d1", true).await.expect("delete");
    assert!(!ds.ref_doc_exists("d1").await.expect("exists"));
    assert!(ds.docs().await.expect("docs").is_empty());
    assert!(ds.get_all_document_hashes().await.expect("hashes").is_empty());
}

/// Checklist 7 (`test_docstore_delete_all_ref_doc_nodes`).
#[tokio::test]
async fn deleting_the_last_node_removes_the_ref_doc() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[Node::document("d1", "root"), child("d2", "a", "d1"), child("d3", "b", "d1")])
        .await
        .expect("add");
    assert_eq!(ds.get_ref_doc_info("d1").await.expect("info").expect("some").node_ids, vec!["d2", "d3"]);
    ds.delete_document("d2", true).await.expect("delete");
    assert_eq!(ds.get_ref_doc_info("d1").await.expect("info").expect("some").node_ids, vec!["d3"]);
    assert!(raw(&ctx, "docstore/data", "d1").await.is_some());
    assert!(raw(&ctx, "docstore/metadata", "d1").await.is_some());
    ds.delete_document("d3", true).await.expect("delete");
    assert!(raw(&ctx, "docstore/data", "d1").await.is_none());
    assert!(raw(&ctx, "docstore/metadata", "d1").await.is_none());
    assert!(raw(&ctx, "docstore/ref_doc_info", "d1").await.is_none());
}

/// Checklist 8–9 (`test_get_all_document_ids_keeps_docs_sharing_a_hash`).
#[tokio::test]
async fn document_ids_keep_ids_sharing_a_hash() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[Node::document("d1", "same"), Node::document("d2", "same")]).await.expect("add");
    let hashes = ds.get_all_document_hashes().await.expect("hashes");
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes.values().next().map(String::as_str), Some("d2"), "last id wins");
    let ids: Vec<String> = ds.get_all_document_ids().await.expect("ids").into_iter().collect();
    assert_eq!(ids, vec!["d1", "d2"]);
}

/// Checklist 10–11: legacy layouts read back; an unknown `__type__` is an error.
#[tokio::test]
async fn legacy_and_unknown_stored_types() {
    let (dir, ctx) = ctx().await;
    let persist = dir.path().join("legacy");
    std::fs::create_dir_all(&persist).expect("mkdir");
    let legacy = json!({"docstore/data": {
        "x": {"__type__": "1", "__data__": {"text": "t", "extra_info": {}, "doc_id": "x", "relationships": {}}}},
        "docstore/ref_doc_info": {"r": {"doc_ids": ["x"], "extra_info": {"a": 1}}}});
    std::fs::write(persist.join("docstore.json"), legacy.to_string()).expect("write");
    ctx.import_persist_dir(&persist, &quiet).await.expect("import");
    let node = ctx.docstore().get_document("x", true).await.expect("get").expect("some");
    assert_eq!(node.id, "x");
    let info = ctx.docstore().get_ref_doc_info("r").await.expect("info").expect("some");
    assert_eq!(info.node_ids, vec!["x"]);
    assert_eq!(info.metadata, obj(json!({"a": 1})));
    ctx.kv_store().put("bad", &obj(json!({"__type__": "7", "__data__": {}})), "docstore/data").await.expect("put");
    let err = ctx.docstore().get_document("bad", true).await.expect_err("unknown type");
    assert!(matches!(err.as_store(), Some(Error::InvalidData(m)) if m.contains("Unknown doc type: 7")), "{err}");
}

#[tokio::test]
async fn get_document_raise_error_and_missing_ids() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    let err = ds.get_document("nope", true).await.expect_err("raises");
    assert_eq!(err.as_store(), Some(&Error::DocumentNotFound { doc_id: "nope".into() }));
    assert_eq!(err.to_string(), "doc_id nope not found.");
    assert_eq!(ds.get_document("nope", false).await.expect("no raise"), None);
    let err = ds.delete_document("nope", true).await.expect_err("raises");
    assert_eq!(err.to_string(), "doc_id nope not found.");
    ds.delete_document("nope", false).await.expect("silent");
    let err = ds.delete_ref_doc("nope", true).await.expect_err("raises");
    assert_eq!(err.to_string(), "ref_doc_id nope not found.");
    ds.delete_ref_doc("nope", false).await.expect("silent");
}

#[tokio::test]
async fn get_nodes_keeps_input_order_and_skips_missing_without_raise() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[Node::text_node("a", "1"), Node::text_node("b", "2")]).await.expect("add");
    let ids = vec!["b".to_string(), "missing".to_string(), "a".to_string()];
    let got: Vec<String> = ds.get_nodes(&ids, false).await.expect("get").into_iter().map(|n| n.id).collect();
    assert_eq!(got, vec!["b", "a"]);
    assert!(ds.get_nodes(&ids, true).await.is_err());
    let dict = BTreeMap::from([(0, "a".to_string()), (5, "b".to_string())]);
    let nodes = ds.get_node_dict(&dict).await.expect("dict");
    assert_eq!(nodes[&5].id, "b");
    assert_eq!(nodes[&0].text(), "1");
}

#[tokio::test]
async fn allow_update_false_rejects_existing_ids_and_writes_nothing() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[Node::text_node("a", "old")]).await.expect("add");
    let opts = AddDocumentsOptions { allow_update: false, store_text: true };
    let err = ds
        .add_documents_with(&[Node::text_node("new", "x"), Node::text_node("a", "new")], opts)
        .await
        .expect_err("exists");
    assert_eq!(err.to_string(), "node_id a already exists. Set allow_update to True to overwrite.");
    assert!(!ds.document_exists("new").await.expect("exists"), "a failing batch writes nothing");
    assert_eq!(ds.get_document("a", true).await.expect("get").expect("some").text(), "old");
    // Ids known only by hash do not count as existing.
    ds.set_document_hash("h-only", "abc").await.expect("hash");
    ds.add_documents_with(&[Node::text_node("h-only", "x")], opts).await.expect("allowed");
}

#[tokio::test]
async fn store_text_false_keeps_hashes_and_ref_doc_info_only() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    let node = child("n", "text", "doc");
    ds.add_documents_with(std::slice::from_ref(&node), AddDocumentsOptions { allow_update: true, store_text: false })
        .await
        .expect("add");
    assert!(!ds.document_exists("n").await.expect("exists"));
    assert!(ds.ref_doc_exists("doc").await.expect("ref"));
    assert_eq!(ds.get_document_hash("n").await.expect("hash"), Some(node.hash()));
}

#[tokio::test]
async fn metadata_entry_and_hash_functions() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    let node = child("n", "text", "doc").with_metadata(obj(json!({"a": 1})));
    ds.add_documents(std::slice::from_ref(&node)).await.expect("add");
    let meta = raw(&ctx, "docstore/metadata", "n").await.expect("meta");
    assert_eq!(meta, obj(json!({"doc_hash": node.hash(), "ref_doc_id": "doc"})));
    // set_document_hash replaces the whole entry, dropping ref_doc_id.
    ds.set_document_hash("n", "h2").await.expect("set");
    assert_eq!(raw(&ctx, "docstore/metadata", "n").await.expect("meta"), obj(json!({"doc_hash": "h2"})));
    ds.set_document_hashes(&[("x".into(), "hx".into()), ("y".into(), "hy".into())]).await.expect("set");
    assert_eq!(ds.get_document_hash("y").await.expect("get").as_deref(), Some("hy"));
    assert_eq!(ds.get_document_hash("zz").await.expect("get"), None);
    let all = ds.get_all_document_hashes().await.expect("all");
    assert_eq!(all.get("hx").map(String::as_str), Some("x"));
    assert_eq!(all.keys().cloned().collect::<Vec<_>>(), vec!["h2", "hx", "hy"]);
}

/// Ref-doc info: ids in insertion order; metadata from the first call's nodes (later
/// nodes of that call winning per key) and kept once non-empty.
#[tokio::test]
async fn ref_doc_info_merges_like_llamaindex() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    let n1 = child("n1", "a", "doc").with_metadata(obj(json!({"a": 1, "b": 2})));
    let n2 = child("n2", "b", "doc").with_metadata(obj(json!({"a": 3})));
    ds.add_documents(&[n1.clone(), n2]).await.expect("add");
    let info = ds.get_ref_doc_info("doc").await.expect("info").expect("some");
    assert_eq!(info.node_ids, vec!["n1", "n2"]);
    assert_eq!(info.metadata, obj(json!({"a": 3, "b": 2})));
    let n3 = child("n3", "c", "doc").with_metadata(obj(json!({"z": 9})));
    ds.add_documents(&[n3, n1]).await.expect("add again");
    let info = ds.get_ref_doc_info("doc").await.expect("info").expect("some");
    assert_eq!(info.node_ids, vec!["n1", "n2", "n3"]);
    assert_eq!(info.metadata, obj(json!({"a": 3, "b": 2})), "stored metadata kept");
    let all = ds.get_all_ref_doc_info().await.expect("all");
    assert_eq!(all.keys().cloned().collect::<Vec<_>>(), vec!["doc"]);
}

/// Index-level behaviour (checklist 126): ref_doc_info keys follow document order.
#[tokio::test]
async fn docs_and_ref_doc_infos_follow_insertion_order() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    for d in ["zeta", "alpha", "mid"] {
        ds.add_documents(&[child(&format!("{d}-0"), d, d)]).await.expect("add");
    }
    let docs: Vec<String> = ds.docs().await.expect("docs").keys().cloned().collect();
    assert_eq!(docs, vec!["zeta-0", "alpha-0", "mid-0"]);
    let infos: Vec<String> = ds.get_all_ref_doc_info().await.expect("all").keys().cloned().collect();
    assert_eq!(infos, vec!["zeta", "alpha", "mid"]);
    // Overwriting keeps the position, as a Python dict does.
    ds.add_documents(&[child("zeta-0", "changed", "zeta")]).await.expect("update");
    let docs: Vec<String> = ds.docs().await.expect("docs").keys().cloned().collect();
    assert_eq!(docs, vec!["zeta-0", "alpha-0", "mid-0"]);
}

/// Checklist 127: deleting a ref doc then re-inserting a document with the same id restores it.
#[tokio::test]
async fn reinsert_after_delete_ref_doc() {
    let (_d, ctx) = ctx().await;
    let ds = ctx.docstore();
    ds.add_documents(&[child("t0-a", "x", "test_id_0"), child("t1-a", "y", "test_id_1")]).await.expect("add");
    ds.delete_ref_doc("test_id_0", true).await.expect("delete");
    assert_eq!(ds.get_all_ref_doc_info().await.expect("all").len(), 1);
    ds.add_documents(&[child("t0-a", "x", "test_id_0")]).await.expect("re-add");
    assert_eq!(ds.get_all_ref_doc_info().await.expect("all").len(), 2);
}

#[tokio::test]
async fn namespaces_are_separate_and_update_docstore_copies() {
    let (_d, ctx) = ctx().await;
    let a = ctx.docstore();
    let b = ctx.docstore_in("other");
    a.add_documents(&[Node::text_node("n", "in a")]).await.expect("add");
    assert!(!b.document_exists("n").await.expect("exists"));
    b.update_docstore(&a).await.expect("update");
    assert_eq!(b.get_document("n", true).await.expect("get").expect("some").text(), "in a");
    assert!(ctx.kv_store().get("n", "other/data").await.expect("kv").is_some());
}

#[tokio::test]
async fn relationships_of_every_kind_round_trip() {
    let (_d, ctx) = ctx().await;
    let node = Node::text_node("n", "t")
        .with_source(RelatedNodeInfo::new("doc"))
        .with_relationship(NodeRelationship::Previous, Related::One(RelatedNodeInfo::new("p")))
        .with_relationship(
            NodeRelationship::Child,
            Related::Many(vec![RelatedNodeInfo::new("c1"), RelatedNodeInfo::new("c2")]),
        );
    ctx.docstore().add_documents(std::slice::from_ref(&node)).await.expect("add");
    assert_eq!(ctx.docstore().get_node("n", true).await.expect("get"), Some(node));
}

/// A call larger than one write is written in batches, in order (each atomic), and with
/// `allow_update=False` an existing id anywhere in it refuses the call before any batch.
#[tokio::test]
async fn add_documents_larger_than_a_batch_lands_whole_or_is_refused_first() {
    let (_d, ctx) = ctx().await;
    let n = strata_client::ADD_DOCUMENTS_BATCH + 10;
    let nodes: Vec<Node> =
        (0..n).map(|i| Node::text_node(format!("n{i}"), "t").with_source(RelatedNodeInfo::new("r"))).collect();
    ctx.docstore().add_documents(&nodes).await.expect("add");
    let ids = ctx.docstore().get_ref_doc_info("r").await.expect("info").map(|i| i.node_ids).unwrap_or_default();
    assert_eq!(ids, (0..n).map(|i| format!("n{i}")).collect::<Vec<_>>(), "every node, in call order");
    let mut more: Vec<Node> = (0..n).map(|i| Node::text_node(format!("m{i}"), "t")).collect();
    more.push(Node::text_node("n0", "again"));
    let refused = ctx
        .docstore()
        .add_documents_with(&more, AddDocumentsOptions { allow_update: false, store_text: true })
        .await
        .expect_err("n0 exists");
    assert!(matches!(refused.as_store(), Some(Error::DocumentExists { node_id }) if node_id == "n0"), "{refused}");
    assert!(!ctx.docstore().document_exists("m0").await.expect("exists"), "no batch was written");
}
