//! The triplet graph store (`reference/llamaindex-storage.md` §6, `SimpleGraphStore`):
//! pairs kept once per subject, LlamaIndex's depth-first `get_rel_map` with its global
//! budget, the intended `delete`, and typed errors for what it does not offer.

use crate::support::ctx;
use strata_client::api::Error as ApiError;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(r, o)| (r.to_string(), o.to_string())).collect()
}

fn rows(map: &[(String, Vec<[String; 3]>)], subj: &str) -> Vec<String> {
    map.iter().find(|(s, _)| s == subj).map(|(_, r)| r.iter().map(|t| t.join(" ")).collect()).unwrap_or_default()
}

#[tokio::test]
async fn triplets_are_kept_once_in_order_and_deleted_as_intended() {
    let (_d, ctx) = ctx().await;
    let g = ctx.graph_store();
    assert!(g.get("alice").await.expect("get").is_empty(), "an unknown subject has no pairs");
    g.upsert_triplet("alice", "knows", "bob").await.expect("upsert");
    g.upsert_triplet("alice", "likes", "carol").await.expect("upsert");
    g.upsert_triplet("alice", "knows", "bob").await.expect("upsert again");
    g.upsert_triplet("bob", "knows", "dave").await.expect("upsert");
    assert_eq!(g.get("alice").await.expect("get"), pairs(&[("knows", "bob"), ("likes", "carol")]));
    let dict = g.graph_dict().await.expect("dict");
    assert_eq!(dict.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["alice", "bob"]);
    // The intended delete (0.14.25 compares a tuple with lists and never deletes).
    g.delete("alice", "knows", "bob").await.expect("delete");
    assert_eq!(g.get("alice").await.expect("get"), pairs(&[("likes", "carol")]));
    g.delete("bob", "knows", "dave").await.expect("delete");
    assert!(g.get("bob").await.expect("get").is_empty());
    let dict = g.graph_dict().await.expect("dict");
    assert_eq!(dict.len(), 1, "a subject with no pair left is gone: {dict:?}");
    g.delete("nobody", "knows", "bob").await.expect("deleting what is not there is fine");
    // A subject emptied and filled again moves to the end, as a dict key does.
    g.upsert_triplet("bob", "x", "y").await.expect("upsert");
    g.delete("alice", "likes", "carol").await.expect("delete");
    g.upsert_triplet("alice", "x", "y").await.expect("upsert");
    let dict = g.graph_dict().await.expect("dict");
    assert_eq!(dict.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["bob", "alice"]);
}

#[tokio::test]
async fn rel_map_is_llamaindexs_depth_first_walk_with_a_global_budget() {
    let (_d, ctx) = ctx().await;
    let g = ctx.graph_store();
    for (s, r, o) in [("a", "r", "b"), ("b", "r", "a"), ("b", "s", "c"), ("a", "t", "d"), ("e", "r", "f")] {
        g.upsert_triplet(s, r, o).await.expect("upsert");
    }
    let a = vec!["a".to_string()];
    // No cycle detection: the cycle a-b-a repeats once per level, as LlamaIndex's does.
    let map = g.get_rel_map(Some(&a), 3, 30).await.expect("rel map");
    assert_eq!(rows(&map, "a"), ["a r b", "b r a", "a r b", "a t d", "b s c", "a t d"]);
    let map = g.get_rel_map(Some(&a), 1, 30).await.expect("depth 1");
    assert_eq!(rows(&map, "a"), ["a r b", "a t d"]);
    assert!(g.get_rel_map(Some(&a), 0, 30).await.expect("depth 0")[0].1.is_empty());
    // The budget: subjects in order, the one overflowing it cut, later ones absent.
    let subjects: Vec<String> = ["e", "a", "zz", "b"].iter().map(|s| s.to_string()).collect();
    let map = g.get_rel_map(Some(&subjects), 2, 3).await.expect("budget");
    assert_eq!(map.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["e", "a"]);
    assert_eq!(rows(&map, "e"), ["e r f"]);
    assert_eq!(rows(&map, "a"), ["a r b", "b r a"]);
    // No subjects given: every subject, in insertion order.
    let map = g.get_rel_map(None, 1, 30).await.expect("all");
    assert_eq!(map.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["a", "b", "e"]);
    // An unknown subject maps to nothing; a repeated one appears once.
    let subjects: Vec<String> = ["q", "e", "e"].iter().map(|s| s.to_string()).collect();
    let map = g.get_rel_map(Some(&subjects), 2, 30).await.expect("unknown");
    assert_eq!(map.len(), 2);
    assert!(rows(&map, "q").is_empty());
}

#[tokio::test]
async fn query_is_refused_with_a_typed_error_and_the_schema_names_the_relations() {
    let (_d, ctx) = ctx().await;
    let g = ctx.graph_store();
    g.upsert_triplet("alice", "knows", "bob").await.expect("upsert");
    let err = g.query("MATCH (n) RETURN n").await.expect_err("no query language");
    assert!(matches!(err.as_store(), Some(ApiError::Unsupported(_))), "{err}");
    let schema = g.get_schema().await.expect("schema");
    assert!(schema.contains("The relationships:\n(:Entity)-[:knows]->(:Entity)"), "{schema}");
}
