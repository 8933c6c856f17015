//! The property graph's `get_rel_map`, with upstream main's contract (LlamaIndex
//! 0.14.25 repeats triplets and follows only outgoing edges after the first hop):
//!
//! * breadth-first from the seeds, over relations in **both** directions (each keeps its
//!   stored direction); level `k` holds the relations touching a node first reached at
//!   distance `k`, and `depth` levels are returned (depth 0: nothing);
//! * each relation at most once, whatever cycles, self-loops or overlapping seeds;
//! * relations in `ignore_rels` are traversed but neither returned nor counted;
//! * at most `limit` relations, in BFS order: seeds in the order given, a node's
//!   outgoing relations before its incoming ones, each side in insertion order.
//!
//! One round of reads per level, sent only to the partitions owning the frontier (each
//! answers the frontier nodes and their relations), then one read for the nodes of the
//! last level not read yet. The order does not depend on how many partitions there are.

use super::pg::edges_of;
use super::{Partitions, Result, by_owner, nodes_by_id, read_each};
use std::collections::{HashMap, HashSet};
use strata_api::{Direction, GraphEdge, GraphQuery, LabelledNode, RelationKey, Triplet};

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
    let graph = parts.graph().to_string();
    let mut visited: HashSet<String> = HashSet::new();
    let mut frontier: Vec<String> = seeds.iter().filter(|s| visited.insert((*s).clone())).cloned().collect();
    let mut known: HashMap<String, LabelledNode> = HashMap::new();
    let mut seen: HashSet<RelationKey> = HashSet::new();
    let mut found: Vec<GraphEdge> = Vec::new();
    'levels: for _ in 0..depth {
        if frontier.is_empty() {
            break;
        }
        let reads = by_owner(parts, frontier.iter().map(String::as_str))
            .into_iter()
            .map(|(p, nodes)| {
                (
                    p,
                    GraphQuery::Edges {
                        graph: graph.clone(),
                        nodes,
                        direction: Direction::Both,
                        labels: Vec::new(),
                        with_nodes: true,
                    },
                )
            })
            .collect();
        // Each frontier node's relations: outgoing, then incoming, each by position.
        let mut outgoing: HashMap<String, Vec<GraphEdge>> = HashMap::new();
        let mut incoming: HashMap<String, Vec<GraphEdge>> = HashMap::new();
        let mut answered: HashSet<RelationKey> = HashSet::new();
        for answer in read_each(parts, reads).await? {
            let (nodes, edges) = edges_of(answer)?;
            for (_, n) in nodes {
                known.insert(n.id.clone(), n);
            }
            for e in edges {
                if answered.insert(e.relation.key()) {
                    outgoing.entry(e.relation.source_id.clone()).or_default().push(e.clone());
                    incoming.entry(e.relation.target_id.clone()).or_default().push(e);
                }
            }
        }
        let by_position = |mut v: Vec<GraphEdge>| {
            v.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.relation.key().cmp(&b.relation.key())));
            v
        };
        let mut next = Vec::new();
        for node in &frontier {
            let out = by_position(outgoing.remove(node).unwrap_or_default());
            let inc = by_position(incoming.remove(node).unwrap_or_default());
            for e in out.into_iter().chain(inc) {
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
    for (id, (_, n)) in nodes_by_id(parts, &missing).await? {
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
