//! A partition's nodes: one record each in an insertion-ordered map (LlamaIndex's
//! `nodes` dict order: a replaced node keeps its place), indexed by Cypher label and by
//! every scalar property value (and an entity's name), so the lookups retrievers make
//! on every query — by id, label, `triplet_source_id`, `ref_doc_id` — are index reads.

use super::record::NodeRecord;
use super::{embeddings, keys, relations, schema, view};
use crate::error::Result;
use crate::keys::Space;
use crate::ordered::{OrderedMap, Reader};
use crate::txn::Txn;
use crate::vector;
use serde_json::Value;
use std::collections::HashSet;
use strata_api::{Error as ApiError, GraphNodeBody, LabelledNode, NodeSelect, RelationKey};

/// The index key of an entity's built-in `name` (apart from a `name` property, which
/// LlamaIndex's `get(properties=...)` looks at while Cypher's `n.name` does not).
const NAME_INDEX: &str = "\0name";

fn map(graph: &str) -> OrderedMap<'_> {
    OrderedMap::new(Space::GraphNode, graph)
}

/// A node's stored record and position.
pub fn record(r: &impl Reader, graph: &str, id: &str) -> Result<Option<(u64, NodeRecord)>> {
    match map(graph).get_positioned(r, id)? {
        None => Ok(None),
        Some((pos, bytes)) => Ok(Some((pos, NodeRecord::decode(&bytes)?))),
    }
}

/// A node (with its embedding unless `bare`) and its position.
pub fn load(r: &impl Reader, graph: &str, id: &str, bare: bool) -> Result<Option<(u64, LabelledNode)>> {
    let Some((pos, rec)) = record(r, graph, id)? else { return Ok(None) };
    Ok(Some((pos, hydrate(r, graph, id, rec, bare)?)))
}

fn hydrate(r: &impl Reader, graph: &str, id: &str, rec: NodeRecord, bare: bool) -> Result<LabelledNode> {
    let embedding = if rec.indexed && !bare { embeddings::get(r, graph, id)? } else { None };
    let mut node = rec.node(id, embedding)?;
    if bare {
        node.embedding = None;
        node.exact_f32 = false;
    }
    Ok(node)
}

/// Every index key of a node.
fn index_keys(graph: &str, id: &str, rec: &NodeRecord, props: &serde_json::Map<String, Value>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> =
        view::indexed_labels(&rec.label, rec.is_entity()).into_iter().map(|l| keys::label_key(graph, l, id)).collect();
    for (k, v) in props {
        if let Some(vb) = keys::value_bytes(v) {
            out.push(keys::node_prop_key(graph, k, &vb, id));
        }
    }
    if let GraphNodeBody::Entity { name } = &rec.body
        && let Some(vb) = keys::value_bytes(&Value::String(name.clone()))
    {
        out.push(keys::node_prop_key(graph, NAME_INDEX, &vb, id));
    }
    out
}

/// `add_node`: stores `node` in place of any node with its id (keeping that one's
/// position, else at `stamp` or later). Answers the relations stored in other partitions
/// whose target changed label (their schema entries follow it).
pub fn put(txn: &mut Txn<'_>, graph: &str, node: &LabelledNode, stamp: u64) -> Result<Vec<(RelationKey, String)>> {
    node.validate().map_err(ApiError::InvalidInput)?;
    let indexed = node.is_entity() && node.embedding.is_some();
    if let Some(e) = node.embedding.as_ref().filter(|_| indexed)
        && let Some(s) = vector::settings(txn, &embeddings::namespace(graph))?
        && s.dim != 0
        && s.dim as usize != e.len()
    {
        return Err(
            ApiError::WrongDimension { namespace: format!("graph {graph}"), expected: s.dim, got: e.len() }.into()
        );
    }
    let old = record(txn, graph, &node.id)?;
    if let Some((_, old)) = &old {
        let props = old.properties()?;
        for k in index_keys(graph, &node.id, old, &props) {
            txn.remove(k);
        }
        schema::count_node(txn, graph, view::display_label(&old.label, old.is_entity()), &props, -1);
        if old.indexed && !indexed {
            embeddings::remove(txn, graph, &node.id)?;
        }
    }
    let rec = NodeRecord::of(node, indexed);
    if let Some(e) = node.embedding.as_ref().filter(|_| indexed) {
        embeddings::put(txn, graph, &node.id, e, node.exact_f32, &rec.properties)?;
    }
    map(graph).put_at(txn, &node.id, &rec.encode()?, stamp)?;
    for k in index_keys(graph, &node.id, &rec, &node.properties) {
        txn.put(k, Vec::new());
    }
    let label = view::display_label(&node.label, node.is_entity());
    schema::count_node(txn, graph, label, &node.properties, 1);
    match old {
        Some((_, old)) if view::display_label(&old.label, old.is_entity()) != label => {
            relations::relabel(txn, graph, &node.id, label)
        }
        _ => Ok(Vec::new()),
    }
}

