//! A partition's relations: each stored with its source (`o`, with its properties, its
//! position and its ends' schema labels) and indexed at its target (`i`, a copy of the
//! properties and position), so the relations of a node in either direction are one
//! local prefix scan. Relations stored here are also indexed by label and by scalar
//! property value, for `get_triplets(relation_names=...)` and `(properties=...)`.

use super::record::{RelationValue, parse_properties};
use super::{keys, nodes, schema, view};
use crate::error::{Error, Result};
use crate::keys::Space;
use crate::ordered::Reader;
use crate::txn::Txn;
use serde_json::{Map, Value};
use strata_api::{Direction, GraphEdge, Relation, RelationKey, RelationWrite};

fn out_value(r: &impl Reader, graph: &str, key: &RelationKey) -> Result<Option<RelationValue>> {
    r.get_raw(&keys::out_key(graph, key))?.map(|b| RelationValue::decode(&b)).transpose()
}

fn index_keys(graph: &str, key: &RelationKey, props: &Map<String, Value>) -> Vec<Vec<u8>> {
    let mut out = vec![keys::rel_label_key(graph, key)];
    for (k, v) in props {
        if let Some(vb) = keys::value_bytes(v) {
            out.push(keys::rel_prop_key(graph, k, &vb, key));
        }
    }
    out
}

/// The schema label of a node here (`entity` for one not here: what a missing endpoint
/// is created as).
fn local_label(r: &impl Reader, graph: &str, id: &str) -> Result<String> {
    Ok(match nodes::record(r, graph, id)? {
        Some((_, rec)) => view::display_label(&rec.label, rec.is_entity()).to_string(),
        None => strata_api::model::graph::ENTITY_LABEL.to_string(),
    })
}

/// Labels of nodes already looked up by one write (hubs end many relations).
pub type Labels = std::collections::HashMap<String, String>;

fn cached_label(txn: &Txn<'_>, graph: &str, id: &str, cache: &mut Labels) -> Result<String> {
    if let Some(l) = cache.get(id) {
        return Ok(l.clone());
    }
    let l = local_label(txn, graph, id)?;
    cache.insert(id.to_string(), l.clone());
    Ok(l)
}

/// Stores a relation whose source is here, unless that triplet exists (LlamaIndex leaves
/// an existing triplet, properties and all, as it is); answers its position when it
/// stored it.
pub fn put_outgoing(txn: &mut Txn<'_>, graph: &str, w: &RelationWrite, labels: &mut Labels) -> Result<Option<u64>> {
    let key = w.relation.key();
    if txn.contains(&keys::out_key(graph, &key))? {
        return Ok(None);
    }
    let position = if w.order > 0 {
        txn.advance_seq_past(w.order)?;
        w.order
    } else {
        txn.next_seq()?
    };
    let source_label = cached_label(txn, graph, &key.source_id, labels)?;
    let target_label = match &w.target_label {
        Some(l) => l.clone(),
        None => cached_label(txn, graph, &key.target_id, labels)?,
    };
    schema::count_relation(txn, graph, (&source_label, &key.label, &target_label), &w.relation.properties, 1);
    let properties = serde_json::to_string(&w.relation.properties).unwrap_or_else(|_| "{}".into());
    let value = RelationValue { position, source_label, target_label, properties };
    txn.put(keys::out_key(graph, &key), value.encode()?);
    for k in index_keys(graph, &key, &w.relation.properties) {
        txn.put(k, Vec::new());
    }
    Ok(Some(position))
}

/// Indexes a relation whose target is here, unless it is indexed already. Its position is
/// the stored relation's when that is here too (`stored`: those this write stored), else
/// the write's stamp.
pub fn put_incoming(
    txn: &mut Txn<'_>,
    graph: &str,
    w: &RelationWrite,
    stored: &std::collections::HashMap<RelationKey, u64>,
) -> Result<()> {
    let key = w.relation.key();
    let ik = keys::in_key(graph, &key);
    // A relation this write just stored here is new, and so is its entry.
    if !stored.contains_key(&key) && txn.contains(&ik)? {
        return Ok(());
    }
    let position = match stored.get(&key).copied() {
        Some(p) => p,
        None => match out_value(txn, graph, &key)? {
            Some(v) => v.position,
            None if w.order > 0 => {
                txn.advance_seq_past(w.order)?;
                w.order
            }
            None => txn.next_seq()?,
        },
    };
    let properties = serde_json::to_string(&w.relation.properties).unwrap_or_else(|_| "{}".into());
    let value = RelationValue { position, source_label: String::new(), target_label: String::new(), properties };
    txn.put(ik, value.encode()?);
    Ok(())
}

