//! Graph stores: one partition's share of a graph, as a deterministic state machine.
//!
//! A graph (one per name, like a vector namespace) is split into P partitions; in a
//! cluster each is its own raft group, embedded mode has one. A partition holds the
//! nodes whose id it owns, every relation whose source it owns (with its properties),
//! an incoming entry of every relation whose target it owns (a copy), and the triplet
//! store's subjects it owns with their lists. So a node's relations in both directions
//! are one local read, and a traversal hop is one round of reads sent only to the
//! partitions owning the frontier ([`coord`] runs it, the same code for one partition or
//! many).
//!
//! | module | job |
//! | --- | --- |
//! | [`nodes`] | node records, label and property indexes, selection |
//! | [`relations`] | relation records at source and target, label and property indexes |
//! | [`triplets`] | the triplet `GraphStore`'s subject lists |
//! | [`schema`] | schema counters, kept by every write; merged into Neo4j's schema |
//! | [`embeddings`] | entity embeddings in the partition's internal vector namespace |
//! | [`view`] | how nodes look to Cypher (labels, built-in properties, equality) |
//! | [`keys`] | the record keys |
//! | [`record`] | stored forms of nodes and relations |
//! | [`coord`] | LlamaIndex's calls over P partitions: routing, traversal, merges |
//! | [`cypher`] | the read-only Cypher subset: parser, plan, execution over partitions |

pub mod coord;
pub mod cypher;
pub mod embeddings;
pub mod keys;
pub mod nodes;
pub mod record;
pub mod relations;
pub mod schema;
pub mod triplets;
pub mod view;

use crate::error::Result;
use crate::txn::Txn;
use strata_api::{
    Error as ApiError, GraphCommand, GraphHit, GraphQuery, Response, VectorQuery, VectorQueryMode, VectorSearch,
};

/// Applies a graph write to this partition.
pub fn apply(txn: &mut Txn<'_>, cmd: &GraphCommand) -> Result<Response> {
    let check_order = |order: &[u64], n: usize| -> Result<()> {
        if !order.is_empty() && order.len() != n {
            return Err(ApiError::InvalidInput(format!("{} insertion stamps for {n} items", order.len())).into());
        }
        Ok(())
    };
    match cmd {
        GraphCommand::UpsertTriplets { graph, triplets, order } => {
            check_order(order, triplets.len())?;
            for (i, (s, r, o)) in triplets.iter().enumerate() {
                triplets::upsert(txn, graph, (s, r, o), order.get(i).copied().unwrap_or(0))?;
            }
            Ok(Response::Done)
        }
        GraphCommand::DeleteTriplet { graph, subject, relation, object } => {
            Ok(Response::Deleted(triplets::delete(txn, graph, (subject, relation, object))?))
        }
        GraphCommand::UpsertNodes { graph, nodes: list, order } => {
            check_order(order, list.len())?;
            let mut elsewhere = Vec::new();
            for (i, node) in list.iter().enumerate() {
                elsewhere.extend(nodes::put(txn, graph, node, order.get(i).copied().unwrap_or(0))?);
            }
            Ok(Response::GraphRelabel(elsewhere))
        }
        GraphCommand::UpsertRelations { graph, outgoing, incoming, create } => {
            for w in outgoing.iter().chain(incoming) {
                w.relation.validate().map_err(ApiError::InvalidInput)?;
            }
            // The endpoints here, created when missing; their labels serve the schema.
            let mut labels = relations::Labels::new();
            for (id, stamp) in create {
                let label = nodes::create_missing(txn, graph, id, *stamp)?;
                labels.insert(id.clone(), label);
            }
            let mut stored = std::collections::HashMap::new();
            for w in outgoing {
                if let Some(position) = relations::put_outgoing(txn, graph, w, &mut labels)? {
                    stored.insert(w.relation.key(), position);
                }
            }
            for w in incoming {
                relations::put_incoming(txn, graph, w, &stored)?;
            }
            Ok(Response::Done)
        }
        GraphCommand::Remove { graph, outgoing, incoming, nodes: doomed, collect } => {
            for key in outgoing {
                relations::remove_outgoing(txn, graph, key)?;
            }
            for key in incoming {
                relations::remove_incoming(txn, graph, key)?;
            }
            for id in doomed {
                // The caller lists the node's relations at both ends; whatever it could
                // not see (written since it looked) goes here, with the local other ends.
                for key in relations::keys_of(txn, graph, id, true)? {
                    relations::remove_outgoing(txn, graph, &key)?;
                    relations::remove_incoming(txn, graph, &key)?;
                }
                for key in relations::keys_of(txn, graph, id, false)? {
                    relations::remove_incoming(txn, graph, &key)?;
                    relations::remove_outgoing(txn, graph, &key)?;
                }
                nodes::remove(txn, graph, id)?;
            }
            for id in collect {
                if !relations::referenced(txn, graph, id)? {
                    nodes::remove(txn, graph, id)?;
                }
            }
            Ok(Response::Done)
        }
        GraphCommand::SetTargetLabels { graph, relations: list } => {
            relations::set_target_labels(txn, graph, list)?;
            Ok(Response::Done)
        }
    }
}

