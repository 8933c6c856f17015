//! Vector search on a cluster: the query goes to every partition at once (to any replica
//! of each, so every replica serves searches; a linearizable search waits there for the
//! leader's read index), their top-k lists are
//! merged (equal similarities ordered as LlamaIndex's heap orders them), and
//! MMR re-ranks the merged candidates, which carry their embeddings.

use super::{implicit, unknown};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use futures::future::try_join_all;
use strata_api::{GroupId, Query, ReadConsistency, Response, VectorHit, VectorQuery, VectorQueryMode, VectorSearch};
use strata_shards::vector::{index, mmr, pyheap};

// Most allowed vectors per partition for which a top-k with equal similarities is
// replayed exactly as LlamaIndex's heap orders them (beyond: over the hits at hand).
use strata_shards::vector::SMALL_PARTITION as TIE_REPLAY_MAX;

impl Cluster {
    /// Asks every partition; answers their hits and whether some partition answered more
    /// than `search.candidates` less one (so may hold more than it sent).
    async fn search_partitions(
        &self,
        namespace: &str,
        groups: &[GroupId],
        search: &VectorSearch,
        consistency: ReadConsistency,
    ) -> Result<(Vec<VectorHit>, bool)> {
        let reads = groups.iter().map(|g| {
            let q = VectorQuery::Search { namespace: namespace.to_string(), search: Box::new(search.clone()) };
            self.read_group(*g, Query::Vector(q), consistency)
        });
        let (mut hits, mut full) = (Vec::new(), false);
        for a in try_join_all(reads).await? {
            match a {
                Response::VectorHits(h) => {
                    full |= h.len() >= search.candidates + usize::from(search.every_candidate);
                    hits.extend(h);
                }
                other => return Err(Error::Protocol(format!("a search answered {other:?}"))),
            }
        }
        Ok((hits, full))
    }

    pub(super) async fn search(
        &self,
        namespace: &str,
        search: VectorSearch,
        consistency: ReadConsistency,
    ) -> Result<Response> {
        let Some((settings, groups)) = self.vector_namespace(namespace).await? else {
            return if implicit(namespace) { Ok(Response::VectorHits(Vec::new())) } else { Err(unknown(namespace)) };
        };
        let k = search.query.similarity_top_k;
        let mmr = search.query.mode == VectorQueryMode::Mmr;
        let per_partition = VectorSearch {
            candidates: if mmr { strata_shards::vector::mmr_candidates(k) } else { k },
            with_embeddings: mmr,
            query: search.query.clone(),
            every_candidate: false,
        };
        let (mut hits, some_full) = self.search_partitions(namespace, &groups, &per_partition, consistency).await?;
        if !mmr {
            if !ties_in_top(&hits, k) {
                return Ok(Response::VectorHits(by_similarity(hits, k)));
            }
            if some_full {
                // LlamaIndex orders equal similarities by its heap, which saw every
                // allowed vector: fetch them all (when few) and replay it.
                let every = VectorSearch { candidates: TIE_REPLAY_MAX, every_candidate: true, ..per_partition };
                let (all, too_many) = self.search_partitions(namespace, &groups, &every, consistency).await?;
                if !too_many {
                    hits = all;
                }
            }
            return Ok(Response::VectorHits(heap_order(hits, k)));
        }
        // MMR breaks ties by candidate order, which is insertion order in LlamaIndex.
        hits.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.node_id.cmp(&b.node_id)));
        let lambda = search.query.mmr_threshold.unwrap_or(0.5);
        let sims: Vec<f64> = hits.iter().map(|h| h.similarity).collect();
        let embeddings: Vec<Vec<f32>> = hits.iter().map(|h| h.embedding.clone().unwrap_or_default()).collect();
        let norms: Vec<f64> = embeddings.iter().map(|e| index::norm64(e)).collect();
        let picks = mmr::select(&sims, k, lambda, |i, j| {
            index::similarity(settings.distance, &embeddings[i], norms[i], &embeddings[j], norms[j])
        });
        let out = picks
            .into_iter()
            .map(|(i, score)| VectorHit { similarity: score, embedding: None, ..hits[i].clone() })
            .collect();
        Ok(Response::VectorHits(out))
    }
}

/// The `k` best hits by similarity (the later id first at equal similarity, as the
/// heap's cut keeps the larger `(similarity, id)`).
fn by_similarity(mut hits: Vec<VectorHit>, k: usize) -> Vec<VectorHit> {
    hits.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then_with(|| b.node_id.cmp(&a.node_id)));
    hits.truncate(k);
    hits
}

/// Whether the `k` best of `hits` hold equal similarities.
fn ties_in_top(hits: &[VectorHit], k: usize) -> bool {
    let mut sims: Vec<f64> = hits.iter().map(|h| h.similarity).collect();
    sims.sort_by(|a, b| b.total_cmp(a));
    sims.truncate(k);
    sims.windows(2).any(|w| w[0] == w[1])
}

/// The top `k` of `hits` as LlamaIndex answers them when they hold ties: equal
/// similarities in the order its heap leaves them, replayed over the hits in insertion
/// order (exact when the hits are every allowed vector).
fn heap_order(mut hits: Vec<VectorHit>, k: usize) -> Vec<VectorHit> {
    hits.sort_by_key(|h| h.position);
    let entries: Vec<pyheap::Entry<'_>> = hits.iter().map(|h| (h.similarity, h.node_id.as_str())).collect();
    let order = pyheap::llamaindex_top_k(&entries, k);
    order.into_iter().map(|i| hits[i].clone()).collect()
}
