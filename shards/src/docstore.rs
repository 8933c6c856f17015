//! The document store (LlamaIndex's `KVDocumentStore`) over three KV collections per
//! namespace: `{ns}/data` (node JSON), `{ns}/metadata` (`doc_hash`, `ref_doc_id`) and
//! `{ns}/ref_doc_info` (node ids and metadata per source document).
//!
//! Each command runs inside one `Txn`, so an `add_documents` or `delete_ref_doc` touching
//! many nodes lands whole or not at all. Semantics follow llama-index-core 0.14.25's sync
//! code (also for the async paths it gets wrong); `docs/compatibility.md` lists differences.

use crate::error::{Error, Result};
use crate::kv;
use crate::ordered::Reader;
use crate::txn::Txn;
use serde_json::{Map, Value};
use strata_api::{DocstoreCommand, DocstoreQuery, JsonText, NodeWrite, RefDocInfo, Response};

/// The three collection names of a namespace.
pub struct Collections {
    /// `{ns}/data`
    pub data: String,
    /// `{ns}/metadata`
    pub metadata: String,
    /// `{ns}/ref_doc_info`
    pub ref_doc_info: String,
}

impl Collections {
    /// The collections of namespace `ns`.
    pub fn of(ns: &str) -> Self {
        Self {
            data: format!("{ns}/data"),
            metadata: format!("{ns}/metadata"),
            ref_doc_info: format!("{ns}/ref_doc_info"),
        }
    }
}

/// `get_ref_doc_info`: none when absent or stored as an empty object.
pub fn get_ref_doc_info(r: &impl Reader, c: &Collections, ref_doc_id: &str) -> Result<Option<RefDocInfo>> {
    let Some(text) = kv::get(r, &c.ref_doc_info, ref_doc_id)? else { return Ok(None) };
    let map = text.to_map()?;
    if map.is_empty() {
        return Ok(None);
    }
    Ok(Some(RefDocInfo::from_json(&map)))
}

fn put_ref_doc_info(txn: &mut Txn<'_>, c: &Collections, ref_doc_id: &str, info: &RefDocInfo) -> Result<()> {
    kv::put(txn, &c.ref_doc_info, ref_doc_id, &JsonText::from_map(&info.to_json()))
}

fn metadata_of(r: &impl Reader, c: &Collections, doc_id: &str) -> Result<Option<Map<String, Value>>> {
    kv::get(r, &c.metadata, doc_id)?.map(|t| t.to_map().map_err(Error::from)).transpose()
}

fn add_documents(txn: &mut Txn<'_>, c: &Collections, nodes: &[NodeWrite], allow_update: bool) -> Result<()> {
    if !allow_update {
        for node in nodes {
            if kv::collection(&c.data).contains(txn, &node.node_id)? {
                return Err(strata_api::Error::DocumentExists { node_id: node.node_id.clone() }.into());
            }
        }
    }
    // Ref-doc infos are read as stored before this call, then merged per ref doc in call
    // order: ids are an order-preserving union; metadata is the stored one when non-empty,
    // else the union of the nodes' metadata with later nodes winning (dict.update).
    let mut merges: Vec<(String, RefDocInfo, bool, Map<String, Value>)> = Vec::new();
    for node in nodes {
        let Some(source) = &node.source else { continue };
        let idx = match merges.iter().position(|(id, ..)| *id == source.ref_doc_id) {
            Some(i) => i,
            None => {
                let stored = get_ref_doc_info(txn, c, &source.ref_doc_id)?.unwrap_or_default();
                let keep_stored_metadata = !stored.metadata.is_empty();
                merges.push((source.ref_doc_id.clone(), stored, keep_stored_metadata, Map::new()));
                merges.len() - 1
            }
        };
        let (_, info, _, merged_metadata) = &mut merges[idx];
        if !info.node_ids.contains(&node.node_id) {
            info.node_ids.push(node.node_id.clone());
        }
        for (k, v) in &source.metadata {
            merged_metadata.insert(k.clone(), v.clone());
        }
    }
    for node in nodes {
        if let Some(data) = &node.data {
            kv::put(txn, &c.data, &node.node_id, data)?;
        }
        let mut meta = Map::new();
        meta.insert("doc_hash".into(), Value::String(node.doc_hash.clone()));
        if let Some(source) = &node.source {
            meta.insert("ref_doc_id".into(), Value::String(source.ref_doc_id.clone()));
        }
        kv::put(txn, &c.metadata, &node.node_id, &JsonText::from_map(&meta))?;
    }
    for (ref_doc_id, mut info, keep_stored_metadata, merged_metadata) in merges {
        if !keep_stored_metadata {
            info.metadata = merged_metadata;
        }
        put_ref_doc_info(txn, c, &ref_doc_id, &info)?;
    }
    Ok(())
}

