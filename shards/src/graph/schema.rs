//! A graph's schema, kept as counters that every write adjusts, so reading it costs a
//! scan of a few records per partition (LlamaIndex asks for it after every ingested
//! batch; Neo4j recomputes it from the data each time, which users see slow ingest to a
//! crawl). Counted: nodes per label, `(label, property, type)` of nodes,
//! `(source label, type, target label)` of relations and `(type, property, type)` of
//! relation properties. Chunks count under `Chunk`, their Cypher label.
//!
//! [`merge`] sums the partitions' counts into LlamaIndex's (Neo4j's) structured schema:
//! built-in properties added (`id`, and `name` or `text`), the `MENTIONS` edges from
//! chunks to the entities that carry a `triplet_source_id` included.

use super::keys;
use crate::error::{Error, Result};
use crate::keys::Space;
use crate::ordered::Reader;
use crate::txn::Txn;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use strata_api::model::graph::{CHUNK_CYPHER_LABEL, MENTIONS, neo4j_type};
use strata_api::model::graph::{PropertyType, SchemaRelationship};
use strata_api::{GraphSchema, SchemaCounts, TRIPLET_SOURCE_KEY};

const NODE_LABEL: &[u8] = b"N";
const NODE_PROP: &[u8] = b"n";
const RELATIONSHIP: &[u8] = b"R";
const REL_PROP: &[u8] = b"r";

fn counter_key(graph: &str, kind: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut all: Vec<&[u8]> = vec![kind];
    all.extend(parts.iter().map(|p| p.as_bytes()));
    keys::prefix(Space::GraphSchema, graph, &all)
}

/// Counts a node (`delta` 1) or uncounts it (-1).
pub fn count_node(txn: &mut Txn<'_>, graph: &str, label: &str, properties: &Map<String, Value>, delta: i64) {
    txn.add_to_counter(counter_key(graph, NODE_LABEL, &[label]), delta);
    for (k, v) in properties {
        if let Some(t) = neo4j_type(v) {
            txn.add_to_counter(counter_key(graph, NODE_PROP, &[label, k, t]), delta);
        }
    }
}

/// Counts a relation stored here (`delta` 1) or uncounts it (-1).
pub fn count_relation(
    txn: &mut Txn<'_>,
    graph: &str,
    (source_label, label, target_label): (&str, &str, &str),
    properties: &Map<String, Value>,
    delta: i64,
) {
    txn.add_to_counter(counter_key(graph, RELATIONSHIP, &[source_label, label, target_label]), delta);
    for (k, v) in properties {
        if let Some(t) = neo4j_type(v) {
            txn.add_to_counter(counter_key(graph, REL_PROP, &[label, k, t]), delta);
        }
    }
}

/// Recounts every graph's schema counters of this partition from its committed nodes
/// and relations, inside `txn` (a restore's last step: counters are derived, and a
/// partition's records may come from other partitions of the source).
pub fn recount(txn: &mut Txn<'_>) -> Result<()> {
    let stale: Vec<Vec<u8>> =
        txn.committed_iter(&[Space::GraphSchema as u8]).map(|r| r.map(|(k, _)| k)).collect::<Result<_>>()?;
    for k in stale {
        txn.remove(k);
    }
    let corrupt = |what: &str| Error::Corrupt(format!("a graph {what} record's key"));
    for item in txn.committed_iter(&[Space::GraphNode as u8]) {
        let (k, v) = item?;
        let (graph, _) = crate::keys::split_name(&k).ok_or_else(|| corrupt("node"))?;
        let rec = super::record::NodeRecord::decode(v.get(8..).ok_or_else(|| corrupt("node"))?)?;
        let props = rec.properties()?;
        count_node(txn, &graph, super::view::display_label(&rec.label, rec.is_entity()), &props, 1);
    }
    for item in txn.committed_iter(&[Space::GraphOut as u8]) {
        let (k, v) = item?;
        let (graph, tail) = crate::keys::split_name(&k).ok_or_else(|| corrupt("relation"))?;
        let (parts, _) = keys::split(tail, 2).ok_or_else(|| corrupt("relation"))?;
        let label = std::str::from_utf8(parts[1]).map_err(|_| corrupt("relation"))?;
        let value = super::record::RelationValue::decode(&v)?;
        let props = super::record::parse_properties(&value.properties)?;
        count_relation(txn, &graph, (&value.source_label, label, &value.target_label), &props, 1);
    }
    Ok(())
}

