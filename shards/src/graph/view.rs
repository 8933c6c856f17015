//! How LlamaIndex's labelled nodes look to Cypher (Neo4j's layout, which LlamaIndex's
//! text-to-Cypher prompts assume): an entity carries the labels `__Entity__`, `__Node__`
//! and its own label; a chunk `Chunk`, `__Node__` and its own label (`text_chunk`).
//! Its properties are its LlamaIndex properties plus the built-ins `id`, `label`, and
//! `name` (entities) or `text` (chunks), which take precedence; the embedding is never
//! shown.
//!
//! Equality is Cypher's where the two languages differ: `null` equals nothing (the
//! comparison is unknown), `true` is not `1`; numbers compare by value (`1 = 1.0`).

use serde_json::{Map, Value};
use strata_api::model::graph::{CHUNK_CYPHER_LABEL, ENTITY_CYPHER_LABEL, NODE_CYPHER_LABEL};
use strata_api::{GraphNodeBody, LabelledNode};

/// The label a node counts under in the schema: `Chunk` for chunks, else its label.
pub fn display_label(label: &str, is_entity: bool) -> &str {
    if is_entity { label } else { CHUNK_CYPHER_LABEL }
}

/// The Cypher labels stored in the label index (`__Node__`, which every node has, is not).
pub fn indexed_labels(label: &str, is_entity: bool) -> Vec<&str> {
    let kind = if is_entity { ENTITY_CYPHER_LABEL } else { CHUNK_CYPHER_LABEL };
    if kind == label { vec![kind] } else { vec![kind, label] }
}

/// Whether `node` carries Cypher label `wanted`.
pub fn has_label(node: &LabelledNode, wanted: &str) -> bool {
    wanted == NODE_CYPHER_LABEL || indexed_labels(&node.label, node.is_entity()).contains(&wanted)
}

/// Every Cypher label of `node`, in Neo4j's usual order.
pub fn labels(node: &LabelledNode) -> Vec<String> {
    let mut out: Vec<String> = indexed_labels(&node.label, node.is_entity()).into_iter().map(str::to_string).collect();
    out.insert(1, NODE_CYPHER_LABEL.to_string());
    out
}

/// The property `key` of `node` as Cypher sees it.
pub fn property(node: &LabelledNode, key: &str) -> Option<Value> {
    match (key, &node.body) {
        ("id", _) => Some(Value::String(node.id.clone())),
        ("label", _) => Some(Value::String(node.label.clone())),
        ("name", GraphNodeBody::Entity { name }) => Some(Value::String(name.clone())),
        ("text", GraphNodeBody::Chunk { text, .. }) => Some(Value::String(text.clone())),
        _ => node.properties.get(key).filter(|v| !v.is_null()).cloned(),
    }
}

/// Every property of `node` as Cypher sees it (`properties(n)`, or `n` in a result row).
pub fn properties(node: &LabelledNode) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in &node.properties {
        if !v.is_null() {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("id".into(), Value::String(node.id.clone()));
    out.insert("label".into(), Value::String(node.label.clone()));
    match &node.body {
        GraphNodeBody::Entity { name } => out.insert("name".into(), Value::String(name.clone())),
        GraphNodeBody::Chunk { text, .. } => out.insert("text".into(), Value::String(text.clone())),
    };
    out
}

/// Cypher's `a = b` on JSON values (`None` when unknown): the query engine's equality.
pub fn equal(a: &Value, b: &Value) -> Option<bool> {
    use crate::graph::cypher::value::{Val, equal as val_equal};
    val_equal(&Val::from_json(a), &Val::from_json(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nodes_look_like_neo4j_nodes() {
        let e = LabelledNode::entity("Ada", "PERSON");
        assert_eq!(labels(&e), ["__Entity__", "__Node__", "PERSON"]);
        assert!(has_label(&e, "__Node__") && has_label(&e, "PERSON") && !has_label(&e, "Chunk"));
        assert_eq!(property(&e, "name"), Some(json!("Ada")));
        let c = LabelledNode::chunk("c1", "hello");
        assert_eq!(labels(&c), ["Chunk", "__Node__", "text_chunk"]);
        assert_eq!(property(&c, "text"), Some(json!("hello")));
        assert_eq!(properties(&c).get("id"), Some(&json!("c1")));
    }

    #[test]
    fn equality_is_cyphers() {
        assert_eq!(equal(&json!(1), &json!(1.0)), Some(true));
        assert_eq!(equal(&json!(true), &json!(1)), Some(false));
        assert_eq!(equal(&json!(null), &json!(null)), None);
        assert_eq!(equal(&json!([1, null]), &json!([1, 2])), None);
        assert_eq!(equal(&json!([1, null]), &json!([2, 2])), Some(false));
    }
}
