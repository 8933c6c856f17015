//! `VectorStore`: LlamaIndex's `BasePydanticVectorStore` API over one namespace
//! (`add`, `delete`, `delete_nodes`, `get_nodes`, `clear`, `query`), storing text: query
//! results carry the nodes as well as their ids and similarities.

use crate::backend::{Backend, unexpected};
use crate::error::Result;
use serde_json::{Map, Value};
use std::sync::Arc;
use strata_api::{
    Command, JsonText, MetadataFilters, Node, Query, ReadConsistency, RelatedNodeInfo, Response, VectorCommand,
    VectorHit, VectorIndexStats, VectorQuery, VectorRecord, VectorSearch, VectorStoreQuery,
};

/// LlamaIndex's `VectorStoreQueryResult`: parallel lists, best first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VectorStoreQueryResult {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Their similarities (MMR scores in MMR mode).
    pub similarities: Vec<f64>,
    /// Their ids.
    pub ids: Vec<String>,
}

/// A handle on one vector namespace. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct VectorStore {
    backend: Arc<Backend>,
    namespace: String,
    consistency: ReadConsistency,
}

/// The record `add` stores for a node: its embedding (required), its filterable metadata
/// (LlamaIndex's `node_to_metadata_dict`) and the node itself without its embedding.
pub fn record_of(node: &Node) -> Result<VectorRecord> {
    let embedding = node
        .embedding
        .as_ref()
        .ok_or_else(|| strata_api::Error::InvalidInput(format!("node {}: embedding not set.", node.id)))?;
    let ref_doc_id = node.ref_doc_id().map(str::to_string);
    let metadata = strata_api::filter_view(&node.metadata, node.class_name(), ref_doc_id.as_deref());
    let mut bare = node.clone();
    bare.embedding = None;
    let (embedding, exact_f32) = strata_api::embedding_to_f32(embedding);
    Ok(VectorRecord {
        node_id: node.id.clone(),
        embedding,
        ref_doc_id,
        metadata: JsonText::from_map(&metadata),
        node: Some(JsonText::from_node(&bare)),
        exact_f32,
    })
}

/// The node a hit or record stands for: the stored node, or (for vectors imported from a
/// `SimpleVectorStore` file, which keeps no nodes) a `TextNode` with no text, the
/// metadata and the source document link.
pub fn node_of(node_id: &str, node: Option<&JsonText>, metadata: &JsonText, ref_doc_id: Option<&str>) -> Result<Node> {
    if let Some(text) = node {
        return Ok(Node::from_doc_json(&text.to_map()?)?);
    }
    let mut md: Map<String, Value> = metadata.to_map()?;
    for k in strata_api::FILTER_VIEW_KEYS {
        md.remove(k);
    }
    let mut n = Node::text_node(node_id, "").with_metadata(md);
    if let Some(doc) = ref_doc_id {
        n = n.with_source(RelatedNodeInfo::new(doc));
    }
    Ok(n)
}

impl VectorStore {
    pub(crate) fn new(backend: Arc<Backend>, namespace: String) -> Self {
        Self { backend, namespace, consistency: ReadConsistency::Linearizable }
    }

    /// This handle with queries served by any replica of each partition (possibly a
    /// little behind the latest writes) instead of the leaders.
    pub fn with_stale_reads(mut self, stale_ok: bool) -> Self {
        self.consistency = if stale_ok { ReadConsistency::StaleOk } else { ReadConsistency::Linearizable };
        self
    }

