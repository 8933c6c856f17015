//! Checking a write against the limits.

use super::Limits;
use crate::command::{
    ChatCommand, Command, DocstoreCommand, GraphCommand, IndexStoreCommand, KvCommand, RelationWrite, VectorCommand,
};
use crate::error::Error;
use crate::model::{ChatMessage, LabelledNode, VectorRecord};

impl Limits {
    /// Refuses a write past a limit (cluster metadata changes are the node's own and are
    /// not checked here).
    pub fn check_command(&self, command: &Command) -> Result<(), Error> {
        match command {
            Command::Kv(c) => self.kv(c),
            Command::Docstore(c) => self.docstore(c),
            Command::IndexStore(c) => self.index_store(c),
            Command::Chat(c) => self.chat(c),
            Command::Meta(_) => Ok(()),
            // An admin's restore: its size is bounded by the frame limit.
            Command::Restore(_) => Ok(()),
            Command::Vector(c) => self.vector(c),
            Command::Graph(c) => self.graph(c),
        }
    }

    fn kv(&self, c: &KvCommand) -> Result<(), Error> {
        match c {
            KvCommand::Put { collection, key, value: _ } | KvCommand::Delete { collection, key } => {
                self.id("a collection name", collection)?;
                self.id("a key", key)
            }
            KvCommand::PutAll { collection, pairs } => {
                self.id("a collection name", collection)?;
                self.ids("keys", pairs.iter().map(|(k, _)| k))
            }
            KvCommand::EnsureCollections { collections } => self.ids("collection names", collections),
        }
    }

    fn docstore(&self, c: &DocstoreCommand) -> Result<(), Error> {
        let namespace = match c {
            DocstoreCommand::AddDocuments { namespace, nodes, allow_update: _ } => {
                self.items("nodes", nodes.len())?;
                for n in nodes {
                    self.id("a node id", &n.node_id)?;
                    self.id("a document hash", &n.doc_hash)?;
                    if let Some(source) = &n.source {
                        self.id("a ref_doc_id", &source.ref_doc_id)?;
                        self.metadata("a source document", &source.metadata)?;
                    }
                }
                namespace
            }
            DocstoreCommand::DeleteDocument { namespace, doc_id } => {
                self.id("a document id", doc_id)?;
                namespace
            }
            DocstoreCommand::DeleteRefDoc { namespace, ref_doc_id } => {
                self.id("a ref_doc_id", ref_doc_id)?;
                namespace
            }
            DocstoreCommand::SetDocumentHashes { namespace, hashes } => {
                self.ids("document ids", hashes.iter().map(|(id, _)| id))?;
                for (_, hash) in hashes {
                    self.id("a document hash", hash)?;
                }
                namespace
            }
        };
        self.id("a namespace", namespace)
    }

    fn index_store(&self, c: &IndexStoreCommand) -> Result<(), Error> {
        match c {
            IndexStoreCommand::Add { namespace, index_struct } => {
                self.id("an index id", index_struct.index_id())?;
                self.id("a namespace", namespace)
            }
            IndexStoreCommand::Delete { namespace, index_id } => {
                self.id("an index id", index_id)?;
                self.id("a namespace", namespace)
            }
        }
    }

    fn chat(&self, c: &ChatCommand) -> Result<(), Error> {
        let key = match c {
            ChatCommand::SetMessages { key, messages } => {
                self.items("messages", messages.len())?;
                messages.iter().try_for_each(|m| self.message(m))?;
                key
            }
            ChatCommand::AddMessage { key, message, idx: _ } => {
                self.message(message)?;
                key
            }
            ChatCommand::DeleteMessages { key }
            | ChatCommand::DeleteMessage { key, idx: _ }
            | ChatCommand::DeleteLastMessage { key } => key,
        };
        self.id("a chat key", key)
    }

    fn message(&self, m: &ChatMessage) -> Result<(), Error> {
        self.items("content blocks of a message", m.blocks.len())?;
        self.metadata("a message's additional_kwargs", &m.additional_kwargs)
    }

