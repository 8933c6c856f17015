//! The graph coordinator over real partitions in-process (sled in temporary folders):
//! upstream main's `get_rel_map` and `delete` contracts, the triplet store's walk, and
//! traversal over P partitions equal to traversal over one on random graphs.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed expectation is the test failing

mod graph_common;

use graph_common::{Parts, block};
use proptest::prelude::*;
use strata_api::{LabelledNode, Relation, TripletSelector};
use strata_shards::graph::coord;

fn store(p: usize, edges: &[(&str, &str, &str)]) -> Parts {
    let parts = Parts::new(p);
    let rels: Vec<Relation> = edges.iter().map(|(s, l, t)| Relation::new(*s, *l, *t)).collect();
    block(coord::pg::upsert_relations(&parts, &rels)).expect("upsert");
    parts
}

fn rel_map(
    parts: &Parts,
    seeds: &[&str],
    depth: usize,
    limit: usize,
    ignore: &[&str],
) -> Vec<(String, String, String)> {
    let seeds: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    let ignore: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
    block(coord::rel_map::get_rel_map(parts, &seeds, depth, limit, &ignore))
        .expect("rel map")
        .iter()
        .map(|t| (t.source.id.clone(), t.relation.label.clone(), t.target.id.clone()))
        .collect()
}

fn ids(edges: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    edges.iter().map(|(s, l, t)| (s.to_string(), l.to_string(), t.to_string())).collect()
}

const CHAIN: [(&str, &str, &str); 3] = [("A", "R", "B"), ("B", "R", "C"), ("C", "R", "D")];

#[test]
fn rel_map_follows_upstream_mains_contract() {
    for p in [1, 3] {
        let s = store(p, &[("A", "R", "B")]);
        for depth in [2, 3, 8] {
            assert_eq!(rel_map(&s, &["A"], depth, 30, &[]), ids(&[("A", "R", "B")]), "first hop once at depth {depth}");
        }
        let s = store(p, &CHAIN);
        assert_eq!(rel_map(&s, &["A"], 3, 3, &[]), ids(&CHAIN), "the limit counts distinct relations");
        for depth in 0..=3 {
            assert_eq!(rel_map(&s, &["A"], depth, 30, &[]), ids(&CHAIN[..depth]), "depth {depth} is exact");
        }
        for limit in 0..=3 {
            assert_eq!(rel_map(&s, &["A"], 3, limit, &[]), ids(&CHAIN[..limit]), "limit {limit}");
        }
        let mut both = rel_map(&s, &["A", "B"], 3, 30, &[]);
        both.sort();
        assert_eq!(both, ids(&CHAIN), "overlapping seeds: each relation once");
        let cyc = [("A", "SELF", "A"), ("A", "R", "B"), ("B", "R", "A")];
        let mut got = rel_map(&store(p, &cyc), &["A"], 10, 30, &[]);
        got.sort();
        let mut want = ids(&cyc);
        want.sort();
        assert_eq!(got, want, "cycles and self-loops once");
        let two = [("A", "SUPPORTS", "B"), ("A", "CONTRADICTS", "B")];
        assert_eq!(rel_map(&store(p, &two), &["A"], 3, 30, &[]).len(), 2, "labels are not merged");
        let ign = store(p, &[("A", "IGNORE", "B"), ("B", "KEEP", "C")]);
        assert_eq!(rel_map(&ign, &["A"], 3, 1, &["IGNORE"]), ids(&[("B", "KEEP", "C")]), "ignored relations are free");
        assert!(rel_map(&s, &[], 2, 30, &[]).is_empty());
        assert!(rel_map(&s, &["missing"], 2, 30, &[]).is_empty());
        // Incoming relations count at every hop (0.14.25 followed only outgoing ones).
        let inc = store(p, &[("X", "R", "A"), ("Y", "R", "X")]);
        assert_eq!(rel_map(&inc, &["A"], 2, 30, &[]), ids(&[("X", "R", "A"), ("Y", "R", "X")]));
    }
}

fn node_ids(parts: &Parts) -> Vec<String> {
    let mut v: Vec<String> =
        block(coord::pg::get(parts, &Default::default(), &[])).expect("get").into_iter().map(|n| n.id).collect();
    v.sort();
    v
}

