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
