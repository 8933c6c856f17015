//! The persist dir written by llama-index-core (`shared/fixtures/llamaindex-persist`):
//! imported, it answers as llama-index-core answered; exported, it is the same files.

use crate::support::{fixtures, quiet};
use serde_json::Value;
use strata_client::StorageContext;

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("llamaindex-persist.expected.json")).expect("expected file");
    serde_json::from_str(&text).expect("expected parses")
}

async fn imported() -> (crate::support::Guard, StorageContext) {
    let (dir, ctx) = crate::support::ctx().await;
    let summary = ctx.import_persist_dir(fixtures().join("llamaindex-persist"), &quiet).await.expect("import");
    assert_eq!(summary.nodes, 107);
    assert_eq!(summary.index_structs, 2);
    assert_eq!(summary.chat_keys, 3);
    (dir, ctx)
}

#[tokio::test]
async fn imported_fixture_has_the_recorded_counts() {
    let (_d, ctx) = imported().await;
    let counts = &expected()["counts"];
    let kv = ctx.kv_store();
    for coll in ["docstore/data", "docstore/ref_doc_info", "docstore/metadata"] {
        assert_eq!(kv.get_all(coll).await.expect("all").len() as u64, counts[coll].as_u64().expect("count"), "{coll}");
    }
    let hashes = ctx.docstore().get_all_document_hashes().await.expect("hashes");
    assert_eq!(hashes.len() as u64, counts["distinct_hashes(get_all_document_hashes)"].as_u64().expect("count"));
    assert_eq!(
        ctx.index_store().index_structs().await.expect("structs").len() as u64,
        counts["index_structs"].as_u64().expect("n")
    );
}

#[tokio::test]
async fn imported_fixture_answers_docstore_queries_as_llamaindex() {
    let (_d, ctx) = imported().await;
    let want = &expected()["docstore"];
    let ds = ctx.docstore();
    let info = ds.get_ref_doc_info("doc-007").await.expect("info").expect("present");
    assert_eq!(serde_json::to_value(&info).expect("json"), want["ref_doc_info[doc-007]"]);
    assert_eq!(
        ds.get_document_hash("doc-007").await.expect("hash").as_deref(),
        want["get_document_hash(doc-007)"].as_str()
    );
    assert_eq!(Value::Bool(ds.document_exists("doc-007").await.expect("exists")), want["document_exists(doc-007)"]);
    assert_eq!(Value::Bool(ds.ref_doc_exists("doc-007").await.expect("exists")), want["ref_doc_exists(doc-007)"]);
    let node = ds.get_node("doc-007::n0", true).await.expect("node").expect("present");
    assert_eq!(Some(node.hash().as_str()), want["get_node(doc-007::n0).hash"].as_str());
    let mut ids: Vec<String> =
        ctx.index_store().index_structs().await.expect("structs").iter().map(|s| s.index_id().to_string()).collect();
    ids.sort();
    assert_eq!(serde_json::to_value(ids).expect("json"), want["index_ids"]);
}

#[tokio::test]
async fn imported_fixture_answers_chat_queries_as_llamaindex() {
    let (_d, ctx) = imported().await;
    let want = &expected()["chat_store"];
    let chat = ctx.chat_store();
    assert_eq!(serde_json::to_value(chat.get_keys().await.expect("keys")).expect("json"), want["get_keys"]);
    for (key, messages) in want["messages"].as_object().expect("messages") {
        let got: Vec<Value> = chat
            .get_messages(key)
            .await
            .expect("get")
            .iter()
            .map(|m| serde_json::json!({"role": m.role.as_str(), "content": m.content()}))
            .collect();
        assert_eq!(&Value::Array(got), messages, "{key}");
    }
}

/// Export writes LlamaIndex's own bytes back for the KV dumps, vector stores and kept
/// files, and the chat store as the same JSON (on a cluster too: its partitions file the
/// imported vectors at the client's insertion stamps, so listings keep the file's order).
#[tokio::test]
async fn export_reproduces_the_fixture_files() {
    let (dir, ctx) = imported().await;
    let out = dir.path().join("export");
    let summary = ctx.export_persist_dir(&out, &quiet).await.expect("export");
    let src = fixtures().join("llamaindex-persist");
    for name in [
        "docstore.json",
        "index_store.json",
        "default__vector_store.json",
        "image__vector_store.json",
        "graph_store.json",
        "property_graph_store.json",
    ] {
        let a = std::fs::read_to_string(src.join(name)).expect("source");
        let b = std::fs::read_to_string(out.join(name)).expect("exported");
        assert!(a == b, "{name} differs from llama-index-core's bytes");
        assert!(summary.files.iter().any(|f| f == name));
    }
    let parse = |p: std::path::PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
    };
    assert_eq!(parse(src.join("chat_store.json")), parse(out.join("chat_store.json")));
}

#[tokio::test]
async fn a_dir_holding_only_vector_store_files_imports() {
    // A SimpleVectorStore persisted on its own (`persist(persist_path)`) is a persist dir
    // too: its namespace comes in, nothing else is written.
    let (dir, ctx) = crate::support::ctx().await;
    let only = dir.path().join("vectors-only");
    std::fs::create_dir_all(&only).expect("mkdir");
    let file = "default__vector_store.json";
    std::fs::copy(fixtures().join("llamaindex-persist").join(file), only.join(file)).expect("copy");
    let summary = ctx.import_persist_dir(&only, &quiet).await.expect("import");
    let vectors = expected()["counts"]["vector_store_default"].as_u64().expect("count") as usize;
    assert_eq!(summary.vector_namespaces, vec![("default".to_string(), vectors)]);
    assert!(summary.collections.is_empty() && summary.chat_keys == 0);
    assert_eq!(ctx.vector_store().get_nodes(None, None).await.expect("nodes").len(), vectors);
}
