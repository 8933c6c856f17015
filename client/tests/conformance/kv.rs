//! KV items of the checklist (`test_simple_kvstore.py`, `test_mutable_mapping_kvstore.py`).

use crate::support::{ctx, obj, quiet};
use serde_json::json;
use strata_client::StorageContext;

/// Checklist 12, 15–17: put/get/get missing/get_all/delete, unknown collection reads as empty.
#[tokio::test]
async fn kv_put_get_get_all_delete() {
    let (_d, ctx) = ctx().await;
    let kv = ctx.kv_store();
    kv.put("foo", &obj(json!({"foo": "bar"})), "data").await.expect("put");
    assert_eq!(kv.get("foo", "data").await.expect("get"), Some(obj(json!({"foo": "bar"}))));
    assert_eq!(kv.get("foo", "nonexistent").await.expect("get"), None);
    assert_eq!(kv.get("missing", "data").await.expect("get"), None);
    let all = kv.get_all("data").await.expect("all");
    assert_eq!(all.len(), 1);
    assert_eq!(all["foo"], obj(json!({"foo": "bar"})));
    assert!(kv.get_all("nonexistent").await.expect("all").is_empty());
    assert!(kv.delete("foo", "data").await.expect("delete"));
    assert!(!kv.delete("foo", "data").await.expect("delete again"));
    assert_eq!(kv.get("foo", "data").await.expect("get"), None);
}

/// Checklist 13–14: persist and reload keep the entry.
#[tokio::test]
async fn kv_persist_round_trip() {
    let (dir, ctx) = ctx().await;
    ctx.kv_store().put("k", &obj(json!({"v": [1, 2.5, "x", null]})), "coll").await.expect("put");
    let out = dir.path().join("p");
    ctx.export_persist_dir(&out, &quiet).await.expect("export");
    let other = StorageContext::open(dir.path().join("o")).expect("open");
    other.import_persist_dir(&out, &quiet).await.expect("import");
    assert_eq!(other.kv_store().get_all("coll").await.expect("all").len(), 1);
    assert_eq!(other.kv_store().get("k", "coll").await.expect("get"), Some(obj(json!({"v": [1, 2.5, "x", null]}))));
}

#[tokio::test]
async fn put_all_keeps_order_and_overwrite_keeps_position() {
    let (_d, ctx) = ctx().await;
    let kv = ctx.kv_store();
    let pairs: Vec<_> = ["c", "a", "b"].iter().map(|k| (k.to_string(), obj(json!({"k": k})))).collect();
    kv.put_all(&pairs, "data").await.expect("put_all");
    kv.put("a", &obj(json!({"k": "A"})), "data").await.expect("overwrite");
    kv.delete("c", "data").await.expect("delete");
    kv.put("c", &obj(json!({"k": "C"})), "data").await.expect("re-add");
    let keys: Vec<String> = kv.get_all("data").await.expect("all").keys().cloned().collect();
    assert_eq!(keys, vec!["a", "b", "c"]);
    assert_eq!(kv.collections().await.expect("collections"), vec!["data"]);
}

#[tokio::test]
async fn values_keep_key_order_and_numbers_exactly() {
    let (_d, ctx) = ctx().await;
    let value = obj(json!({"z": 1, "a": 0.1, "m": 1e-7, "big": 1000000000000000000u64, "neg": -3}));
    ctx.kv_store().put("k", &value, "data").await.expect("put");
    let back = ctx.kv_store().get("k", "data").await.expect("get").expect("some");
    assert_eq!(back.keys().cloned().collect::<Vec<_>>(), vec!["z", "a", "m", "big", "neg"]);
    assert_eq!(back, value);
}
