//! The property graph's calls other than traversal and deletion.

use super::{
    Partitions, Result, by_owner, nodes_by_id, owner, read_all, read_each, select_nodes, unexpected, write_each,
};
use crate::graph::schema;
use std::collections::{BTreeMap, HashMap};
use strata_api::{
    Error, GraphCommand, GraphEdge, GraphQuery, GraphSchema, LabelledNode, NodeSelect, Relation, RelationKey,
    RelationWrite, Response, Triplet, TripletSelector, VectorStoreQuery,
};

/// A node and its insertion position.
type Positioned = (u64, LabelledNode);

/// `get(properties, ids)`: every node (no selector), or those with any of the property
/// pairs and (when given) one of the ids, in insertion order.
pub async fn get(
    parts: &impl Partitions,
    properties: &serde_json::Map<String, serde_json::Value>,
    ids: &[String],
) -> Result<Vec<LabelledNode>> {
    let select = NodeSelect {
        ids: (!ids.is_empty()).then(|| ids.to_vec()),
        any_properties: properties.clone(),
        ..NodeSelect::default()
    };
    Ok(select_nodes(parts, select).await?.into_iter().map(|(_, n)| n).collect())
}

/// `upsert_nodes(nodes)`: one write per partition. A node replaces the node with its id.
pub async fn upsert_nodes(parts: &impl Partitions, nodes: &[LabelledNode]) -> Result<()> {
    for n in nodes {
        n.validate().map_err(Error::InvalidInput)?;
    }
    if let Some(dim) = nodes.iter().find_map(|n| n.embedding.as_ref().filter(|_| n.is_entity()).map(Vec::len))
        && let Some(n) = nodes.iter().find(|n| n.is_entity() && n.embedding.as_ref().is_some_and(|e| e.len() != dim))
    {
        // One call, one dimension: refused before anything is written anywhere.
        let got = n.embedding.as_ref().map_or(0, Vec::len);
        return Err(Error::WrongDimension { namespace: format!("graph {}", parts.graph()), expected: dim as u32, got });
    }
    let base = parts.stamps(nodes.len());
    let graph = parts.graph().to_string();
    let writes = super::by_owner_stamped(parts, nodes, base, |n| &n.id)
        .into_iter()
        .map(|(p, nodes, order)| (p, GraphCommand::UpsertNodes { graph: graph.clone(), nodes, order }))
        .collect();
    let mut relabelled: Vec<(RelationKey, String)> = Vec::new();
    let answers = write_each(parts, writes).await?;
    if let Some(cache) = parts.label_cache() {
        let labels = nodes
            .iter()
            .map(|n| (n.id.clone(), crate::graph::view::display_label(&n.label, n.is_entity()).to_string()));
        cache.put(parts.graph(), labels);
    }
    for answer in answers {
        match answer {
            Response::GraphRelabel(r) => relabelled.extend(r),
            other => return Err(unexpected("upsert_nodes", &other)),
        }
    }
    if !relabelled.is_empty() {
        // Relations stored with their source elsewhere name this target's old label.
        let mut by_source: BTreeMap<usize, Vec<(RelationKey, String)>> = BTreeMap::new();
        for (key, label) in relabelled {
            by_source.entry(owner(parts, &key.source_id)).or_default().push((key, label));
        }
        let writes = by_source
            .into_iter()
            .map(|(p, relations)| (p, GraphCommand::SetTargetLabels { graph: graph.clone(), relations }))
            .collect();
        write_each(parts, writes).await?;
    }
    Ok(())
}

/// The schema labels of these nodes where they exist (`Chunk` for chunks).
async fn schema_labels(parts: &impl Partitions, ids: &[&str]) -> Result<HashMap<String, String>> {
    let graph = parts.graph().to_string();
    let reads = by_owner(parts, ids.iter().copied())
        .into_iter()
        .map(|(p, ids)| (p, GraphQuery::Labels { graph: graph.clone(), ids }))
        .collect();
    let mut out = HashMap::new();
    for answer in read_each(parts, reads).await? {
        match answer {
            Response::GraphLabels(l) => {
                for (id, label, entity) in l {
                    out.insert(id, crate::graph::view::display_label(&label, entity).to_string());
                }
            }
            other => return Err(unexpected("labels", &other)),
        }
    }
    Ok(out)
}