/// `delete_document`: unlinks the node from its ref doc (dropping the ref doc's entries with
/// its last node), then deletes its data and metadata. Answers whether data existed.
fn delete_document(txn: &mut Txn<'_>, c: &Collections, doc_id: &str) -> Result<bool> {
    let ref_doc_id =
        metadata_of(txn, c, doc_id)?.and_then(|m| m.get("ref_doc_id").and_then(Value::as_str).map(str::to_string));
    if let Some(ref_doc_id) = ref_doc_id
        && let Some(mut info) = get_ref_doc_info(txn, c, &ref_doc_id)?
    {
        if let Some(pos) = info.node_ids.iter().position(|id| id == doc_id) {
            info.node_ids.remove(pos);
        }
        if info.node_ids.is_empty() {
            kv::delete(txn, &c.metadata, &ref_doc_id)?;
            kv::delete(txn, &c.data, &ref_doc_id)?;
            kv::delete(txn, &c.ref_doc_info, &ref_doc_id)?;
        } else {
            put_ref_doc_info(txn, c, &ref_doc_id, &info)?;
        }
    }
    let found = kv::delete(txn, &c.data, doc_id)?;
    kv::delete(txn, &c.metadata, doc_id)?;
    Ok(found)
}

/// `delete_ref_doc`: deletes every node of the ref doc, then the ref doc's own entries.
/// Answers whether the ref doc existed (nothing changes when it did not).
fn delete_ref_doc(txn: &mut Txn<'_>, c: &Collections, ref_doc_id: &str) -> Result<bool> {
    let Some(info) = get_ref_doc_info(txn, c, ref_doc_id)? else { return Ok(false) };
    for node_id in &info.node_ids {
        delete_document(txn, c, node_id)?;
    }
    kv::delete(txn, &c.ref_doc_info, ref_doc_id)?;
    kv::delete(txn, &c.metadata, ref_doc_id)?;
    kv::delete(txn, &c.data, ref_doc_id)?;
    Ok(true)
}

/// Applies a docstore command.
pub fn apply(txn: &mut Txn<'_>, cmd: &DocstoreCommand) -> Result<Response> {
    match cmd {
        DocstoreCommand::AddDocuments { namespace, nodes, allow_update } => {
            add_documents(txn, &Collections::of(namespace), nodes, *allow_update)?;
            Ok(Response::Done)
        }
        DocstoreCommand::DeleteDocument { namespace, doc_id } => {
            Ok(Response::Deleted(delete_document(txn, &Collections::of(namespace), doc_id)?))
        }
        DocstoreCommand::DeleteRefDoc { namespace, ref_doc_id } => {
            Ok(Response::Deleted(delete_ref_doc(txn, &Collections::of(namespace), ref_doc_id)?))
        }
        DocstoreCommand::SetDocumentHashes { namespace, hashes } => {
            let c = Collections::of(namespace);
            for (doc_id, hash) in hashes {
                let mut meta = Map::new();
                meta.insert("doc_hash".into(), Value::String(hash.clone()));
                kv::put(txn, &c.metadata, doc_id, &JsonText::from_map(&meta))?;
            }
            Ok(Response::Done)
        }
    }
}

/// Answers a docstore query.
pub fn query(r: &impl Reader, q: &DocstoreQuery) -> Result<Response> {
    match q {
        DocstoreQuery::GetDocuments { namespace, ids } => {
            let c = Collections::of(namespace);
            let values = ids.iter().map(|id| kv::get(r, &c.data, id)).collect::<Result<Vec<_>>>()?;
            Ok(Response::Values(values))
        }
        DocstoreQuery::Docs { namespace } => Ok(Response::Entries(kv::get_all(r, &Collections::of(namespace).data)?)),
        DocstoreQuery::DocumentExists { namespace, doc_id } => {
            Ok(Response::Bool(kv::collection(&Collections::of(namespace).data).contains(r, doc_id)?))
        }
        DocstoreQuery::GetRefDocInfo { namespace, ref_doc_id } => {
            Ok(Response::RefDocInfo(get_ref_doc_info(r, &Collections::of(namespace), ref_doc_id)?))
        }
        DocstoreQuery::GetAllRefDocInfo { namespace } => {
            let entries = kv::get_all(r, &Collections::of(namespace).ref_doc_info)?;
            let infos = entries
                .into_iter()
                .map(|(id, text)| Ok((id, RefDocInfo::from_json(&text.to_map()?))))
                .collect::<Result<Vec<_>>>()?;
            Ok(Response::RefDocInfos(infos))
        }
        DocstoreQuery::GetDocumentHash { namespace, doc_id } => {
            let meta = metadata_of(r, &Collections::of(namespace), doc_id)?;
            Ok(Response::Hash(meta.and_then(|m| m.get("doc_hash").and_then(Value::as_str).map(str::to_string))))
        }
        DocstoreQuery::GetAllDocumentHashes { namespace } => {
            let entries = kv::get_all(r, &Collections::of(namespace).metadata)?;
            let mut hashes = Vec::with_capacity(entries.len());
            for (id, text) in entries {
                if let Some(hash) = doc_hash_of(&text)? {
                    hashes.push((id, hash));
                }
            }
            Ok(Response::Hashes(hashes))
        }
    }
}

/// The non-empty `doc_hash` of a metadata entry, read without building a map.
fn doc_hash_of(text: &JsonText) -> Result<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Entry {
        doc_hash: Option<Value>,
    }
    let entry: Entry = serde_json::from_str(text.as_str())
        .map_err(|e| Error::Corrupt(format!("metadata entry is not a JSON object: {e}")))?;
    Ok(match entry.doc_hash {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    })
}
