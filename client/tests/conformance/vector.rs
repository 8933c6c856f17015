//! Vector stores: the 25 queries llama-index-core answered on the fixture (every filter
//! operator, AND / OR / NOT, node_ids, MMR) answered the same after import; LlamaIndex's
//! `vector_stores/test_simple.py` cases; add / delete / delete_nodes / get_nodes / clear;
//! typed errors for bad input, leaving the store unchanged.

use crate::support::{child, ctx, fixtures, obj, quiet};
use serde_json::{Value, json};
use strata_client::api::{
    Error as ApiError, FilterCondition, FilterItem, FilterOperator as Op, MetadataFilter, MetadataFilters, Node,
    VectorQueryMode, VectorStoreQuery,
};

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("llamaindex-persist.expected.json")).expect("expected file");
    serde_json::from_str(&text).expect("expected parses")
}

#[tokio::test]
async fn imported_fixture_answers_the_recorded_vector_queries_as_llamaindex() {
    let (_d, ctx) = ctx().await;
    let summary = ctx.import_persist_dir(fixtures().join("llamaindex-persist"), &quiet).await.expect("import");
    let counts = &expected()["counts"];
    let vectors: Vec<(String, usize)> = summary.vector_namespaces.clone();
    assert!(vectors.contains(&("default".into(), counts["vector_store_default"].as_u64().expect("n") as usize)));
    assert!(vectors.contains(&("image".into(), 0)));
    let queries = expected()["vector_queries"].as_array().expect("queries").clone();
    assert_eq!(queries.len(), 25);
    for case in queries {
        let name = case["name"].as_str().expect("name");
        let query: VectorStoreQuery = serde_json::from_value(case["query"].clone()).expect("a LlamaIndex query");
        let kwargs = case["query"]["query_kwargs"].as_object().cloned().unwrap_or_default();
        let got = ctx.vector_store().query_with_kwargs(&query, &kwargs).await.expect(name);
        let want_ids: Vec<String> = serde_json::from_value(case["result"]["ids"].clone()).expect("ids");
        let want_sims: Vec<f64> = serde_json::from_value(case["result"]["similarities"].clone()).expect("sims");
        assert_eq!(got.ids, want_ids, "{name}: ids in order");
        assert_eq!(got.nodes.len(), got.ids.len(), "{name}: a node per id");
        for (i, (g, w)) in got.similarities.iter().zip(&want_sims).enumerate() {
            assert!((g - w).abs() < 1e-6, "{name}[{i}]: similarity {g} vs {w}");
        }
    }
}

/// LlamaIndex's `test_simple.py` data: weights 1/2/3, ranks a/c/c, embeddings [1,0],
/// [0,1], [1,1], sources test-0/1/2.
fn three_nodes() -> Vec<Node> {
    let rows = [
        ("AF3BE6C4", 1.0, "a", json!(["medium", "high"]), "6FTR78Y", [1.0, 0.0]),
        ("7D9CD555", 2.0, "c", json!(["medium"]), "6FTR78Ygh", [0.0, 1.0]),
        ("452D24AB", 3.0, "c", json!(["low", "medium", "high"]), "6FTR7", [1.0, 1.0]),
    ];
    rows.iter()
        .enumerate()
        .map(|(i, (id, weight, rank, quality, ident, emb))| {
            let mut n = child(id, "lorem ipsum", &format!("test-{i}"))
                .with_metadata(obj(json!({"weight": weight, "rank": rank, "quality": quality, "identifier": ident})));
            n.embedding = Some(emb.to_vec());
            n
        })
        .collect()
}

fn q(top_k: usize, filters: Option<MetadataFilters>) -> VectorStoreQuery {
    VectorStoreQuery { query_embedding: Some(vec![1.0, 1.0]), similarity_top_k: top_k, filters, ..Default::default() }
}

fn filters(items: Vec<(&str, Value, Op)>, condition: FilterCondition) -> MetadataFilters {
    let items = items.into_iter().map(|(k, v, op)| FilterItem::Filter(MetadataFilter::new(k, v, op))).collect();
    MetadataFilters::new(items, condition)
}

