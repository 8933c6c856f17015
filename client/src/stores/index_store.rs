//! `IndexStore`: LlamaIndex's `BaseIndexStore` API.

use crate::backend::{Backend, unexpected};
use crate::error::Result;
use std::sync::Arc;
use strata_api::{Command, IndexStoreCommand, IndexStoreQuery, IndexStruct, Query, Response};

/// A handle on one index store namespace. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct IndexStore {
    backend: Arc<Backend>,
    namespace: String,
}

impl IndexStore {
    pub(crate) fn new(backend: Arc<Backend>, namespace: String) -> Self {
        Self { backend, namespace }
    }

    /// `add_index_struct(struct)`: stored under its `index_id`, replacing an earlier one.
    pub async fn add_index_struct(&self, index_struct: &IndexStruct) -> Result<()> {
        let cmd = IndexStoreCommand::Add { namespace: self.namespace.clone(), index_struct: index_struct.clone() };
        self.backend.apply(Command::IndexStore(cmd)).await?;
        Ok(())
    }

    /// `delete_index_struct(key)`: silent when absent.
    pub async fn delete_index_struct(&self, key: &str) -> Result<()> {
        let cmd = IndexStoreCommand::Delete { namespace: self.namespace.clone(), index_id: key.into() };
        self.backend.apply(Command::IndexStore(cmd)).await?;
        Ok(())
    }

    /// `get_index_struct(struct_id)`: with no id the store must hold exactly one struct.
    pub async fn get_index_struct(&self, struct_id: Option<&str>) -> Result<Option<IndexStruct>> {
        let q = IndexStoreQuery::Get { namespace: self.namespace.clone(), index_id: struct_id.map(str::to_string) };
        match self.backend.query(Query::IndexStore(q)).await? {
            Response::IndexStruct(s) => Ok(s),
            other => Err(unexpected("get_index_struct", &other)),
        }
    }

    /// `index_structs()`, in insertion order.
    pub async fn index_structs(&self) -> Result<Vec<IndexStruct>> {
        let q = IndexStoreQuery::All { namespace: self.namespace.clone() };
        match self.backend.query(Query::IndexStore(q)).await? {
            Response::IndexStructs(s) => Ok(s),
            other => Err(unexpected("index_structs", &other)),
        }
    }
}