/// This partition's counts.
pub fn counts(r: &impl Reader, graph: &str) -> Result<SchemaCounts> {
    let base = keys::prefix(Space::GraphSchema, graph, &[]);
    let mut out = SchemaCounts::default();
    for (k, v) in r.scan_raw(&base)? {
        let corrupt = || Error::Corrupt("graph schema counter".into());
        let (parts, _) =
            keys::split(&k[base.len()..], 4).or_else(|| keys::split(&k[base.len()..], 2)).ok_or_else(corrupt)?;
        let n = crate::keys::read_u64(&v).ok_or_else(corrupt)?;
        let text = |i: usize| -> Result<String> {
            parts.get(i).and_then(|p| std::str::from_utf8(p).ok()).map(str::to_string).ok_or_else(corrupt)
        };
        let triple = || -> Result<(String, String, String)> { Ok((text(1)?, text(2)?, text(3)?)) };
        match parts.first().copied() {
            Some(NODE_LABEL) => out.node_labels.push((text(1)?, n)),
            Some(NODE_PROP) => out.node_props.push((triple()?, n)),
            Some(RELATIONSHIP) => out.relationships.push((triple()?, n)),
            Some(REL_PROP) => out.rel_props.push((triple()?, n)),
            _ => return Err(corrupt()),
        }
    }
    Ok(out)
}

/// The schema of a graph from its partitions' counts.
pub fn merge(parts: &[SchemaCounts]) -> GraphSchema {
    let mut labels: BTreeSet<String> = BTreeSet::new();
    let mut node_props: BTreeMap<String, BTreeSet<PropertyType>> = BTreeMap::new();
    let mut rel_props: BTreeMap<String, BTreeSet<PropertyType>> = BTreeMap::new();
    let mut relationships: BTreeSet<SchemaRelationship> = BTreeSet::new();
    let prop = |p: &str, t: &str| PropertyType { property: p.to_string(), kind: t.to_string() };
    for part in parts {
        for (label, n) in &part.node_labels {
            if *n > 0 {
                labels.insert(label.clone());
            }
        }
        for ((label, p, t), n) in &part.node_props {
            if *n > 0 {
                node_props.entry(label.clone()).or_default().insert(prop(p, t));
                if p == TRIPLET_SOURCE_KEY && label != CHUNK_CYPHER_LABEL {
                    relationships.insert(SchemaRelationship {
                        start: CHUNK_CYPHER_LABEL.into(),
                        kind: MENTIONS.into(),
                        end: label.clone(),
                    });
                }
            }
        }
        for ((s, r, t), n) in &part.relationships {
            if *n > 0 {
                relationships.insert(SchemaRelationship { start: s.clone(), kind: r.clone(), end: t.clone() });
            }
        }
        for ((r, p, t), n) in &part.rel_props {
            if *n > 0 {
                rel_props.entry(r.clone()).or_default().insert(prop(p, t));
            }
        }
    }
    let mut schema = GraphSchema::default();
    for label in labels {
        let builtin = if label == CHUNK_CYPHER_LABEL { "text" } else { "name" };
        let mut props = vec![prop("id", "STRING"), prop(builtin, "STRING")];
        props.extend(
            node_props
                .remove(&label)
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.property != builtin && p.property != "id"),
        );
        schema.node_props.insert(label, props);
    }
    for (r, ps) in rel_props {
        schema.rel_props.insert(r, ps.into_iter().collect());
    }
    schema.relationships = relationships.into_iter().collect();
    schema
}
