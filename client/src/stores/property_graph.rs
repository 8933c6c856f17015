//! `PropertyGraphStore`: LlamaIndex's labelled property graph store over one graph, with
//! `vector_query` and (read-only Cypher) `structured_query` supported. The semantics
//! are the coordinator's (`strata_shards::graph::coord`): upstream main's `get_rel_map`
//! and `delete` contracts, LlamaIndex's everywhere else.

use super::graph_parts::Parts;
use crate::backend::Backend;
use crate::error::Result;
use serde_json::{Map, Value};
use std::sync::Arc;
use strata_api::{
    GraphCall, GraphSchema, LabelledNode, Node, ReadConsistency, Relation, Response, Triplet, TripletSelector,
    VectorStoreQuery,
};
use strata_shards::graph::coord::call::wire_count;
use strata_shards::graph::coord::{self, delete, pg};

/// A handle on one graph's property graph store. Cheap to clone; safe to share between
/// tasks.
#[derive(Clone)]
pub struct PropertyGraphStore {
    backend: Arc<Backend>,
    graph: String,
    consistency: ReadConsistency,
}

impl PropertyGraphStore {
    /// LlamaIndex's `supports_vector_queries`.
    pub const SUPPORTS_VECTOR_QUERIES: bool = true;
    /// LlamaIndex's `supports_structured_queries`.
    pub const SUPPORTS_STRUCTURED_QUERIES: bool = true;

    pub(crate) fn new(backend: Arc<Backend>, graph: String) -> Self {
        Self { backend, graph, consistency: ReadConsistency::Linearizable }
    }

    /// This handle with reads served by any replica of each partition (possibly a little
    /// behind the latest writes) instead of the leaders.
    pub fn with_stale_reads(mut self, stale_ok: bool) -> Self {
        self.consistency = if stale_ok { ReadConsistency::StaleOk } else { ReadConsistency::Linearizable };
        self
    }

    /// The graph's name.
    pub fn graph(&self) -> &str {
        &self.graph
    }

