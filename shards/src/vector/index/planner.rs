//! The search planner: each query gets an exact scan (similarities in f64 from the stored
//! f32 components, as LlamaIndex computes them in numpy) for small namespaces, node-id
//! lists and selective filters; otherwise a walk of the HNSW graph with the filter applied
//! on the way, plus an exact scan of the slots the published graph does not cover yet;
//! the winners are re-scored exactly. MMR ranks every allowed vector up to a bound.

use super::{NamespaceIndex, Restriction, Scored, norm64};
use crate::vector::ann::Ann;
use crate::vector::ann::graph::Dist;
use crate::vector::{mmr, mmr_candidates, pyheap, simd};
use strata_api::{Distance, Error};

/// Candidate lists (from node ids or filters) at most this large are scanned exactly
/// (or a twentieth of the namespace, when larger).
const EXACT_MAX: usize = 4_096;
/// MMR runs over every allowed vector (as LlamaIndex does) up to this many.
const MMR_EXACT_MAX: usize = 20_000;
/// Exact scans of more candidates than this are shortlisted in f32 before f64 scoring.
const SHORTLIST_MIN: usize = 256;
/// How far (in graph distance) past the k-th candidate the exact re-scoring looks.
const RESCORE_MARGIN: f32 = 1e-3;
/// How many of the walk's finds (by code distance) are measured exactly: this many times k,
/// and at least [`RESCORE_MIN`].
const RESCORE_FACTOR: usize = 3;
/// The fewest finds measured exactly (see [`RESCORE_FACTOR`]).
const RESCORE_MIN: usize = 32;
/// The graph search's candidate list size for an unfiltered top-10 (recall@10 ≈ 0.98 on
/// real 384-d embeddings) up to [`EF_GROWS_FROM`] vectors; larger for larger k, for
/// filters and for larger graphs (see [`base_ef`]).
pub const EF_SEARCH: usize = 64;
/// Graphs larger than this get a larger `ef`: a walk over a larger graph needs a longer
/// candidate list for the same recall (64 gave 0.952 at a million vectors, 0.999 at 100k).
pub const EF_GROWS_FROM: usize = 250_000;

/// The candidate list size of an unfiltered top-10 walk over a graph of `n` vectors:
/// [`EF_SEARCH`], plus 16 for each doubling past [`EF_GROWS_FROM`] (96 at a million).
pub fn base_ef(n: usize) -> usize {
    if n <= EF_GROWS_FROM {
        return EF_SEARCH;
    }
    let doublings = (n as f64 / EF_GROWS_FROM as f64).log2();
    EF_SEARCH + (16.0 * doublings).round() as usize
}

impl NamespaceIndex {
    /// Every allowed live slot, in insertion order.
    pub fn allowed(&self, restriction: &Restriction<'_>) -> Result<Vec<u32>, Error> {
        let mut out = self.allowed_in_slot_order(restriction)?;
        out.sort_by_key(|s| self.slots[*s as usize].seq);
        Ok(out)
    }

