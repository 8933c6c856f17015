//! Entity embeddings live in an internal vector namespace of the partition (one per
//! graph), so `vector_query` is the vector store's own search — records, HNSW index,
//! saved graphs, filters with LlamaIndex's semantics — not a copy of it. A record's
//! filterable metadata is the entity's properties; it keeps no node (the graph record
//! is the node). Chunk embeddings stay in their node record: LlamaIndex's retrievers
//! search entities (as Neo4j's `vector_query` does).

use crate::error::Result;
use crate::ordered::Reader;
use crate::txn::Txn;
use crate::vector::{self, INTERNAL_PREFIX};
use strata_api::{JsonText, VectorCommand, VectorRecord};

/// The internal vector namespace of `graph`.
pub fn namespace(graph: &str) -> String {
    format!("{INTERNAL_PREFIX}graph/{graph}")
}

/// Stores (or replaces) an entity's embedding, its properties as filterable metadata.
pub fn put(
    txn: &mut Txn<'_>,
    graph: &str,
    id: &str,
    embedding: &[f32],
    exact_f32: bool,
    properties: &str,
) -> Result<()> {
    let ns = namespace(graph);
    vector::ensure_internal(txn, &ns)?;
    let record = VectorRecord {
        node_id: id.to_string(),
        embedding: embedding.to_vec(),
        ref_doc_id: None,
        metadata: JsonText::from_stored_text(properties),
        node: None,
        exact_f32,
    };
    vector::apply_internal(txn, &VectorCommand::Add { namespace: ns, records: vec![record], order: Vec::new() })?;
    Ok(())
}

/// Removes an entity's embedding, if it has one.
pub fn remove(txn: &mut Txn<'_>, graph: &str, id: &str) -> Result<()> {
    let ns = namespace(graph);
    if vector::settings(txn, &ns)?.is_some() {
        let cmd = VectorCommand::DeleteNodes { namespace: ns, node_ids: Some(vec![id.to_string()]), filters: None };
        vector::apply_internal(txn, &cmd)?;
    }
    Ok(())
}

/// An entity's stored embedding and whether it was exact f32.
pub fn get(r: &impl Reader, graph: &str, id: &str) -> Result<Option<(Vec<f32>, bool)>> {
    vector::stored_embedding(r, &namespace(graph), id)
}
