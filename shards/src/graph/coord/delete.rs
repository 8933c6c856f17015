//! The property graph's `delete` with upstream main's contract (LlamaIndex 0.14.25
//! deletes every node for an empty or relation-only selector, and both ends of every
//! deleted triplet):
//!
//! * no selector (all empty): nothing changes;
//! * the triplets `get_triplets(...)` selects are deleted;
//! * without `relation_names`, the nodes the node-level selectors all pick (`ids`,
//!   `entity_names`, `properties`: any pair equal) are deleted with every relation they
//!   are an end of;
//! * an end of a deleted triplet is deleted once no relation references it.
//!
//! Reads find what is selected, then one write per partition removes it (relations at
//! both ends, nodes, and the ends to collect, each checked where it lives).

use super::pg::{get_triplets, relations_of};
use super::{Partitions, Result, owner, select_nodes, write_each};
use std::collections::BTreeSet;
use strata_api::{GraphCommand, NodeSelect, RelationKey, TRIPLET_SOURCE_KEY, TripletSelector};

/// `delete(entity_names, relation_names, properties, ids)`.
pub async fn delete(parts: &impl Partitions, s: &TripletSelector) -> Result<()> {
    if s.is_empty() {
        return Ok(());
    }
    let mut relations: BTreeSet<RelationKey> =
        get_triplets(parts, s).await?.into_iter().map(|t| t.relation.key()).collect();
    let mut doomed: Vec<String> = Vec::new();
    if s.relation_names.is_empty() && (!s.ids.is_empty() || !s.entity_names.is_empty() || !s.properties.is_empty()) {
        let mut ids: Option<Vec<String>> = None;
        for list in [&s.ids, &s.entity_names] {
            if !list.is_empty() {
                ids = Some(match ids {
                    None => list.clone(),
                    Some(have) => have.into_iter().filter(|i| list.contains(i)).collect(),
                });
            }
        }
        let select = NodeSelect { ids, any_properties: s.properties.clone(), ..NodeSelect::default() };
        doomed = select_nodes(parts, select).await?.into_iter().map(|(_, n)| n.id).collect();
        relations.extend(relations_of(parts, &doomed, &[]).await?.into_iter().map(|e| e.relation.key()));
    }
    remove(parts, &relations, &doomed).await
}

/// Removes relations (at both ends) and nodes, then collects the relations' other ends
/// left unreferenced.
async fn remove(parts: &impl Partitions, relations: &BTreeSet<RelationKey>, doomed: &[String]) -> Result<()> {
    #[derive(Clone, Default)]
    struct Part {
        outgoing: Vec<RelationKey>,
        incoming: Vec<RelationKey>,
        nodes: Vec<String>,
        collect: BTreeSet<String>,
    }
    let mut groups = vec![Part::default(); parts.count()];
    for key in relations {
        groups[owner(parts, &key.source_id)].outgoing.push(key.clone());
        groups[owner(parts, &key.target_id)].incoming.push(key.clone());
        for end in [&key.source_id, &key.target_id] {
            if !doomed.contains(end) {
                groups[owner(parts, end)].collect.insert(end.clone());
            }
        }
    }
    for id in doomed {
        groups[owner(parts, id)].nodes.push(id.clone());
    }
    if let Some(cache) = parts.label_cache() {
        cache.forget_graph(parts.graph()); // ends collected here may come back as `entity`
    }
    let graph = parts.graph().to_string();
    let writes = groups
        .into_iter()
        .enumerate()
        .filter(|(_, g)| !(g.outgoing.is_empty() && g.incoming.is_empty() && g.nodes.is_empty()))
        .map(|(p, g)| {
            (
                p,
                GraphCommand::Remove {
                    graph: graph.clone(),
                    outgoing: g.outgoing,
                    incoming: g.incoming,
                    nodes: g.nodes,
                    collect: g.collect.into_iter().collect(),
                },
            )
        })
        .collect();
    write_each(parts, writes).await?;
    Ok(())
}

/// `delete_llama_nodes(node_ids, ref_doc_ids)`: deletes the nodes extracted from those
/// chunks (`triplet_source_id`), those of the documents (`ref_doc_id`), and the chunks
/// and documents themselves — by ids, so nothing found changes nothing.
pub async fn delete_llama_nodes(parts: &impl Partitions, node_ids: &[String], ref_doc_ids: &[String]) -> Result<()> {
    let mut ids: Vec<String> = Vec::new();
    for (key, list) in [(TRIPLET_SOURCE_KEY, node_ids), ("ref_doc_id", ref_doc_ids)] {
        if list.is_empty() {
            continue;
        }
        let values = list.iter().map(|v| serde_json::Value::String(v.clone())).collect();
        let by_property = NodeSelect { property_in: Some((key.to_string(), values)), ..NodeSelect::default() };
        ids.extend(select_nodes(parts, by_property).await?.into_iter().map(|(_, n)| n.id));
        let by_id = NodeSelect { ids: Some(list.to_vec()), ..NodeSelect::default() };
        ids.extend(select_nodes(parts, by_id).await?.into_iter().map(|(_, n)| n.id));
    }
    delete(parts, &TripletSelector { ids, ..TripletSelector::default() }).await
}