#[tokio::test]
async fn simple_vector_store_cases() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    let ids = vs.add(&three_nodes()).await.expect("add");
    assert_eq!(ids, ["AF3BE6C4", "7D9CD555", "452D24AB"]);
    let run = |query: VectorStoreQuery| {
        let vs = vs.clone();
        async move { vs.query(&query).await.expect("query").ids }
    };
    let all = run(q(3, None)).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], "452D24AB", "the [1,1] node is closest to [1,1]");
    let rank_c = filters(vec![("rank", json!("c"), Op::Eq)], FilterCondition::And);
    assert_eq!(run(q(3, Some(rank_c.clone()))).await, ["452D24AB", "7D9CD555"]);
    assert_eq!(run(q(1, Some(rank_c.clone()))).await, ["452D24AB"]);
    let with_ids = VectorStoreQuery { node_ids: Some(vec!["452D24AB".into()]), ..q(3, Some(rank_c)) };
    assert_eq!(run(with_ids).await, ["452D24AB"]);
    let exact = filters(vec![("rank", json!("c"), Op::Eq), ("weight", json!(2.0), Op::Eq)], FilterCondition::And);
    assert_eq!(run(q(1, Some(exact))).await, ["7D9CD555"]);
    let contradictory = filters(vec![("weight", json!(2), Op::Eq), ("weight", json!(3), Op::Eq)], FilterCondition::And);
    assert!(run(q(3, Some(contradictory))).await.is_empty());
    assert!(run(q(3, Some(filters(vec![("unknown", json!("x"), Op::Eq)], FilterCondition::And)))).await.is_empty());
    let or = filters(vec![("rank", json!("c"), Op::Eq), ("weight", json!(1.0), Op::Eq)], FilterCondition::Or);
    assert_eq!(run(q(3, Some(or))).await.len(), 3);
    let not = filters(vec![("rank", json!("a"), Op::Eq)], FilterCondition::Not);
    assert_eq!(run(q(3, Some(not))).await.len(), 2);
    // doc_ids restrict to those source documents (upstream main; 0.14.25 ignores them).
    let by_doc = VectorStoreQuery { doc_ids: Some(vec!["test-0".into()]), ..q(3, None) };
    assert_eq!(run(by_doc).await, ["AF3BE6C4"]);
    assert!(run(VectorStoreQuery { doc_ids: Some(vec![]), ..q(3, None) }).await.is_empty());
    // similarity_top_k = 0 answers nothing (upstream main).
    assert!(run(q(0, None)).await.is_empty());

    // The returned nodes are the stored nodes.
    let res = vs.query(&q(1, None)).await.expect("query");
    assert_eq!(res.nodes[0].text(), "lorem ipsum");
    assert_eq!(res.nodes[0].ref_doc_id(), Some("test-2"));
    assert!((res.similarities[0] - 1.0).abs() < 1e-9);

    // delete(ref_doc_id) removes the node whose source is test-1.
    vs.delete("test-1").await.expect("delete");
    assert_eq!(run(q(2, None)).await, ["452D24AB", "AF3BE6C4"]);
}

#[tokio::test]
async fn add_replaces_and_delete_nodes_get_nodes_clear() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    vs.add(&three_nodes()).await.expect("add");
    // Re-adding an id replaces its vector, text and source, and keeps its place.
    let original = three_nodes().remove(0);
    let mut moved = child("AF3BE6C4", "moved along", "test-9").with_metadata(original.metadata.clone());
    moved.embedding = Some(vec![0.0, 1.0]);
    vs.add(&[moved]).await.expect("re-add");
    let near_y = VectorStoreQuery { query_embedding: Some(vec![0.0, 1.0]), similarity_top_k: 2, ..Default::default() };
    let hits = vs.query(&near_y).await.expect("query");
    assert!(hits.similarities.iter().all(|s| (s - 1.0).abs() < 1e-9), "{hits:?}");
    let replaced = hits.nodes.iter().find(|n| n.id == "AF3BE6C4").expect("the replaced node is a hit");
    assert_eq!((replaced.text(), replaced.ref_doc_id()), ("moved along", Some("test-9")), "a hit is the new node");
    let listed: Vec<String> = vs.get_nodes(None, None).await.expect("all").iter().map(|n| n.id.clone()).collect();
    assert_eq!(listed, ["AF3BE6C4", "7D9CD555", "452D24AB"], "insertion order kept on replace");
    let stats = vs.index_stats().await.expect("index stats");
    assert_eq!((stats.vectors, stats.unindexed), (3, 0), "{stats:?}");

    let high = filters(vec![("quality", json!("high"), Op::Contains)], FilterCondition::And);
    let got = vs.get_nodes(None, Some(&high)).await.expect("filtered");
    assert_eq!(got.len(), 2);
    let some = vec!["AF3BE6C4".to_string(), "7D9CD555".to_string()];
    vs.delete_nodes(Some(&some), Some(&high)).await.expect("delete_nodes");
    let left: Vec<String> = vs.get_nodes(None, None).await.expect("all").iter().map(|n| n.id.clone()).collect();
    assert_eq!(left, ["7D9CD555", "452D24AB"], "only ids in the list that pass the filter go");
    vs.delete_nodes(Some(&[]), None).await.expect("nothing");
    assert_eq!(vs.get_nodes(None, None).await.expect("all").len(), 2);
    vs.delete_nodes(None, None).await.expect("everything");
    assert!(vs.get_nodes(None, None).await.expect("all").is_empty());
    vs.add(&three_nodes()).await.expect("add again");
    vs.clear().await.expect("clear");
    assert!(vs.query(&q(3, None)).await.expect("query").ids.is_empty());
    assert_eq!(vs.index_stats().await.expect("index stats").vectors, 0);
}