fn triplet_ids(parts: &Parts) -> Vec<(String, String, String)> {
    let sel = TripletSelector { relation_names: vec!["knows".into(), "likes".into()], ..Default::default() };
    let mut v: Vec<_> = block(coord::pg::get_triplets(parts, &sel))
        .expect("triplets")
        .into_iter()
        .map(|t| (t.source.id, t.relation.label, t.target.id))
        .collect();
    v.sort();
    v
}

fn people(p: usize, edges: &[(&str, &str, &str)]) -> Parts {
    let parts = Parts::new(p);
    let nodes: Vec<LabelledNode> =
        ["Alice", "Bob", "Carol", "Dave"].iter().map(|n| LabelledNode::entity(*n, "PERSON")).collect();
    block(coord::pg::upsert_nodes(&parts, &nodes)).expect("nodes");
    let rels: Vec<Relation> = edges.iter().map(|(s, l, t)| Relation::new(*s, *l, *t)).collect();
    block(coord::pg::upsert_relations(&parts, &rels)).expect("relations");
    parts
}

#[test]
fn delete_removes_only_what_is_selected() {
    for p in [1, 3] {
        let knows_likes = [("Alice", "knows", "Bob"), ("Alice", "likes", "Carol")];
        let g = people(p, &knows_likes);
        block(coord::delete::delete(&g, &TripletSelector { ids: vec!["Bob".into()], ..Default::default() })).unwrap();
        assert_eq!(node_ids(&g), ["Alice", "Carol", "Dave"]);
        assert_eq!(triplet_ids(&g), ids(&[("Alice", "likes", "Carol")]));

        let g = people(p, &knows_likes);
        block(coord::delete::delete(&g, &TripletSelector::default())).unwrap();
        block(coord::delete::delete_llama_nodes(&g, &["missing-id".into()], &[])).unwrap();
        assert_eq!(node_ids(&g).len(), 4, "empty selectors change nothing");
        assert_eq!(triplet_ids(&g).len(), 2);

        let g = people(p, &[("Alice", "knows", "Bob"), ("Carol", "likes", "Bob")]);
        let sel = TripletSelector { entity_names: vec!["Alice".into()], ..Default::default() };
        block(coord::delete::delete(&g, &sel)).unwrap();
        assert_eq!(node_ids(&g), ["Bob", "Carol", "Dave"]);
        assert_eq!(triplet_ids(&g), ids(&[("Carol", "likes", "Bob")]));

        let g = people(p, &knows_likes);
        let sel = TripletSelector { relation_names: vec!["knows".into()], ..Default::default() };
        block(coord::delete::delete(&g, &sel)).unwrap();
        assert_eq!(node_ids(&g), ["Alice", "Carol", "Dave"], "Bob was referenced by knows only");
        assert_eq!(triplet_ids(&g), ids(&[("Alice", "likes", "Carol")]));
        let schema = block(coord::pg::get_schema(&g)).unwrap();
        assert_eq!(schema.relationships.len(), 1, "the schema follows deletes: {schema:?}");
    }
}

#[test]
fn schema_follows_writes_and_relabels_across_partitions() {
    for p in [1, 3] {
        let g = people(p, &[("Alice", "knows", "Bob"), ("Carol", "likes", "Bob")]);
        let text = block(coord::pg::get_schema(&g)).unwrap().to_text();
        assert!(text.contains("(:PERSON)-[:knows]->(:PERSON)"), "{text}");
        // Bob becomes a ROBOT: relations stored with Alice and Carol (maybe elsewhere) follow.
        block(coord::pg::upsert_nodes(&g, &[LabelledNode::entity("Bob", "ROBOT")])).unwrap();
        let text = block(coord::pg::get_schema(&g)).unwrap().to_text();
        assert!(text.contains("(:PERSON)-[:knows]->(:ROBOT)"), "{text}");
        assert!(text.contains("(:PERSON)-[:likes]->(:ROBOT)"), "{text}");
        assert!(!text.contains("->(:PERSON)"), "{text}");
    }
}

