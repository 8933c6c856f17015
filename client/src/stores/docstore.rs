//! `DocStore`: LlamaIndex's `BaseDocumentStore` API (names and semantics of
//! `KVDocumentStore`), one namespace per handle.

use crate::backend::{Backend, unexpected};
use crate::error::{Error, Result};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use strata_api::{
    Command, DocstoreCommand, DocstoreQuery, JsonText, Node, NodeWrite, Query, RefDocInfo, Response, SourceLink,
};

/// Nodes per write of [`DocStore::add_documents_with`]. Why a bound: a raft group applies
/// its log in order, so one write of 200,000 nodes (seconds to apply on every replica)
/// would hold every later write to its group until it was done.
pub const ADD_DOCUMENTS_BATCH: usize = 4096;

/// Options of `add_documents` (LlamaIndex's keyword arguments).
#[derive(Clone, Copy, Debug)]
pub struct AddDocumentsOptions {
    /// Overwrite nodes already stored (default true); when false an existing id fails the call.
    pub allow_update: bool,
    /// Store the node itself (default true); when false only hashes and ref-doc info are kept.
    pub store_text: bool,
}

impl Default for AddDocumentsOptions {
    fn default() -> Self {
        Self { allow_update: true, store_text: true }
    }
}

/// A handle on one docstore namespace. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct DocStore {
    backend: Arc<Backend>,
    namespace: String,
}

impl DocStore {
    pub(crate) fn new(backend: Arc<Backend>, namespace: String) -> Self {
        Self { backend, namespace }
    }

