//! The README's embedded example: `cargo run --example embedded -p strata-client`.

use strata_client::StorageContext;
use strata_client::api::{ChatMessage, MessageRole, Node, RelatedNodeInfo};

#[tokio::main]
async fn main() -> strata_client::Result<()> {
    let dir = std::env::temp_dir().join(format!("strata-example-{}", std::process::id()));
    let ctx = StorageContext::open(&dir)?; // one process at a time
    let docstore = ctx.docstore();
    let node = Node::text_node("doc-1::n0", "Raft keeps replicas in step.").with_source(RelatedNodeInfo::new("doc-1"));
    docstore.add_documents(&[node]).await?; // durable when it returns
    println!("{:?}", docstore.get_ref_doc_info("doc-1").await?);
    println!("{} hashes", docstore.get_all_document_hashes().await?.len());
    ctx.chat_store().add_message("session-1", &ChatMessage::new(MessageRole::User, "hello"), None).await?;
    println!("{:?}", ctx.chat_store().get_keys().await?);
    drop(ctx);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