#[tokio::test]
async fn mmr_mode_follows_llamaindex() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    let mut nodes = Vec::new();
    for (id, emb) in [("a", [1.0, 0.0]), ("b", [1.0, 0.0]), ("c", [0.0, 1.0])] {
        let mut n = Node::text_node(id, id);
        n.embedding = Some(emb.to_vec());
        nodes.push(n);
    }
    vs.add(&nodes).await.expect("add");
    let query = VectorStoreQuery {
        query_embedding: Some(vec![1.0, 0.0]),
        similarity_top_k: 2,
        mode: VectorQueryMode::Mmr,
        mmr_threshold: Some(0.9),
        ..Default::default()
    };
    let ids = |kwargs: Value| {
        let (vs, query) = (vs.clone(), query.clone());
        async move { vs.query_with_kwargs(&query, kwargs.as_object().expect("object")).await.expect("mmr").ids }
    };
    assert_eq!(ids(json!({"mmr_threshold": 0.0})).await, ["a", "c"]);
    assert_eq!(ids(json!({"mmr_threshold": 0.25})).await, ["a", "c"]);
    assert_eq!(ids(json!({"mmr_threshold": 1.0})).await, ["a", "b"]);
    assert_eq!(ids(json!({"mmr_threshold": null})).await, ["a", "b"], "an explicit None beats the query field");
    assert_eq!(ids(json!({})).await, ["a", "b"], "the query field (0.9) when no keyword");
}

