//! Checking a read and a graph call against the limits.

use super::Limits;
use crate::error::Error;
use crate::graph_call::GraphCall;
use crate::model::VectorStoreQuery;
use crate::query::{ChatQuery, DocstoreQuery, GraphQuery, IndexStoreQuery, KvQuery, NodeSelect, Query, VectorQuery};

impl Limits {
    /// Refuses a read past a limit.
    pub fn check_query(&self, query: &Query) -> Result<(), Error> {
        match query {
            Query::Kv(KvQuery::Get { collection, key }) => {
                self.id("a collection name", collection)?;
                self.id("a key", key)
            }
            Query::Kv(KvQuery::GetAll { collection }) => self.id("a collection name", collection),
            Query::Kv(KvQuery::Collections) | Query::Chat(ChatQuery::GetKeys) | Query::Meta(_) => Ok(()),
            Query::Docstore(q) => self.docstore_query(q),
            Query::IndexStore(IndexStoreQuery::Get { namespace, index_id }) => {
                if let Some(id) = index_id {
                    self.id("an index id", id)?;
                }
                self.id("a namespace", namespace)
            }
            Query::IndexStore(IndexStoreQuery::All { namespace }) => self.id("a namespace", namespace),
            Query::Chat(ChatQuery::GetMessages { key }) => self.id("a chat key", key),
            Query::Vector(q) => self.vector_query(q),
            Query::Graph(q) => self.graph_query(q),
        }
    }

    fn docstore_query(&self, q: &DocstoreQuery) -> Result<(), Error> {
        let namespace = match q {
            DocstoreQuery::GetDocuments { namespace, ids } => {
                self.ids("document ids", ids)?;
                namespace
            }
            DocstoreQuery::DocumentExists { namespace, doc_id }
            | DocstoreQuery::GetDocumentHash { namespace, doc_id } => {
                self.id("a document id", doc_id)?;
                namespace
            }
            DocstoreQuery::GetRefDocInfo { namespace, ref_doc_id } => {
                self.id("a ref_doc_id", ref_doc_id)?;
                namespace
            }
            DocstoreQuery::Docs { namespace }
            | DocstoreQuery::GetAllRefDocInfo { namespace }
            | DocstoreQuery::GetAllDocumentHashes { namespace } => namespace,
        };
        self.id("a namespace", namespace)
    }

    fn vector_query(&self, q: &VectorQuery) -> Result<(), Error> {
        match q {
            VectorQuery::Search { namespace, search } => {
                self.store_query(&search.query)?;
                self.id("a namespace", namespace)
            }
            VectorQuery::GetNodes { namespace, node_ids, filters } => {
                if let Some(ids) = node_ids {
                    self.ids("node ids", ids)?;
                }
                if let Some(f) = filters {
                    self.check_filters(f)?;
                }
                self.id("a namespace", namespace)
            }
            VectorQuery::Namespaces => Ok(()),
            VectorQuery::IndexStats { namespace } => self.id("a namespace", namespace),
        }
    }

    fn store_query(&self, q: &VectorStoreQuery) -> Result<(), Error> {
        if let Some(e) = &q.query_embedding {
            self.dim("a query embedding", e.len())?;
        }
        for ids in [&q.doc_ids, &q.node_ids, &q.output_fields].into_iter().flatten() {
            self.ids("ids", ids)?;
        }
        if let Some(f) = &q.filters {
            self.check_filters(f)?;
        }
        Ok(())
    }

    fn graph_query(&self, q: &GraphQuery) -> Result<(), Error> {
        let graph = match q {
            GraphQuery::TripletLists { graph, subjects, cap: _ } => {
                if let Some(s) = subjects {
                    self.ids("subjects", s)?;
                }
                graph
            }
            GraphQuery::Nodes { graph, select } => {
                self.select(select)?;
                graph
            }
            GraphQuery::Edges { graph, nodes, direction: _, labels, with_nodes: _, cap: _, ignore } => {
                self.ids("node ids", nodes)?;
                self.ids("labels", labels.iter().chain(ignore))?;
                graph
            }
            GraphQuery::Relations { graph, labels, any_properties } => {
                self.ids("labels", labels)?;
                self.metadata("property conditions", any_properties)?;
                graph
            }
            GraphQuery::VectorSearch { graph, query } => {
                self.store_query(query)?;
                graph
            }
            GraphQuery::Labels { graph, ids } => {
                self.ids("node ids", ids)?;
                graph
            }
            GraphQuery::Schema { graph } | GraphQuery::IndexStats { graph } => graph,
        };
        self.id("a graph name", graph)
    }

    fn select(&self, s: &NodeSelect) -> Result<(), Error> {
        if let Some(ids) = &s.ids {
            self.ids("node ids", ids)?;
        }
        self.ids("labels", &s.labels)?;
        self.metadata("property conditions", &s.any_properties)?;
        self.metadata("property conditions", &s.all_properties)?;
        if let Some((key, values)) = &s.property_in {
            self.id("a property name", key)?;
            self.items("property values", values.len())?;
        }
        Ok(())
    }

    /// Refuses a graph's name past the id limit (creating a graph).
    pub fn check_graph_name(&self, name: &str) -> Result<(), Error> {
        self.id("a graph name", name)
    }

    /// Refuses a graph call past a limit.
    pub fn check_graph_call(&self, call: &GraphCall) -> Result<(), Error> {
        self.id("a graph name", call.graph())?;
        match call {
            GraphCall::RelMap { graph: _, seeds, depth: _, limit: _, ignore_rels } => {
                self.ids("seed ids", seeds)?;
                self.ids("relation labels", ignore_rels)
            }
            GraphCall::TripletRelMap { graph: _, subjs, depth: _, limit: _ } => {
                subjs.as_ref().map_or(Ok(()), |s| self.ids("subjects", s))
            }
            GraphCall::Cypher { graph: _, query, params } => {
                if query.len() > self.max_cypher_bytes {
                    return Err(super::exceeded("bytes of a Cypher query", self.max_cypher_bytes, query.len()));
                }
                self.metadata("Cypher parameters", params)
            }
        }
    }
}
