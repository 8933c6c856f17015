//! Seeded test data shared by the vector tests.

/// A seeded generator (xorshift), so the data is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    /// A value in [-0.5, 0.5).
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// A clustered vector, like real embeddings: one of `centres` plus uniform noise of
    /// width `noise`.
    pub fn clustered(&mut self, centres: &[Vec<f32>], noise: f32) -> Vec<f32> {
        let c = &centres[(self.0 % centres.len() as u64) as usize];
        c.iter().map(|x| x + noise * self.next()).collect()
    }
}

/// Record `n{i:05}` with `embedding` and empty metadata.
#[allow(dead_code)] // not every test uses it
pub fn record(i: usize, embedding: Vec<f32>) -> strata_api::VectorRecord {
    strata_api::VectorRecord {
        node_id: format!("n{i:05}"),
        embedding,
        ref_doc_id: None,
        metadata: strata_api::JsonText::from_map(&serde_json::Map::new()),
        node: None,
        exact_f32: false,
    }
}