/// Answers a graph read from landed state. `vectors` holds the graph's internal vector
/// namespace loaded (for `VectorSearch`).
pub fn query(tree: &sled::Tree, vectors: &crate::vector::Indexes, q: &GraphQuery) -> Result<Response> {
    match q {
        GraphQuery::TripletLists { graph, subjects, cap } => {
            Ok(Response::TripletLists(triplets::lists(tree, graph, subjects.as_deref(), *cap)?))
        }
        GraphQuery::Nodes { graph, select } => Ok(Response::GraphNodes(nodes::select(tree, graph, select)?)),
        GraphQuery::Edges { graph, nodes: ids, direction, labels, with_nodes, cap, ignore } => {
            let mut found = Vec::new();
            let mut edges = Vec::new();
            let mut sides = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                if *with_nodes && let Some(n) = nodes::load(tree, graph, id, true)? {
                    found.push(n);
                }
                let (of_node, outgoing) = relations::edges(tree, graph, id, *direction, labels, (*cap, ignore))?;
                sides.push((outgoing as u32, (of_node.len() - outgoing) as u32));
                edges.extend(of_node);
            }
            Ok(Response::GraphEdges { nodes: found, edges, sides })
        }
        GraphQuery::Relations { graph, labels, any_properties } => Ok(Response::GraphEdges {
            nodes: Vec::new(),
            edges: relations::select(tree, graph, labels, any_properties)?,
            sides: Vec::new(),
        }),
        GraphQuery::Schema { graph } => Ok(Response::GraphSchemaCounts(schema::counts(tree, graph)?)),
        GraphQuery::Labels { graph, ids } => Ok(Response::GraphLabels(nodes::labels(tree, graph, ids)?)),
        GraphQuery::VectorSearch { graph, query } => vector_search(tree, vectors, graph, query),
        GraphQuery::IndexStats { graph } => {
            let namespace = embeddings::namespace(graph);
            if crate::vector::settings(tree, &namespace)?.is_none() {
                return Ok(Response::VectorIndexStats(Default::default()));
            }
            crate::vector::query_internal(tree, vectors, &VectorQuery::IndexStats { namespace })
        }
    }
}

fn vector_search(
    tree: &sled::Tree,
    vectors: &crate::vector::Indexes,
    graph: &str,
    query: &strata_api::VectorStoreQuery,
) -> Result<Response> {
    if query.mode != VectorQueryMode::Default {
        let mode = serde_json::to_string(&query.mode).unwrap_or_default();
        return Err(ApiError::UnsupportedQueryMode(format!(
            "{} (a graph's vector_query ranks by similarity only)",
            mode.trim_matches('"')
        ))
        .into());
    }
    let namespace = embeddings::namespace(graph);
    if crate::vector::settings(tree, &namespace)?.is_none() {
        if query.query_embedding.is_none() {
            return Err(ApiError::InvalidInput("a vector query needs query_embedding".into()).into());
        }
        return Ok(Response::GraphHits(Vec::new()));
    }
    let search = VectorSearch {
        query: query.clone(),
        candidates: query.similarity_top_k,
        with_embeddings: false,
        every_candidate: false,
    };
    let hits = match crate::vector::query_internal(
        tree,
        vectors,
        &VectorQuery::Search { namespace, search: Box::new(search) },
    )? {
        Response::VectorHits(h) => h,
        other => return Err(crate::error::Error::Corrupt(format!("vector search answered {other:?}"))),
    };
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        if let Some((position, node)) = nodes::load(tree, graph, &h.node_id, false)? {
            out.push(GraphHit { node, similarity: h.similarity, position });
        }
    }
    Ok(Response::GraphHits(out))
}