/// Removes a relation stored here; answers whether it was.
pub fn remove_outgoing(txn: &mut Txn<'_>, graph: &str, key: &RelationKey) -> Result<bool> {
    let Some(v) = out_value(txn, graph, key)? else { return Ok(false) };
    let props = parse_properties(&v.properties)?;
    schema::count_relation(txn, graph, (&v.source_label, &key.label, &v.target_label), &props, -1);
    for k in index_keys(graph, key, &props) {
        txn.remove(k);
    }
    txn.remove(keys::out_key(graph, key));
    Ok(true)
}

/// Removes a relation's entry at its target; answers whether it was here.
pub fn remove_incoming(txn: &mut Txn<'_>, graph: &str, key: &RelationKey) -> Result<bool> {
    let ik = keys::in_key(graph, key);
    if txn.get(&ik)?.is_none() {
        return Ok(false);
    }
    txn.remove(ik);
    Ok(true)
}

/// Rewrites a stored relation's end labels (moving its schema count with them).
fn relabel_stored(
    txn: &mut Txn<'_>,
    graph: &str,
    key: &RelationKey,
    source: Option<&str>,
    target: Option<&str>,
) -> Result<()> {
    let Some(mut v) = out_value(txn, graph, key)? else { return Ok(()) };
    let props = parse_properties(&v.properties)?;
    schema::count_relation(txn, graph, (&v.source_label, &key.label, &v.target_label), &props, -1);
    if let Some(s) = source {
        v.source_label = s.to_string();
    }
    if let Some(t) = target {
        v.target_label = t.to_string();
    }
    schema::count_relation(txn, graph, (&v.source_label, &key.label, &v.target_label), &props, 1);
    txn.put(keys::out_key(graph, key), v.encode()?);
    Ok(())
}

/// Node `id` (here) changed schema label to `label`: its relations stored here follow;
/// answers those stored elsewhere (it is their target) for the caller to update there.
pub fn relabel(txn: &mut Txn<'_>, graph: &str, id: &str, label: &str) -> Result<Vec<(RelationKey, String)>> {
    for key in keys_of(txn, graph, id, true)? {
        relabel_stored(txn, graph, &key, Some(label), None)?;
    }
    let mut elsewhere = Vec::new();
    for key in keys_of(txn, graph, id, false)? {
        if out_value(txn, graph, &key)?.is_some() {
            relabel_stored(txn, graph, &key, None, Some(label))?;
        } else {
            elsewhere.push((key, label.to_string()));
        }
    }
    Ok(elsewhere)
}

/// `SetTargetLabels`: the targets of relations stored here changed label.
pub fn set_target_labels(txn: &mut Txn<'_>, graph: &str, relations: &[(RelationKey, String)]) -> Result<()> {
    for (key, label) in relations {
        relabel_stored(txn, graph, key, None, Some(label))?;
    }
    Ok(())
}

/// The keys of node `id`'s relations stored here (`outgoing`) or indexed here.
pub fn keys_of(r: &impl Reader, graph: &str, id: &str, outgoing: bool) -> Result<Vec<RelationKey>> {
    let space = if outgoing { Space::GraphOut } else { Space::GraphIn };
    let base = keys::prefix(space, graph, &[]).len();
    let prefix = keys::prefix(space, graph, &[id.as_bytes()]);
    r.scan_raw(&prefix)?
        .into_iter()
        .map(|(k, _)| {
            let parsed = if outgoing { keys::parse_out(&k[base..]) } else { keys::parse_in(&k[base..]) };
            parsed.ok_or_else(|| Error::Corrupt("graph relation key".into()))
        })
        .collect()
}