    /// Every allowed live slot, by slot (node ids: in the order given). Filters are read
    /// from the metadata postings where they bound them exactly, and evaluated on the
    /// candidates the postings leave (or on every slot) otherwise.
    fn allowed_in_slot_order(&self, restriction: &Restriction<'_>) -> Result<Vec<u32>, Error> {
        let mut out = Vec::new();
        if let Some(ids) = restriction.node_ids {
            // Look the ids up instead of scanning every slot.
            let mut seen = std::collections::HashSet::new();
            for id in ids {
                if let Some(slot) = self.slot_of(id)
                    && seen.insert(slot)
                    && restriction.allows(&self.slots[slot as usize])?
                {
                    out.push(slot);
                }
            }
            return Ok(out);
        }
        match restriction.filters.and_then(|f| self.postings.candidates(f)) {
            Some(bound) if bound.exact => {
                out = bound.slots;
                out.retain(|s| restriction.allows_ignoring_filters(&self.slots[*s as usize]));
            }
            Some(bound) => {
                for s in bound.slots {
                    if restriction.allows(&self.slots[s as usize])? {
                        out.push(s);
                    }
                }
            }
            None => {
                for (i, slot) in self.slots.iter().enumerate() {
                    if restriction.allows(slot)? {
                        out.push(i as u32);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The `k` most similar of `candidates` (all when `k` exceeds them), best first; at
    /// the cut equal similarities keep the later id, and within the answer they come in
    /// the order LlamaIndex's heap leaves them (see [`pyheap`]).
    pub fn top_k(&self, query: &[f32], candidates: &[u32], k: usize) -> Vec<Scored> {
        let scored = self.top_k_by_similarity(query, candidates, k);
        if !scored.windows(2).any(|w| w[0].similarity == w[1].similarity) {
            return scored;
        }
        // Ties: LlamaIndex's order depends on every candidate, in insertion order.
        let mut in_order = candidates.to_vec();
        in_order.sort_by_key(|s| self.slots[*s as usize].seq);
        let qn = norm64(query);
        let entries: Vec<pyheap::Entry<'_>> =
            in_order.iter().map(|s| (self.score(query, qn, *s), &*self.slots[*s as usize].node_id)).collect();
        pyheap::llamaindex_top_k(&entries, k)
            .into_iter()
            .map(|i| Scored { slot: in_order[i], similarity: entries[i].0 })
            .collect()
    }

    fn top_k_by_similarity(&self, query: &[f32], candidates: &[u32], k: usize) -> Vec<Scored> {
        let shortlist;
        let candidates =
            if k > 0 && candidates.len() > SHORTLIST_MIN.max(k.saturating_mul(4)) && self.distance != Distance::L2 {
                shortlist = self.shortlist(query, candidates, k);
                shortlist.as_slice()
            } else {
                candidates
            };
        let qn = norm64(query);
        let mut scored: Vec<Scored> =
            candidates.iter().map(|s| Scored { slot: *s, similarity: self.score(query, qn, *s) }).collect();
        let by_rank = |a: &Scored, b: &Scored| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| self.slots[b.slot as usize].node_id.cmp(&self.slots[a.slot as usize].node_id))
        };
        if k < scored.len() {
            scored.select_nth_unstable_by(k, by_rank);
            scored.truncate(k);
        }
        scored.sort_by(by_rank);
        scored
    }

    /// The candidates whose f32 similarity (one SIMD pass) is within a wide margin of the
    /// k-th best: f32 and f64 agree to ~1e-6, so the exact top k is among them and only
    /// they are scored in f64. Cosine and dot only (`k` > 0).
    fn shortlist(&self, query: &[f32], candidates: &[u32], k: usize) -> Vec<u32> {
        let qn = norm64(query);
        let (q, margin): (Vec<f32>, f32) = match self.distance {
            Distance::Cosine => (query.iter().map(|x| (f64::from(*x) / qn) as f32).collect(), RESCORE_MARGIN),
            _ => {
                let widest = candidates.iter().map(|s| self.norms[*s as usize]).fold(0.0f64, f64::max);
                (query.to_vec(), RESCORE_MARGIN * (qn * widest) as f32)
            }
        };
        let mut measured: Vec<(Dist, u32)> = Vec::with_capacity(candidates.len());
        for (i, s) in candidates.iter().enumerate() {
            if let Some(ahead) = candidates.get(i + 2) {
                simd::prefetch(self.vector(*ahead));
            }
            measured.push((Dist(self.graph_distance(&q, 0.0, *s)), *s));
        }
        let kth = measured.select_nth_unstable(k - 1).1.0.0;
        let cut = kth + margin;
        measured.into_iter().filter(|(d, _)| d.0 <= cut).map(|(_, s)| s).collect()
    }

    /// The graph distance of `query` (unit length for cosine, with `query_sq` its squared
    /// norm for L2) to `slot`: smaller is closer, same order as the similarity.
    fn graph_distance(&self, query: &[f32], query_sq: f32, slot: u32) -> f32 {
        let d = simd::dot(query, self.vector(slot));
        match self.distance {
            Distance::Cosine => 1.0 - d * self.inv_norms[slot as usize],
            Distance::Dot => -d,
            Distance::L2 => {
                let n = self.norms[slot as usize] as f32;
                query_sq + n * n - 2.0 * d
            }
        }
    }

    /// Searches: the top `k` allowed vectors (or LlamaIndex's MMR when `mmr` is λ),
    /// exactly or through the graph (see the module docs).
    pub fn search(
        &self,
        query: &[f32],
        restriction: &Restriction<'_>,
        k: usize,
        mmr: Option<f64>,
    ) -> Result<Vec<Scored>, Error> {
        if k >= self.len() {
            // Every vector may be wanted (LlamaIndex's `similarity_top_k=None`): scan.
            return self.search_exact(query, restriction, k, mmr);
        }
        let graph = self.ann.as_ref().and_then(Ann::graph);
        let Some(graph) = graph.filter(|_| restriction.node_ids.is_none() && k > 0) else {
            return self.search_exact(query, restriction, k, mmr);
        };
        // Few allowed vectors are scanned exactly; otherwise the walk skips what is not
        // allowed (a mask from the filters, or only tombstones).
        let exact_max = EXACT_MAX.max(self.len() / 20);
        let exact_enough = |allowed: usize| allowed <= exact_max || (mmr.is_some() && allowed <= MMR_EXACT_MAX);
        let (mask, allowed) = if restriction.is_open() {
            if exact_enough(self.len()) {
                return self.search_exact(query, restriction, k, mmr);
            }
            (None, self.len())
        } else {
            let mut list = self.allowed_in_slot_order(restriction)?;
            if exact_enough(list.len()) {
                list.sort_by_key(|s| self.slots[*s as usize].seq);
                return Ok(self.rank(query, &list, k, mmr));
            }
            let mut mask = vec![false; self.slots.len()];
            for s in &list {
                mask[*s as usize] = true;
            }
            (Some(mask), list.len())
        };
        let want = if mmr.is_some() { mmr_candidates(k) } else { k };
        let selectivity = allowed as f64 / self.len().max(1) as f64;
        let ef = ((base_ef(graph.covered as usize).max(2 * want) as f64) / selectivity.max(0.05)).ceil() as usize;
        let unit: Vec<f32>;
        let (q, q_sq) = match self.distance {
            Distance::Cosine => {
                let inv = (1.0 / norm64(query)) as f32;
                unit = query.iter().map(|x| x * inv).collect();
                (unit.as_slice(), 0.0)
            }
            Distance::Dot => (query, 0.0),
            Distance::L2 => (query, simd::dot(query, query)),
        };
        let all_alive = self.dead == 0 && mask.is_none();
        let accept =
            |s: u32| all_alive || (self.slots[s as usize].alive && mask.as_ref().is_none_or(|m| m[s as usize]));
        // Walk on the codes, then measure the walk's first finds exactly: codes misplace
        // a vector by ~1e-3 at most, so the exact top k is among the first few k.
        let mut walked = graph.search(&graph.prepare(q), ef, &accept);
        walked.truncate(if mmr.is_some() { walked.len() } else { RESCORE_MIN.max(RESCORE_FACTOR.saturating_mul(k)) });
        let mut found = Vec::with_capacity(walked.len());
        for (i, (_, s)) in walked.iter().enumerate() {
            if let Some((_, ahead)) = walked.get(i + 2) {
                simd::prefetch(self.vector(*ahead));
            }
            found.push((Dist(self.graph_distance(q, q_sq, *s)), *s));
        }
        // Slots written after the published graph: scanned exactly.
        for s in graph.covered..self.slots.len() as u32 {
            if accept(s) {
                found.push((Dist(self.graph_distance(q, q_sq, s)), s));
            }
        }
        found.sort_unstable();
        if mmr.is_none() && found.len() > k {
            // Exact re-scoring can only reorder near-ties at the cut (f32 and f64 agree to
            // ~1e-6): keep the top k and whatever is within a wide margin of the k-th.
            let cut = found[k - 1].0.0 + RESCORE_MARGIN;
            let keep = found.iter().position(|(d, _)| d.0 > cut).unwrap_or(found.len());
            found.truncate(keep);
        } else {
            found.truncate(want.max(EF_SEARCH));
        }
        let mut candidates: Vec<u32> = found.into_iter().map(|(_, s)| s).collect();
        if mmr.is_some() {
            candidates.sort_by_key(|s| self.slots[*s as usize].seq);
        }
        Ok(self.rank(query, &candidates, k, mmr))
    }

    /// Exact search: the top `k` allowed vectors (or LlamaIndex's MMR over all allowed
    /// vectors when `mmr` is λ).
    pub fn search_exact(
        &self,
        query: &[f32],
        restriction: &Restriction<'_>,
        k: usize,
        mmr: Option<f64>,
    ) -> Result<Vec<Scored>, Error> {
        let candidates = self.allowed(restriction)?;
        Ok(self.rank(query, &candidates, k, mmr))
    }

    /// The top `k` of `candidates` by exact similarity, or LlamaIndex's MMR (λ = `mmr`)
    /// over them, in which case they come in insertion order (MMR breaks ties by it).
    fn rank(&self, query: &[f32], candidates: &[u32], k: usize, mmr: Option<f64>) -> Vec<Scored> {
        match mmr {
            None => self.top_k(query, candidates, k),
            Some(lambda) => {
                let qn = norm64(query);
                let sims: Vec<f64> = candidates.iter().map(|s| self.score(query, qn, *s)).collect();
                mmr::select(&sims, k, lambda, |i, j| self.pair_similarity(candidates[i], candidates[j]))
                    .into_iter()
                    .map(|(i, score)| Scored { slot: candidates[i], similarity: score })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ef_grows_with_the_graph_past_a_quarter_million() {
        assert_eq!(base_ef(20_000), EF_SEARCH);
        assert_eq!(base_ef(EF_GROWS_FROM), EF_SEARCH);
        assert_eq!(base_ef(2 * EF_GROWS_FROM), EF_SEARCH + 16);
        assert_eq!(base_ef(1_000_000), 96);
        let sizes = [300_000, 700_000, 3_000_000, 50_000_000];
        assert!(sizes.windows(2).all(|w| base_ef(w[0]) <= base_ef(w[1])));
    }
}