    /// The namespace (`default`, `image`, ...).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn write(&self, cmd: VectorCommand) -> Result<Response> {
        self.backend.apply(Command::Vector(cmd)).await
    }

    /// `add(nodes)`: stores each node's embedding (required), metadata and the node;
    /// answers the ids. A bad node (no embedding, wrong dimension, NaN) fails the call
    /// and stores nothing.
    ///
    /// What a reader can see: embedded, one add is one atomic write. On a cluster a
    /// namespace has several partitions (raft groups) and an add is one atomic write per
    /// partition it touches, made concurrently, not one write over all of them: while it
    /// is under way a reader may see the nodes of some partitions and not of others (the
    /// nodes of one partition always together, up to 2048 of them: a partition's share
    /// of a larger add is written in batches of at most
    /// `strata_api::limits::CLIENT_BATCH_ITEMS` records, in order); once it has answered, every read that
    /// starts later sees all of them; and an add that fails part-way with an
    /// `Unavailable` error may have landed on some partitions and not others. Adding the
    /// same nodes again completes it: an add is an upsert by node id.
    pub async fn add(&self, nodes: &[Node]) -> Result<Vec<String>> {
        let records = nodes.iter().map(record_of).collect::<Result<Vec<_>>>()?;
        self.add_records(records).await
    }

    /// Stores prepared records (what `add` and a persist-dir import use).
    pub async fn add_records(&self, records: Vec<VectorRecord>) -> Result<Vec<String>> {
        let cmd = VectorCommand::Add { namespace: self.namespace.clone(), records, order: Vec::new() };
        match self.write(cmd).await? {
            Response::Ids(ids) => Ok(ids),
            other => Err(unexpected("add", &other)),
        }
    }

    /// `delete(ref_doc_id)`: removes every node of that source document (`"None"`: the
    /// nodes without one).
    pub async fn delete(&self, ref_doc_id: &str) -> Result<()> {
        let cmd = VectorCommand::Delete { namespace: self.namespace.clone(), ref_doc_id: ref_doc_id.to_string() };
        self.write(cmd).await?;
        Ok(())
    }

    /// `delete_nodes(node_ids, filters)`: removes the nodes in `node_ids` (when given)
    /// that pass `filters` (when given); neither given removes everything.
    pub async fn delete_nodes(&self, node_ids: Option<&[String]>, filters: Option<&MetadataFilters>) -> Result<()> {
        let cmd = VectorCommand::DeleteNodes {
            namespace: self.namespace.clone(),
            node_ids: node_ids.map(<[String]>::to_vec),
            filters: filters.cloned(),
        };
        self.write(cmd).await?;
        Ok(())
    }

    /// `clear()`.
    pub async fn clear(&self) -> Result<()> {
        self.write(VectorCommand::Clear { namespace: self.namespace.clone() }).await?;
        Ok(())
    }

    /// The stored records (insertion order) in `node_ids` (when given) passing `filters`.
    pub async fn get_records(
        &self,
        node_ids: Option<&[String]>,
        filters: Option<&MetadataFilters>,
    ) -> Result<Vec<VectorRecord>> {
        let q = VectorQuery::GetNodes {
            namespace: self.namespace.clone(),
            node_ids: node_ids.map(<[String]>::to_vec),
            filters: filters.cloned(),
        };
        match self.backend.query(Query::Vector(q)).await? {
            Response::VectorRecords { records, .. } => Ok(records),
            other => Err(unexpected("get_nodes", &other)),
        }
    }

    /// `get_nodes(node_ids, filters)`.
    pub async fn get_nodes(&self, node_ids: Option<&[String]>, filters: Option<&MetadataFilters>) -> Result<Vec<Node>> {
        self.get_records(node_ids, filters)
            .await?
            .iter()
            .map(|r| node_of(&r.node_id, r.node.as_ref(), &r.metadata, r.ref_doc_id.as_deref()))
            .collect()
    }

    /// How far the namespace's approximate index has got (all partitions together).
    pub async fn index_stats(&self) -> Result<VectorIndexStats> {
        let q = VectorQuery::IndexStats { namespace: self.namespace.clone() };
        match self.backend.query(Query::Vector(q)).await? {
            Response::VectorIndexStats(s) => Ok(s),
            other => Err(unexpected("index_stats", &other)),
        }
    }

    /// `query(query)`.
    pub async fn query(&self, query: &VectorStoreQuery) -> Result<VectorStoreQueryResult> {
        self.query_with_kwargs(query, &Map::new()).await
    }

    /// `query(query, **kwargs)`: as LlamaIndex, an `mmr_threshold` keyword (even null)
    /// takes the place of the query's own.
    pub async fn query_with_kwargs(
        &self,
        query: &VectorStoreQuery,
        kwargs: &Map<String, Value>,
    ) -> Result<VectorStoreQueryResult> {
        let mut query = query.clone();
        if let Some(t) = kwargs.get("mmr_threshold") {
            query.mmr_threshold = match t {
                Value::Null => None,
                v => Some(v.as_f64().ok_or_else(|| {
                    strata_api::Error::InvalidInput(format!("mmr_threshold must be a number, not {v}"))
                })?),
            };
        }
        let candidates = query.similarity_top_k;
        let search = VectorSearch { with_embeddings: false, candidates, query, every_candidate: false };
        let hits = self.search(search).await?;
        Self::result_of(hits)
    }

    async fn search(&self, search: VectorSearch) -> Result<Vec<VectorHit>> {
        let q = VectorQuery::Search { namespace: self.namespace.clone(), search: Box::new(search) };
        match self.backend.query_with(Query::Vector(q), self.consistency).await? {
            Response::VectorHits(h) => Ok(h),
            other => Err(unexpected("query", &other)),
        }
    }

    fn result_of(hits: Vec<VectorHit>) -> Result<VectorStoreQueryResult> {
        let mut out = VectorStoreQueryResult::default();
        for h in hits {
            out.nodes.push(node_of(&h.node_id, h.node.as_ref(), &h.metadata, h.ref_doc_id.as_deref())?);
            out.similarities.push(h.similarity);
            out.ids.push(h.node_id);
        }
        Ok(out)
    }
}
