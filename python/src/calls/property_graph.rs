//! `StrataPropertyGraphStore`: graph nodes and relations as pydantic's `model_dump()`,
//! LlamaIndex nodes as `doc_to_json(node)`, a vector query's embedding in `blob`.

use super::args::query_embedding;
use super::docstore::{doc, nodes_of};
use super::{Args, done, unknown_op};
use serde_json::{Map, Value, json};
use strata_api::model::graph_json::{node_from_json, node_json, relation_from_json, relation_json};
use strata_api::{LabelledNode, Relation, Triplet, TripletSelector, VectorStoreQuery};
use strata_client::{Result, StorageContext};

fn parsed(text: &str) -> Value {
    // Our own writers' output: always JSON.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn node(n: &LabelledNode) -> Value {
    parsed(&node_json(n))
}

fn triplets(list: &[Triplet]) -> Value {
    Value::Array(
        list.iter()
            .map(|t| Value::Array(vec![node(&t.source), parsed(&relation_json(&t.relation)), node(&t.target)]))
            .collect(),
    )
}

fn selector(args: &Args) -> Result<TripletSelector> {
    Ok(TripletSelector {
        entity_names: args.or("entity_names", Vec::new())?,
        relation_names: args.or("relation_names", Vec::new())?,
        properties: args.or("properties", Map::new())?,
        ids: args.or("ids", Vec::new())?,
    })
}

pub async fn run(ctx: &StorageContext, op: &str, args: &Args, blob: Option<&[u8]>) -> Result<Value> {
    let graph: String = args.or("graph", strata_api::DEFAULT_GRAPH.to_string())?;
    let store = ctx.property_graph_store_in(&graph).with_stale_reads(args.or("stale_ok", false)?);
    Ok(match op {
        "get" => {
            let properties: Option<Map<String, Value>> = args.opt("properties")?;
            let ids: Option<Vec<String>> = args.opt("ids")?;
            Value::Array(store.get(properties.as_ref(), ids.as_deref()).await?.iter().map(node).collect())
        }
        "get_triplets" => triplets(&store.get_triplets(&selector(args)?).await?),
        "get_rel_map" => {
            let ids: Vec<String> = args.req("ids")?;
            let ignore: Option<Vec<String>> = args.opt("ignore_rels")?;
            let found =
                store.get_rel_map_of(&ids, args.or("depth", 2)?, args.or("limit", 30)?, ignore.as_deref()).await?;
            triplets(&found)
        }
        "upsert_nodes" => {
            let nodes = args
                .req::<Vec<Value>>("nodes")?
                .iter()
                .map(|v| node_from_json(v, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            store.upsert_nodes(&nodes).await?;
            done()
        }
        "upsert_relations" => {
            let relations = args
                .req::<Vec<Value>>("relations")?
                .iter()
                .map(relation_from_json)
                .collect::<std::result::Result<Vec<Relation>, _>>()?;
            store.upsert_relations(&relations).await?;
            done()
        }
        "delete" => {
            store.delete(&selector(args)?).await?;
            done()
        }
        "upsert_llama_nodes" => {
            store.upsert_llama_nodes(&nodes_of(&args.req::<Vec<Map<String, Value>>>("docs")?)?).await?;
            done()
        }
        "get_llama_nodes" => {
            let ids: Vec<String> = args.req("node_ids")?;
            Value::Array(store.get_llama_nodes(&ids).await?.iter().map(doc).collect())
        }
        "delete_llama_nodes" => {
            let node_ids: Option<Vec<String>> = args.opt("node_ids")?;
            let ref_doc_ids: Option<Vec<String>> = args.opt("ref_doc_ids")?;
            store.delete_llama_nodes(node_ids.as_deref(), ref_doc_ids.as_deref()).await?;
            done()
        }
        "vector_query" => {
            let mut query: VectorStoreQuery = args.req("query")?;
            if let Some(e) = query_embedding(blob)? {
                query.query_embedding = Some(e);
            }
            let (nodes, scores) = store.vector_query(&query).await?;
            json!({"nodes": nodes.iter().map(node).collect::<Vec<_>>(), "scores": scores})
        }
        "get_schema" => serde_json::to_value(store.get_schema(true).await?)
            .map_err(|e| strata_client::Error::Protocol(format!("schema: {e}")))?,
        "get_schema_str" => Value::String(store.get_schema_str(true).await?),
        "structured_query" => {
            let query: String = args.req("query")?;
            let params: Option<Map<String, Value>> = args.opt("param_map")?;
            Value::Array(
                store.structured_query(&query, params.as_ref()).await?.into_iter().map(Value::Object).collect(),
            )
        }
        _ => return Err(unknown_op("property_graph", op)),
    })
}
