//! The property graph store (`reference/llamaindex-storage.md` §7 and checklist items
//! 100–124, `graph_stores/test_simple_lpg.py` and `test_simple_labelled_rel_map.py`,
//! upstream main's contracts where it fixed 0.14.25), plus what Strata adds: vector
//! queries over entity embeddings, a schema kept by every write, typed errors.

use crate::support::{child, ctx, obj};
use serde_json::json;
use strata_client::api::{
    Error as ApiError, FilterCondition, FilterOperator as Op, LabelledNode, MetadataFilter, MetadataFilters, Node,
    Relation, TripletSelector, VectorStoreQuery,
};

fn ids3(triplets: &[strata_client::api::Triplet]) -> Vec<(String, String, String)> {
    triplets.iter().map(|t| (t.source.id.clone(), t.relation.label.clone(), t.target.id.clone())).collect()
}

fn t(s: &str, l: &str, o: &str) -> (String, String, String) {
    (s.into(), l.into(), o.into())
}

fn names(nodes: &[LabelledNode]) -> Vec<String> {
    nodes.iter().map(|n| n.id.clone()).collect()
}

fn sel() -> TripletSelector {
    TripletSelector::default()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn add_get_and_get_triplets_as_test_simple_lpg() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    let e1 = LabelledNode::entity("e1", "entity");
    let e2 = LabelledNode::entity("e2", "entity").with_properties(obj(json!({"key": "value"})));
    let r = Relation::new("e1", "r", "e2");
    g.upsert_nodes(&[e1.clone(), e2.clone()]).await.expect("nodes");
    g.upsert_relations(std::slice::from_ref(&r)).await.expect("relations");
    assert!(g.get_triplets(&sel()).await.expect("none").is_empty(), "no selector, no triplets");
    let want = vec![t("e1", "r", "e2")];
    let by_name = TripletSelector { entity_names: strings(&["e1"]), ..sel() };
    let got = g.get_triplets(&by_name).await.expect("by source");
    assert_eq!(ids3(&got), want);
    assert_eq!(got[0].source, e1);
    assert_eq!(got[0].target, e2);
    assert_eq!(got[0].relation, r);
    let by_target = TripletSelector { entity_names: strings(&["e2"]), ..sel() };
    assert_eq!(ids3(&g.get_triplets(&by_target).await.expect("by target")), want);
    let by_rel = TripletSelector { relation_names: strings(&["r"]), ..sel() };
    assert_eq!(ids3(&g.get_triplets(&by_rel).await.expect("by relation")), want);
    let by_prop = TripletSelector { properties: obj(json!({"key": "value"})), ..sel() };
    assert_eq!(ids3(&g.get_triplets(&by_prop).await.expect("by property")), want);
    let both = TripletSelector { relation_names: strings(&["r"]), ids: strings(&["nope"]), ..sel() };
    assert!(g.get_triplets(&both).await.expect("and").is_empty(), "selectors combine with AND");
    // get(): every node in insertion order; properties match when any pair equals
    // (Python's ==: 1 == 1.0 == True, None matches a missing key).
    assert_eq!(names(&g.get(None, None).await.expect("all")), ["e1", "e2"]);
    assert_eq!(names(&g.get(None, Some(&strings(&["e2", "e1", "e2"]))).await.expect("ids")), ["e1", "e2"]);
    let any = obj(json!({"key": "value", "other": 5}));
    assert_eq!(names(&g.get(Some(&any), None).await.expect("props")), ["e2"]);
    let none = obj(json!({"key": null}));
    assert_eq!(names(&g.get(Some(&none), None).await.expect("None")), ["e1"]);
    g.upsert_nodes(&[LabelledNode::entity("n", "X").with_properties(obj(json!({"w": 1})))]).await.expect("n");
    assert_eq!(names(&g.get(Some(&obj(json!({"w": true}))), None).await.expect("True == 1")), ["n"]);
    assert_eq!(names(&g.get(Some(&obj(json!({"w": 1.0}))), Some(&strings(&["n"]))).await.expect("and ids")), ["n"]);
}