/// `upsert_relations(relations)`: missing endpoints are created as `EntityNode(name=id)`;
/// a triplet already present is left as it is. One write per partition (each holding
/// the relations it is the source of and the incoming entries it is the target of); on
/// more than one partition, one read first learns the targets' labels for the schema.
pub async fn upsert_relations(parts: &impl Partitions, relations: &[Relation]) -> Result<()> {
    for r in relations {
        r.validate().map_err(Error::InvalidInput)?;
    }
    if relations.is_empty() {
        return Ok(());
    }
    // On more than one partition the targets' labels (for the schema) come from this
    // caller's recent writes, or from one read of those it does not know.
    let labels = if parts.count() > 1 {
        let graph = parts.graph();
        let mut known: HashMap<String, String> = HashMap::new();
        let mut unknown: Vec<&str> = Vec::new();
        for r in relations {
            match parts.label_cache().and_then(|c| c.get(graph, &r.target_id)) {
                Some(l) => {
                    known.insert(r.target_id.clone(), l);
                }
                None => unknown.push(&r.target_id),
            }
        }
        if !unknown.is_empty() {
            let read = schema_labels(parts, &unknown).await?;
            for id in unknown {
                let label = read.get(id).cloned().unwrap_or_else(|| strata_api::model::graph::ENTITY_LABEL.to_string());
                known.insert(id.to_string(), label);
            }
            if let Some(cache) = parts.label_cache() {
                cache.put(graph, known.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        Some(known)
    } else {
        None
    };
    let base = parts.stamps(3 * relations.len());
    let stamp = |i: usize, k: u64| if base > 0 { base + 3 * i as u64 + k } else { 0 };
    #[derive(Clone, Default)]
    struct Part {
        outgoing: Vec<RelationWrite>,
        incoming: Vec<RelationWrite>,
        create: Vec<(String, u64)>,
    }
    let mut groups: Vec<Part> = vec![Part::default(); parts.count()];
    let mut created = std::collections::HashSet::new();
    for (i, r) in relations.iter().enumerate() {
        for (k, end) in [(1, &r.source_id), (2, &r.target_id)] {
            if created.insert(end.as_str()) {
                groups[owner(parts, end)].create.push((end.clone(), stamp(i, k)));
            }
        }
        let target_label = labels.as_ref().map(|l| {
            l.get(&r.target_id).cloned().unwrap_or_else(|| strata_api::model::graph::ENTITY_LABEL.to_string())
        });
        let w = RelationWrite { relation: r.clone(), order: stamp(i, 0), target_label };
        groups[owner(parts, &r.target_id)].incoming.push(w.clone());
        groups[owner(parts, &r.source_id)].outgoing.push(w);
    }
    let graph = parts.graph().to_string();
    let writes = groups
        .into_iter()
        .enumerate()
        .filter(|(_, g)| !(g.outgoing.is_empty() && g.incoming.is_empty() && g.create.is_empty()))
        .map(|(p, g)| {
            (
                p,
                GraphCommand::UpsertRelations {
                    graph: graph.clone(),
                    outgoing: g.outgoing,
                    incoming: g.incoming,
                    create: g.create,
                },
            )
        })
        .collect();
    write_each(parts, writes).await?;
    Ok(())
}

/// Relations (and the nodes asked) from an edges or relations read.
pub(crate) fn edges_of(answer: Response) -> Result<(Vec<Positioned>, Vec<GraphEdge>)> {
    match answer {
        Response::GraphEdges { nodes, edges, .. } => Ok((nodes, edges)),
        other => Err(unexpected("edges", &other)),
    }
}

/// The relations of `ids` in both directions (of `labels` only, when given), each once.
pub(crate) async fn relations_of(parts: &impl Partitions, ids: &[String], labels: &[String]) -> Result<Vec<GraphEdge>> {
    let reads = super::edge_reads(parts, ids, labels, None).into_iter().map(|(p, _, q)| (p, q)).collect();
    let mut out = Vec::new();
    for answer in read_each(parts, reads).await? {
        out.extend(edges_of(answer)?.1);
    }
    Ok(out)
}

/// Relations stored anywhere with one of `labels` and any of `properties`.
async fn relations_where(
    parts: &impl Partitions,
    labels: &[String],
    properties: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<GraphEdge>> {
    let q = GraphQuery::Relations {
        graph: parts.graph().to_string(),
        labels: labels.to_vec(),
        any_properties: properties.clone(),
    };
    let mut out = Vec::new();
    for answer in read_all(parts, &q).await? {
        out.extend(edges_of(answer)?.1);
    }
    Ok(out)
}

/// Relations with both ends resolved into triplets, in insertion order.
pub(crate) async fn resolve(parts: &impl Partitions, edges: Vec<GraphEdge>) -> Result<Vec<Triplet>> {
    let mut unique: BTreeMap<RelationKey, GraphEdge> = BTreeMap::new();
    for e in edges {
        unique.entry(e.relation.key()).or_insert(e);
    }
    let mut edges: Vec<GraphEdge> = unique.into_values().collect();
    edges.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.relation.key().cmp(&b.relation.key())));
    let mut ends: Vec<String> = Vec::new();
    for e in &edges {
        ends.push(e.relation.source_id.clone());
        ends.push(e.relation.target_id.clone());
    }
    ends.sort();
    ends.dedup();
    let nodes = nodes_by_id(parts, &ends, false).await?;
    Ok(edges
        .into_iter()
        .filter_map(|e| {
            let source = nodes.get(&e.relation.source_id)?.1.clone();
            let target = nodes.get(&e.relation.target_id)?.1.clone();
            Some(Triplet { source, relation: e.relation, target })
        })
        .collect())
}

fn any_property_matches(
    props: &serde_json::Map<String, serde_json::Value>,
    wanted: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    wanted.iter().any(|(k, v)| crate::vector::filter::py_eq(props.get(k).unwrap_or(&serde_json::Value::Null), v))
}

/// Whether a triplet passes every given selector (LlamaIndex applies them in turn).
pub(crate) fn passes(t: &Triplet, s: &TripletSelector) -> bool {
    let touches = |ids: &[String]| ids.iter().any(|i| *i == t.source.id || *i == t.target.id);
    (s.entity_names.is_empty() || touches(&s.entity_names))
        && (s.relation_names.is_empty() || s.relation_names.contains(&t.relation.label))
        && (s.properties.is_empty()
            || any_property_matches(&t.source.properties, &s.properties)
            || any_property_matches(&t.relation.properties, &s.properties)
            || any_property_matches(&t.target.properties, &s.properties))
        && (s.ids.is_empty() || touches(&s.ids))
}

/// `get_triplets(entity_names, relation_names, properties, ids)`: nothing without a
/// selector; otherwise the triplets passing every given one, in insertion order. The
/// candidates come from an index: the named nodes' relations, the relation label index,
/// or the relations of the nodes having a property plus the relations having it.
pub async fn get_triplets(parts: &impl Partitions, s: &TripletSelector) -> Result<Vec<Triplet>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let candidates = if !s.entity_names.is_empty() || !s.ids.is_empty() {
        let named = if s.entity_names.is_empty() { &s.ids } else { &s.entity_names };
        relations_of(parts, named, &s.relation_names).await?
    } else if !s.relation_names.is_empty() {
        relations_where(parts, &s.relation_names, &serde_json::Map::new()).await?
    } else {
        let holders = get(parts, &s.properties, &[]).await?;
        let ids: Vec<String> = holders.into_iter().map(|n| n.id).collect();
        let mut c = relations_of(parts, &ids, &[]).await?;
        c.extend(relations_where(parts, &[], &s.properties).await?);
        c
    };
    Ok(resolve(parts, candidates).await?.into_iter().filter(|t| passes(t, s)).collect())
}

/// `vector_query(query)`: the embedded entities most similar to the query (every
/// partition searched, hits merged by similarity, ties by insertion order), with their
/// similarities (higher is more similar).
pub async fn vector_query(parts: &impl Partitions, query: &VectorStoreQuery) -> Result<(Vec<LabelledNode>, Vec<f64>)> {
    if let Some(f) = &query.filters {
        f.validate().map_err(Error::InvalidFilter)?;
    }
    // Checked here too: a partition holding no embedding yet answers without looking.
    let embedding = query
        .query_embedding
        .as_ref()
        .ok_or_else(|| Error::InvalidInput("a vector query needs query_embedding".into()))?;
    crate::vector::index::check_vector(strata_api::Distance::Cosine, embedding, "the query")?;
    let q = GraphQuery::VectorSearch { graph: parts.graph().to_string(), query: Box::new(query.clone()) };
    let mut hits = Vec::new();
    for answer in read_all(parts, &q).await? {
        match answer {
            Response::GraphHits(h) => hits.extend(h),
            other => return Err(unexpected("vector_query", &other)),
        }
    }
    hits.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then_with(|| a.position.cmp(&b.position)));
    hits.truncate(query.similarity_top_k);
    Ok(hits.into_iter().map(|h| (h.node, h.similarity)).unzip())
}

