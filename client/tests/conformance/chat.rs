//! Chat store items of the checklist (`test_simple_chat_store.py`), with upstream's fixes
//! for out-of-range deletes.

use crate::support::{ctx, quiet};
use strata_client::StorageContext;
use strata_client::api::{ChatMessage, MessageRole};

fn user(text: &str) -> ChatMessage {
    ChatMessage::new(MessageRole::User, text)
}

fn texts(messages: &[ChatMessage]) -> Vec<String> {
    messages.iter().map(|m| m.content().unwrap_or_default()).collect()
}

/// Checklist 21 (`test_add_messages`).
#[tokio::test]
async fn add_messages_per_key_and_insert_at_front() {
    let (_d, ctx) = ctx().await;
    let chat = ctx.chat_store();
    chat.add_message("user1", &user("m1"), None).await.expect("add");
    chat.add_message("user2", &user("m2"), None).await.expect("add");
    chat.add_message("user1", &user("m0"), Some(0)).await.expect("insert");
    assert_eq!(chat.get_keys().await.expect("keys"), vec!["user1", "user2"]);
    assert_eq!(texts(&chat.get_messages("user1").await.expect("get")), vec!["m0", "m1"]);
    assert!(chat.get_messages("nobody").await.expect("get").is_empty());
    assert_eq!(chat.get_keys().await.expect("keys").len(), 2, "get_messages does not create keys");
}

/// Checklist 22 (`test_delete_chat_messages`).
#[tokio::test]
async fn delete_messages_empties_one_key() {
    let (_d, ctx) = ctx().await;
    let chat = ctx.chat_store();
    chat.set_messages("a", &[user("1"), user("2")]).await.expect("set");
    chat.set_messages("b", &[user("3")]).await.expect("set");
    assert_eq!(texts(&chat.delete_messages("a").await.expect("delete").expect("some")), vec!["1", "2"]);
    assert!(chat.get_messages("a").await.expect("get").is_empty());
    assert_eq!(chat.get_keys().await.expect("keys"), vec!["b"]);
    assert_eq!(texts(&chat.get_messages("b").await.expect("get")), vec!["3"]);
    assert_eq!(chat.delete_messages("a").await.expect("again"), None);
}

/// Checklist 23–24 (`test_delete_chat_message`, `test_delete_chat_message_idx`).
#[tokio::test]
async fn delete_last_and_by_index() {
    let (_d, ctx) = ctx().await;
    let chat = ctx.chat_store();
    chat.set_messages("k", &[user("1"), user("2"), user("3")]).await.expect("set");
    assert_eq!(chat.delete_last_message("k").await.expect("last").map(|m| m.content()), Some(Some("3".into())));
    assert_eq!(chat.delete_message("k", 0).await.expect("idx").map(|m| m.content()), Some(Some("1".into())));
    assert_eq!(texts(&chat.get_messages("k").await.expect("get")), vec!["2"]);
    chat.set_messages("k", &[user("a"), user("b"), user("c")]).await.expect("set");
    assert_eq!(chat.delete_message("k", -1).await.expect("neg").map(|m| m.content()), Some(Some("c".into())));
}

/// Checklist 25–26 (upstream fixes): out-of-range and empty-history deletes answer none.
#[tokio::test]
async fn out_of_range_and_empty_deletes_change_nothing() {
    let (_d, ctx) = ctx().await;
    let chat = ctx.chat_store();
    chat.set_messages("k", &[user("only")]).await.expect("set");
    assert_eq!(chat.delete_message("k", -2).await.expect("oob"), None);
    assert_eq!(chat.delete_message("k", 1).await.expect("oob"), None);
    assert_eq!(texts(&chat.get_messages("k").await.expect("get")), vec!["only"]);
    assert!(chat.delete_last_message("k").await.expect("last").is_some());
    assert_eq!(chat.delete_last_message("k").await.expect("empty"), None);
    assert_eq!(chat.delete_last_message("absent").await.expect("absent"), None);
    assert_eq!(chat.delete_message("absent", 0).await.expect("absent"), None);
    assert_eq!(chat.get_keys().await.expect("keys"), vec!["k"], "an emptied key stays");
}

/// Python `list.insert` semantics, including many inserts at one spot (positions respaced).
#[tokio::test]
async fn insert_positions_follow_python_list_insert() {
    let (_d, ctx) = ctx().await;
    let chat = ctx.chat_store();
    chat.set_messages("k", &[user("a"), user("z")]).await.expect("set");
    let mut model = vec!["a".to_string(), "z".to_string()];
    for i in 0..40 {
        let text = format!("m{i}");
        chat.add_message("k", &user(&text), Some(1)).await.expect("insert");
        model.insert(1, text);
    }
    chat.add_message("k", &user("neg"), Some(-1)).await.expect("insert");
    let len = model.len();
    model.insert(len - 1, "neg".into());
    chat.add_message("k", &user("far"), Some(1000)).await.expect("insert");
    model.push("far".into());
    chat.add_message("k", &user("farneg"), Some(-1000)).await.expect("insert");
    model.insert(0, "farneg".into());
    assert_eq!(texts(&chat.get_messages("k").await.expect("get")), model);
}

/// Checklist 27 (`test_persist_non_ascii_unescaped`): non-ASCII survives export/import,
/// written raw in chat_store.json.
#[tokio::test]
async fn non_ascii_persists_unescaped() {
    let (dir, ctx) = ctx().await;
    let mut msg = ChatMessage::new(MessageRole::Assistant, "ハロー héllo");
    msg.additional_kwargs.insert("tool_call_id".into(), "c1".into());
    ctx.chat_store().set_messages("user1", &[msg.clone()]).await.expect("set");
    let out = dir.path().join("p");
    ctx.export_persist_dir(&out, &quiet).await.expect("export");
    let text = std::fs::read_to_string(out.join("chat_store.json")).expect("file");
    assert!(text.contains("ハロー héllo"), "{text}");
    let other = StorageContext::open(dir.path().join("o")).expect("open");
    other.import_persist_dir(&out, &quiet).await.expect("import");
    assert_eq!(other.chat_store().get_messages("user1").await.expect("get"), vec![msg]);
}
