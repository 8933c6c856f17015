//! Vector stores: LlamaIndex's `BasePydanticVectorStore` semantics over a shard.
//!
//! The truth is in sled: per namespace, its settings and one record per node (an
//! insertion-ordered map, so listings and exports keep LlamaIndex's dict order), plus an
//! index of nodes by source document for `delete(ref_doc_id)`. Searches run on
//! [`Indexes`], the in-memory form derived from those records: loaded from sled the first
//! time a namespace is used, then kept in step by every applied write.
//!
//! | module | job |
//! | --- | --- |
//! | [`filter`] | metadata filters with Python's semantics |
//! | [`index`] | a namespace's vectors in memory; query planning, exact search |
//! | [`ann`] | the HNSW graph: built by hnsw_rs on its own thread, searched by our loop |
//! | [`simd`] | the dot product kernel, picked at run time |
//! | [`mmr`] | LlamaIndex's MMR |
//! | [`quant`] | 8-bit codes of the vectors, for the graph walk |
//! | [`record`] | the stored form of a record |

pub mod ann;
pub mod filter;
pub mod index;
pub mod mmr;
pub mod postings;
pub mod pyheap;
pub mod quant;
pub mod record;
pub mod simd;

use crate::error::{Error, Result};
use crate::keys::{self, Space};
use crate::ordered::{OrderedMap, Reader};
use crate::txn::Txn;
use index::{NamespaceIndex, Restriction};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use strata_api::{
    DEFAULT_VECTOR_NAMESPACE, Distance, Error as ApiError, IMAGE_VECTOR_NAMESPACE, JsonText, MetadataFilters, Response,
    VectorCommand, VectorHit, VectorNamespace, VectorQuery, VectorQueryMode, VectorRecord, VectorSearch,
};

/// A vector change to mirror in memory once the writes that make it have landed.
#[derive(Clone, Debug)]
pub enum Change {
    /// The namespace's settings were written.
    Settings(VectorNamespace),
    /// A record was stored at insertion position `seq`.
    Upsert {
        /// Namespace.
        namespace: String,
        /// The record.
        record: Arc<VectorRecord>,
        /// Its position.
        seq: u64,
    },
    /// A record was removed.
    Remove {
        /// Namespace.
        namespace: String,
        /// The node id.
        node_id: String,
    },
}

fn records(namespace: &str) -> OrderedMap<'_> {
    OrderedMap::new(Space::VectorRecord, namespace)
}

fn ref_doc_key(namespace: &str, ref_doc: &str, node_id: &str) -> Vec<u8> {
    let mut tail = Vec::with_capacity(8 + ref_doc.len() + node_id.len());
    keys::push_name(&mut tail, ref_doc);
    tail.extend_from_slice(node_id.as_bytes());
    keys::key(Space::VectorRefDoc, namespace, &tail)
}

fn ref_doc_prefix(namespace: &str, ref_doc: &str) -> Vec<u8> {
    let mut tail = Vec::with_capacity(4 + ref_doc.len());
    keys::push_name(&mut tail, ref_doc);
    keys::key(Space::VectorRefDoc, namespace, &tail)
}

/// LlamaIndex maps a node without a source document to the string `"None"`.
fn ref_doc_name(ref_doc: Option<&str>) -> &str {
    ref_doc.unwrap_or("None")
}

/// The settings of `namespace`: stored ones, or the implicit ones of `default` and
/// `image` (dimension fixed by their first vector).
pub fn settings(r: &impl Reader, namespace: &str) -> Result<Option<VectorNamespace>> {
    if let Some(bytes) = r.get_raw(&keys::key(Space::VectorNamespace, namespace, &[]))? {
        let s = rmp_serde::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("vector namespace settings: {e}")))?;
        return Ok(Some(s));
    }
    if namespace == DEFAULT_VECTOR_NAMESPACE || namespace == IMAGE_VECTOR_NAMESPACE {
        return Ok(Some(VectorNamespace {
            name: namespace.to_string(),
            dim: 0,
            distance: Distance::Cosine,
            partitions: 1,
        }));
    }
    Ok(None)
}

