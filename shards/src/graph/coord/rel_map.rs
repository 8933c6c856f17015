//! The property graph's `get_rel_map`, with upstream main's contract (LlamaIndex
//! 0.14.25 repeats triplets and follows only outgoing edges after the first hop):
//!
//! * breadth-first from the seeds, over relations in **both** directions (each keeps its
//!   stored direction); level `k` holds the relations touching a node first reached at
//!   distance `k`, and `depth` levels are returned (depth 0: nothing);
//! * each relation at most once, whatever cycles, self-loops or overlapping seeds;
//! * relations in `ignore_rels` are traversed but neither returned nor counted;
//! * nodes come without their embeddings (as Neo4j's; retrievers do not use them);
//! * at most `limit` relations, in BFS order: seeds in the order given, a node's
//!   outgoing relations before its incoming ones, each side by label then by the other
//!   end's id.
//!
//! One round of reads per level, sent only to the partitions owning the frontier (each
//! answers the frontier nodes and their relations), then one read for the nodes of the
//! last level not read yet. The order does not depend on how many partitions there are.
//!
//! A partition answers no more than `limit` relations of a node that are not ignored
//! (with the ignored ones before them), and reads no more: a hub's other relations are
//! never needed. Why that is enough: every relation already seen and not ignored was
//! returned, so of a node's first `limit` relations not ignored, those not seen yet
//! bring the total to `limit` at the latest.

use super::{Partitions, Result, nodes_by_id, read_each};
use std::collections::{HashMap, HashSet};
use strata_api::{GraphEdge, LabelledNode, RelationKey, Response, Triplet};

/// `get_rel_map(graph_nodes, depth, limit, ignore_rels)` from the seeds' ids.
pub async fn get_rel_map(
    parts: &impl Partitions,
    seeds: &[String],
    depth: usize,
    limit: usize,
    ignore_rels: &[String],
) -> Result<Vec<Triplet>> {
    if depth == 0 || limit == 0 || seeds.is_empty() {
        return Ok(Vec::new());
    }
    let mut visited: HashSet<String> = HashSet::new();
    let mut frontier: Vec<String> = seeds.iter().filter(|s| visited.insert((*s).clone())).cloned().collect();
    let mut known: HashMap<String, LabelledNode> = HashMap::new();
    let mut seen: HashSet<RelationKey> = HashSet::new();
    let mut found: Vec<GraphEdge> = Vec::new();
    'levels: for _ in 0..depth {
        if frontier.is_empty() {
            break;
        }
        // No node contributes more than `limit` relations (see the module doc).
        let (reads, asked): (Vec<_>, Vec<_>) = super::edge_reads(parts, &frontier, &[], Some((limit, ignore_rels)))
            .into_iter()
            .map(|(p, nodes, q)| ((p, q), nodes))
            .unzip();
        // Each frontier node's relations as its own partition answered them: outgoing,
        // then incoming (an edge between two frontier nodes comes twice, once each).
        let mut of_node: HashMap<String, Vec<GraphEdge>> = HashMap::new();
        for (answer, nodes_asked) in read_each(parts, reads).await?.into_iter().zip(asked) {
            let Response::GraphEdges { nodes, edges, sides } = answer else {
                return Err(super::unexpected("edges", &answer));
            };
            for (_, n) in nodes {
                known.insert(n.id.clone(), n);
            }
            if sides.len() != nodes_asked.len() {
                return Err(strata_api::Error::InvalidData("a partition's edges do not match the nodes asked".into()));
            }
            let mut edges = edges.into_iter();
            for (node, (out, inc)) in nodes_asked.into_iter().zip(sides) {
                of_node.insert(node, edges.by_ref().take((out + inc) as usize).collect());
            }
        }
        let mut next = Vec::new();
        for node in &frontier {
            for e in of_node.remove(node).unwrap_or_default() {
                if !seen.insert(e.relation.key()) {
                    continue;
                }
                let other = if e.relation.source_id == *node { &e.relation.target_id } else { &e.relation.source_id };
                if visited.insert(other.clone()) {
                    next.push(other.clone());
                }
                if !ignore_rels.contains(&e.relation.label) {
                    found.push(e);
                    if found.len() >= limit {
                        break 'levels;
                    }
                }
            }
        }
        frontier = next;
    }
    let mut missing: Vec<String> = Vec::new();
    for e in &found {
        for end in [&e.relation.source_id, &e.relation.target_id] {
            if !known.contains_key(end) && !missing.contains(end) {
                missing.push(end.clone());
            }
        }
    }
    for (id, (_, n)) in nodes_by_id(parts, &missing, true).await? {
        known.insert(id, n);
    }
    Ok(found
        .into_iter()
        .filter_map(|e| {
            let source = known.get(&e.relation.source_id)?.clone();
            let target = known.get(&e.relation.target_id)?.clone();
            Some(Triplet { source, relation: e.relation, target })
        })
        .collect())
}
