//! Filtered search against the exact filtered scan, for every `FilterOperator` and for
//! AND / OR / NOT nesting, on 6,000 clustered vectors (enough for the HNSW path).
//!
//! Each filter comes in a selective form (the planner scans the allowed vectors exactly:
//! the answer must be identical, ids, order and similarities) and a broad form (searched
//! through the graph: every hit passes the filter, k hits whenever k are allowed, and the
//! top 10 agree with the exact filtered top 10 at ≥ 0.95).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code

use serde_json::{Value, json};
use std::time::Duration;
use strata_api::{
    Distance, FilterCondition, FilterItem, FilterOperator as Op, JsonText, MetadataFilter, MetadataFilters,
    VectorRecord,
};
use strata_shards::vector::filter;
use strata_shards::vector::index::{NamespaceIndex, Restriction};

mod common;
use common::Rng;

const N: usize = 6_000;
const DIM: usize = 32;

fn metadata(i: usize) -> Value {
    let mut m = json!({
        "i": i,
        "cat": format!("c{}", i % 10),
        "tags": [format!("t{}", i % 7), format!("u{}", i % 3), format!("v{}", i % 20)],
        "kind": if i.is_multiple_of(10) { "doc" } else { "chunk" },
        "flags": if i.is_multiple_of(10) { json!(["a"]) } else { json!(["a", "b"]) },
        "score": (i % 100) as f64 / 10.0,
        "title": format!("Item {i} of {}", ["Alpha", "beta", "GAMMA"][i % 3]),
    });
    match i % 5 {
        0 => m["note"] = json!(""),
        1 => {}
        _ => m["note"] = json!("x"),
    }
    if i.is_multiple_of(10) {
        m["extra"] = json!("e");
    }
    m
}

fn one(key: &str, value: Value, op: Op) -> FilterItem {
    FilterItem::Filter(MetadataFilter::new(key, value, op))
}

fn group(items: Vec<FilterItem>, condition: FilterCondition) -> MetadataFilters {
    MetadataFilters::new(items, condition)
}