fn require(r: &impl Reader, namespace: &str) -> Result<VectorNamespace> {
    settings(r, namespace)?.ok_or_else(|| ApiError::UnknownNamespace { namespace: namespace.to_string() }.into())
}

fn save_settings(txn: &mut Txn<'_>, s: &VectorNamespace) -> Result<()> {
    let bytes = rmp_serde::to_vec_named(s).map_err(|e| Error::Corrupt(format!("vector namespace settings: {e}")))?;
    txn.put(keys::key(Space::VectorNamespace, &s.name, &[]), bytes);
    txn.vector_changes.push(Change::Settings(s.clone()));
    Ok(())
}

/// Names starting with this are internal namespaces (a graph's entity embeddings):
/// never listed, exported or reachable by clients (a client's names cannot start with it).
pub const INTERNAL_PREFIX: char = '\u{1}';

/// Creates internal namespace `name` (cosine, dimension fixed by its first vector) if it
/// does not exist.
pub(crate) fn ensure_internal(txn: &mut Txn<'_>, name: &str) -> Result<()> {
    if settings(txn, name)?.is_none() {
        let s = VectorNamespace { name: name.to_string(), dim: 0, distance: Distance::Cosine, partitions: 1 };
        save_settings(txn, &s)?;
    }
    Ok(())
}

/// The stored embedding of `node_id` in `namespace`, and whether it was exact f32.
pub(crate) fn stored_embedding(r: &impl Reader, namespace: &str, node_id: &str) -> Result<Option<(Vec<f32>, bool)>> {
    let Some(bytes) = records(namespace).get(r, node_id)? else { return Ok(None) };
    let rec = record::decode(node_id, &bytes)?;
    Ok(Some((rec.embedding, rec.exact_f32)))
}

/// Every namespace with stored settings, plus `default` and `image`.
pub fn namespaces(r: &impl Reader) -> Result<Vec<VectorNamespace>> {
    let mut out: Vec<VectorNamespace> = Vec::new();
    for (_, bytes) in r.scan_raw(&[Space::VectorNamespace as u8])? {
        let s: VectorNamespace =
            rmp_serde::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("vector namespace: {e}")))?;
        if !s.name.starts_with(INTERNAL_PREFIX) {
            out.push(s);
        }
    }
    for implicit in [DEFAULT_VECTOR_NAMESPACE, IMAGE_VECTOR_NAMESPACE] {
        if !out.iter().any(|n| n.name == implicit)
            && let Some(s) = settings(r, implicit)?
        {
            out.push(s);
        }
    }
    Ok(out)
}

fn refuse_internal(namespace: &str) -> Result<()> {
    if namespace.starts_with(INTERNAL_PREFIX) {
        return Err(ApiError::UnknownNamespace { namespace: namespace.to_string() }.into());
    }
    Ok(())
}

/// Applies a client's vector write (internal namespaces are not theirs).
pub fn apply(txn: &mut Txn<'_>, cmd: &VectorCommand) -> Result<Response> {
    refuse_internal(cmd.namespace())?;
    apply_internal(txn, cmd)
}

/// Applies a vector write to any namespace, internal ones included.
pub(crate) fn apply_internal(txn: &mut Txn<'_>, cmd: &VectorCommand) -> Result<Response> {
    match cmd {
        VectorCommand::CreateNamespace { settings: wanted } => create(txn, wanted),
        VectorCommand::Add { namespace, records, order } => add(txn, namespace, records, order),
        VectorCommand::Delete { namespace, ref_doc_id } => {
            require(txn, namespace)?;
            let prefix = ref_doc_prefix(namespace, ref_doc_id);
            let mut removed = Vec::new();
            for (k, _) in txn.scan_prefix(&prefix)? {
                let node_id = String::from_utf8(k[prefix.len()..].to_vec())
                    .map_err(|_| Error::Corrupt("vector ref-doc index key is not UTF-8".into()))?;
                remove(txn, namespace, &node_id)?;
                removed.push(node_id);
            }
            Ok(Response::Ids(removed))
        }
        VectorCommand::DeleteNodes { namespace, node_ids, filters } => {
            require(txn, namespace)?;
            if let Some(f) = filters {
                f.validate().map_err(ApiError::InvalidFilter)?;
            }
            let ids: Vec<String> = match node_ids {
                Some(ids) => ids.clone(),
                None => records(namespace).keys(txn)?,
            };
            let mut doomed = Vec::new();
            for id in ids {
                let Some(bytes) = records(namespace).get(txn, &id)? else { continue };
                if let Some(f) = filters {
                    let rec = record::decode(&id, &bytes)?;
                    if !filter::matches(f, &rec.metadata.to_map()?)? {
                        continue;
                    }
                }
                doomed.push(id);
            }
            for id in &doomed {
                remove(txn, namespace, id)?;
            }
            Ok(Response::Ids(doomed))
        }
        VectorCommand::Clear { namespace } => {
            require(txn, namespace)?;
            let ids = records(namespace).keys(txn)?;
            for id in &ids {
                remove(txn, namespace, id)?;
            }
            Ok(Response::Ids(ids))
        }
    }
}

