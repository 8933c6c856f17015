//! `StrataVectorStore`: nodes as `doc_to_json(node)` without their embeddings, which
//! come as one `f64` buffer (`blob`) in node order; a query's embedding likewise.

use super::args::{embeddings, query_embedding};
use super::docstore::{doc, nodes_of};
use super::{Args, done, unknown_op};
use serde_json::{Map, Value, json};
use strata_api::{Distance, MetadataFilters, VectorNamespace, VectorStoreQuery};
use strata_client::{Error, Result, StorageContext};

fn is_unknown_namespace(e: &Error) -> bool {
    matches!(e.as_store(), Some(strata_api::Error::UnknownNamespace { .. }))
}

/// A read of a namespace nothing was added to yet answers as an empty store does.
fn or_empty<T: Default>(r: Result<T>) -> Result<T> {
    match r {
        Err(e) if is_unknown_namespace(&e) => Ok(T::default()),
        other => other,
    }
}

pub async fn run(ctx: &StorageContext, op: &str, args: &Args, blob: Option<&[u8]>) -> Result<Value> {
    let namespace: String = args.or("namespace", strata_api::DEFAULT_VECTOR_NAMESPACE.to_string())?;
    let store = ctx.vector_store_in(&namespace).with_stale_reads(args.or("stale_ok", false)?);
    let filters = || args.opt::<MetadataFilters>("filters");
    let node_ids = || args.opt::<Vec<String>>("node_ids");
    Ok(match op {
        "add" => {
            let mut nodes = nodes_of(&args.req::<Vec<Map<String, Value>>>("docs")?)?;
            let rows = embeddings(blob, nodes.len())?;
            let dim = rows.first().map_or(0, Vec::len);
            for (node, row) in nodes.iter_mut().zip(rows) {
                node.embedding = Some(row);
            }
            let ids = match store.add(&nodes).await {
                Err(e) if is_unknown_namespace(&e) && dim > 0 => {
                    // `StorageContext.add_vector_store(store, namespace)`: a namespace
                    // comes to exist with its first vectors.
                    let settings = VectorNamespace {
                        name: namespace.clone(),
                        dim: u32::try_from(dim).map_err(|_| super::args::invalid("dimension too large"))?,
                        distance: args.or("distance", Distance::Cosine)?,
                        partitions: args.or("partitions", 0)?,
                    };
                    ctx.add_vector_store(settings).await?.add(&nodes).await?
                }
                other => other?,
            };
            Value::from(ids)
        }
        "delete" => {
            or_empty(store.delete(&args.req::<String>("ref_doc_id")?).await)?;
            done()
        }
        "delete_nodes" => {
            or_empty(store.delete_nodes(node_ids()?.as_deref(), filters()?.as_ref()).await)?;
            done()
        }
        "clear" => {
            or_empty(store.clear().await)?;
            done()
        }
        "get_nodes" => {
            let nodes = or_empty(store.get_nodes(node_ids()?.as_deref(), filters()?.as_ref()).await)?;
            Value::Array(nodes.iter().map(doc).collect())
        }
        "query" => {
            let mut query: VectorStoreQuery = args.req("query")?;
            if let Some(e) = query_embedding(blob)? {
                query.query_embedding = Some(e);
            }
            let kwargs: Map<String, Value> = args.or("kwargs", Map::new())?;
            let result = or_empty(store.query_with_kwargs(&query, &kwargs).await)?;
            json!({
                "ids": result.ids,
                "similarities": result.similarities,
                "nodes": result.nodes.iter().map(doc).collect::<Vec<_>>(),
            })
        }
        "index_stats" => serde_json::to_value(or_empty(store.index_stats().await)?)
            .map_err(|e| Error::Protocol(format!("index_stats: {e}")))?,
        "namespaces" => serde_json::to_value(ctx.vector_namespaces().await?)
            .map_err(|e| Error::Protocol(format!("namespaces: {e}")))?,
        _ => return Err(unknown_op("vector", op)),
    })
}
