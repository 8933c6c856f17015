//! A vector namespace's stored truth in sled: its settings, one record per node (an
//! insertion-ordered map, so listings and exports keep LlamaIndex's dict order) and an
//! index of nodes by source document for `delete(ref_doc_id)`; the writes that change
//! them, each noting the [`Change`] the in-memory indexes mirror once it lands.

use super::{filter, index, record};
use crate::error::{Error, Result};
use crate::keys::{self, Space};
use crate::ordered::{OrderedMap, Reader};
use crate::txn::Txn;
use std::sync::Arc;
use strata_api::{
    DEFAULT_VECTOR_NAMESPACE, Distance, Error as ApiError, IMAGE_VECTOR_NAMESPACE, Response, VectorCommand,
    VectorNamespace, VectorRecord,
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

pub(super) fn records(namespace: &str) -> OrderedMap<'_> {
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

pub(super) fn require(r: &impl Reader, namespace: &str) -> Result<VectorNamespace> {
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

pub(super) fn refuse_internal(namespace: &str) -> Result<()> {
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
