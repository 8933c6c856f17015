//! The graph coordinator: LlamaIndex's `GraphStore` and `PropertyGraphStore` calls over a
//! graph's P partitions, written once against [`Partitions`] and used by both the
//! embedded mode (one partition in-process) and the cluster client (P raft groups).
//!
//! Every call is a few rounds of batched requests, each sent only to the partitions that
//! own what it names (by [`crate::placement::partition_of`], the rule both sides share):
//! an ingest call is one write per partition whatever the batch size; a traversal hop is
//! one read per partition owning the frontier. Merge rules live here, once: nodes and
//! relations come back in insertion order (positions are insertion stamps a cluster
//! client hands out from one clock), vector hits by similarity then position.
//!
//! | module | job |
//! | --- | --- |
//! | [`call`] | a multi-round read as one call (what a node runs whole for a cluster client) |
//! | [`pg`] | property graph: `get`, `upsert_nodes`, `upsert_relations`, `get_triplets`, `vector_query`, schema |
//! | [`rel_map`] | property graph `get_rel_map`: breadth-first, both directions, one round per hop |
//! | [`delete`] | property graph `delete` and `delete_llama_nodes` (upstream main's contract) |
//! | [`triplets`] | the triplet `GraphStore`: `get`, `upsert_triplet`, `delete`, depth-first `get_rel_map` |

pub mod call;
pub mod delete;
pub mod local;
pub mod pg;
pub mod rel_map;
pub mod triplets;

use crate::placement::partition_of;
use futures::future::try_join_all;
use std::collections::HashMap;
use std::future::Future;
use strata_api::{Error, GraphCommand, GraphQuery, LabelledNode, NodeSelect, Response};

/// Result of the coordinator: the error that crosses every boundary.
pub type Result<T> = std::result::Result<T, Error>;

/// A graph's partitions, as the coordinator reaches them.
pub trait Partitions: Sync {
    /// The graph's name.
    fn graph(&self) -> &str;
    /// How many partitions it has (at least one).
    fn count(&self) -> usize;
    /// Answers a read from partition `p` (`0..count()`).
    fn read(&self, p: usize, q: GraphQuery) -> impl Future<Output = Result<Response>> + Send;
    /// Applies a write on partition `p`; answers once it is durable.
    fn write(&self, p: usize, c: GraphCommand) -> impl Future<Output = Result<Response>> + Send;
    /// The first of `n` insertion stamps, later than any handed out before (0: the
    /// partitions number writes themselves, which only one partition may do).
    fn stamps(&self, n: usize) -> u64;

    /// The schema labels of nodes this caller wrote lately, when it keeps them: with them,
    /// `upsert_relations` after `upsert_nodes` (how `PropertyGraphIndex` ingests) needs no
    /// read of the targets' labels. None kept by default (one partition reads its own).
    fn label_cache(&self) -> Option<&LabelCache> {
        None
    }
}

/// Schema labels of nodes by graph and id, as one caller last wrote or read them: a hint
/// for the schema counters of the relations it writes next (data never depends on it).
/// Bounded; forgotten whole when full or when the caller deletes from the graph.
#[derive(Default)]
pub struct LabelCache {
    labels: std::sync::Mutex<HashMap<String, HashMap<String, String>>>,
}

/// The most labels a [`LabelCache`] keeps per graph.
const LABEL_CACHE_MAX: usize = 200_000;

impl LabelCache {
    fn get(&self, graph: &str, id: &str) -> Option<String> {
        let map = self.labels.lock().unwrap_or_else(|p| p.into_inner());
        map.get(graph)?.get(id).cloned()
    }

    fn put(&self, graph: &str, labels: impl IntoIterator<Item = (String, String)>) {
        let mut map = self.labels.lock().unwrap_or_else(|p| p.into_inner());
        let of_graph = match map.get_mut(graph) {
            Some(m) => m,
            None => map.entry(graph.to_string()).or_default(),
        };
        for (id, label) in labels {
            if of_graph.len() >= LABEL_CACHE_MAX {
                of_graph.clear();
            }
            of_graph.insert(id, label);
        }
    }

    fn forget_graph(&self, graph: &str) {
        self.labels.lock().unwrap_or_else(|p| p.into_inner()).remove(graph);
    }
}

/// The partition of an id.
pub fn owner(parts: &impl Partitions, id: &str) -> usize {
    partition_of(id, parts.count())
}

/// `ids` grouped by owning partition (each group in first-seen order, duplicates dropped).
pub fn by_owner<'a>(parts: &impl Partitions, ids: impl IntoIterator<Item = &'a str>) -> Vec<(usize, Vec<String>)> {
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); parts.count()];
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if seen.insert(id) {
            groups[owner(parts, id)].push(id.to_string());
        }
    }
    groups.into_iter().enumerate().filter(|(_, g)| !g.is_empty()).collect()
}

