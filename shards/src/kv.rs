//! The key-value store: named collections of JSON objects (LlamaIndex's `BaseKVStore`).
//! The document and index stores are built on these collections, as in LlamaIndex.

use crate::error::{Error, Result};
use crate::keys::Space;
use crate::ordered::{OrderedMap, Reader};
use crate::txn::Txn;
use strata_api::{JsonText, KvCommand, KvQuery, Response};

/// The ordered map holding one collection (counted: the status page shows sizes).
pub fn collection(name: &str) -> OrderedMap<'_> {
    OrderedMap::new(Space::KvEntry, name).counted()
}

/// The registry of collection names, in creation order.
fn registry() -> OrderedMap<'static> {
    OrderedMap::new(Space::CollectionEntry, "")
}

/// `put`: upserts `key` in `coll` and registers the collection.
pub fn put(txn: &mut Txn<'_>, coll: &str, key: &str, value: &JsonText) -> Result<()> {
    ensure_collection(txn, coll)?;
    collection(coll).put(txn, key, value.as_bytes())?;
    Ok(())
}

/// `delete`: answers whether the key was there.
pub fn delete(txn: &mut Txn<'_>, coll: &str, key: &str) -> Result<bool> {
    collection(coll).remove(txn, key)
}

/// `get`.
pub fn get(r: &impl Reader, coll: &str, key: &str) -> Result<Option<JsonText>> {
    collection(coll).get(r, key)?.map(|v| JsonText::from_stored(&v).map_err(Error::from)).transpose()
}

/// `get_all`, in insertion order.
pub fn get_all(r: &impl Reader, coll: &str) -> Result<Vec<(String, JsonText)>> {
    collection(coll).entries(r)?.into_iter().map(|(k, v)| Ok((k, JsonText::from_stored(&v)?))).collect()
}

fn ensure_collection(txn: &mut Txn<'_>, coll: &str) -> Result<()> {
    if txn.known_collections.contains(coll) {
        return Ok(());
    }
    if !registry().contains(txn, coll)? {
        registry().put(txn, coll, &[])?;
    }
    txn.known_collections.insert(coll.to_string());
    Ok(())
}

/// Applies a KV command.
pub fn apply(txn: &mut Txn<'_>, cmd: &KvCommand) -> Result<Response> {
    match cmd {
        KvCommand::Put { collection, key, value } => {
            put(txn, collection, key, value)?;
            Ok(Response::Done)
        }
        KvCommand::PutAll { collection, pairs } => {
            for (key, value) in pairs {
                put(txn, collection, key, value)?;
            }
            Ok(Response::Done)
        }
        KvCommand::Delete { collection, key } => Ok(Response::Deleted(delete(txn, collection, key)?)),
        KvCommand::EnsureCollections { collections } => {
            for c in collections {
                ensure_collection(txn, c)?;
            }
            Ok(Response::Done)
        }
    }
}

/// Answers a KV query.
pub fn query(r: &impl Reader, q: &KvQuery) -> Result<Response> {
    match q {
        KvQuery::Get { collection, key } => Ok(Response::Value(get(r, collection, key)?)),
        KvQuery::GetAll { collection } => Ok(Response::Entries(get_all(r, collection)?)),
        KvQuery::Collections => Ok(Response::Names(registry().keys(r)?)),
    }
}