/// `get_schema()`: the schema as the partitions' counters have it (no scan of the data).
pub async fn get_schema(parts: &impl Partitions) -> Result<GraphSchema> {
    let q = GraphQuery::Schema { graph: parts.graph().to_string() };
    let mut counts = Vec::new();
    for answer in read_all(parts, &q).await? {
        match answer {
            Response::GraphSchemaCounts(c) => counts.push(c),
            other => return Err(unexpected("schema", &other)),
        }
    }
    Ok(schema::merge(&counts))
}

/// Every relation, in insertion order (an export).
pub async fn all_relations(parts: &impl Partitions) -> Result<Vec<Relation>> {
    let mut edges = relations_where(parts, &[], &serde_json::Map::new()).await?;
    edges.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.relation.key().cmp(&b.relation.key())));
    Ok(edges.into_iter().map(|e| e.relation).collect())
}

/// How far the partitions' indexes of entity embeddings have got (summed).
pub async fn index_stats(parts: &impl Partitions) -> Result<strata_api::VectorIndexStats> {
    let q = GraphQuery::IndexStats { graph: parts.graph().to_string() };
    let mut total = strata_api::VectorIndexStats::default();
    for answer in read_all(parts, &q).await? {
        match answer {
            Response::VectorIndexStats(s) => total.add(&s),
            other => return Err(unexpected("index stats", &other)),
        }
    }
    Ok(total)
}
