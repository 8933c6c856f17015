//! `strata graph`: rel maps and Cypher queries against a graph's property graph store,
//! printed for people or as JSON.

use super::CliError;
use serde_json::{Map, Value, json};
use strata_api::model::graph_json;
use strata_client::StorageContext;
use strata_client::api::Triplet;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A triplet as LlamaIndex's pydantic forms: `{"source", "relation", "target"}`.
fn triplet_json(t: &Triplet) -> Value {
    json!({
        "source": parse(&graph_json::node_json(&t.source)),
        "relation": parse(&graph_json::relation_json(&t.relation)),
        "target": parse(&graph_json::node_json(&t.target)),
    })
}

/// `strata graph rel-map ID... [--depth N] [--limit N] [--ignore REL]`.
pub async fn rel_map(
    ctx: &StorageContext,
    graph: &str,
    ids: &[String],
    (depth, limit): (usize, usize),
    ignore: &[String],
    as_json: bool,
) -> Result<String, CliError> {
    let triplets = ctx.property_graph_store_in(graph).get_rel_map_of(ids, depth, limit, Some(ignore)).await?;
    if as_json {
        let list: Vec<Value> = triplets.iter().map(triplet_json).collect();
        return serde_json::to_string(&list).map_err(|e| CliError::Usage(e.to_string()));
    }
    let mut out = String::new();
    for t in &triplets {
        out.push_str(&format!(
            "({}:{}) -[{}]-> ({}:{})\n",
            t.source.label, t.source.id, t.relation.label, t.target.label, t.target.id
        ));
    }
    out.push_str(&format!("{} relation(s)", triplets.len()));
    Ok(out)
}

/// Parses `--param name=value` pairs: the value as JSON when it parses, else a string.
pub fn params(pairs: &[String]) -> Result<Map<String, Value>, CliError> {
    let mut out = Map::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| CliError::Usage(format!("--param {p:?}: expected NAME=VALUE")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

/// `strata graph query 'CYPHER' [--param k=v]`: rows as a table, or JSON.
pub async fn query(
    ctx: &StorageContext,
    graph: &str,
    cypher: &str,
    params: &Map<String, Value>,
    as_json: bool,
) -> Result<String, CliError> {
    let rows = ctx.property_graph_store_in(graph).structured_query(cypher, Some(params)).await?;
    if as_json {
        return serde_json::to_string(&rows).map_err(|e| CliError::Usage(e.to_string()));
    }
    let columns: Vec<String> = rows.first().map(|r| r.keys().cloned().collect()).unwrap_or_default();
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = columns.join("\t");
    for r in &rows {
        out.push('\n');
        out.push_str(&columns.iter().map(|c| r.get(c).map(cell).unwrap_or_default()).collect::<Vec<_>>().join("\t"));
    }
    if !rows.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("{} row(s)", rows.len()));
    Ok(out)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn object(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

fn count(v: Option<&Value>, default: usize) -> Result<usize, CliError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| CliError::Usage(format!("{v} is not a count"))),
    }
}

fn node_out(n: &strata_client::api::LabelledNode) -> Value {
    parse(&graph_json::node_json(n))
}

fn selector(call: &Map<String, Value>) -> strata_client::api::TripletSelector {
    strata_client::api::TripletSelector {
        entity_names: strings(call.get("entity_names")),
        relation_names: strings(call.get("relation_names")),
        properties: object(call.get("properties")),
        ids: strings(call.get("ids")),
    }
}

