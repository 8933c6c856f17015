//! `GraphStore`: LlamaIndex's triplet graph store (`SimpleGraphStore`'s semantics) over
//! one graph: per subject an ordered list of distinct `[rel, obj]` pairs. On a cluster a
//! subject's list lives in its partition and `get_rel_map` fetches lists in at most
//! `depth` rounds.

use super::graph_parts::Parts;
use crate::backend::Backend;
use crate::error::Result;
use std::collections::BTreeSet;
use std::sync::Arc;
use strata_api::model::graph::{PropertyType, SchemaRelationship};
use strata_api::{GraphCall, GraphSchema, ReadConsistency, Response};
use strata_shards::graph::coord::call::wire_count;
use strata_shards::graph::coord::{self, triplets};

pub use triplets::{Pairs, RelMap};

/// A handle on one graph's triplet store. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct GraphStore {
    backend: Arc<Backend>,
    graph: String,
}

impl GraphStore {
    pub(crate) fn new(backend: Arc<Backend>, graph: String) -> Self {
        Self { backend, graph }
    }

    /// The graph's name.
    pub fn graph(&self) -> &str {
        &self.graph
    }

    async fn parts(&self) -> Result<Parts<'_>> {
        Parts::of(&self.backend, &self.graph, ReadConsistency::Linearizable).await
    }

    /// `get(subj)`: the subject's `[rel, obj]` pairs (empty for an unknown subject).
    pub async fn get(&self, subj: &str) -> Result<Pairs> {
        Ok(triplets::get(&self.parts().await?, subj).await?)
    }

    /// `get_rel_map(subjs, depth, limit)`: LlamaIndex's depth-first walk from each subject
    /// (every subject when `subjs` is none) under a global budget of `limit` rows.
    pub async fn get_rel_map(&self, subjs: Option<&[String]>, depth: usize, limit: usize) -> Result<RelMap> {
        let call = GraphCall::TripletRelMap {
            graph: self.graph.clone(),
            subjs: subjs.map(<[String]>::to_vec),
            depth: wire_count(depth),
            limit: wire_count(limit),
        };
        match self.parts().await?.run(call).await? {
            Response::GraphRelMap(map) => Ok(map),
            other => Err(coord::unexpected("rel map", &other).into()),
        }
    }

    /// `upsert_triplet(subj, rel, obj)`: appends the pair unless the subject has it.
    pub async fn upsert_triplet(&self, subj: &str, rel: &str, obj: &str) -> Result<()> {
        Ok(triplets::upsert_triplet(&self.parts().await?, subj, rel, obj).await?)
    }

    /// Upserts many triplets in order (one write per partition).
    pub async fn upsert_triplets(&self, list: &[(String, String, String)]) -> Result<()> {
        Ok(triplets::upsert_triplets(&self.parts().await?, list).await?)
    }

    /// `delete(subj, rel, obj)`: removes the pair, and the subject once it has none (the
    /// intended behaviour; llama-index-core 0.14.25's never deletes anything).
    pub async fn delete(&self, subj: &str, rel: &str, obj: &str) -> Result<()> {
        triplets::delete(&self.parts().await?, subj, rel, obj).await?;
        Ok(())
    }

    /// Every subject and its pairs, in insertion order (`graph_dict`).
    pub async fn graph_dict(&self) -> Result<Vec<(String, Pairs)>> {
        Ok(triplets::all(&self.parts().await?, usize::MAX).await?)
    }

    /// `get_schema()`: the relation types, in Neo4j's layout with every subject and
    /// object an `Entity` (LlamaIndex's `SimpleGraphStore` raises `NotImplementedError`).
    pub async fn get_schema(&self) -> Result<String> {
        let dict = self.graph_dict().await?;
        let rels: BTreeSet<&str> = dict.iter().flat_map(|(_, pairs)| pairs.iter().map(|(r, _)| r.as_str())).collect();
        let mut schema = GraphSchema::default();
        if !dict.is_empty() {
            schema
                .node_props
                .insert("Entity".into(), vec![PropertyType { property: "id".into(), kind: "STRING".into() }]);
        }
        schema.relationships = rels
            .into_iter()
            .map(|r| SchemaRelationship { start: "Entity".into(), kind: r.into(), end: "Entity".into() })
            .collect();
        Ok(schema.to_text())
    }

    /// `query(query, param_map)`: the triplet store has no query language (LlamaIndex's
    /// raises `NotImplementedError`); the property graph store's `structured_query`
    /// answers Cypher.
    pub async fn query(&self, _query: &str) -> Result<serde_json::Value> {
        Err(strata_api::Error::Unsupported(
            "the triplet graph store has no query language; use the property graph store's structured_query".into(),
        )
        .into())
    }
}
