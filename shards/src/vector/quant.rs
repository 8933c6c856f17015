//! 8-bit scalar quantisation of the vectors the graph walk measures.
//!
//! A graph search spends nearly all its time waiting for vectors to arrive from memory
//! (1.5 KiB each at 384 dimensions). The walk measures one-byte-per-component codes
//! instead, a quarter of the traffic, and the winners are measured again exactly, so the
//! answer keeps exact similarities; only which candidates the walk visits is approximate.
//! Each dimension has its own scale, fitted to the largest magnitude seen in a sample
//! (with headroom; later values beyond it are clamped). Codes are stored offset by 128
//! as unsigned bytes (`code + 128`), the query as 16-bit integers, so a distance is an
//! exact integer dot product ([`super::simd::dot_i16_u8`]) and one correction.

use super::simd;

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

    /// The quantiser of these per-dimension scales (as [`Quantizer::scales`] gave them);
    /// `None` unless every scale is finite and positive.
    pub fn from_scales(scale: Vec<f32>) -> Option<Self> {
        if !scale.iter().all(|s| s.is_finite() && *s > 0.0) {
            return None;
        }
        let inverse = scale.iter().map(|s| 1.0 / s).collect();
        Some(Self { scale, inverse })
    }

    /// The per-dimension scales.
    pub fn scales(&self) -> &[f32] {
        &self.scale
    }

    /// Appends `v`'s codes (offset by 128) to `out`.
    pub fn encode(&self, v: &[f32], out: &mut Vec<u8>) {
        out.extend(v.iter().zip(&self.scale).map(|(x, s)| ((x * s).round().clamp(-127.0, 127.0) as i32 + 128) as u8));
    }

    /// The query in code space, as 16-bit integers: [`PreparedQuery::dot`] of a vector's
    /// codes approximates the query's dot product with the vector.
    pub fn prepare_query(&self, query: &[f32]) -> PreparedQuery {
        let scaled: Vec<f32> = query.iter().zip(&self.inverse).map(|(q, i)| q * i).collect();
        let largest = scaled.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        // The widest integer that keeps every sum of `len` products within i32.
        let limit = (f64::from(i32::MAX) / (255.0 * scaled.len().max(1) as f64)).min(32_767.0) as f32;
        let factor = if largest > 0.0 { limit / largest } else { 1.0 };
        let wide: Vec<i16> = scaled.iter().map(|x| (x * factor).round() as i16).collect();
        let offset = 128 * wide.iter().map(|w| i64::from(*w)).sum::<i64>();
        PreparedQuery { wide, offset, unit: 1.0 / factor }
    }
}

/// A query in code space (see [`Quantizer::prepare_query`]).
#[derive(Clone, Debug)]
pub struct PreparedQuery {
    wide: Vec<i16>,
    /// What the codes' offset of 128 adds to the integer dot product.
    offset: i64,
    unit: f32,
}

impl PreparedQuery {
    /// The approximate dot product of the query with the vector encoded as `codes`.
    #[inline]
    pub fn dot(&self, codes: &[u8]) -> f32 {
        (i64::from(simd::dot_i16_u8(&self.wide, codes)) - self.offset) as f32 * self.unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let approx = prepared.dot(&codes);
            assert!((exact - approx).abs() < 0.01, "{exact} vs {approx}");
        }
        // Beyond the fitted range: clamped, never wrapped around.
        let mut codes = Vec::new();
        q.encode(&vec![100.0; dim], &mut codes);
        assert!(codes.iter().all(|c| *c == 255));
        let mut codes = Vec::new();
        q.encode(&vec![-100.0; dim], &mut codes);
        assert!(codes.iter().all(|c| *c == 1));
    }
}