#[tokio::test]
async fn nodes_replace_whole_keep_their_place_and_missing_endpoints_are_created() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    g.upsert_nodes(&[LabelledNode::entity("a", "P"), LabelledNode::entity("b", "P")]).await.expect("nodes");
    g.upsert_nodes(&[LabelledNode::entity("a", "Q").with_properties(obj(json!({"x": 1})))]).await.expect("replace");
    let all = g.get(None, None).await.expect("all");
    assert_eq!(names(&all), ["a", "b"], "a replaced node keeps its place");
    assert_eq!((all[0].label.as_str(), all[0].properties.get("x")), ("Q", Some(&json!(1))));
    g.upsert_relations(&[Relation::new("c", "R", "a").with_properties(obj(json!({"w": 2})))]).await.expect("rel");
    let all = g.get(None, None).await.expect("all");
    assert_eq!(names(&all), ["a", "b", "c"], "a missing endpoint becomes an entity at the end");
    assert_eq!(all[2], LabelledNode::entity("c", "entity"));
    // A triplet already present is left as it is (LlamaIndex's add_triplet).
    g.upsert_relations(&[Relation::new("c", "R", "a").with_properties(obj(json!({"w": 3})))]).await.expect("again");
    let got = g.get_triplets(&TripletSelector { ids: strings(&["c"]), ..sel() }).await.expect("triplets");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].relation.properties, obj(json!({"w": 2})));
}

#[tokio::test]
async fn relation_keys_do_not_collide() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    let rels = [
        Relation::new("A_B", "C", "D").with_properties(obj(json!({"fact": 1}))),
        Relation::new("A", "B", "C_D").with_properties(obj(json!({"fact": 2}))),
    ];
    g.upsert_relations(&rels).await.expect("relations");
    assert_eq!(g.relations().await.expect("all").len(), 2);
    for r in &rels {
        let got = g.get_triplets(&TripletSelector { ids: vec![r.source_id.clone()], ..sel() }).await.expect("get");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].relation, *r);
    }
    g.delete(&TripletSelector { ids: strings(&["A_B"]), ..sel() }).await.expect("delete");
    let left = g.relations().await.expect("left");
    assert_eq!(left, vec![rels[1].clone()]);
}