/// `add_relation`'s missing endpoint: `EntityNode(name=id)` filed under `id`, unless a
/// node has that id. Answers the node's schema label (what relations count it under).
pub fn create_missing(txn: &mut Txn<'_>, graph: &str, id: &str, stamp: u64) -> Result<String> {
    if let Some((_, rec)) = record(txn, graph, id)? {
        return Ok(view::display_label(&rec.label, rec.is_entity()).to_string());
    }
    // LlamaIndex files it under the relation's id even when `"` makes its own id differ.
    let mut node = LabelledNode::entity(id, strata_api::model::graph::ENTITY_LABEL);
    node.id = id.to_string();
    let rec = NodeRecord::of(&node, false);
    map(graph).put_at(txn, id, &rec.encode()?, stamp)?;
    for k in index_keys(graph, id, &rec, &node.properties) {
        txn.put(k, Vec::new());
    }
    schema::count_node(txn, graph, &node.label, &node.properties, 1);
    Ok(node.label)
}

/// Removes a node (not its relations); answers whether it was there.
pub fn remove(txn: &mut Txn<'_>, graph: &str, id: &str) -> Result<bool> {
    let Some((_, rec)) = record(txn, graph, id)? else { return Ok(false) };
    let props = rec.properties()?;
    for k in index_keys(graph, id, &rec, &props) {
        txn.remove(k);
    }
    schema::count_node(txn, graph, view::display_label(&rec.label, rec.is_entity()), &props, -1);
    if rec.indexed {
        embeddings::remove(txn, graph, id)?;
    }
    map(graph).remove(txn, id)?;
    Ok(true)
}

/// The ids under one index prefix.
fn ids_under(r: &impl Reader, prefix: &[u8]) -> Result<Vec<String>> {
    Ok(r.scan_raw(prefix)?
        .into_iter()
        .filter_map(|(k, _)| String::from_utf8(k[prefix.len()..].to_vec()).ok())
        .collect())
}

fn by_property(r: &impl Reader, graph: &str, key: &str, value: &Value) -> Result<Option<Vec<String>>> {
    let Some(vb) = keys::value_bytes(value) else { return Ok(None) };
    ids_under(r, &keys::prefix(Space::GraphNodeProp, graph, &[key.as_bytes(), &vb])).map(Some)
}

/// Ids a Cypher property lookup (`n.key = value`) may match, from the indexes: `None`
/// when no index helps.
fn by_cypher_property(r: &impl Reader, graph: &str, key: &str, value: &Value) -> Result<Option<Vec<String>>> {
    match key {
        "id" => Ok(value.as_str().map(|s| vec![s.to_string()])),
        "text" => Ok(None),
        "label" => match value.as_str() {
            Some(l) => ids_under(r, &keys::prefix(Space::GraphLabel, graph, &[l.as_bytes()])).map(Some),
            None => Ok(Some(Vec::new())),
        },
        "name" => {
            let (Some(a), Some(b)) = (by_property(r, graph, NAME_INDEX, value)?, by_property(r, graph, "name", value)?)
            else {
                return Ok(None);
            };
            Ok(Some(a.into_iter().chain(b).collect()))
        }
        _ => by_property(r, graph, key, value),
    }
}

