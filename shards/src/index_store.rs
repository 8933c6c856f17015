//! The index store (LlamaIndex's `KVIndexStore`): index structs under `{ns}/data`, keyed
//! by `index_id`, stored as `{"__type__": t, "__data__": "<json>"}`.

use crate::error::{Error, Result};
use crate::kv;
use crate::ordered::Reader;
use crate::txn::Txn;
use strata_api::{IndexStoreCommand, IndexStoreQuery, IndexStruct, JsonText, Response};

/// The collection of namespace `ns`.
pub fn collection(ns: &str) -> String {
    format!("{ns}/data")
}

fn parse(text: &JsonText) -> Result<IndexStruct> {
    IndexStruct::from_json(&text.to_map()?)
        .map_err(|e| Error::Api(strata_api::Error::InvalidData(format!("stored index struct: {e}"))))
}

/// Applies an index store command.
pub fn apply(txn: &mut Txn<'_>, cmd: &IndexStoreCommand) -> Result<Response> {
    match cmd {
        IndexStoreCommand::Add { namespace, index_struct } => {
            if index_struct.index_id().is_empty() {
                return Err(strata_api::Error::InvalidInput("index struct without an index_id".into()).into());
            }
            let value = JsonText::from_map(&index_struct.to_json());
            kv::put(txn, &collection(namespace), index_struct.index_id(), &value)?;
            Ok(Response::Done)
        }
        IndexStoreCommand::Delete { namespace, index_id } => {
            kv::delete(txn, &collection(namespace), index_id)?;
            Ok(Response::Done)
        }
    }
}

/// Answers an index store query.
pub fn query(r: &impl Reader, q: &IndexStoreQuery) -> Result<Response> {
    match q {
        IndexStoreQuery::Get { namespace, index_id: Some(id) } => {
            Ok(Response::IndexStruct(kv::get(r, &collection(namespace), id)?.map(|t| parse(&t)).transpose()?))
        }
        IndexStoreQuery::Get { namespace, index_id: None } => {
            let all = kv::get_all(r, &collection(namespace))?;
            if all.len() != 1 {
                return Err(strata_api::Error::IndexStructNotUnique { count: all.len() }.into());
            }
            Ok(Response::IndexStruct(all.first().map(|(_, t)| parse(t)).transpose()?))
        }
        IndexStoreQuery::All { namespace } => {
            let all = kv::get_all(r, &collection(namespace))?;
            Ok(Response::IndexStructs(all.iter().map(|(_, t)| parse(t)).collect::<Result<_>>()?))
        }
    }
}