async fn people(edges: &[(&str, &str, &str)]) -> (crate::support::Guard, strata_client::PropertyGraphStore) {
    let (d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    let nodes: Vec<LabelledNode> =
        ["Alice", "Bob", "Carol", "Dave"].iter().map(|n| LabelledNode::entity(*n, "entity")).collect();
    g.upsert_nodes(&nodes).await.expect("nodes");
    let rels: Vec<Relation> = edges.iter().map(|(s, l, o)| Relation::new(*s, *l, *o)).collect();
    g.upsert_relations(&rels).await.expect("relations");
    (d, g)
}

async fn all_ids(g: &strata_client::PropertyGraphStore) -> Vec<String> {
    let mut v = names(&g.get(None, None).await.expect("all"));
    v.sort();
    v
}

async fn all_triplets(g: &strata_client::PropertyGraphStore) -> Vec<(String, String, String)> {
    g.relations().await.expect("relations").into_iter().map(|r| (r.source_id, r.label, r.target_id)).collect()
}

#[tokio::test]
async fn delete_removes_only_what_is_selected_as_upstream_main() {
    let knows_likes = [("Alice", "knows", "Bob"), ("Alice", "likes", "Carol")];
    // test_delete_shared_endpoint_keeps_other_triplet
    let (_d, g) = people(&knows_likes).await;
    g.delete(&TripletSelector { ids: strings(&["Bob"]), ..sel() }).await.expect("delete");
    assert_eq!(all_ids(&g).await, ["Alice", "Carol", "Dave"]);
    assert_eq!(all_triplets(&g).await, [t("Alice", "likes", "Carol")]);
    // test_delete_empty_selectors_leave_graph_unchanged
    let (_d, g) = people(&knows_likes).await;
    g.delete(&TripletSelector { ids: Vec::new(), ..sel() }).await.expect("delete(ids=[])");
    g.delete_llama_nodes(Some(&strings(&["missing-id"])), None).await.expect("delete_llama_nodes");
    assert_eq!(all_ids(&g).await.len(), 4);
    assert_eq!(all_triplets(&g).await.len(), 2);
    // test_delete_entity_names_keeps_unrelated_triplet
    let (_d, g) = people(&[("Alice", "knows", "Bob"), ("Carol", "likes", "Bob")]).await;
    g.delete(&TripletSelector { entity_names: strings(&["Alice"]), ..sel() }).await.expect("delete");
    assert_eq!(all_ids(&g).await, ["Bob", "Carol", "Dave"]);
    assert_eq!(all_triplets(&g).await, [t("Carol", "likes", "Bob")]);
    // test_delete_relation_names_keeps_referenced_nodes
    let (_d, g) = people(&knows_likes).await;
    g.delete(&TripletSelector { relation_names: strings(&["knows"]), ..sel() }).await.expect("delete");
    assert_eq!(all_ids(&g).await, ["Alice", "Carol", "Dave"]);
    assert_eq!(all_triplets(&g).await, [t("Alice", "likes", "Carol")]);
    // test_delete: deleting an endpoint deletes its triplets.
    let (_d, g) = people(&[("Alice", "r", "Bob")]).await;
    g.delete(&TripletSelector { ids: strings(&["Alice"]), ..sel() }).await.expect("delete");
    assert!(all_triplets(&g).await.is_empty());
}

fn text_node(id: &str, text: &str) -> Node {
    Node::text_node(id, text)
}

#[tokio::test]
async fn llama_nodes_round_trip_and_delete_by_node_or_document() {
    let (_d, store) = ctx().await;
    let g = store.property_graph_store();
    let (n1, n2) = (text_node("n1", "n1"), text_node("n2", "n2"));
    g.upsert_llama_nodes(&[n1.clone(), n2.clone()]).await.expect("upsert");
    assert_eq!(g.get(None, None).await.expect("all").len(), 2);
    assert_eq!(g.get_llama_nodes(&strings(&["n1", "n2"])).await.expect("get"), vec![n1, n2]);
    g.delete_llama_nodes(Some(&strings(&["n1"])), None).await.expect("delete");
    assert_eq!(names(&g.get(None, None).await.expect("left")), ["n2"]);

    let (_d, store) = ctx().await;
    let g = store.property_graph_store();
    g.upsert_llama_nodes(&[child("n1", "n1", "n2"), text_node("n2", "n2")]).await.expect("upsert");
    g.delete_llama_nodes(None, Some(&strings(&["n2"]))).await.expect("delete by document");
    assert!(g.get(None, None).await.expect("none").is_empty(), "the child and the document itself");
    let (_d, store) = ctx().await;
    let g = store.property_graph_store();
    g.upsert_llama_nodes(&[child("n1", "n1", "n3"), text_node("n2", "n2")]).await.expect("upsert");
    g.delete_llama_nodes(None, Some(&strings(&["n3"]))).await.expect("delete by document");
    assert_eq!(names(&g.get(None, None).await.expect("left")), ["n2"]);
    // Entities extracted from a chunk go with it (triplet_source_id).
    let e = LabelledNode::entity("E", "X").with_properties(obj(json!({"triplet_source_id": "n2"})));
    g.upsert_nodes(&[e]).await.expect("entity");
    g.delete_llama_nodes(Some(&strings(&["n2"])), None).await.expect("delete chunk");
    assert!(g.get(None, None).await.expect("none").is_empty());
}

fn chain(g: &strata_client::PropertyGraphStore, edges: &[(&str, &str, &str)]) -> impl std::future::Future<Output = ()> {
    let rels: Vec<Relation> = edges.iter().map(|(s, l, o)| Relation::new(*s, *l, *o)).collect();
    let g = g.clone();
    async move { g.upsert_relations(&rels).await.expect("relations") }
}

async fn rel_map(
    g: &strata_client::PropertyGraphStore,
    seeds: &[&str],
    depth: usize,
    limit: usize,
) -> Vec<(String, String, String)> {
    ids3(&g.get_rel_map_of(&strings(seeds), depth, limit, None).await.expect("rel map"))
}

#[tokio::test]
async fn rel_map_has_upstream_mains_contract() {
    let (_d, ctx) = ctx().await;
    let edges = [("A", "R", "B"), ("B", "R", "C"), ("C", "R", "D")];
    let g = ctx.property_graph_store_in("chain");
    chain(&g, &edges).await;
    let all: Vec<_> = edges.iter().map(|(s, l, o)| t(s, l, o)).collect();
    assert_eq!(rel_map(&g, &["A"], 3, 3).await, all, "each relation counted once");
    for depth in 0..=3 {
        assert_eq!(rel_map(&g, &["A"], depth, 30).await, all[..depth], "depth {depth}");
    }
    for limit in 0..=3 {
        assert_eq!(rel_map(&g, &["A"], 3, limit).await, all[..limit], "limit {limit}");
    }
    let mut both = rel_map(&g, &["A", "B"], 3, 30).await;
    both.sort();
    assert_eq!(both, all, "overlapping seeds");
    assert!(rel_map(&g, &[], 2, 30).await.is_empty());
    assert!(rel_map(&g, &["missing"], 2, 30).await.is_empty());

    let g = ctx.property_graph_store_in("cycle");
    chain(&g, &[("A", "SELF", "A"), ("A", "R", "B"), ("B", "R", "A")]).await;
    assert_eq!(rel_map(&g, &["A"], 10, 30).await.len(), 3, "cycle and self-loop once each");
    let g = ctx.property_graph_store_in("labels");
    chain(&g, &[("A", "SUPPORTS", "B"), ("A", "CONTRADICTS", "B")]).await;
    assert_eq!(rel_map(&g, &["A"], 3, 30).await.len(), 2, "distinct labels are distinct relations");
    let g = ctx.property_graph_store_in("ignored");
    chain(&g, &[("A", "IGNORE", "B"), ("B", "KEEP", "C")]).await;
    let got = g.get_rel_map_of(&strings(&["A"]), 3, 1, Some(&strings(&["IGNORE"]))).await.expect("ignored");
    assert_eq!(ids3(&got), [t("B", "KEEP", "C")], "ignored relations do not use the limit");

    // Properties come back unchanged, and reading changes nothing.
    let g = ctx.property_graph_store_in("props");
    g.upsert_nodes(&[LabelledNode::entity("A", "entity").with_properties(obj(json!({"source_id": "doc-1"})))])
        .await
        .expect("node");
    g.upsert_relations(&[Relation::new("A", "R", "B").with_properties(obj(json!({"source_id": "doc-2"})))])
        .await
        .expect("relation");
    let before = (g.get(None, None).await.expect("nodes"), g.relations().await.expect("rels"));
    let got = g.get_rel_map(&[LabelledNode::entity("A", "entity")], 3, 30, None).await.expect("rel map");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].source.properties, obj(json!({"source_id": "doc-1"})));
    assert_eq!(got[0].relation.properties, obj(json!({"source_id": "doc-2"})));
    assert_eq!((g.get(None, None).await.expect("nodes"), g.relations().await.expect("rels")), before);
}