#[tokio::test]
async fn bad_vector_input_gets_typed_errors_and_changes_nothing() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    vs.add(&three_nodes()).await.expect("add");
    let store_err = |r: strata_client::Result<Vec<String>>| r.expect_err("refused").as_store().cloned();

    let mut wrong_dim = Node::text_node("x", "x");
    wrong_dim.embedding = Some(vec![1.0, 2.0, 3.0]);
    let ok = three_nodes().remove(1);
    assert!(matches!(
        store_err(vs.add(&[ok.clone(), wrong_dim]).await),
        Some(ApiError::WrongDimension { expected: 2, got: 3, .. })
    ));
    let mut nan = Node::text_node("y", "y");
    nan.embedding = Some(vec![f64::NAN, 1.0]);
    assert!(matches!(store_err(vs.add(&[nan]).await), Some(ApiError::InvalidVector { .. })));
    let mut zero = Node::text_node("z", "z");
    zero.embedding = Some(vec![0.0, 0.0]);
    assert!(matches!(store_err(vs.add(&[zero]).await), Some(ApiError::InvalidVector { .. })));
    assert!(matches!(
        store_err(vs.add(&[Node::text_node("e", "no embedding")]).await),
        Some(ApiError::InvalidInput(_))
    ));

    let bad_query = VectorStoreQuery { query_embedding: Some(vec![1.0]), ..q(1, None) };
    let err = vs.query(&bad_query).await.expect_err("wrong dimension");
    assert!(matches!(err.as_store(), Some(ApiError::WrongDimension { .. })), "{err}");
    let err = vs.query(&VectorStoreQuery { query_embedding: None, ..q(1, None) }).await.expect_err("no embedding");
    assert!(matches!(err.as_store(), Some(ApiError::InvalidInput(_))), "{err}");
    // The learner modes (scikit-learn in LlamaIndex) are refused, unless nothing is
    // allowed: then LlamaIndex answers nothing, and so does Strata. Other modes never.
    for mode in [VectorQueryMode::Svm, VectorQueryMode::LinearRegression, VectorQueryMode::LogisticRegression] {
        let learner = VectorStoreQuery { mode, ..q(1, None) };
        let err = vs.query(&learner).await.expect_err("learner");
        assert!(matches!(err.as_store(), Some(ApiError::UnsupportedQueryMode(_))), "{err}");
        let nothing = filters(vec![("rank", json!("zzz"), Op::Eq)], FilterCondition::And);
        let none_allowed = VectorStoreQuery { mode, ..q(1, Some(nothing)) };
        let answer = vs.query(&none_allowed).await.expect("no candidates");
        assert!(answer.ids.is_empty() && answer.similarities.is_empty(), "{answer:?}");
    }
    let sparse = VectorStoreQuery { mode: VectorQueryMode::Sparse, ..q(1, None) };
    assert!(matches!(vs.query(&sparse).await.expect_err("sparse").as_store(), Some(ApiError::UnsupportedQueryMode(_))));
    let type_error = filters(vec![("rank", json!(3), Op::Gt)], FilterCondition::And);
    let err = vs.query(&q(3, Some(type_error))).await.expect_err("str > int");
    assert!(matches!(err.as_store(), Some(ApiError::InvalidFilter(_))), "{err}");
    let bool_value = filters(vec![("flag", json!(true), Op::Eq)], FilterCondition::And);
    let err = vs.query(&q(3, Some(bool_value))).await.expect_err("bool value");
    assert!(matches!(err.as_store(), Some(ApiError::InvalidFilter(_))), "{err}");
    let err = ctx.vector_store_in("nope").query(&q(1, None)).await.expect_err("unknown namespace");
    assert!(matches!(err.as_store(), Some(ApiError::UnknownNamespace { .. })), "{err}");

    let listed: Vec<String> = vs.get_nodes(None, None).await.expect("all").iter().map(|n| n.id.clone()).collect();
    assert_eq!(listed, ["AF3BE6C4", "7D9CD555", "452D24AB"], "nothing changed");
}

#[tokio::test]
async fn namespaces_are_separate_and_keep_their_settings() {
    let (_d, ctx) = ctx().await;
    let settings = strata_client::api::VectorNamespace {
        name: "products".into(),
        dim: 2,
        distance: strata_client::api::Distance::Dot,
        partitions: 1,
    };
    let products = ctx.add_vector_store(settings.clone()).await.expect("create");
    ctx.add_vector_store(settings.clone()).await.expect("same settings again");
    let other = strata_client::api::VectorNamespace { dim: 3, ..settings };
    assert!(ctx.add_vector_store(other).await.is_err(), "other settings are refused");
    products.add(&three_nodes()).await.expect("add");
    // Dot product: [1,1]·[1,1] = 2.
    let res = products.query(&q(1, None)).await.expect("query");
    assert_eq!(res.ids, ["452D24AB"]);
    assert!((res.similarities[0] - 2.0).abs() < 1e-9);
    assert!(ctx.vector_store().query(&q(3, None)).await.expect("default is empty").ids.is_empty());
    let names: Vec<String> = ctx.vector_namespaces().await.expect("namespaces").into_iter().map(|n| n.name).collect();
    assert_eq!(names, ["default", "image", "products"]);
}

