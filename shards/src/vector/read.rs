//! The read path: vector queries answered from landed records (listings, stored nodes)
//! and from a namespace's in-memory index (searches: exact, HNSW or MMR candidates).

use super::index::{self, NamespaceIndex, Restriction};
use super::indexes::Indexes;
use super::stored::{namespaces, records, refuse_internal, require};
use super::{filter, record};
use crate::error::{Error, Result};
use strata_api::{
    Error as ApiError, JsonText, MetadataFilters, Response, VectorHit, VectorNamespace, VectorQuery, VectorQueryMode,
    VectorSearch,
};

/// Answers a vector read from landed state; `indexes` holds `namespace` loaded.
pub fn query(tree: &sled::Tree, indexes: &Indexes, q: &VectorQuery) -> Result<Response> {
    if let Some(namespace) = q.namespace() {
        refuse_internal(namespace)?;
    }
    query_internal(tree, indexes, q)
}

/// Answers a vector read of any namespace, internal ones included.
pub(crate) fn query_internal(tree: &sled::Tree, indexes: &Indexes, q: &VectorQuery) -> Result<Response> {
    match q {
        VectorQuery::Namespaces => Ok(Response::VectorNamespaces(namespaces(tree)?)),
        VectorQuery::IndexStats { namespace } => {
            require(tree, namespace)?;
            Ok(Response::VectorIndexStats(indexes.get(namespace).map(NamespaceIndex::stats).unwrap_or_default()))
        }
        VectorQuery::GetNodes { namespace, node_ids, filters } => {
            require(tree, namespace)?;
            get_nodes(tree, namespace, node_ids.as_deref(), filters.as_ref())
        }
        VectorQuery::Search { namespace, search } => {
            let s = require(tree, namespace)?;
            let Some(ix) = indexes.get(namespace) else { return Ok(Response::VectorHits(Vec::new())) };
            search_namespace(&s, ix, search)
        }
    }
}

fn get_nodes(
    tree: &sled::Tree,
    namespace: &str,
    node_ids: Option<&[String]>,
    filters: Option<&MetadataFilters>,
) -> Result<Response> {
    if let Some(f) = filters {
        f.validate().map_err(ApiError::InvalidFilter)?;
    }
    let rows: Vec<(u64, String, Vec<u8>)> = match node_ids {
        None => records(namespace).positioned_entries(tree)?,
        Some(ids) => {
            let mut rows = Vec::new();
            for id in ids {
                if let Some((seq, v)) = records(namespace).get_positioned(tree, id)? {
                    rows.push((seq, id.clone(), v));
                }
            }
            rows
        }
    };
    let (mut records_out, mut positions) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (seq, id, bytes) in rows {
        let rec = record::decode(&id, &bytes)?;
        if let Some(f) = filters
            && !filter::matches(f, &rec.metadata.to_map()?)?
        {
            continue;
        }
        records_out.push(rec);
        positions.push(seq);
    }
    Ok(Response::VectorRecords { records: records_out, positions })
}

/// `UnsupportedQueryMode`, naming the mode as LlamaIndex spells it.
fn unsupported(mode: VectorQueryMode) -> Error {
    let name = serde_json::to_string(&mode).unwrap_or_default();
    ApiError::UnsupportedQueryMode(name.trim_matches('"').to_string()).into()
}

/// Checks a search and resolves what the query asks into a restriction and a mode.
fn validate_search(s: &VectorNamespace, search: &VectorSearch) -> Result<Vec<f32>> {
    let q = &search.query;
    match q.mode {
        VectorQueryMode::Default | VectorQueryMode::Mmr => {}
        // Answered empty when nothing is allowed, refused otherwise (see search_namespace).
        VectorQueryMode::Svm | VectorQueryMode::LinearRegression | VectorQueryMode::LogisticRegression => {}
        other => {
            return Err(unsupported(other));
        }
    }
    if let Some(f) = &q.filters {
        f.validate().map_err(ApiError::InvalidFilter)?;
    }
    let embedding = q
        .query_embedding
        .clone()
        .ok_or_else(|| ApiError::InvalidInput("a vector query needs query_embedding".into()))?;
    if s.dim != 0 && embedding.len() != s.dim as usize {
        return Err(
            ApiError::WrongDimension { namespace: s.name.clone(), expected: s.dim, got: embedding.len() }.into()
        );
    }
    index::check_vector(s.distance, &embedding, "the query")?;
    Ok(embedding)
}