fn embedded(name: &str, label: &str, kind: &str, emb: [f64; 2]) -> LabelledNode {
    LabelledNode::entity(name, label).with_properties(obj(json!({"kind": kind, "n": emb[0]}))).with_embedding(&emb)
}

#[tokio::test]
async fn vector_query_ranks_embedded_entities_with_filters() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    g.upsert_nodes(&[
        embedded("a", "T", "x", [1.0, 0.0]),
        embedded("b", "T", "y", [0.0, 1.0]),
        embedded("c", "T", "x", [1.0, 1.0]),
        LabelledNode::entity("plain", "T"),
    ])
    .await
    .expect("nodes");
    let mut chunk = LabelledNode::chunk("c1", "text");
    chunk.embedding = Some(vec![1.0, 0.0]);
    g.upsert_nodes(&[chunk]).await.expect("chunk");
    let q = |k: usize, filters: Option<MetadataFilters>| VectorStoreQuery {
        query_embedding: Some(vec![1.0, 0.1]),
        similarity_top_k: k,
        filters,
        ..Default::default()
    };
    assert_eq!(g.vector_index_stats().await.expect("stats").vectors, 3, "entities only are indexed");
    let (nodes, scores) = g.vector_query(&q(4, None)).await.expect("query");
    assert_eq!(names(&nodes), ["a", "c", "b"], "entities only, most similar first");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > 0.99, "{scores:?}");
    assert_eq!(nodes[0].embedding_f64(), Some(vec![1.0, 0.0]));
    let x = MetadataFilters::new(vec![MetadataFilter::new("kind", json!("x"), Op::Eq).into()], FilterCondition::And);
    assert_eq!(names(&g.vector_query(&q(4, Some(x.clone()))).await.expect("eq").0), ["a", "c"]);
    let not_x = MetadataFilters { condition: Some(FilterCondition::Not), ..x.clone() };
    assert_eq!(names(&g.vector_query(&q(4, Some(not_x))).await.expect("not").0), ["b"]);
    let or = MetadataFilters::new(
        vec![
            MetadataFilter::new("n", json!(0.5), Op::Lt).into(),
            MetadataFilter::new("kind", json!(["x"]), Op::Nin).into(),
        ],
        FilterCondition::Or,
    );
    assert_eq!(names(&g.vector_query(&q(4, Some(or))).await.expect("or").0), ["b"]);
    assert_eq!(names(&g.vector_query(&q(1, None)).await.expect("k 1").0), ["a"]);
    // Bad queries: typed errors.
    let wrong = VectorStoreQuery { query_embedding: Some(vec![1.0, 0.0, 0.0]), ..q(2, None) };
    let err = g.vector_query(&wrong).await.expect_err("dimension");
    assert!(matches!(err.as_store(), Some(ApiError::WrongDimension { .. })), "{err}");
    let nan = VectorStoreQuery { query_embedding: Some(vec![f32::NAN, 0.0]), ..q(2, None) };
    assert!(matches!(g.vector_query(&nan).await.expect_err("nan").as_store(), Some(ApiError::InvalidVector { .. })));
    let bad =
        MetadataFilters::new(vec![MetadataFilter::new("kind", json!({"no": 1}), Op::Eq).into()], FilterCondition::And);
    assert!(matches!(
        g.vector_query(&q(2, Some(bad))).await.expect_err("filter").as_store(),
        Some(ApiError::InvalidFilter(_))
    ));
    let err = g
        .upsert_nodes(&[embedded("d", "T", "x", [1.0, 0.0]), LabelledNode::entity("e", "T").with_embedding(&[1.0])])
        .await;
    assert!(matches!(err.expect_err("mixed dimensions").as_store(), Some(ApiError::WrongDimension { .. })));
    assert_eq!(g.get(None, None).await.expect("all").len(), 5, "a refused batch writes nothing");
}