/// The candidates an index gives for `sel` (a superset of what passes), or `None`.
fn candidates(r: &impl Reader, graph: &str, sel: &NodeSelect) -> Result<Option<Vec<String>>> {
    if let Some(ids) = &sel.ids {
        return Ok(Some(ids.clone()));
    }
    if let Some((key, values)) = &sel.property_in {
        let mut all = Vec::new();
        let mut every = true;
        for v in values {
            match by_cypher_property(r, graph, key, v)? {
                Some(ids) => all.extend(ids),
                None if v.is_null() => {}
                None => every = false,
            }
        }
        if every {
            return Ok(Some(all));
        }
    }
    for (k, v) in &sel.all_properties {
        if let Some(ids) = by_cypher_property(r, graph, k, v)? {
            return Ok(Some(ids));
        }
    }
    if !sel.any_properties.is_empty() {
        let mut all = Vec::new();
        let mut every = true;
        for (k, v) in &sel.any_properties {
            match by_property(r, graph, k, v)? {
                Some(ids) => all.extend(ids),
                None => every = false,
            }
        }
        if every {
            return Ok(Some(all));
        }
    }
    if let Some(label) = sel.labels.iter().find(|l| *l != strata_api::model::graph::NODE_CYPHER_LABEL) {
        return ids_under(r, &keys::prefix(Space::GraphLabel, graph, &[label.as_bytes()])).map(Some);
    }
    Ok(None)
}

/// Whether `node` passes `sel`.
pub fn passes(node: &LabelledNode, sel: &NodeSelect) -> bool {
    if let Some(ids) = &sel.ids
        && !ids.contains(&node.id)
    {
        return false;
    }
    // LlamaIndex's `get(properties=...)`: `node.properties.get(k) == v` for any pair.
    if !sel.any_properties.is_empty()
        && !sel
            .any_properties
            .iter()
            .any(|(k, v)| crate::vector::filter::py_eq(node.properties.get(k).unwrap_or(&Value::Null), v))
    {
        return false;
    }
    if !sel.labels.iter().all(|l| view::has_label(node, l)) {
        return false;
    }
    if !sel
        .all_properties
        .iter()
        .all(|(k, v)| view::property(node, k).is_some_and(|p| view::equal(&p, v) == Some(true)))
    {
        return false;
    }
    if let Some((k, values)) = &sel.property_in {
        let Some(p) = view::property(node, k) else { return false };
        if !values.iter().any(|v| view::equal(&p, v) == Some(true)) {
            return false;
        }
    }
    true
}

/// The nodes passing `sel`, with their positions, in insertion order.
pub fn select(r: &impl Reader, graph: &str, sel: &NodeSelect) -> Result<Vec<(u64, LabelledNode)>> {
    let mut out = Vec::new();
    match candidates(r, graph, sel)? {
        Some(ids) => {
            let mut seen = HashSet::new();
            for id in ids {
                if !seen.insert(id.clone()) {
                    continue;
                }
                if let Some((pos, rec)) = record(r, graph, &id)? {
                    let node = hydrate(r, graph, &id, rec, sel.without_embeddings)?;
                    if passes(&node, sel) {
                        out.push((pos, node));
                    }
                }
            }
        }
        None => {
            for (pos, id, bytes) in map(graph).positioned_entries(r)? {
                let node = hydrate(r, graph, &id, NodeRecord::decode(&bytes)?, sel.without_embeddings)?;
                if passes(&node, sel) {
                    out.push((pos, node));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Ok(out)
}

/// The labels of the asked nodes that exist here: `(id, label, is_entity)`.
pub fn labels(r: &impl Reader, graph: &str, ids: &[String]) -> Result<Vec<(String, String, bool)>> {
    let mut out = Vec::new();
    for id in ids {
        if let Some((_, rec)) = record(r, graph, id)? {
            let entity = rec.is_entity();
            out.push((id.clone(), rec.label, entity));
        }
    }
    Ok(out)
}