/// Whether node `id` is an end of any relation (it is, exactly when one of its relations
/// is stored or indexed here: both ends' partitions hold an entry).
pub fn referenced(r: &impl Reader, graph: &str, id: &str) -> Result<bool> {
    for space in [Space::GraphOut, Space::GraphIn] {
        if !r.scan_raw(&keys::prefix(space, graph, &[id.as_bytes()]))?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn edge(key: RelationKey, v: RelationValue) -> Result<GraphEdge> {
    let properties = parse_properties(&v.properties)?;
    let relation = Relation { label: key.label, source_id: key.source_id, target_id: key.target_id, properties };
    Ok(GraphEdge { relation, position: v.position })
}

/// Node `id`'s relations in `direction` (of `labels` only, when given): outgoing ones
/// first, each side in key order (label, then the other end's id), a self-loop once;
/// with `cap`, no more than that many whose label is not in `ignore` (and the ignored
/// ones before the last of those): a prefix of that order, read without the rest.
pub fn edges(
    r: &impl Reader,
    graph: &str,
    id: &str,
    direction: Direction,
    labels: &[String],
    (cap, ignore): (Option<usize>, &[String]),
) -> Result<(Vec<GraphEdge>, usize)> {
    let mut out = Vec::new();
    let mut outgoing_count = 0;
    let mut counted = 0usize;
    let cap = cap.unwrap_or(usize::MAX);
    let sides: &[bool] = match direction {
        Direction::Outgoing => &[true],
        Direction::Incoming => &[false],
        Direction::Both => &[true, false],
    };
    for &outgoing in sides {
        if !outgoing {
            outgoing_count = out.len();
        }
        let space = if outgoing { Space::GraphOut } else { Space::GraphIn };
        let base = keys::prefix(space, graph, &[]).len();
        let prefixes: Vec<Vec<u8>> = if labels.is_empty() {
            vec![keys::prefix(space, graph, &[id.as_bytes()])]
        } else {
            let mut sorted = labels.to_vec();
            sorted.sort();
            sorted.dedup();
            sorted.iter().map(|l| keys::prefix(space, graph, &[id.as_bytes(), l.as_bytes()])).collect()
        };
        for prefix in prefixes {
            for item in r.scan_iter(&prefix) {
                if counted >= cap {
                    if outgoing {
                        outgoing_count = out.len();
                    }
                    return Ok((out, outgoing_count));
                }
                let (k, v) = item?;
                let key = if outgoing { keys::parse_out(&k[base..]) } else { keys::parse_in(&k[base..]) };
                let key = key.ok_or_else(|| Error::Corrupt("graph relation key".into()))?;
                if !outgoing && direction == Direction::Both && key.source_id == key.target_id {
                    continue; // a self-loop, answered with the outgoing ones
                }
                if !ignore.contains(&key.label) {
                    counted += 1;
                }
                out.push(edge(key, RelationValue::decode(&v)?)?);
            }
        }
    }
    if direction == Direction::Outgoing {
        outgoing_count = out.len();
    }
    Ok((out, outgoing_count))
}

/// Relations stored here with one of `labels` (empty: any) and any of `any_properties`
/// (empty: no condition; Python's `==`), in insertion order.
pub fn select(
    r: &impl Reader,
    graph: &str,
    labels: &[String],
    any_properties: &Map<String, Value>,
) -> Result<Vec<GraphEdge>> {
    let base = keys::prefix(Space::GraphOut, graph, &[]).len();
    let mut found: Vec<RelationKey> = Vec::new();
    let indexable = any_properties.values().all(|v| keys::value_bytes(v).is_some());
    if !labels.is_empty() {
        let lbase = keys::prefix(Space::GraphRelLabel, graph, &[]).len();
        for l in labels {
            for (k, _) in r.scan_raw(&keys::prefix(Space::GraphRelLabel, graph, &[l.as_bytes()]))? {
                found.push(keys::parse_rel_label(&k[lbase..]).ok_or_else(|| Error::Corrupt("graph label key".into()))?);
            }
        }
    } else if !any_properties.is_empty() && indexable {
        for (name, v) in any_properties {
            let Some(vb) = keys::value_bytes(v) else { continue };
            let prefix = keys::prefix(Space::GraphRelProp, graph, &[name.as_bytes(), &vb]);
            for (k, _) in r.scan_raw(&prefix)? {
                found.push(
                    keys::parse_rel_prop(&k[prefix.len()..]).ok_or_else(|| Error::Corrupt("graph prop key".into()))?,
                );
            }
        }
    } else {
        for (k, _) in r.scan_raw(&keys::prefix(Space::GraphOut, graph, &[]))? {
            found.push(keys::parse_out(&k[base..]).ok_or_else(|| Error::Corrupt("graph relation key".into()))?);
        }
    }
    found.sort();
    found.dedup();
    let mut out = Vec::new();
    for key in found {
        let Some(v) = out_value(r, graph, &key)? else { continue };
        let e = edge(key, v)?;
        if !labels.is_empty() && !labels.contains(&e.relation.label) {
            continue;
        }
        if !any_properties.is_empty()
            && !any_properties
                .iter()
                .any(|(k, v)| crate::vector::filter::py_eq(e.relation.properties.get(k).unwrap_or(&Value::Null), v))
        {
            continue;
        }
        out.push(e);
    }
    out.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.relation.key().cmp(&b.relation.key())));
    Ok(out)
}
