//! Recall of the HNSW path on `testdata/wordnet-minilm` (20,000 real 384-d sentence
//! embeddings, 1,000 queries, exact top-100 per query): top-10 agrees with the exact top-10
//! at ≥ 0.95; a 1%-selective filter returns exactly what the exact filtered scan returns;
//! a 25%-selective filter (searched through the graph) keeps recall ≥ 0.95.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code

use std::path::PathBuf;
use std::time::Duration;
use strata_api::{Distance, FilterItem, FilterOperator, JsonText, MetadataFilter, MetadataFilters, VectorRecord};
use strata_shards::vector::index::{NamespaceIndex, Restriction};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/wordnet-minilm")
}

/// Reads a 2-d little-endian `.npy` array of f32 or i32 (as f32 bits or i32 values).
fn npy(name: &str) -> (Vec<u8>, usize, usize) {
    let bytes = std::fs::read(data_dir().join(name)).expect("read .npy");
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).expect("header");
    let shape = header.split("'shape': (").nth(1).expect("shape").split(')').next().expect("shape");
    let dims: Vec<usize> = shape.split(',').filter_map(|d| d.trim().parse().ok()).collect();
    (bytes[10 + header_len..].to_vec(), dims[0], dims[1])
}

fn f32s(name: &str) -> (Vec<f32>, usize) {
    let (raw, _, cols) = npy(name);
    (raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(), cols)
}

fn i32s(name: &str) -> (Vec<i32>, usize) {
    let (raw, _, cols) = npy(name);
    (raw.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(), cols)
}

fn bucket_filter(key: &str, value: i64) -> MetadataFilters {
    let f = MetadataFilter::new(key, serde_json::json!(value), FilterOperator::Eq);
    MetadataFilters { filters: vec![FilterItem::Filter(f)], condition: None }
}

#[test]
fn hnsw_recall_at_10_on_real_embeddings() {
    let (base, dim) = f32s("base.npy");
    let (queries, _) = f32s("queries.npy");
    let (gt, gt_cols) = i32s("queries_gt100.npy");
    let n = base.len() / dim;
    let mut ix = NamespaceIndex::new(dim, Distance::Cosine);
    for i in 0..n {
        let metadata = serde_json::json!({"p1": i % 100, "p25": i % 4});
        let record = VectorRecord {
            node_id: i.to_string(),
            embedding: base[i * dim..(i + 1) * dim].to_vec(),
            ref_doc_id: None,
            metadata: JsonText::from_map(metadata.as_object().expect("object")),
            node: None,
            exact_f32: false,
        };
        ix.upsert(&record, i as u64).expect("upsert");
    }
    assert!(ix.wait_indexed(Duration::from_secs(600)), "the graph covers every vector");

    let open = Restriction { node_ids: None, doc_ids: None, filters: None };
    let nq = 300;
    let mut hits = 0usize;
    for q in 0..nq {
        let query = &queries[q * dim..(q + 1) * dim];
        let got = ix.search(query, &open, 10, None).expect("search");
        let truth: Vec<String> = gt[q * gt_cols..q * gt_cols + 10].iter().map(|i| i.to_string()).collect();
        hits += got.iter().filter(|s| truth.contains(&ix.slots()[s.slot as usize].node_id.to_string())).count();
    }
    let recall = hits as f64 / (nq * 10) as f64;
    eprintln!("HNSW recall@10 on {nq} queries: {recall:.4}");
    assert!(recall >= 0.95, "recall@10 {recall}");

    // Filters: compared with the exact filtered scan on the same data.
    for (key, value, min_recall) in [("p1", 7, 1.0), ("p25", 3, 0.95)] {
        let filters = bucket_filter(key, value);
        let restricted = Restriction { node_ids: None, doc_ids: None, filters: Some(&filters) };
        let mut agree = 0usize;
        for q in 0..100 {
            let query = &queries[q * dim..(q + 1) * dim];
            let got = ix.search(query, &restricted, 10, None).expect("filtered search");
            let exact = ix.search_exact(query, &restricted, 10, None).expect("exact filtered search");
            assert_eq!(got.len(), 10, "{key}: k results when k exist");
            let want: Vec<u32> = exact.iter().map(|s| s.slot).collect();
            agree += got.iter().filter(|s| want.contains(&s.slot)).count();
        }
        let recall = agree as f64 / 1000.0;
        eprintln!("filter {key} == {value}: recall@10 {recall:.4}");
        assert!(recall >= min_recall, "filter {key}: recall@10 {recall}");
    }
}