    /// The namespace (`docstore` by default).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn write(&self, cmd: DocstoreCommand) -> Result<Response> {
        self.backend.apply(Command::Docstore(cmd)).await
    }

    async fn read(&self, q: DocstoreQuery) -> Result<Response> {
        self.backend.query(Query::Docstore(q)).await
    }

    /// `add_documents(docs)` with `allow_update=True, store_text=True`.
    pub async fn add_documents(&self, docs: &[Node]) -> Result<()> {
        self.add_documents_with(docs, AddDocumentsOptions::default()).await
    }

    /// `add_documents(docs, allow_update, store_text)`: one atomic write for a call of up
    /// to [`ADD_DOCUMENTS_BATCH`] nodes. A larger call is written as writes of that many
    /// nodes, in order, each atomic (LlamaIndex's own `add_documents` writes in batches
    /// too): a reader may see the first batches of a call still under way, and a call
    /// that fails part-way leaves the batches before the failure written. With
    /// `allow_update=False` every node is checked before the first batch, as LlamaIndex
    /// checks them all before writing.
    pub async fn add_documents_with(&self, docs: &[Node], options: AddDocumentsOptions) -> Result<()> {
        let mut nodes = docs.iter().map(|node| node_write(node, options.store_text)).collect::<Result<Vec<_>>>()?;
        if !options.allow_update && nodes.len() > ADD_DOCUMENTS_BATCH {
            let ids: Vec<String> = nodes.iter().map(|n| n.node_id.clone()).collect();
            if let Some((id, _)) = ids.iter().zip(self.fetch(&ids).await?).find(|(_, found)| found.is_some()) {
                return Err(strata_api::Error::DocumentExists { node_id: id.clone() }.into());
            }
        }
        while !nodes.is_empty() {
            let rest = nodes.split_off(nodes.len().min(ADD_DOCUMENTS_BATCH));
            let batch = std::mem::replace(&mut nodes, rest);
            self.write(DocstoreCommand::AddDocuments {
                namespace: self.namespace.clone(),
                nodes: batch,
                allow_update: options.allow_update,
            })
            .await?;
        }
        Ok(())
    }

    /// `get_document(doc_id, raise_error)`.
    pub async fn get_document(&self, doc_id: &str, raise_error: bool) -> Result<Option<Node>> {
        let mut nodes = self.fetch(&[doc_id.to_string()]).await?;
        match nodes.pop().flatten() {
            Some(node) => Ok(Some(node)),
            None if raise_error => Err(strata_api::Error::DocumentNotFound { doc_id: doc_id.into() }.into()),
            None => Ok(None),
        }
    }

    /// `get_node(node_id, raise_error)` (every stored document is a node).
    pub async fn get_node(&self, node_id: &str, raise_error: bool) -> Result<Option<Node>> {
        self.get_document(node_id, raise_error).await
    }

    /// `get_nodes(node_ids, raise_error)`: in input order; missing ids are skipped unless raising.
    pub async fn get_nodes(&self, node_ids: &[String], raise_error: bool) -> Result<Vec<Node>> {
        let found = self.fetch(node_ids).await?;
        let mut out = Vec::with_capacity(found.len());
        for (id, node) in node_ids.iter().zip(found) {
            match node {
                Some(n) => out.push(n),
                None if raise_error => return Err(strata_api::Error::DocumentNotFound { doc_id: id.clone() }.into()),
                None => {}
            }
        }
        Ok(out)
    }

    /// `get_node_dict(node_id_dict)`: the nodes for each index (raises on a missing id).
    pub async fn get_node_dict(&self, node_id_dict: &BTreeMap<i64, String>) -> Result<BTreeMap<i64, Node>> {
        let ids: Vec<String> = node_id_dict.values().cloned().collect();
        let nodes = self.get_nodes(&ids, true).await?;
        Ok(node_id_dict.keys().copied().zip(nodes).collect())
    }

    async fn fetch(&self, ids: &[String]) -> Result<Vec<Option<Node>>> {
        let q = DocstoreQuery::GetDocuments { namespace: self.namespace.clone(), ids: ids.to_vec() };
        match self.read(q).await? {
            Response::Values(values) => values.iter().map(|v| v.as_ref().map(parse_node).transpose()).collect(),
            other => Err(unexpected("get_documents", &other)),
        }
    }

    /// `docs`: every stored node, in insertion order.
    pub async fn docs(&self) -> Result<IndexMap<String, Node>> {
        match self.read(DocstoreQuery::Docs { namespace: self.namespace.clone() }).await? {
            Response::Entries(entries) => entries.iter().map(|(id, v)| Ok((id.clone(), parse_node(v)?))).collect(),
            other => Err(unexpected("docs", &other)),
        }
    }

    /// `document_exists(doc_id)`: whether the node itself is stored.
    pub async fn document_exists(&self, doc_id: &str) -> Result<bool> {
        let q = DocstoreQuery::DocumentExists { namespace: self.namespace.clone(), doc_id: doc_id.into() };
        match self.read(q).await? {
            Response::Bool(b) => Ok(b),
            other => Err(unexpected("document_exists", &other)),
        }
    }

    /// `ref_doc_exists(ref_doc_id)`.
    pub async fn ref_doc_exists(&self, ref_doc_id: &str) -> Result<bool> {
        Ok(self.get_ref_doc_info(ref_doc_id).await?.is_some())
    }

    /// `get_ref_doc_info(ref_doc_id)`.
    pub async fn get_ref_doc_info(&self, ref_doc_id: &str) -> Result<Option<RefDocInfo>> {
        let q = DocstoreQuery::GetRefDocInfo { namespace: self.namespace.clone(), ref_doc_id: ref_doc_id.into() };
        match self.read(q).await? {
            Response::RefDocInfo(info) => Ok(info),
            other => Err(unexpected("get_ref_doc_info", &other)),
        }
    }

    /// `get_all_ref_doc_info()`, in insertion order.
    pub async fn get_all_ref_doc_info(&self) -> Result<IndexMap<String, RefDocInfo>> {
        match self.read(DocstoreQuery::GetAllRefDocInfo { namespace: self.namespace.clone() }).await? {
            Response::RefDocInfos(infos) => Ok(infos.into_iter().collect()),
            other => Err(unexpected("get_all_ref_doc_info", &other)),
        }
    }

    /// `delete_document(doc_id, raise_error)`. As in LlamaIndex, the ref-doc and hash
    /// entries are removed even when the node's data was missing, then the error is raised.
    pub async fn delete_document(&self, doc_id: &str, raise_error: bool) -> Result<()> {
        let cmd = DocstoreCommand::DeleteDocument { namespace: self.namespace.clone(), doc_id: doc_id.into() };
        match self.write(cmd).await? {
            Response::Deleted(false) if raise_error => {
                Err(strata_api::Error::DocumentNotFound { doc_id: doc_id.into() }.into())
            }
            Response::Deleted(_) => Ok(()),
            other => Err(unexpected("delete_document", &other)),
        }
    }

    /// `delete_ref_doc(ref_doc_id, raise_error)`: the ref doc and all its nodes, atomically.
    pub async fn delete_ref_doc(&self, ref_doc_id: &str, raise_error: bool) -> Result<()> {
        let cmd = DocstoreCommand::DeleteRefDoc { namespace: self.namespace.clone(), ref_doc_id: ref_doc_id.into() };
        match self.write(cmd).await? {
            Response::Deleted(false) if raise_error => {
                Err(strata_api::Error::RefDocNotFound { ref_doc_id: ref_doc_id.into() }.into())
            }
            Response::Deleted(_) => Ok(()),
            other => Err(unexpected("delete_ref_doc", &other)),
        }
    }

    /// `set_document_hash(doc_id, doc_hash)` (replaces the whole metadata entry).
    pub async fn set_document_hash(&self, doc_id: &str, doc_hash: &str) -> Result<()> {
        self.set_document_hashes(&[(doc_id.to_string(), doc_hash.to_string())]).await
    }

    /// `set_document_hashes({doc_id: hash})`, in the given order, atomically.
    pub async fn set_document_hashes(&self, doc_hashes: &[(String, String)]) -> Result<()> {
        self.write(DocstoreCommand::SetDocumentHashes {
            namespace: self.namespace.clone(),
            hashes: doc_hashes.to_vec(),
        })
        .await?;
        Ok(())
    }

    /// `get_document_hash(doc_id)`.
    pub async fn get_document_hash(&self, doc_id: &str) -> Result<Option<String>> {
        let q = DocstoreQuery::GetDocumentHash { namespace: self.namespace.clone(), doc_id: doc_id.into() };
        match self.read(q).await? {
            Response::Hash(h) => Ok(h),
            other => Err(unexpected("get_document_hash", &other)),
        }
    }

    async fn hash_entries(&self) -> Result<Vec<(String, String)>> {
        match self.read(DocstoreQuery::GetAllDocumentHashes { namespace: self.namespace.clone() }).await? {
            Response::Hashes(h) => Ok(h),
            other => Err(unexpected("get_all_document_hashes", &other)),
        }
    }

    /// `get_all_document_hashes()`: the inverted map `hash → doc_id`; when ids share a hash
    /// the last one in insertion order wins, as in LlamaIndex.
    pub async fn get_all_document_hashes(&self) -> Result<IndexMap<String, String>> {
        let mut out = IndexMap::new();
        for (id, hash) in self.hash_entries().await? {
            out.insert(hash, id);
        }
        Ok(out)
    }

    /// `get_all_document_ids()`: every id with a hash, including ids sharing one.
    pub async fn get_all_document_ids(&self) -> Result<BTreeSet<String>> {
        Ok(self.hash_entries().await?.into_iter().map(|(id, _)| id).collect())
    }

    /// `update_docstore(other)`: adds every node of `other` (overwriting).
    pub async fn update_docstore(&self, other: &DocStore) -> Result<()> {
        let docs: Vec<Node> = other.docs().await?.into_values().collect();
        self.add_documents(&docs).await
    }
}

fn parse_node(text: &JsonText) -> Result<Node> {
    let map = text.to_map()?;
    Node::from_doc_json(&map).map_err(|e| Error::Store(strata_api::Error::InvalidData(format!("stored node: {e}"))))
}

/// Prepares one node for `add_documents`: its JSON, hash and source link.
fn node_write(node: &Node, store_text: bool) -> Result<NodeWrite> {
    if node.id.is_empty() {
        return Err(strata_api::Error::InvalidInput("a node needs a non-empty id_".into()).into());
    }
    let source = node
        .source_node()
        .filter(|s| !s.node_id.is_empty())
        .map(|s| SourceLink { ref_doc_id: s.node_id.clone(), metadata: node.metadata.clone() });
    Ok(NodeWrite {
        node_id: node.id.clone(),
        data: store_text.then(|| JsonText::from_node(node)),
        doc_hash: node.hash(),
        source,
    })
}
