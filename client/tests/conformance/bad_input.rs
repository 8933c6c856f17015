//! Bad input gets a typed error and leaves every store as it was.

use crate::support::{ctx, obj, quiet};
use serde_json::json;
use strata_client::Error;
use strata_client::api::Node;

async fn snapshot(ctx: &strata_client::StorageContext) -> Vec<(String, usize)> {
    let kv = ctx.kv_store();
    let mut out = Vec::new();
    for c in kv.collections().await.expect("collections") {
        let n = kv.get_all(&c).await.expect("all").len();
        out.push((c, n));
    }
    out.push(("chat".into(), ctx.chat_store().get_keys().await.expect("keys").len()));
    out
}

#[tokio::test]
async fn malformed_persist_files_change_nothing() {
    let (dir, ctx) = ctx().await;
    ctx.docstore().add_documents(&[Node::text_node("keep", "me")]).await.expect("add");
    let before = snapshot(&ctx).await;
    let cases: Vec<(&str, &str)> = vec![
        ("docstore.json", "{\"docstore/data\": {\"a\": "),
        ("docstore.json", "[1, 2]"),
        ("docstore.json", "{\"docstore/data\": {\"a\": 5}}"),
        ("docstore.json", "{\"docstore/data\": {\"a\": {\"__type__\": \"42\", \"__data__\": {}}}}"),
        (
            "docstore.json",
            "{\"docstore/data\": {\"a\": {\"__type__\": \"1\", \"__data__\": {\"text\": 3, \"id_\": \"a\"}}}}",
        ),
        ("index_store.json", "{\"index_store/data\": {\"x\": {\"__type__\": \"list\", \"__data__\": \"not json\"}}}"),
        ("chat_store.json", "{\"store\": {\"k\": [{\"role\": \"wizard\"}]}, \"class_name\": \"SimpleChatStore\"}"),
        ("chat_store.json", "{\"store\": {}, \"class_name\": \"RedisChatStore\"}"),
    ];
    for (i, (file, content)) in cases.into_iter().enumerate() {
        let p = dir.path().join(format!("bad{i}"));
        std::fs::create_dir_all(&p).expect("mkdir");
        // A valid docstore.json beside a bad other file must not be half imported either.
        if file != "docstore.json" {
            std::fs::write(p.join("docstore.json"), r#"{"docstore/data": {}, "x/y": {"k": {"v": 1}}}"#).expect("write");
        }
        std::fs::write(p.join(file), content).expect("write");
        let err = ctx.import_persist_dir(&p, &quiet).await.expect_err("bad file refused");
        assert!(matches!(err, Error::InvalidFile { .. }), "{file}: {err}");
        assert_eq!(snapshot(&ctx).await, before, "{file} changed the store");
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    assert!(matches!(ctx.import_persist_dir(&empty, &quiet).await, Err(Error::InvalidFile { .. })));
    assert!(matches!(ctx.import_persist_dir(dir.path().join("missing"), &quiet).await, Err(Error::Io { .. })));
}

#[tokio::test]
async fn invalid_writes_are_refused() {
    let (_d, ctx) = ctx().await;
    let err = ctx.docstore().add_documents(&[Node::text_node("", "no id")]).await.expect_err("empty id");
    assert!(matches!(err.as_store(), Some(strata_client::api::Error::InvalidInput(_))));
    let err = ctx.kv_store().put("k", &obj(json!({})), "__strata__/persist_files").await.expect_err("reserved");
    assert!(matches!(err.as_store(), Some(strata_client::api::Error::InvalidInput(_))));
    assert!(ctx.kv_store().collections().await.expect("collections").is_empty());
}
