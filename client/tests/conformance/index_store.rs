//! Index store items of the checklist (`test_simple_index_store.py`, loading rules).

use crate::support::{ctx, obj, quiet};
use serde_json::json;
use strata_client::StorageContext;
use strata_client::api::{Error, IndexStruct};

fn tree_struct() -> IndexStruct {
    IndexStruct::new(
        "tree",
        "tree-1",
        obj(
            json!({"all_nodes": {"0": "a", "1": "b"}, "root_nodes": {"0": "a"}, "node_id_to_children_ids": {"a": ["b"]}}),
        ),
    )
}

/// Checklist 18 (`test_simple_index_store_dict`): an IndexGraph round-trips through persist.
#[tokio::test]
async fn index_graph_round_trips() {
    let (dir, ctx) = ctx().await;
    ctx.index_store().add_index_struct(&tree_struct()).await.expect("add");
    let out = dir.path().join("p");
    ctx.export_persist_dir(&out, &quiet).await.expect("export");
    let other = StorageContext::open(dir.path().join("o")).expect("open");
    other.import_persist_dir(&out, &quiet).await.expect("import");
    assert_eq!(other.index_store().get_index_struct(Some("tree-1")).await.expect("get"), Some(tree_struct()));
}

#[tokio::test]
async fn add_get_delete_and_the_single_struct_rule() {
    let (_d, ctx) = ctx().await;
    let store = ctx.index_store();
    assert_eq!(
        store.get_index_struct(None).await.expect_err("none stored").as_store(),
        Some(&Error::IndexStructNotUnique { count: 0 })
    );
    let list = IndexStruct::new("list", "summary", obj(json!({"nodes": ["n1"]})));
    store.add_index_struct(&list).await.expect("add");
    assert_eq!(store.get_index_struct(None).await.expect("only one"), Some(list.clone()));
    store.add_index_struct(&tree_struct()).await.expect("add");
    assert_eq!(
        store.get_index_struct(None).await.expect_err("two stored").as_store(),
        Some(&Error::IndexStructNotUnique { count: 2 })
    );
    let ids: Vec<String> = store.index_structs().await.expect("all").iter().map(|s| s.index_id().to_string()).collect();
    assert_eq!(ids, vec!["summary", "tree-1"]);
    // Re-adding replaces in place.
    let list2 = IndexStruct::new("list", "summary", obj(json!({"nodes": ["n1", "n2"]})));
    store.add_index_struct(&list2).await.expect("replace");
    assert_eq!(store.get_index_struct(Some("summary")).await.expect("get"), Some(list2));
    store.delete_index_struct("summary").await.expect("delete");
    store.delete_index_struct("never-there").await.expect("silent");
    assert_eq!(store.get_index_struct(Some("summary")).await.expect("get"), None);
    let stored = ctx.kv_store().get("tree-1", "index_store/data").await.expect("kv").expect("some");
    assert_eq!(stored["__type__"], "tree");
    assert!(stored["__data__"].is_string(), "__data__ is a JSON string, as LlamaIndex writes it");
}