    fn vector(&self, c: &VectorCommand) -> Result<(), Error> {
        let namespace = match c {
            VectorCommand::CreateNamespace { settings } => {
                self.dim("a namespace", settings.dim as usize)?;
                &settings.name
            }
            VectorCommand::Add { namespace, records, order } => {
                self.items("records", records.len().max(order.len()))?;
                records.iter().try_for_each(|r| self.record(r))?;
                namespace
            }
            VectorCommand::Delete { namespace, ref_doc_id } => {
                self.id("a ref_doc_id", ref_doc_id)?;
                namespace
            }
            VectorCommand::DeleteNodes { namespace, node_ids, filters } => {
                if let Some(ids) = node_ids {
                    self.ids("node ids", ids)?;
                }
                if let Some(f) = filters {
                    self.check_filters(f)?;
                }
                namespace
            }
            VectorCommand::Clear { namespace } => namespace,
        };
        self.id("a namespace", namespace)
    }

    fn record(&self, r: &VectorRecord) -> Result<(), Error> {
        self.id("a node id", &r.node_id)?;
        if let Some(ref_doc_id) = &r.ref_doc_id {
            self.id("a ref_doc_id", ref_doc_id)?;
        }
        self.dim("an embedding", r.embedding.len())?;
        self.metadata_text("a record", r.metadata.as_str())
    }

    fn graph(&self, c: &GraphCommand) -> Result<(), Error> {
        self.id("a graph name", c.graph())?;
        match c {
            GraphCommand::UpsertTriplets { graph: _, triplets, order } => {
                self.items("triplets", triplets.len().max(order.len()))?;
                for (s, r, o) in triplets {
                    self.id("a subject", s)?;
                    self.id("a relation", r)?;
                    self.id("an object", o)?;
                }
                Ok(())
            }
            GraphCommand::DeleteTriplet { graph: _, subject, relation, object } => {
                self.id("a subject", subject)?;
                self.id("a relation", relation)?;
                self.id("an object", object)
            }
            GraphCommand::UpsertNodes { graph: _, nodes, order } => {
                self.items("nodes", nodes.len().max(order.len()))?;
                nodes.iter().try_for_each(|n| self.labelled(n))
            }
            GraphCommand::UpsertRelations { graph: _, outgoing, incoming, create } => {
                self.items("relations", outgoing.len() + incoming.len() + create.len())?;
                outgoing.iter().chain(incoming).try_for_each(|r| self.relation(r))?;
                create.iter().try_for_each(|(id, _)| self.id("a node id", id))
            }
            GraphCommand::Remove { graph: _, outgoing, incoming, nodes, collect } => {
                self.items("relations and nodes", outgoing.len() + incoming.len() + nodes.len() + collect.len())?;
                for k in outgoing.iter().chain(incoming) {
                    self.id("a node id", &k.source_id)?;
                    self.id("a relation label", &k.label)?;
                    self.id("a node id", &k.target_id)?;
                }
                nodes.iter().chain(collect).try_for_each(|id| self.id("a node id", id))
            }
            GraphCommand::SetTargetLabels { graph: _, relations } => {
                self.items("relations", relations.len())?;
                for (k, label) in relations {
                    self.id("a node id", &k.source_id)?;
                    self.id("a relation label", &k.label)?;
                    self.id("a node id", &k.target_id)?;
                    self.id("a label", label)?;
                }
                Ok(())
            }
        }
    }

    fn labelled(&self, n: &LabelledNode) -> Result<(), Error> {
        self.id("a node id", &n.id)?;
        self.id("a label", &n.label)?;
        if let Some(e) = &n.embedding {
            self.dim("an embedding", e.len())?;
        }
        self.metadata("a node's properties", &n.properties)
    }

    fn relation(&self, r: &RelationWrite) -> Result<(), Error> {
        self.id("a relation label", &r.relation.label)?;
        self.id("a node id", &r.relation.source_id)?;
        self.id("a node id", &r.relation.target_id)?;
        if let Some(label) = &r.target_label {
            self.id("a label", label)?;
        }
        self.metadata("a relation's properties", &r.relation.properties)
    }
}