fn create(txn: &mut Txn<'_>, wanted: &VectorNamespace) -> Result<Response> {
    if wanted.name.is_empty() || wanted.name.contains("__") || wanted.name.starts_with(INTERNAL_PREFIX) {
        return Err(ApiError::InvalidInput(format!(
            "vector namespace {:?}: a name is non-empty and has no `__` (the persist-dir separator)",
            wanted.name
        ))
        .into());
    }
    match settings(txn, &wanted.name)? {
        Some(have)
            if have.dim != 0 && wanted.dim != 0 && (have.dim != wanted.dim || have.distance != wanted.distance) =>
        {
            Err(ApiError::InvalidInput(format!(
                "vector namespace {:?} exists with dimension {} and {:?} distance",
                wanted.name, have.dim, have.distance
            ))
            .into())
        }
        Some(have) if have.dim != 0 || wanted.dim == 0 => Ok(Response::Done),
        _ => {
            save_settings(txn, wanted)?;
            Ok(Response::Done)
        }
    }
}

fn add(txn: &mut Txn<'_>, namespace: &str, recs: &[VectorRecord], order: &[u64]) -> Result<Response> {
    let mut s = require(txn, namespace)?;
    if s.dim == 0 {
        let Some(first) = recs.first() else { return Ok(Response::Ids(Vec::new())) };
        s.dim = first.embedding.len() as u32;
        save_settings(txn, &s)?;
    }
    // Every record checked before the first write: a bad one fails the whole call.
    index::check_records(&s, recs)?;
    if !order.is_empty() && order.len() != recs.len() {
        return Err(
            ApiError::InvalidInput(format!("{} insertion stamps for {} records", order.len(), recs.len())).into()
        );
    }
    let mut ids = Vec::with_capacity(recs.len());
    for (i, r) in recs.iter().enumerate() {
        if let Some(old) = records(namespace).get(txn, &r.node_id)? {
            let old = record::decode(&r.node_id, &old)?;
            txn.remove(ref_doc_key(namespace, ref_doc_name(old.ref_doc_id.as_deref()), &r.node_id));
        }
        let least = order.get(i).copied().unwrap_or(0);
        let seq = records(namespace).put_from(txn, &r.node_id, &record::encode(r), least)?;
        txn.put(ref_doc_key(namespace, ref_doc_name(r.ref_doc_id.as_deref()), &r.node_id), Vec::new());
        txn.vector_changes.push(Change::Upsert { namespace: namespace.to_string(), record: Arc::new(r.clone()), seq });
        ids.push(r.node_id.clone());
    }
    Ok(Response::Ids(ids))
}

fn remove(txn: &mut Txn<'_>, namespace: &str, node_id: &str) -> Result<()> {
    let Some(old) = records(namespace).get(txn, node_id)? else { return Ok(()) };
    let old = record::decode(node_id, &old)?;
    txn.remove(ref_doc_key(namespace, ref_doc_name(old.ref_doc_id.as_deref()), node_id));
    records(namespace).remove(txn, node_id)?;
    txn.vector_changes.push(Change::Remove { namespace: namespace.to_string(), node_id: node_id.to_string() });
    Ok(())
}

