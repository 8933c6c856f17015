//! `KvStore`: LlamaIndex's `BaseKVStore` API over named collections.

use crate::backend::{Backend, unexpected};
use crate::error::Result;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::sync::Arc;
use strata_api::{Command, JsonText, KvCommand, KvQuery, Query, Response};

/// Collections under this prefix belong to Strata itself.
pub const RESERVED_PREFIX: &str = "__strata__/";

/// A handle on the key-value store. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct KvStore {
    backend: Arc<Backend>,
}

fn check_collection(collection: &str) -> Result<()> {
    if collection.starts_with(RESERVED_PREFIX) {
        return Err(strata_api::Error::InvalidInput(format!("collection {collection:?} is reserved")).into());
    }
    Ok(())
}

impl KvStore {
    pub(crate) fn new(backend: Arc<Backend>) -> Self {
        Self { backend }
    }

    /// `put(key, val, collection)`: upsert.
    pub async fn put(&self, key: &str, val: &Map<String, Value>, collection: &str) -> Result<()> {
        check_collection(collection)?;
        let cmd = KvCommand::Put { collection: collection.into(), key: key.into(), value: JsonText::from_map(val) };
        self.backend.apply(Command::Kv(cmd)).await?;
        Ok(())
    }

    /// `put_all(kv_pairs, collection)`: all pairs in one atomic write (any batch size works).
    pub async fn put_all(&self, kv_pairs: &[(String, Map<String, Value>)], collection: &str) -> Result<()> {
        check_collection(collection)?;
        let pairs = kv_pairs.iter().map(|(k, v)| (k.clone(), JsonText::from_map(v))).collect();
        self.backend.apply(Command::Kv(KvCommand::PutAll { collection: collection.into(), pairs })).await?;
        Ok(())
    }

    /// `get(key, collection)`.
    pub async fn get(&self, key: &str, collection: &str) -> Result<Option<Map<String, Value>>> {
        let q = KvQuery::Get { collection: collection.into(), key: key.into() };
        match self.backend.query(Query::Kv(q)).await? {
            Response::Value(v) => Ok(v.map(|t| t.to_map()).transpose()?),
            other => Err(unexpected("get", &other)),
        }
    }

    /// `get_all(collection)`, in insertion order.
    pub async fn get_all(&self, collection: &str) -> Result<IndexMap<String, Map<String, Value>>> {
        match self.backend.query(Query::Kv(KvQuery::GetAll { collection: collection.into() })).await? {
            Response::Entries(entries) => entries.into_iter().map(|(k, v)| Ok((k, v.to_map()?))).collect(),
            other => Err(unexpected("get_all", &other)),
        }
    }

    /// `delete(key, collection)`: whether something was removed.
    pub async fn delete(&self, key: &str, collection: &str) -> Result<bool> {
        check_collection(collection)?;
        let cmd = KvCommand::Delete { collection: collection.into(), key: key.into() };
        match self.backend.apply(Command::Kv(cmd)).await? {
            Response::Deleted(b) => Ok(b),
            other => Err(unexpected("delete", &other)),
        }
    }

    /// Every collection that holds or held an entry, in creation order.
    pub async fn collections(&self) -> Result<Vec<String>> {
        match self.backend.query(Query::Kv(KvQuery::Collections)).await? {
            Response::Names(names) => Ok(names),
            other => Err(unexpected("collections", &other)),
        }
    }
}