/// (name, selective filter, broad filter).
fn cases() -> Vec<(&'static str, MetadataFilters, MetadataFilters)> {
    use FilterCondition::{And, Not, Or};
    let single = |item: FilterItem| group(vec![item], And);
    vec![
        ("==", single(one("i", json!(17), Op::Eq)), single(one("kind", json!("chunk"), Op::Eq))),
        ("!=", single(one("kind", json!("chunk"), Op::Ne)), single(one("cat", json!("c3"), Op::Ne))),
        (">", single(one("i", json!(N - 300), Op::Gt)), single(one("score", json!(1.0), Op::Gt))),
        (">=", single(one("i", json!(N - 300), Op::Gte)), single(one("score", json!(1.0), Op::Gte))),
        ("<", single(one("i", json!(300), Op::Lt)), single(one("i", json!(5_500), Op::Lt))),
        ("<=", single(one("i", json!(300), Op::Lte)), single(one("i", json!(5_500), Op::Lte))),
        (
            "in",
            single(one("i", json!([1, 2, 3, 500, 4_000]), Op::In)),
            single(one("cat", json!(["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]), Op::In)),
        ),
        (
            "nin",
            single(one("cat", json!(["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]), Op::Nin)),
            single(one("cat", json!(["c0"]), Op::Nin)),
        ),
        (
            "any",
            single(one("tags", json!(["v1", "zz"]), Op::Any)),
            single(one("tags", json!(["u1", "u2", "t3"]), Op::Any)),
        ),
        ("all", single(one("tags", json!(["t1", "u2"]), Op::All)), single(one("flags", json!(["a", "b"]), Op::All))),
        (
            "text_match",
            single(one("title", json!("Item 12"), Op::TextMatch)),
            single(one("title", json!("of"), Op::TextMatch)),
        ),
        (
            "text_match_insensitive",
            single(one("title", json!("item 12"), Op::TextMatchInsensitive)),
            single(one("title", json!("a"), Op::TextMatchInsensitive)),
        ),
        ("contains", single(one("tags", json!("v4"), Op::Contains)), single(one("flags", json!("b"), Op::Contains))),
        (
            "is_empty",
            group(vec![one("note", Value::Null, Op::IsEmpty), one("i", json!(1_000), Op::Lt)], And),
            single(one("extra", Value::Null, Op::IsEmpty)),
        ),
        (
            "AND",
            group(vec![one("cat", json!("c3"), Op::Eq), one("tags", json!("t2"), Op::Contains)], And),
            group(vec![one("score", json!(0.5), Op::Gte), one("kind", json!("chunk"), Op::Eq)], And),
        ),
        (
            "OR",
            group(vec![one("i", json!(7), Op::Eq), one("cat", json!("c9"), Op::Eq)], Or),
            group(vec![one("cat", json!("c1"), Op::Ne), one("i", json!(3), Op::Eq)], Or),
        ),
        ("NOT", group(vec![one("i", json!(200), Op::Gte)], Not), group(vec![one("cat", json!("c2"), Op::Eq)], Not)),
        (
            "nested AND(OR, NOT)",
            group(
                vec![
                    FilterItem::Group(group(
                        vec![one("cat", json!("c1"), Op::Eq), one("cat", json!("c2"), Op::Eq)],
                        Or,
                    )),
                    FilterItem::Group(group(vec![one("tags", json!("t0"), Op::Contains)], Not)),
                    one("i", json!(3_000), Op::Lt),
                ],
                And,
            ),
            group(
                vec![
                    FilterItem::Group(group(
                        vec![one("cat", json!("c1"), Op::Eq), one("score", json!(1.0), Op::Gt)],
                        Or,
                    )),
                    FilterItem::Group(group(vec![one("cat", json!("c5"), Op::Eq)], Not)),
                ],
                And,
            ),
        ),
    ]
}

#[test]
fn every_operator_and_nesting_matches_the_exact_filtered_scan() {
    let mut rng = Rng(0x0f11_7e45_0000_0001);
    let centres: Vec<Vec<f32>> = (0..60).map(|_| (0..DIM).map(|_| 2.0 * rng.next()).collect()).collect();
    let mut ix = NamespaceIndex::new(DIM, Distance::Cosine);
    for i in 0..N {
        let m = metadata(i);
        let record = VectorRecord {
            node_id: format!("n{i}"),
            embedding: rng.clustered(&centres, 0.4),
            ref_doc_id: None,
            metadata: JsonText::from_map(m.as_object().expect("object")),
            node: None,
            exact_f32: false,
        };
        ix.upsert(&record, i as u64).expect("upsert");
    }
    assert!(ix.wait_indexed(Duration::from_secs(600)), "the graph covers every vector");
    let queries: Vec<Vec<f32>> = (0..20).map(|_| rng.clustered(&centres, 0.4)).collect();
    let id = |ix: &NamespaceIndex, slot: u32| ix.slots()[slot as usize].node_id.to_string();

    for (name, selective, broad) in cases() {
        for (form, filters) in [("selective", &selective), ("broad", &broad)] {
            let r = Restriction { node_ids: None, doc_ids: None, filters: Some(filters) };
            let allowed: std::collections::HashSet<u32> = ix.allowed(&r).expect("allowed").into_iter().collect();
            assert!(!allowed.is_empty(), "{name} ({form}) allows nothing: a useless case");
            // The allowed set (narrowed by the metadata postings) is the full scan's.
            let scanned: std::collections::HashSet<u32> = (0..N)
                .filter(|i| filter::matches(filters, metadata(*i).as_object().expect("object")).expect("filter"))
                .map(|i| i as u32)
                .collect();
            assert_eq!(allowed, scanned, "{name} ({form}): allowed differs from a full scan of the metadata");
            if form == "selective" {
                assert!(allowed.len() <= 1_000, "{name} selective allows {}", allowed.len());
            } else {
                assert!(allowed.len() > 4_096, "{name} broad allows only {}", allowed.len());
            }
            let (mut agree, mut wanted) = (0, 0);
            for q in &queries {
                let got = ix.search(q, &r, 10, None).expect("search");
                let exact = ix.search_exact(q, &r, 10, None).expect("exact");
                assert_eq!(got.len(), exact.len(), "{name} ({form}): k hits when k are allowed");
                assert!(got.iter().all(|s| allowed.contains(&s.slot)), "{name} ({form}): a hit fails the filter");
                if form == "selective" {
                    let g: Vec<(String, f64)> = got.iter().map(|s| (id(&ix, s.slot), s.similarity)).collect();
                    let e: Vec<(String, f64)> = exact.iter().map(|s| (id(&ix, s.slot), s.similarity)).collect();
                    assert_eq!(g, e, "{name} (selective) differs from the exact filtered scan");
                }
                let truth: Vec<u32> = exact.iter().map(|s| s.slot).collect();
                agree += got.iter().filter(|s| truth.contains(&s.slot)).count();
                wanted += truth.len();
            }
            let recall = agree as f64 / wanted as f64;
            assert!(recall >= 0.95, "{name} ({form}): recall@10 {recall} against the exact filtered scan");
        }
    }
}
