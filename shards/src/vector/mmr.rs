//! Maximal marginal relevance exactly as LlamaIndex's `get_top_k_mmr_embeddings` computes
//! it: the first pick maximises `λ·s_i`; each next pick maximises
//! `λ·s_j − (1−λ)·sim(e_j, e_last)` where `e_last` is only the most recent pick (not the
//! closest of all picks, as textbook MMR has it); strict `>`, so the earliest candidate
//! wins ties. The scores returned are those MMR scores, not similarities.

/// Picks up to `k` of the candidates (in their order, with similarities `sims` to the
/// query), answering `(candidate index, MMR score)` in pick order. `pair(i, j)` is the
/// similarity between candidates `i` and `j`.
pub fn select(sims: &[f64], k: usize, lambda: f64, pair: impl Fn(usize, usize) -> f64) -> Vec<(usize, f64)> {
    let n = sims.len();
    let want = k.min(n);
    let mut out = Vec::with_capacity(want);
    if want == 0 {
        return out;
    }
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut best = None;
    let mut best_score = f64::NEG_INFINITY;
    for (i, s) in sims.iter().enumerate() {
        if s * lambda > best_score {
            best_score = s * lambda;
            best = Some(i);
        }
    }
    while out.len() < want {
        // A NaN similarity never beats -inf: fall back to the first remaining candidate.
        let pick = best.unwrap_or(remaining[0]);
        out.push((pick, best_score));
        remaining.retain(|c| *c != pick);
        best = None;
        best_score = f64::NEG_INFINITY;
        for &c in &remaining {
            let score = lambda * sims[c] - (1.0 - lambda) * pair(c, pick);
            if score > best_score {
                best_score = score;
                best = Some(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f64], b: &[f64]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
        dot / (na * nb)
    }

    fn run(q: &[f64], e: &[Vec<f64>], k: usize, lambda: f64) -> Vec<(usize, f64)> {
        let sims: Vec<f64> = e.iter().map(|v| cos(q, v)).collect();
        select(&sims, k, lambda, |i, j| cos(&e[i], &e[j]))
    }

    /// LlamaIndex's `test_get_top_k_mmr_embeddings`.
    #[test]
    fn scores_and_order_match_llamaindex() {
        let e = vec![vec![4.0, 3.0, 0.0], vec![3.0, 4.0, 0.0], vec![-4.0, 3.0, 0.0]];
        let got = run(&[5.0, 0.0, 0.0], &e, 3, 0.8);
        let ids: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, [0, 1, 2]);
        let want = [0.8 * 0.8, 0.8 * 0.6 - 0.2 * (24.0 / 25.0), 0.8 * -0.8 - 0.2 * 0.0];
        for ((_, got), want) in got.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert_eq!(run(&[5.0, 0.0, 0.0], &e, 2, 0.8).len(), 2);
        // λ = 1 is plain ranking.
        let plain: Vec<usize> = run(&[5.0, 0.0, 0.0], &e, 3, 1.0).iter().map(|(i, _)| *i).collect();
        assert_eq!(plain, [0, 1, 2]);
    }

    /// LlamaIndex's `test_get_top_k_mmr_embeddings_threshold_zero` and
    /// `test_mmr_threshold_sources`: a = b = [1,0], c = [0,1], q = [1,0], k = 2.
    #[test]
    fn lambda_zero_prefers_the_orthogonal_vector() {
        let e = vec![vec![1.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]];
        let pick = |lambda| run(&[1.0, 0.0], &e, 2, lambda).iter().map(|(i, _)| *i).collect::<Vec<_>>();
        assert_eq!(pick(0.0), [0, 2]);
        assert_eq!(pick(0.25), [0, 2]);
        assert_eq!(pick(0.5), [0, 1]);
        assert_eq!(pick(1.0), [0, 1]);
        assert!(run(&[1.0, 0.0], &e, 0, 0.5).is_empty());
    }
}
