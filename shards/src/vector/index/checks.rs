//! Vector checks before anything is written, and the f64 similarities searches answer
//! with (LlamaIndex computes them in numpy, in f64).

use strata_api::{Distance, Error, VectorRecord};

/// f64 dot product of two f32 slices.
pub fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

/// f64 Euclidean norm.
pub fn norm64(a: &[f32]) -> f64 {
    dot64(a, a).sqrt()
}

/// The similarity of two vectors under `distance`, given their norms (f64).
pub fn similarity(distance: Distance, a: &[f32], a_norm: f64, b: &[f32], b_norm: f64) -> f64 {
    match distance {
        Distance::Cosine => dot64(a, b) / (a_norm * b_norm),
        Distance::Dot => dot64(a, b),
        Distance::L2 => -a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt(),
    }
}

/// Checks a vector can be compared under `distance`: finite, and not all zeros for cosine.
pub fn check_vector(distance: Distance, v: &[f32], what: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::InvalidVector { what: what.to_string(), why: why.to_string() });
    if v.iter().any(|x| !x.is_finite()) {
        return bad("it has a NaN or infinite component");
    }
    if distance == Distance::Cosine && v.iter().all(|x| *x == 0.0) {
        return bad("a zero vector has no cosine similarity");
    }
    Ok(())
}

/// Checks records for `namespace` (settings `s`) before anything is written: an id, the
/// namespace's dimension, finite components (and not all zero under cosine).
pub fn check_records(s: &strata_api::VectorNamespace, records: &[VectorRecord]) -> Result<(), Error> {
    for r in records {
        if r.node_id.is_empty() {
            return Err(Error::InvalidInput("a node without an id".into()));
        }
        if r.embedding.len() != s.dim as usize {
            return Err(Error::WrongDimension { namespace: s.name.clone(), expected: s.dim, got: r.embedding.len() });
        }
        check_vector(s.distance, &r.embedding, &format!("node {}", r.node_id))?;
    }
    Ok(())
}
