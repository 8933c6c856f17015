//! The crash workload: step `i` writes, as three separate commands, two nodes of source
//! document `doc-{i/4}` in one `add_documents`, one KV entry and one chat message.

use strata_client::StorageContext;
use strata_client::api::{ChatMessage, MessageRole, Node, RelatedNodeInfo};

/// The chat key the workload appends to.
pub const CHAT_KEY: &str = "session";
/// The KV collection the workload writes to.
pub const KV_COLLECTION: &str = "steps";

/// The two nodes of step `i` (same command, so both or neither may exist).
pub fn nodes(i: u64) -> [Node; 2] {
    let source = RelatedNodeInfo::new(format!("doc-{}", i / 4));
    let text = "x".repeat(200 + (i % 7) as usize * 100);
    [
        Node::text_node(format!("a-{i}"), format!("{text} a {i}")).with_source(source.clone()),
        Node::text_node(format!("b-{i}"), format!("{text} b {i}")).with_source(source),
    ]
}

/// Runs step `i`; returns once all three writes are durable.
pub async fn step(ctx: &StorageContext, i: u64) -> strata_client::Result<()> {
    ctx.docstore().add_documents(&nodes(i)).await?;
    let mut value = serde_json::Map::new();
    value.insert("step".into(), i.into());
    ctx.kv_store().put(&format!("k-{i}"), &value, KV_COLLECTION).await?;
    ctx.chat_store().add_message(CHAT_KEY, &ChatMessage::new(MessageRole::User, i.to_string()), None).await?;
    Ok(())
}