#[test]
fn triplet_store_walks_depth_first_over_partitions() {
    for p in [1, 3] {
        let parts = Parts::new(p);
        for (s, r, o) in [("a", "r", "b"), ("b", "r", "a"), ("b", "s", "c"), ("a", "t", "d")] {
            block(coord::triplets::upsert_triplet(&parts, s, r, o)).unwrap();
        }
        block(coord::triplets::upsert_triplet(&parts, "a", "r", "b")).unwrap();
        assert_eq!(block(coord::triplets::get(&parts, "a")).unwrap().len(), 2, "a pair is stored once");
        let map = block(coord::triplets::get_rel_map(&parts, Some(&["a".into()]), 3, 30)).unwrap();
        let rows: Vec<String> = map[0].1.iter().map(|t| t.join(" ")).collect();
        assert_eq!(rows, ["a r b", "b r a", "a r b", "a t d", "b s c", "a t d"]);
        let all = block(coord::triplets::get_rel_map(&parts, None, 1, 30)).unwrap();
        assert_eq!(all.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["a", "b"], "subjects in insertion order");
        assert!(block(coord::triplets::delete(&parts, "b", "r", "a")).unwrap());
        assert!(block(coord::triplets::delete(&parts, "b", "s", "c")).unwrap());
        assert!(block(coord::triplets::get(&parts, "b")).unwrap().is_empty());
        let all = block(coord::triplets::get_rel_map(&parts, None, 1, 30)).unwrap();
        assert_eq!(all.len(), 1, "a subject without pairs is gone");
    }
}

#[test]
fn an_ingested_batch_is_one_round_trip_per_partition_whatever_its_size() {
    // PropertyGraphIndex's ingest: get(ids), get_llama_nodes (a get), upsert_llama_nodes
    // (an upsert_nodes), upsert_nodes, upsert_relations, get_schema.
    let parts = Parts::new(3);
    let entities: Vec<LabelledNode> = (0..2_000).map(|i| LabelledNode::entity(format!("e{i}"), "X")).collect();
    let ids: Vec<String> = entities.iter().map(|n| n.id.clone()).collect();
    block(coord::pg::get(&parts, &Default::default(), &ids)).expect("get");
    assert_eq!(parts.take_calls(), (3, 0), "get(ids): one read per partition");
    block(coord::pg::upsert_nodes(&parts, &entities)).expect("nodes");
    assert_eq!(parts.take_calls(), (0, 3), "upsert_nodes: one write per partition");
    let rels: Vec<Relation> =
        (0..5_000).map(|i| Relation::new(format!("e{}", i % 2_000), "R", format!("e{}", (i * 7) % 2_000))).collect();
    block(coord::pg::upsert_relations(&parts, &rels)).expect("relations");
    assert_eq!(parts.take_calls(), (0, 3), "upsert_relations of the nodes just written: one write per partition");
    block(coord::pg::get_schema(&parts)).expect("schema");
    assert_eq!(parts.take_calls(), (3, 0), "get_schema: one read per partition");
    // Targets this caller never wrote: their labels are read once, first.
    let fresh = Parts::new(3);
    block(coord::pg::upsert_relations(&fresh, &rels)).expect("relations");
    assert_eq!(fresh.take_calls(), (3, 3));
}

prop_compose! {
    fn graph_and_calls()(
        edges in prop::collection::vec((0u8..8, 0u8..3, 0u8..8), 0..30),
        seeds in prop::collection::vec(0u8..9, 0..4),
        depth in 1usize..=3,
        limit in 0usize..40,
        ignore in prop::collection::vec(0u8..3, 0..2),
    ) -> (Vec<(String, String, String)>, Vec<String>, usize, usize, Vec<String>) {
        let name = |i: u8| format!("n{i}");
        let label = |i: u8| format!("R{i}");
        (
            edges.into_iter().map(|(s, l, t)| (name(s), label(l), name(t))).collect(),
            seeds.into_iter().map(name).collect(),
            depth,
            limit,
            ignore.into_iter().map(label).collect(),
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Traversal over P partitions equals traversal over one (cycles, self-loops,
    /// overlapping seeds, limits and ignored relations included: the generator makes
    /// them often with 8 nodes and 3 labels).
    #[test]
    fn traversal_does_not_depend_on_partitions((edges, seeds, depth, limit, ignore) in graph_and_calls()) {
        let rels: Vec<Relation> = edges.iter().map(|(s, l, t)| Relation::new(s, l, t)).collect();
        let mut answers = Vec::new();
        for p in [1, 2, 5] {
            let parts = Parts::new(p);
            block(coord::pg::upsert_relations(&parts, &rels)).expect("upsert");
            let got = block(coord::rel_map::get_rel_map(&parts, &seeds, depth, limit, &ignore)).expect("rel map");
            answers.push(got);
        }
        prop_assert_eq!(&answers[0], &answers[1]);
        prop_assert_eq!(&answers[0], &answers[2]);
        prop_assert!(answers[0].len() <= limit);
    }
}