#[tokio::test]
async fn schema_is_kept_by_writes_in_neo4js_layout() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    assert_eq!(
        g.get_schema_str(true).await.expect("empty"),
        "Node properties:\n\nRelationship properties:\n\nThe relationships:\n"
    );
    g.upsert_nodes(&[
        LabelledNode::entity("Ada", "PERSON").with_properties(obj(json!({"born": 1815, "triplet_source_id": "c1"}))),
        LabelledNode::entity("Engine", "MACHINE").with_properties(obj(json!({"weight": 1.5}))),
    ])
    .await
    .expect("nodes");
    g.upsert_llama_nodes(&[Node::text_node("c1", "Ada wrote about the engine.")]).await.expect("chunk");
    g.upsert_relations(&[Relation::new("Ada", "WROTE ABOUT", "Engine").with_properties(obj(json!({"year": 1843})))])
        .await
        .expect("relation");
    let text = g.get_schema_str(true).await.expect("schema");
    for line in [
        "Node properties:",
        "PERSON {id: STRING, name: STRING, born: INTEGER, triplet_source_id: STRING}",
        "MACHINE {id: STRING, name: STRING, weight: FLOAT}",
        "Relationship properties:\nWROTE ABOUT {year: INTEGER}",
        "The relationships:",
        "(:PERSON)-[:WROTE ABOUT]->(:MACHINE)",
        "(:Chunk)-[:MENTIONS]->(:PERSON)",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(text.contains("Chunk {id: STRING, text: STRING,"), "{text}");
    g.delete(&TripletSelector { ids: strings(&["Engine"]), ..sel() }).await.expect("delete");
    let text = g.get_schema_str(false).await.expect("schema");
    assert!(!text.contains("MACHINE") && !text.contains("WROTE ABOUT"), "{text}");
}

