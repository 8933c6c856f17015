//! 8-bit scalar quantisation of the vectors the graph walk measures.
//!
//! A graph search spends nearly all its time waiting for vectors to arrive from memory
//! (1.5 KiB each at 384 dimensions). The walk measures one-byte-per-component codes
//! instead, a quarter of the traffic, and the winners are measured again exactly, so the
//! answer keeps exact similarities; only which candidates the walk visits is approximate.
//! Each dimension has its own scale, fitted to the largest magnitude seen in a sample
//! (with headroom; later values beyond it are clamped).

/// Per-dimension scales: `code = round(x · scale)`, within ±127.
#[derive(Clone, Debug)]
pub struct Quantizer {
    scale: Vec<f32>,
    inverse: Vec<f32>,
}

/// Headroom over the sample's largest magnitude.
const HEADROOM: f32 = 1.1;

impl Quantizer {
    /// Fits the scales of `dim`-component vectors to `sample`.
    pub fn fit<'a>(dim: usize, sample: impl Iterator<Item = &'a [f32]>) -> Self {
        let mut max = vec![0.0f32; dim];
        for v in sample {
            for (m, x) in max.iter_mut().zip(v) {
                *m = m.max(x.abs());
            }
        }
        let scale: Vec<f32> = max.iter().map(|m| if *m > 0.0 { 127.0 / (m * HEADROOM) } else { 1.0 }).collect();
        let inverse = scale.iter().map(|s| 1.0 / s).collect();
        Self { scale, inverse }
    }

    /// Appends `v`'s codes to `out`.
    pub fn encode(&self, v: &[f32], out: &mut Vec<i8>) {
        out.extend(v.iter().zip(&self.scale).map(|(x, s)| (x * s).round().clamp(-127.0, 127.0) as i8));
    }

    /// The query in code space: `dot(prepared, codes)` approximates `dot(query, v)`.
    pub fn prepare_query(&self, query: &[f32]) -> Vec<f32> {
        query.iter().zip(&self.inverse).map(|(q, i)| q * i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::simd;

    #[test]
    fn code_space_dot_products_approximate_the_real_ones() {
        let dim = 64;
        let vectors: Vec<Vec<f32>> =
            (0..50).map(|i| (0..dim).map(|d| (((i * 31 + d * 17) % 23) as f32 - 11.0) / 40.0).collect()).collect();
        let q = Quantizer::fit(dim, vectors.iter().map(Vec::as_slice));
        let query: Vec<f32> = (0..dim).map(|d| ((d * 7 % 13) as f32 - 6.0) / 20.0).collect();
        let prepared = q.prepare_query(&query);
        for v in &vectors {
            let mut codes = Vec::new();
            q.encode(v, &mut codes);
            let exact: f32 = v.iter().zip(&query).map(|(a, b)| a * b).sum();
            let approx = simd::dot_i8(&prepared, &codes);
            assert!((exact - approx).abs() < 0.01, "{exact} vs {approx}");
        }
        // Beyond the fitted range: clamped, never wrapped around.
        let mut codes = Vec::new();
        q.encode(&vec![100.0; dim], &mut codes);
        assert!(codes.iter().all(|c| *c == 127));
    }
}
