//! What the stores hold once the faults have ended, read linearizably (each read retried
//! until it answers), for the acknowledged-write checkers.

use super::calls::ref_doc_of;
use super::{CHAT_KEYS, DOC_NAMESPACE, GRAPH, VECTOR_NAMESPACE};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};
use strata_client::StorageContext;

/// The stores' contents the workload can have written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalState {
    /// Chat key → message texts in order.
    pub chats: BTreeMap<String, Vec<String>>,
    /// Docstore ref doc → its node ids (`get_all_ref_doc_info`).
    pub docs: BTreeMap<String, Vec<String>>,
    /// Vector ref doc → the ids of its nodes present (`get_nodes`).
    pub vectors: BTreeMap<String, Vec<String>>,
    /// Property-graph node ids.
    pub graph_nodes: BTreeSet<String>,
    /// Property-graph relations as `(source id, label, target id)`.
    pub relations: BTreeSet<(String, String, String)>,
}

async fn retried<T, F: Future<Output = strata_client::Result<T>>>(
    what: &str,
    until: Instant,
    mut call: impl FnMut() -> F,
) -> Result<T, String> {
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= until => return Err(format!("reading {what}: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Reads the final state through a fresh connection to `addrs`, giving up after `within`.
pub async fn read(addrs: &[String], within: Duration) -> Result<FinalState, String> {
    let until = Instant::now() + within;
    let ctx = retried("a connection", until, || StorageContext::connect_within(addrs, Duration::from_secs(5))).await?;
    read_from(&ctx, until).await
}

/// Reads the final state from `ctx` (a cluster or an embedded directory), giving up at `until`.
pub async fn read_from(ctx: &StorageContext, until: Instant) -> Result<FinalState, String> {
    let mut state = FinalState::default();
    let chat = ctx.chat_store();
    for k in 0..CHAT_KEYS {
        let key = format!("c{k}");
        let messages = retried("a chat history", until, || chat.get_messages(&key)).await?;
        state.chats.insert(key, messages.iter().map(|m| m.content().unwrap_or_default()).collect());
    }
    let docstore = ctx.docstore_in(DOC_NAMESPACE);
    let infos = retried("the ref docs", until, || docstore.get_all_ref_doc_info()).await?;
    state.docs = infos.into_iter().map(|(r, info)| (r, info.node_ids)).collect();
    let vectors = ctx.vector_store_in(VECTOR_NAMESPACE);
    let nodes = retried("the vector nodes", until, || vectors.get_nodes(None, None)).await?;
    for n in nodes {
        let id = n.node_id().to_string();
        state.vectors.entry(ref_doc_of(&id).to_string()).or_default().push(id);
    }
    let graph = ctx.property_graph_store_in(GRAPH);
    let graph_nodes = retried("the graph nodes", until, || graph.get(None, None)).await?;
    state.graph_nodes = graph_nodes.into_iter().map(|n| n.id).collect();
    let relations = retried("the graph relations", until, || graph.relations()).await?;
    state.relations = relations.into_iter().map(|r| (r.source_id, r.label, r.target_id)).collect();
    Ok(state)
}