#[tokio::test]
async fn bad_graph_input_is_refused_and_changes_nothing() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    g.upsert_relations(&[Relation::new("a", "R", "b")]).await.expect("seed");
    let mut wrong_id = LabelledNode::entity("x", "X");
    wrong_id.id = "y".into();
    let mut nan = LabelledNode::entity("n", "X");
    nan.embedding = Some(vec![f32::NAN]);
    let empty_chunk = LabelledNode::chunk("", "text");
    for bad in [wrong_id, nan, empty_chunk] {
        let err = g.upsert_nodes(&[LabelledNode::entity("fine", "X"), bad]).await.expect_err("refused");
        assert!(matches!(err.as_store(), Some(ApiError::InvalidInput(_))), "{err}");
    }
    let err = g.upsert_relations(&[Relation::new("a", "", "b")]).await.expect_err("no label");
    assert!(matches!(err.as_store(), Some(ApiError::InvalidInput(_))), "{err}");
    assert_eq!(names(&g.get(None, None).await.expect("all")), ["a", "b"]);
    assert_eq!(g.relations().await.expect("relations").len(), 1);
}

#[tokio::test]
async fn structured_query_answers_the_documented_cypher_and_refuses_writes() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    let props = |v: serde_json::Value| obj(v);
    g.upsert_llama_nodes(&[
        Node::text_node("c1", "Ada met Babbage."),
        Node::text_node("c2", "Babbage built an engine."),
    ])
    .await
    .expect("chunks");
    g.upsert_nodes(&[
        LabelledNode::entity("Ada", "PERSON").with_properties(props(json!({"triplet_source_id": "c1"}))),
        LabelledNode::entity("Babbage", "PERSON").with_properties(props(json!({"triplet_source_id": "c1"}))),
        LabelledNode::entity("Engine", "MACHINE").with_properties(props(json!({"triplet_source_id": "c2"}))),
    ])
    .await
    .expect("entities");
    g.upsert_relations(&[Relation::new("Ada", "MET", "Babbage"), Relation::new("Babbage", "BUILT", "Engine")])
        .await
        .expect("relations");
    let names = obj(json!({"names": ["Ada", "Engine"]}));
    let mut got: Vec<String> = g
        .structured_query(
            "MATCH (c:Chunk)-[:MENTIONS]->(o) WHERE o.name IN $names RETURN c.text, o.name, o.label",
            Some(&names),
        )
        .await
        .expect("template query")
        .into_iter()
        .map(|r| serde_json::Value::Object(r).to_string())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            json!({"c.text": "Ada met Babbage.", "o.name": "Ada", "o.label": "PERSON"}).to_string(),
            json!({"c.text": "Babbage built an engine.", "o.name": "Engine", "o.label": "MACHINE"}).to_string(),
        ]
    );
    let src = obj(json!({"src": "Ada"}));
    let mut paths: Vec<String> = g
        .structured_query(
            "MATCH p=(a:`__Entity__` {name: $src})-[*1..2]-(b) RETURN [n IN nodes(p) | n.name] AS path LIMIT 25",
            Some(&src),
        )
        .await
        .expect("path query")
        .into_iter()
        .map(|r| r["path"].to_string())
        .collect();
    paths.sort();
    // Ada: MET Babbage, MENTIONS from c1; Babbage: BUILT Engine, MENTIONS from c1;
    // c1: MENTIONS Babbage.
    assert_eq!(
        paths,
        [
            r#"["Ada","Babbage","Engine"]"#,
            r#"["Ada","Babbage",null]"#,
            r#"["Ada","Babbage"]"#,
            r#"["Ada",null,"Babbage"]"#,
            r#"["Ada",null]"#,
        ]
    );
    let err = g.structured_query("MATCH (n) DETACH DELETE n RETURN 1", None).await.expect_err("a write");
    assert!(
        matches!(err.as_store(), Some(ApiError::UnsupportedCypher { construct }) if construct == "DETACH"),
        "{err}"
    );
    assert_eq!(g.get(None, None).await.expect("all").len(), 5, "nothing deleted");
}