/// The in-memory indexes of a shard's vector namespaces (those used since it opened).
#[derive(Default)]
pub struct Indexes {
    loaded: HashMap<String, NamespaceIndex>,
    /// Where the namespaces' HNSW graphs are saved, if anywhere.
    graph_dir: Option<PathBuf>,
}

impl Indexes {
    /// No namespace loaded yet; graphs saved under `graph_dir` when set.
    pub fn new(graph_dir: Option<PathBuf>) -> Self {
        Self { loaded: HashMap::new(), graph_dir }
    }

    /// Asks every loaded namespace's graph builder to save its graph.
    pub fn save_graphs(&self) {
        self.loaded.values().for_each(NamespaceIndex::save_graph);
    }

    /// Mirrors landed changes in the namespaces already loaded (the others load the
    /// landed state when first used).
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<()> {
        for change in changes {
            match change {
                Change::Settings(s) => {
                    if let Some(ix) = self.loaded.get(&s.name)
                        && ix.dim() != s.dim as usize
                    {
                        self.loaded.remove(&s.name); // reloaded with the new dimension
                    }
                }
                Change::Upsert { namespace, record, seq } => {
                    if let Some(ix) = self.loaded.get_mut(&namespace) {
                        ix.upsert(&record, seq)?;
                    }
                }
                Change::Remove { namespace, node_id } => {
                    if let Some(ix) = self.loaded.get_mut(&namespace) {
                        ix.remove(&node_id);
                        if ix.dead_fraction() > 0.5 {
                            ix.compact();
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Loads `namespace` from the landed records if it is not loaded yet.
    /// A loaded namespace whose graph builder broke gets a new builder.
    pub fn ensure_loaded(&mut self, tree: &sled::Tree, namespace: &str) -> Result<()> {
        if let Some(ix) = self.loaded.get_mut(namespace) {
            ix.restart_broken_builder();
            return Ok(());
        }
        let Some(s) = settings(tree, namespace)? else { return Ok(()) };
        let mut ix = match &self.graph_dir {
            Some(dir) if s.dim > 0 => {
                NamespaceIndex::with_saved_graph(s.dim as usize, s.distance, ann::saved::namespace_dir(dir, namespace))
            }
            _ => NamespaceIndex::new(s.dim as usize, s.distance),
        };
        let prefix = keys::prefix(Space::VectorRecord, namespace);
        for item in tree.scan_prefix(&prefix) {
            let (k, v) = item?;
            let node_id = std::str::from_utf8(&k[prefix.len()..])
                .map_err(|_| Error::Corrupt("vector key is not UTF-8".into()))?;
            let seq = keys::read_u64(&v).ok_or_else(|| Error::Corrupt("vector record without sequence".into()))?;
            ix.load_record(&record::decode(node_id, &v[8..])?, seq)?;
        }
        ix.finish_load();
        if ix.dead_fraction() > 0.5 {
            ix.compact();
        }
        self.loaded.insert(namespace.to_string(), ix);
        Ok(())
    }

    /// Whether `namespace` is loaded with a sound graph builder (else
    /// [`Indexes::ensure_loaded`] has work to do).
    pub fn is_ready(&self, namespace: &str) -> bool {
        self.loaded.get(namespace).is_some_and(|ix| ix.builder_state() != Some(ann::BuilderState::Broken))
    }

    /// The loaded index of `namespace`.
    pub fn get(&self, namespace: &str) -> Option<&NamespaceIndex> {
        self.loaded.get(namespace)
    }

    /// The figures of every loaded namespace (none is loaded for this).
    pub fn loaded_stats(&self) -> Vec<(String, strata_api::VectorIndexStats)> {
        self.loaded.iter().map(|(name, ix)| (name.clone(), ix.stats())).collect()
    }
}

/// Answers a vector read from landed state; `indexes` holds `namespace` loaded.
pub fn query(tree: &sled::Tree, indexes: &Indexes, q: &VectorQuery) -> Result<Response> {
    if let VectorQuery::Search { namespace, .. }
    | VectorQuery::GetNodes { namespace, .. }
    | VectorQuery::IndexStats { namespace } = q
    {
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