/// `items` grouped by the partition owning `id(item)`, each group in call order with the
/// items' insertion stamps (`base + index`; none when `base` is 0).
pub fn by_owner_stamped<T: Clone>(
    parts: &impl Partitions,
    items: &[T],
    base: u64,
    id: impl Fn(&T) -> &str,
) -> Vec<(usize, Vec<T>, Vec<u64>)> {
    let mut groups: Vec<(Vec<T>, Vec<u64>)> = (0..parts.count()).map(|_| (Vec::new(), Vec::new())).collect();
    for (i, item) in items.iter().enumerate() {
        let g = &mut groups[owner(parts, id(item))];
        g.0.push(item.clone());
        if base > 0 {
            g.1.push(base + i as u64);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .filter(|(_, g)| !g.0.is_empty())
        .map(|(p, (items, stamps))| (p, items, stamps))
        .collect()
}

/// The reads of the relations of `nodes` (both directions, of `labels` when given), one
/// per owning partition: `(partition, its nodes, query)`. `traversal` also asks for the
/// nodes themselves and at most `cap` relations per node not in `ignore`.
pub fn edge_reads(
    parts: &impl Partitions,
    nodes: &[String],
    labels: &[String],
    traversal: Option<(usize, &[String])>,
) -> Vec<(usize, Vec<String>, GraphQuery)> {
    by_owner(parts, nodes.iter().map(String::as_str))
        .into_iter()
        .map(|(p, ids)| {
            let q = GraphQuery::Edges {
                graph: parts.graph().to_string(),
                nodes: ids.clone(),
                direction: strata_api::Direction::Both,
                labels: labels.to_vec(),
                with_nodes: traversal.is_some(),
                cap: traversal.map(|(cap, _)| cap),
                ignore: traversal.map(|(_, ignore)| ignore.to_vec()).unwrap_or_default(),
            };
            (p, ids, q)
        })
        .collect()
}

/// Sends one read per listed partition, concurrently; answers in list order.
pub async fn read_each(parts: &impl Partitions, reads: Vec<(usize, GraphQuery)>) -> Result<Vec<Response>> {
    try_join_all(reads.into_iter().map(|(p, q)| parts.read(p, q))).await
}

/// Sends the same read to every partition.
pub async fn read_all(parts: &impl Partitions, q: &GraphQuery) -> Result<Vec<Response>> {
    read_each(parts, (0..parts.count()).map(|p| (p, q.clone())).collect()).await
}

/// Sends one write per listed partition, concurrently.
pub async fn write_each(parts: &impl Partitions, writes: Vec<(usize, GraphCommand)>) -> Result<Vec<Response>> {
    try_join_all(writes.into_iter().map(|(p, c)| parts.write(p, c))).await
}

/// The error for an answer of the wrong shape (a bug on one side of the wire).
pub fn unexpected(what: &str, got: &Response) -> Error {
    Error::InvalidData(format!("{what}: a graph partition answered {got:?}"))
}

/// Merges positioned nodes from several partitions into insertion order.
pub fn merge_positioned(mut all: Vec<(u64, LabelledNode)>) -> Vec<(u64, LabelledNode)> {
    all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    all
}

/// The nodes passing `select`, from every partition (or, when `select.ids` is given,
/// from their owners), in insertion order.
pub async fn select_nodes(parts: &impl Partitions, select: NodeSelect) -> Result<Vec<(u64, LabelledNode)>> {
    let graph = parts.graph().to_string();
    let reads: Vec<(usize, GraphQuery)> = match &select.ids {
        Some(ids) => by_owner(parts, ids.iter().map(String::as_str))
            .into_iter()
            .map(|(p, ids)| {
                (p, GraphQuery::Nodes { graph: graph.clone(), select: NodeSelect { ids: Some(ids), ..select.clone() } })
            })
            .collect(),
        None => (0..parts.count())
            .map(|p| (p, GraphQuery::Nodes { graph: graph.clone(), select: select.clone() }))
            .collect(),
    };
    let mut all = Vec::new();
    for answer in read_each(parts, reads).await? {
        match answer {
            Response::GraphNodes(n) => all.extend(n),
            other => return Err(unexpected("nodes", &other)),
        }
    }
    Ok(merge_positioned(all))
}

/// The nodes with these ids that exist, by id (without embeddings when `bare`).
pub async fn nodes_by_id(
    parts: &impl Partitions,
    ids: &[String],
    bare: bool,
) -> Result<HashMap<String, (u64, LabelledNode)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let select = NodeSelect { ids: Some(ids.to_vec()), without_embeddings: bare, ..NodeSelect::default() };
    Ok(select_nodes(parts, select).await?.into_iter().map(|(pos, n)| (n.id.clone(), (pos, n))).collect())
}