#[tokio::test]
async fn a_graph_survives_export_and_import_with_non_ascii_names() {
    let (dir, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    let props = |v: serde_json::Value| obj(v);
    g.upsert_nodes(&[
        LabelledNode::entity("定义图", "概念").with_properties(props(json!({"desc": "中文描述"}))),
        LabelledNode::entity("テスト", "entity").with_properties(props(json!({"desc": "日本語の説明"}))),
        LabelledNode::entity("émojis_✨🚀", "entity").with_properties(props(json!({"desc": "spëcîal ♠♣♥♦"}))),
    ])
    .await
    .expect("nodes");
    g.upsert_relations(&[Relation::new("定义图", "关系", "テスト"), Relation::new("テスト", "リンク", "émojis_✨🚀")])
        .await
        .expect("relations");
    ctx.graph_store().upsert_triplet("alice", "knows", "bob").await.expect("triplet");
    let before_map = rel_map(&g, &["定义图"], 3, 30).await;
    let before_nodes = g.get(None, None).await.expect("nodes");
    let out = dir.path().join("export");
    ctx.export_persist_dir(&out, &crate::support::quiet).await.expect("export");
    let text = std::fs::read_to_string(out.join("property_graph_store.json")).expect("file");
    assert!(text.contains("定义图") && text.contains("émojis_✨🚀"), "raw UTF-8, as pydantic writes it");

    let (_d2, other) = crate::support::ctx().await;
    other.import_persist_dir(&out, &crate::support::quiet).await.expect("import");
    let g2 = other.property_graph_store();
    assert_eq!(g2.get(None, None).await.expect("nodes"), before_nodes, "the same nodes, in the same order");
    assert_eq!(rel_map(&g2, &["定义图"], 3, 30).await, before_map, "the same rel map after reload");
    let map = other.graph_store().get_rel_map(Some(&strings(&["alice"])), 2, 30).await.expect("rel map");
    assert_eq!(map, vec![("alice".to_string(), vec![["alice".to_string(), "knows".to_string(), "bob".to_string()]])]);
}

/// Cypher on a budget, embedded (on the caller's thread before: a 4 KB query overflowed
/// its stack, with no length limit at all) and on a cluster alike: nesting, memory and
/// length past their limits are typed errors, and the store answers on.
#[tokio::test]
async fn structured_query_past_its_budgets_is_a_typed_error() {
    let (_d, ctx) = ctx().await;
    let g = ctx.property_graph_store();
    g.upsert_nodes(&[LabelledNode::entity("Ada", "PERSON")]).await.expect("entity");
    let limit_of = |r: Result<Vec<serde_json::Map<String, serde_json::Value>>, strata_client::Error>| match r {
        Err(strata_client::Error::Store(strata_client::api::Error::LimitExceeded { what, .. })) => what,
        Err(other) => panic!("expected LimitExceeded, got {other}"),
        Ok(rows) => panic!("expected LimitExceeded, got {} rows", rows.len()),
    };
    let deep = format!("RETURN {} AS x", vec!["true"; 2_000].join(" AND "));
    assert!(limit_of(g.structured_query(&deep, None).await).contains("nesting depth"));
    let wide = "RETURN [x IN range(1, 200000) | range(1, 200000)] AS x";
    assert!(limit_of(g.structured_query(wide, None).await).contains("bytes of values"));
    let long = format!("RETURN 1 AS x{}", " ".repeat(70_000));
    assert!(limit_of(g.structured_query(&long, None).await).contains("Cypher query"));
    let rows = g.structured_query("MATCH (n:PERSON) RETURN n.name AS name", None).await.expect("a query within budget");
    assert_eq!(rows, vec![obj(json!({"name": "Ada"}))]);
}
