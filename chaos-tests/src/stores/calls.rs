//! The stores workload's calls, what they answer, and how each is made through the
//! client (one client call per recorded operation).

use super::{DIM, DOC_NAMESPACE, GRAPH, VECTOR_NAMESPACE};
use serde::{Deserialize, Serialize};
use strata_client::StorageContext;
use strata_client::api::{ChatMessage, LabelledNode, MessageRole, Node, RelatedNodeInfo, Relation, VectorStoreQuery};

/// A recorded call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreCall {
    /// `chat_store.add_message(key, message)`.
    ChatAppend {
        /// The chat key.
        key: String,
        /// The message's text (unique in the run).
        message: String,
    },
    /// `chat_store.get_messages(key)`.
    ChatRead {
        /// The chat key.
        key: String,
    },
    /// `docstore.add_documents` of `nodes` nodes of one ref doc (ids `{ref_doc}/{j}`).
    DocAdd {
        /// The ref doc (unique in the run).
        ref_doc: String,
        /// How many nodes.
        nodes: u32,
    },
    /// `docstore.delete_ref_doc(ref_doc)`.
    DocDelete {
        /// The ref doc.
        ref_doc: String,
    },
    /// `docstore.get_ref_doc_info(ref_doc)`: its node ids.
    DocRead {
        /// The ref doc.
        ref_doc: String,
    },
    /// `vector_store.add` of `nodes` nodes of one ref doc (ids `{ref_doc}/{j}`).
    VectorAdd {
        /// The ref doc (unique in the run).
        ref_doc: String,
        /// How many nodes.
        nodes: u32,
    },
    /// `vector_store.delete(ref_doc)`.
    VectorDelete {
        /// The ref doc.
        ref_doc: String,
    },
    /// `vector_store.query` with node `near`'s embedding, top 4: the ids found.
    VectorQuery {
        /// A node id whose embedding is the query.
        near: String,
    },
    /// `property_graph_store.upsert_nodes` of entities.
    GraphNodes {
        /// Their names.
        names: Vec<String>,
    },
    /// `property_graph_store.upsert_relations` of one relation (its label unique in the run).
    GraphRelate {
        /// The source entity's name.
        source: String,
        /// The relation's label.
        label: String,
        /// The target entity's name.
        target: String,
    },
    /// `property_graph_store.get_rel_map` of one entity, depth 1: the triplets found.
    GraphRelMap {
        /// The entity's name.
        name: String,
    },
}

impl StoreCall {
    /// Whether the call writes.
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            StoreCall::ChatRead { .. }
                | StoreCall::DocRead { .. }
                | StoreCall::VectorQuery { .. }
                | StoreCall::GraphRelMap { .. }
        )
    }
}

/// What a call answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreAnswer {
    /// A write's acknowledgement.
    Done,
    /// A chat history's message texts, in order.
    Messages(Vec<String>),
    /// Node ids (`None`: no such ref doc).
    Ids(Option<Vec<String>>),
    /// Triplets as `(source id, label, target id)`.
    Triplets(Vec<(String, String, String)>),
}

/// The embedding of node `id` (a pure function of the id, so a query can ask for it).
pub fn embedding(id: &str) -> Vec<f64> {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    crate::rng::pseudo_vector(hash, DIM)
}

/// The node ids of a ref doc of `nodes` nodes.
pub fn node_ids(ref_doc: &str, nodes: u32) -> Vec<String> {
    (0..nodes).map(|j| format!("{ref_doc}/{j}")).collect()
}

/// The ref doc a workload node id belongs to.
pub fn ref_doc_of(node_id: &str) -> &str {
    node_id.rsplit_once('/').map_or(node_id, |(r, _)| r)
}

fn ref_doc_nodes(ref_doc: &str, nodes: u32, embedded: bool) -> Vec<Node> {
    node_ids(ref_doc, nodes)
        .into_iter()
        .map(|id| {
            let mut n = Node::text_node(id.clone(), format!("text of {id}"))
                .with_source(RelatedNodeInfo::new(ref_doc.to_string()));
            if embedded {
                n.embedding = Some(embedding(&id));
            }
            n
        })
        .collect()
}

/// The triplet of a relation as the checker compares them.
pub fn triplet_key(source: &str, label: &str, target: &str) -> (String, String, String) {
    (LabelledNode::entity(source, "ENTITY").id, label.to_string(), LabelledNode::entity(target, "ENTITY").id)
}

/// Makes `call` through `ctx`.
pub async fn run(ctx: &StorageContext, call: &StoreCall) -> strata_client::Result<StoreAnswer> {
    let done = |()| StoreAnswer::Done;
    match call {
        StoreCall::ChatAppend { key, message } => ctx
            .chat_store()
            .add_message(key, &ChatMessage::new(MessageRole::User, message.clone()), None)
            .await
            .map(done),
        StoreCall::ChatRead { key } => {
            let messages = ctx.chat_store().get_messages(key).await?;
            Ok(StoreAnswer::Messages(messages.iter().map(|m| m.content().unwrap_or_default()).collect()))
        }
        StoreCall::DocAdd { ref_doc, nodes } => {
            ctx.docstore_in(DOC_NAMESPACE).add_documents(&ref_doc_nodes(ref_doc, *nodes, false)).await.map(done)
        }
        StoreCall::DocDelete { ref_doc } => {
            ctx.docstore_in(DOC_NAMESPACE).delete_ref_doc(ref_doc, false).await.map(done)
        }
        StoreCall::DocRead { ref_doc } => {
            let info = ctx.docstore_in(DOC_NAMESPACE).get_ref_doc_info(ref_doc).await?;
            Ok(StoreAnswer::Ids(info.map(|i| i.node_ids)))
        }
        StoreCall::VectorAdd { ref_doc, nodes } => ctx
            .vector_store_in(VECTOR_NAMESPACE)
            .add(&ref_doc_nodes(ref_doc, *nodes, true))
            .await
            .map(|_| StoreAnswer::Done),
        StoreCall::VectorDelete { ref_doc } => ctx.vector_store_in(VECTOR_NAMESPACE).delete(ref_doc).await.map(done),
        StoreCall::VectorQuery { near } => {
            let query = VectorStoreQuery {
                query_embedding: Some(embedding(near).iter().map(|x| *x as f32).collect()),
                similarity_top_k: 4,
                ..Default::default()
            };
            let found = ctx.vector_store_in(VECTOR_NAMESPACE).query(&query).await?;
            Ok(StoreAnswer::Ids(Some(found.ids)))
        }
        StoreCall::GraphNodes { names } => {
            let nodes: Vec<LabelledNode> = names.iter().map(|n| LabelledNode::entity(n.clone(), "ENTITY")).collect();
            ctx.property_graph_store_in(GRAPH).upsert_nodes(&nodes).await.map(done)
        }
        StoreCall::GraphRelate { source, label, target } => {
            let (s, l, t) = triplet_key(source, label, target);
            ctx.property_graph_store_in(GRAPH).upsert_relations(&[Relation::new(s, l, t)]).await.map(done)
        }
        StoreCall::GraphRelMap { name } => {
            let id = LabelledNode::entity(name.clone(), "ENTITY").id;
            let triplets = ctx.property_graph_store_in(GRAPH).get_rel_map_of(&[id], 1, 10_000, None).await?;
            Ok(StoreAnswer::Triplets(
                triplets.into_iter().map(|t| (t.source.id, t.relation.label, t.target.id)).collect(),
            ))
        }
    }
}
