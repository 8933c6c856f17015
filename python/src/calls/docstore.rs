//! `StrataDocumentStore` and `StrataIndexStore`: nodes as `doc_to_json(node)`, index
//! structs as `index_struct_to_json(struct)`, ref-doc info as `RefDocInfo.to_dict()`.

use super::{Args, done, unknown_op};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use strata_api::{IndexStruct, Node};
use strata_client::{AddDocumentsOptions, Result, StorageContext};

/// Nodes from their `doc_to_json` objects.
pub fn nodes_of(docs: &[Map<String, Value>]) -> Result<Vec<Node>> {
    Ok(docs.iter().map(Node::from_doc_json).collect::<std::result::Result<Vec<_>, _>>()?)
}

/// A node as `doc_to_json(node)`.
pub fn doc(node: &Node) -> Value {
    Value::Object(node.to_doc_json())
}

pub async fn run(ctx: &StorageContext, op: &str, args: &Args) -> Result<Value> {
    let store = ctx.docstore_in(&args.or("namespace", strata_api::DEFAULT_DOCSTORE_NAMESPACE.to_string())?);
    let raise_error = || args.or("raise_error", true);
    Ok(match op {
        "add_documents" => {
            let docs = nodes_of(&args.req::<Vec<Map<String, Value>>>("docs")?)?;
            let options = AddDocumentsOptions {
                allow_update: args.or("allow_update", true)?,
                store_text: args.or("store_text", true)?,
            };
            store.add_documents_with(&docs, options).await?;
            done()
        }
        "get_document" => {
            store.get_document(&args.req::<String>("doc_id")?, raise_error()?).await?.map_or(Value::Null, |n| doc(&n))
        }
        "get_nodes" => {
            let ids: Vec<String> = args.req("node_ids")?;
            Value::Array(store.get_nodes(&ids, raise_error()?).await?.iter().map(doc).collect())
        }
        "get_node_dict" => {
            let wanted: BTreeMap<i64, String> = args.req("node_id_dict")?;
            let got = store.get_node_dict(&wanted).await?;
            Value::Object(got.iter().map(|(i, n)| (i.to_string(), doc(n))).collect())
        }
        "docs" => Value::Object(store.docs().await?.iter().map(|(id, n)| (id.clone(), doc(n))).collect()),
        "document_exists" => Value::Bool(store.document_exists(&args.req::<String>("doc_id")?).await?),
        "ref_doc_exists" => Value::Bool(store.ref_doc_exists(&args.req::<String>("ref_doc_id")?).await?),
        "get_ref_doc_info" => store
            .get_ref_doc_info(&args.req::<String>("ref_doc_id")?)
            .await?
            .map_or(Value::Null, |info| Value::Object(info.to_json())),
        "get_all_ref_doc_info" => Value::Object(
            store
                .get_all_ref_doc_info()
                .await?
                .iter()
                .map(|(id, info)| (id.clone(), Value::Object(info.to_json())))
                .collect(),
        ),
        "delete_document" => {
            store.delete_document(&args.req::<String>("doc_id")?, raise_error()?).await?;
            done()
        }
        "delete_ref_doc" => {
            store.delete_ref_doc(&args.req::<String>("ref_doc_id")?, raise_error()?).await?;
            done()
        }
        "set_document_hashes" => {
            let hashes: Vec<(String, String)> = args
                .req::<Map<String, Value>>("doc_hashes")?
                .into_iter()
                .map(|(id, h)| match h {
                    Value::String(h) => Ok((id, h)),
                    other => Err(super::args::invalid(format!("hash of {id:?} must be a string, not {other}"))),
                })
                .collect::<Result<_>>()?;
            store.set_document_hashes(&hashes).await?;
            done()
        }
        "get_document_hash" => {
            store.get_document_hash(&args.req::<String>("doc_id")?).await?.map_or(Value::Null, Value::String)
        }
        "get_all_document_hashes" => Value::Object(
            store.get_all_document_hashes().await?.into_iter().map(|(h, id)| (h, Value::String(id))).collect(),
        ),
        _ => return Err(unknown_op("docstore", op)),
    })
}

pub async fn run_index_store(ctx: &StorageContext, op: &str, args: &Args) -> Result<Value> {
    let store = ctx.index_store_in(&args.or("namespace", strata_api::DEFAULT_INDEX_STORE_NAMESPACE.to_string())?);
    Ok(match op {
        "add_index_struct" => {
            let data: Map<String, Value> = args.req("index_struct")?;
            store.add_index_struct(&IndexStruct::from_json(&data)?).await?;
            done()
        }
        "delete_index_struct" => {
            store.delete_index_struct(&args.req::<String>("key")?).await?;
            done()
        }
        "get_index_struct" => store
            .get_index_struct(args.opt::<String>("struct_id")?.as_deref())
            .await?
            .map_or(Value::Null, |s| Value::Object(s.to_json())),
        "index_structs" => {
            Value::Array(store.index_structs().await?.iter().map(|s| Value::Object(s.to_json())).collect())
        }
        _ => return Err(unknown_op("index_store", op)),
    })
}