/// One call of `strata graph batch`.
async fn batch_call(ctx: &StorageContext, graph: &str, call: &Map<String, Value>) -> Result<Value, CliError> {
    let pg = ctx.property_graph_store_in(graph);
    let triplets = ctx.graph_store_in(graph);
    let op = call.get("op").and_then(Value::as_str).unwrap_or_default();
    let usage = |what: String| CliError::Usage(what);
    Ok(match op {
        "upsert_nodes" => {
            let list = call.get("nodes").and_then(Value::as_array).cloned().unwrap_or_default();
            let nodes = list.iter().map(|n| graph_json::node_from_json(n, None)).collect::<Result<Vec<_>, _>>()?;
            pg.upsert_nodes(&nodes).await?;
            Value::Null
        }
        "upsert_relations" => {
            let list = call.get("relations").and_then(Value::as_array).cloned().unwrap_or_default();
            let rels = list.iter().map(graph_json::relation_from_json).collect::<Result<Vec<_>, _>>()?;
            pg.upsert_relations(&rels).await?;
            Value::Null
        }
        "get" => {
            let props = object(call.get("properties"));
            let ids = strings(call.get("ids"));
            Value::Array(pg.get(Some(&props), Some(&ids)).await?.iter().map(node_out).collect())
        }
        "get_triplets" | "get_rel_map" => {
            let found = if op == "get_triplets" {
                pg.get_triplets(&selector(call)).await?
            } else {
                let (depth, limit) = (count(call.get("depth"), 2)?, count(call.get("limit"), 30)?);
                let ignore = strings(call.get("ignore_rels"));
                pg.get_rel_map_of(&strings(call.get("ids")), depth, limit, Some(&ignore)).await?
            };
            Value::Array(
                found
                    .iter()
                    .map(|t| {
                        json!([
                            node_out(&t.source),
                            parse(&graph_json::relation_json(&t.relation)),
                            node_out(&t.target)
                        ])
                    })
                    .collect(),
            )
        }
        "delete" => {
            pg.delete(&selector(call)).await?;
            Value::Null
        }
        "delete_llama_nodes" => {
            let (nodes, docs) = (strings(call.get("node_ids")), strings(call.get("ref_doc_ids")));
            pg.delete_llama_nodes(Some(&nodes), Some(&docs)).await?;
            Value::Null
        }
        "vector_query" => {
            let query = serde_json::from_value(call.get("query").cloned().unwrap_or_default())
                .map_err(|e| usage(format!("not a VectorStoreQuery: {e}")))?;
            let (nodes, scores) = pg.vector_query(&query).await?;
            json!({"nodes": nodes.iter().map(node_out).collect::<Vec<_>>(), "scores": scores})
        }
        "schema" => Value::String(pg.get_schema_str(true).await?),
        "relations" => {
            Value::Array(pg.relations().await?.iter().map(|r| parse(&graph_json::relation_json(r))).collect())
        }
        "upsert_triplet" | "delete_triplet" => {
            let s = |k: &str| call.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            if op == "upsert_triplet" {
                triplets.upsert_triplet(&s("subj"), &s("rel"), &s("obj")).await?;
            } else {
                triplets.delete(&s("subj"), &s("rel"), &s("obj")).await?;
            }
            Value::Null
        }
        "triplet_get" => {
            let subj = call.get("subj").and_then(Value::as_str).unwrap_or_default();
            json!(triplets.get(subj).await?.into_iter().map(|(r, o)| vec![r, o]).collect::<Vec<_>>())
        }
        "triplet_rel_map" => {
            let subjs = call.get("subjs").filter(|v| !v.is_null()).map(|v| strings(Some(v)));
            let (depth, limit) = (count(call.get("depth"), 2)?, count(call.get("limit"), 30)?);
            let map = triplets.get_rel_map(subjs.as_deref(), depth, limit).await?;
            Value::Array(map.into_iter().map(|(s, rows)| json!([s, rows])).collect())
        }
        other => return Err(usage(format!("unknown call {other:?}"))),
    })
}

/// `strata graph batch`: a JSON array of calls on stdin (`{"op": "get", ...}`), a JSON
/// array of answers on stdout, each `{"ok": value}` or `{"error": {"kind", "message"}}`
/// (one failing call does not stop the others). For scripts and differential tests.
pub async fn batch(ctx: &StorageContext, graph: &str, input: &str) -> Result<String, CliError> {
    let calls: Vec<Map<String, Value>> =
        serde_json::from_str(input).map_err(|e| CliError::Usage(format!("expected a JSON array of calls: {e}")))?;
    let mut out = Vec::with_capacity(calls.len());
    for call in &calls {
        out.push(match batch_call(ctx, graph, call).await {
            Ok(v) => json!({"ok": v}),
            Err(e) => {
                let kind = match &e {
                    CliError::Client(c) => c.as_store().map(error_kind).unwrap_or("client"),
                    CliError::Node(n) => error_kind(n),
                    _ => "usage",
                };
                json!({"error": {"kind": kind, "message": e.to_string()}})
            }
        });
    }
    serde_json::to_string(&out).map_err(|e| CliError::Usage(e.to_string()))
}

fn error_kind(e: &strata_client::api::Error) -> &'static str {
    use strata_client::api::Error as E;
    match e {
        E::InvalidInput(_) => "InvalidInput",
        E::InvalidQuery(_) => "InvalidQuery",
        E::UnsupportedCypher { .. } => "UnsupportedCypher",
        E::WrongDimension { .. } => "WrongDimension",
        E::InvalidVector { .. } => "InvalidVector",
        E::InvalidFilter(_) => "InvalidFilter",
        E::Unsupported(_) => "Unsupported",
        _ => "Other",
    }
}