/// A partition holding at most this many allowed vectors sends them all when asked for
/// candidates to merge: as MMR candidates (LlamaIndex's MMR weighs every allowed vector,
/// not only the most similar), and for a cluster client's replay of LlamaIndex's order
/// of equal similarities. One contract for both sides of the wire.
pub const SMALL_PARTITION: usize = 4_096;

/// How many candidates an MMR search weighs for `k` results (beyond an exact scan): 20
/// per result, at least 500. The shard's graph walk and a cluster client's request to
/// each partition use the same rule.
pub fn mmr_candidates(k: usize) -> usize {
    k.saturating_mul(20).max(500)
}

/// Every allowed vector (insertion order), when the caller merges partitions for MMR
/// and they are few.
fn all_for_mmr(ix: &NamespaceIndex, restriction: &Restriction<'_>, search: &VectorSearch) -> Result<Option<Vec<u32>>> {
    if !search.with_embeddings || (restriction.is_open() && ix.len() > SMALL_PARTITION) {
        return Ok(None);
    }
    let allowed = ix.allowed(restriction)?;
    Ok((allowed.len() <= SMALL_PARTITION).then_some(allowed))
}

fn search_namespace(s: &VectorNamespace, ix: &NamespaceIndex, search: &VectorSearch) -> Result<Response> {
    let embedding = validate_search(s, search)?;
    if ix.is_empty() {
        return Ok(Response::VectorHits(Vec::new()));
    }
    let q = &search.query;
    let restriction =
        Restriction { node_ids: q.node_ids.as_deref(), doc_ids: q.doc_ids.as_deref(), filters: q.filters.as_ref() };
    if !matches!(q.mode, VectorQueryMode::Default | VectorQueryMode::Mmr) {
        // LlamaIndex fits a scikit-learn model for these modes, which Strata does not
        // reproduce; with no candidate there is nothing to fit, and it answers nothing.
        if ix.allowed(&restriction)?.is_empty() {
            return Ok(Response::VectorHits(Vec::new()));
        }
        return Err(unsupported(q.mode));
    }
    // MMR over several partitions is the caller's: it asks for candidates with embeddings.
    let mmr = (q.mode == VectorQueryMode::Mmr && !search.with_embeddings).then(|| q.mmr_threshold.unwrap_or(0.5));
    let k = if mmr.is_some() { q.similarity_top_k } else { search.candidates };
    let exactly = |allowed: Vec<u32>| -> Vec<index::Scored> {
        let qn = index::norm64(&embedding);
        allowed.into_iter().map(|slot| index::Scored { slot, similarity: ix.score(&embedding, qn, slot) }).collect()
    };
    let scored = if search.every_candidate {
        let mut allowed = ix.allowed(&restriction)?;
        allowed.truncate(search.candidates.saturating_add(1));
        exactly(allowed)
    } else if let Some(allowed) = all_for_mmr(ix, &restriction, search)? {
        exactly(allowed)
    } else {
        ix.search(&embedding, &restriction, k, mmr)?
    };
    // Hits come from the slots' copies of the stored texts: no record is read.
    let mut hits = Vec::with_capacity(scored.len());
    for sc in scored {
        let slot = &ix.slots()[sc.slot as usize];
        hits.push(VectorHit {
            node_id: slot.node_id.to_string(),
            similarity: sc.similarity,
            node: slot.node_text.as_deref().map(JsonText::from_stored_text),
            metadata: JsonText::from_stored_text(&slot.metadata_text),
            ref_doc_id: slot.ref_doc_id.as_deref().map(str::to_string),
            embedding: search.with_embeddings.then(|| ix.vector(sc.slot).to_vec()),
            position: slot.seq,
        });
    }
    Ok(Response::VectorHits(hits))
}
