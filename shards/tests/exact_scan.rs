//! The exact scan (`NamespaceIndex::top_k`) shortlists large candidate sets in f32 before
//! scoring in f64: its answers must be those of scoring every candidate in f64 and
//! running LlamaIndex's heap over them, near-ties and exact ties included.

mod common;

use common::{Rng, record};
use strata_api::Distance;
use strata_shards::vector::index::NamespaceIndex;
use strata_shards::vector::pyheap;

const DIM: usize = 48;
const N: usize = 3_000;

/// Every candidate (in insertion order) scored in f64, through LlamaIndex's heap
/// (`pyheap` is checked against llama-index-core's answers in its own tests).
fn reference(ix: &NamespaceIndex, query: &[f32], candidates: &[u32], k: usize) -> Vec<(String, f64)> {
    let qn = query.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    let all: Vec<(f64, String)> =
        candidates.iter().map(|s| (ix.score(query, qn, *s), ix.slots()[*s as usize].node_id.to_string())).collect();
    let entries: Vec<pyheap::Entry<'_>> = all.iter().map(|(s, id)| (*s, id.as_str())).collect();
    pyheap::llamaindex_top_k(&entries, k).into_iter().map(|i| (all[i].1.clone(), all[i].0)).collect()
}

#[test]
fn shortlisted_exact_scan_equals_scoring_every_candidate_in_f64() {
    for distance in [Distance::Cosine, Distance::Dot] {
        let mut rng = Rng(0xe7ac_7000_0000_0001);
        let centres: Vec<Vec<f32>> = (0..20).map(|_| (0..DIM).map(|_| 2.0 * rng.next()).collect()).collect();
        let mut ix = NamespaceIndex::new(DIM, distance);
        let mut kept: Vec<Vec<f32>> = Vec::new();
        for i in 0..N {
            // Every seventh vector repeats an earlier one (exact ties), every eleventh is
            // an earlier one nudged by one ulp-sized step (near-ties).
            let v = match i {
                i if i > 0 && i % 7 == 0 => kept[i / 2].clone(),
                i if i > 0 && i % 11 == 0 => kept[i / 3].iter().map(|x| x * (1.0 + 1e-7)).collect(),
                _ => rng.clustered(&centres, 0.3),
            };
            kept.push(v.clone());
            ix.upsert(&record(i, v), i as u64).expect("upsert");
        }
        let all: Vec<u32> = (0..N as u32).collect();
        for q in 0..40 {
            // Half the queries are stored vectors: their duplicates tie at the top.
            let query = if q % 2 == 0 { kept[q * 37].clone() } else { rng.clustered(&centres, 0.3) };
            for k in [1, 10, 50] {
                let got: Vec<(String, f64)> = ix
                    .top_k(&query, &all, k)
                    .iter()
                    .map(|s| (ix.slots()[s.slot as usize].node_id.to_string(), s.similarity))
                    .collect();
                assert_eq!(got, reference(&ix, &query, &all, k), "{distance:?} query {q} k {k}");
            }
        }
    }
}