    async fn parts(&self) -> Result<Parts<'_>> {
        Parts::of(&self.backend, &self.graph, self.consistency).await
    }

    /// `get(properties, ids)`: every node without a selector; else the nodes having any of
    /// the property pairs and one of the ids (each when given), in insertion order.
    pub async fn get(
        &self,
        properties: Option<&Map<String, Value>>,
        ids: Option<&[String]>,
    ) -> Result<Vec<LabelledNode>> {
        let empty = Map::new();
        Ok(pg::get(&self.parts().await?, properties.unwrap_or(&empty), ids.unwrap_or_default()).await?)
    }

    /// `get_triplets(entity_names, relation_names, properties, ids)`: nothing without a
    /// selector, else the triplets passing every given one, in insertion order.
    pub async fn get_triplets(&self, selector: &TripletSelector) -> Result<Vec<Triplet>> {
        Ok(pg::get_triplets(&self.parts().await?, selector).await?)
    }

    /// `get_rel_map(graph_nodes, depth, limit, ignore_rels)`: breadth-first from the
    /// nodes over relations in both directions, each relation once, at most `limit` (not
    /// counting the ignored ones, which are traversed).
    pub async fn get_rel_map(
        &self,
        graph_nodes: &[LabelledNode],
        depth: usize,
        limit: usize,
        ignore_rels: Option<&[String]>,
    ) -> Result<Vec<Triplet>> {
        let seeds: Vec<String> = graph_nodes.iter().map(|n| n.id.clone()).collect();
        self.get_rel_map_of(&seeds, depth, limit, ignore_rels).await
    }

    /// `get_rel_map` from node ids.
    pub async fn get_rel_map_of(
        &self,
        ids: &[String],
        depth: usize,
        limit: usize,
        ignore_rels: Option<&[String]>,
    ) -> Result<Vec<Triplet>> {
        let call = GraphCall::RelMap {
            graph: self.graph.clone(),
            seeds: ids.to_vec(),
            depth: wire_count(depth),
            limit: wire_count(limit),
            ignore_rels: ignore_rels.unwrap_or_default().to_vec(),
        };
        match self.parts().await?.run(call).await? {
            Response::GraphTriplets(t) => Ok(t),
            other => Err(coord::unexpected("rel map", &other).into()),
        }
    }

    /// `upsert_nodes(nodes)`: each node replaces any node with its id (keeping its place).
    pub async fn upsert_nodes(&self, nodes: &[LabelledNode]) -> Result<()> {
        Ok(pg::upsert_nodes(&self.parts().await?, nodes).await?)
    }

    /// `upsert_relations(relations)`: missing endpoints become `EntityNode(name=id)`; a
    /// triplet already present is left as it is.
    pub async fn upsert_relations(&self, relations: &[Relation]) -> Result<()> {
        Ok(pg::upsert_relations(&self.parts().await?, relations).await?)
    }

    /// `delete(entity_names, relation_names, properties, ids)`: the selected triplets and
    /// nodes, and the ends of those triplets nothing references any more; no selector
    /// deletes nothing.
    pub async fn delete(&self, selector: &TripletSelector) -> Result<()> {
        Ok(delete::delete(&self.parts().await?, selector).await?)
    }

    /// `upsert_llama_nodes(llama_nodes)`: each node as a `ChunkNode` (its text, its id,
    /// `node_to_metadata_dict(node, remove_text=True)` as properties, its embedding).
    pub async fn upsert_llama_nodes(&self, nodes: &[Node]) -> Result<()> {
        let chunks: Vec<LabelledNode> = nodes
            .iter()
            .map(|n| {
                let chunk = LabelledNode::chunk(n.id.clone(), n.text()).with_properties(n.to_metadata_dict(true));
                match &n.embedding {
                    Some(e) => chunk.with_embedding(e),
                    None => chunk,
                }
            })
            .collect();
        self.upsert_nodes(&chunks).await
    }

    /// `get_llama_nodes(node_ids)`: the LlamaIndex nodes kept as chunks (those that do
    /// not rebuild are skipped, as LlamaIndex skips them), in insertion order.
    pub async fn get_llama_nodes(&self, node_ids: &[String]) -> Result<Vec<Node>> {
        if node_ids.is_empty() {
            return Ok(Vec::new());
        }
        let nodes = self.get(None, Some(node_ids)).await?;
        Ok(nodes.iter().filter_map(|n| Node::from_metadata_dict(&n.properties, n.text()).ok()).collect())
    }

    /// `delete_llama_nodes(node_ids, ref_doc_ids)`: the nodes extracted from those chunks
    /// or documents, and the chunks and documents themselves.
    pub async fn delete_llama_nodes(&self, node_ids: Option<&[String]>, ref_doc_ids: Option<&[String]>) -> Result<()> {
        let parts = self.parts().await?;
        Ok(delete::delete_llama_nodes(&parts, node_ids.unwrap_or_default(), ref_doc_ids.unwrap_or_default()).await?)
    }

    /// `vector_query(query)`: the embedded entities most similar to the query (top k,
    /// metadata filters over their properties), with their similarities (higher is
    /// more similar).
    pub async fn vector_query(&self, query: &VectorStoreQuery) -> Result<(Vec<LabelledNode>, Vec<f64>)> {
        Ok(pg::vector_query(&self.parts().await?, query).await?)
    }

    /// How far the index of entity embeddings has got (all partitions together):
    /// `unindexed` embeddings are searched exactly until the HNSW graph covers them.
    pub async fn vector_index_stats(&self) -> Result<strata_api::VectorIndexStats> {
        Ok(pg::index_stats(&self.parts().await?).await?)
    }

    /// `get_schema(refresh)`: Neo4j's structured schema, kept up to date by every write
    /// (`refresh` costs nothing more).
    pub async fn get_schema(&self, _refresh: bool) -> Result<GraphSchema> {
        Ok(pg::get_schema(&self.parts().await?).await?)
    }

    /// `get_schema_str(refresh)`: the schema in Neo4j's text layout.
    pub async fn get_schema_str(&self, refresh: bool) -> Result<String> {
        Ok(self.get_schema(refresh).await?.to_text())
    }

    /// `structured_query(query, param_map)`: the rows of a read-only Cypher query, keyed
    /// by alias or expression text (nodes as property maps without embeddings).
    /// Writes and procedures are refused with `UnsupportedCypher`.
    pub async fn structured_query(
        &self,
        query: &str,
        param_map: Option<&Map<String, Value>>,
    ) -> Result<Vec<Map<String, Value>>> {
        let call = GraphCall::Cypher {
            graph: self.graph.clone(),
            query: query.to_string(),
            params: param_map.cloned().unwrap_or_default(),
        };
        match self.parts().await?.run(call).await? {
            Response::GraphRows(rows) => Ok(rows),
            other => Err(coord::unexpected("Cypher rows", &other).into()),
        }
    }

    /// Every relation, in insertion order (what an export writes).
    pub async fn relations(&self) -> Result<Vec<Relation>> {
        Ok(pg::all_relations(&self.parts().await?).await?)
    }
}