/// LlamaIndex keeps vectors in insertion order (a dict): listings follow it, and MMR's
/// ties go to the earlier vector. On a cluster the nodes land in separate partitions
/// (raft groups) and must still come back in the order they were added.
#[tokio::test]
async fn insertion_order_holds_across_calls_and_partitions() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    let ids: Vec<String> = (0..24).map(|i| format!("n{:02}", (i * 7) % 24)).collect();
    let nodes: Vec<Node> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let angle = i as f64 * 0.37;
            let mut n = Node::text_node(id, id).with_metadata(obj(json!({ "rank": i })));
            n.embedding = Some(vec![angle.cos(), angle.sin()]);
            n
        })
        .collect();
    for chunk in nodes.chunks(5) {
        vs.add(chunk).await.expect("add");
    }
    let listed = |vs: strata_client::VectorStore| async move {
        vs.get_nodes(None, None).await.expect("all").into_iter().map(|n| n.id).collect::<Vec<_>>()
    };
    assert_eq!(listed(vs.clone()).await, ids, "get_nodes lists in insertion order");
    // λ = 0 scores every first candidate 0: LlamaIndex picks the earliest inserted.
    let mmr = |filters: Option<MetadataFilters>| VectorStoreQuery {
        query_embedding: Some(vec![0.0, 1.0]),
        similarity_top_k: 1,
        mode: VectorQueryMode::Mmr,
        mmr_threshold: Some(0.0),
        filters,
        ..Default::default()
    };
    assert_eq!(vs.query(&mmr(None)).await.expect("mmr").ids, [ids[0].clone()]);
    let later = filters(vec![("rank", json!(10), Op::Gte)], FilterCondition::And);
    assert_eq!(vs.query(&mmr(Some(later))).await.expect("mmr").ids, [ids[10].clone()]);
    // Removed and added again: to the end, as a dict does.
    vs.delete_nodes(Some(&[ids[0].clone()]), None).await.expect("delete");
    vs.add(&nodes[..1]).await.expect("re-add");
    let mut moved = ids[1..].to_vec();
    moved.push(ids[0].clone());
    assert_eq!(listed(vs.clone()).await, moved);
    assert_eq!(vs.query(&mmr(None)).await.expect("mmr").ids, [ids[1].clone()]);
}

/// Equal similarities (the same chunk embedded twice) come back in the order
/// llama-index-core's bounded heap leaves them; answers recorded from 0.14.25's
/// `get_top_k_embeddings` on these vectors.
#[tokio::test]
async fn equal_similarities_come_in_llamaindex_heap_order() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    let sims = [0.5, 0.9, 0.5, 0.7, 0.9, 0.5, 0.1, 0.9, 0.5, 0.7];
    let nodes: Vec<Node> = sims
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
        .map(|(s, id)| {
            let mut n = Node::text_node(id, id);
            n.embedding = Some(vec![*s, (1.0 - s * s).sqrt()]);
            n
        })
        .collect();
    vs.add(&nodes).await.expect("add");
    for (k, want) in [
        (3, vec!["b", "e", "h"]),
        (4, vec!["b", "e", "h", "j"]),
        (6, vec!["b", "e", "h", "d", "j", "i"]),
        (10, vec!["h", "b", "e", "d", "j", "i", "a", "f", "c", "g"]),
    ] {
        let query =
            VectorStoreQuery { query_embedding: Some(vec![1.0, 0.0]), similarity_top_k: k, ..Default::default() };
        assert_eq!(vs.query(&query).await.expect("query").ids, want, "top {k}");
    }
}

/// `similarity_top_k=None` (null in JSON) is no limit in LlamaIndex: every allowed
/// vector, best first (or all of them through MMR).
#[tokio::test]
async fn no_top_k_limit_answers_every_allowed_vector() {
    let (_d, ctx) = ctx().await;
    let vs = ctx.vector_store();
    vs.add(&three_nodes()).await.expect("add");
    let query: VectorStoreQuery =
        serde_json::from_value(json!({"query_embedding": [1.0, 1.0], "similarity_top_k": null})).expect("query");
    assert_eq!(query.similarity_top_k, strata_client::api::NO_LIMIT);
    let all = vs.query(&query).await.expect("query");
    assert_eq!(all.ids, ["452D24AB", "7D9CD555", "AF3BE6C4"]);
    let mmr = VectorStoreQuery { mode: VectorQueryMode::Mmr, ..query.clone() };
    assert_eq!(vs.query(&mmr).await.expect("mmr").ids.len(), 3);
    let some = filters(vec![("rank", json!("c"), Op::Eq)], FilterCondition::And);
    let filtered = VectorStoreQuery { filters: Some(some), ..query };
    assert_eq!(vs.query(&filtered).await.expect("filtered").ids, ["452D24AB", "7D9CD555"]);
}
