//! `strata graph`: rel maps and Cypher queries against a graph's property graph store,
//! printed for people or as JSON.

use super::CliError;
use serde_json::{Value, json};
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
