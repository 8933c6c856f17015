//! The benchmark's data sets: the real wordnet-minilm embeddings, and seeded clustered
//! synthetic ones; exact top-10 ground truth; `.npy` files the Python peers read.

use std::path::{Path, PathBuf};

/// Vectors, queries and each query's exact top-10 (cosine).
pub struct Set {
    pub name: String,
    pub dim: usize,
    pub base: Vec<f32>,
    pub queries: Vec<f32>,
    pub truth: Vec<Vec<u32>>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.base.len() / self.dim
    }

    pub fn query_count(&self) -> usize {
        self.queries.len() / self.dim
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.base[i * self.dim..(i + 1) * self.dim]
    }

    pub fn query(&self, q: usize) -> &[f32] {
        &self.queries[q * self.dim..(q + 1) * self.dim]
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where a set's `.npy` files are written for the Python peers.
pub fn out_dir(name: &str) -> PathBuf {
    workspace().join("target/bench-data").join(name)
}

/// Reads a 2-d little-endian `.npy` of 4-byte items: (raw items, rows, cols).
fn read_npy(path: &Path) -> (Vec<[u8; 4]>, usize, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{} is not .npy", path.display());
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).expect("header");
    let shape = header.split("'shape': (").nth(1).expect("shape").split(')').next().expect("shape");
    let dims: Vec<usize> = shape.split(',').filter_map(|d| d.trim().parse().ok()).collect();
    let items = bytes[10 + header_len..].chunks_exact(4).map(|b| [b[0], b[1], b[2], b[3]]).collect();
    (items, dims[0], dims[1])
}

/// Writes a 2-d little-endian `.npy` (`descr` `<f4` or `<i4`).
fn write_npy(path: &Path, descr: &str, rows: usize, cols: usize, items: impl Iterator<Item = [u8; 4]>) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for item in items {
        out.extend_from_slice(&item);
    }
    std::fs::write(path, out).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Saves the set for the Python peers (base, queries, exact top-10).
pub fn save(set: &Set) {
    let dir = out_dir(&set.name);
    std::fs::create_dir_all(&dir).expect("bench data dir");
    write_npy(&dir.join("base.npy"), "<f4", set.len(), set.dim, set.base.iter().map(|x| x.to_le_bytes()));
    write_npy(&dir.join("queries.npy"), "<f4", set.query_count(), set.dim, set.queries.iter().map(|x| x.to_le_bytes()));
    let gt = set.truth.iter().flat_map(|t| t.iter().map(|i| (*i as i32).to_le_bytes()));
    write_npy(&dir.join("gt10.npy"), "<i4", set.truth.len(), 10, gt);
}

/// `testdata/wordnet-minilm`: 20,000 real 384-d sentence embeddings, 1,000 queries.
pub fn wordnet() -> Set {
    let dir = workspace().join("testdata/wordnet-minilm");
    let floats = |name: &str| {
        let (items, _, cols) = read_npy(&dir.join(name));
        (items.into_iter().map(f32::from_le_bytes).collect::<Vec<f32>>(), cols)
    };
    let (base, dim) = floats("base.npy");
    let (queries, _) = floats("queries.npy");
    let (gt, _, cols) = read_npy(&dir.join("queries_gt100.npy"));
    let gt: Vec<u32> = gt.into_iter().map(|b| i32::from_le_bytes(b) as u32).collect();
    let truth = gt.chunks(cols).map(|row| row[..10].to_vec()).collect();
    Set { name: "wordnet-minilm-20k".into(), dim, base, queries, truth }
}

/// A seeded generator (xorshift64*) with normal samples.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// `n` clustered 384-d vectors (n/100 centres drawn N(0,1), each point its centre plus
/// N(0, 0.35²) noise, normalised) and 1,000 queries from the same distribution; seed fixed.
pub fn synthetic(n: usize) -> Set {
    const DIM: usize = 384;
    const QUERIES: usize = 1_000;
    let mut rng = Rng(0x5712_a7a5_eed0_0001);
    let centres: Vec<Vec<f32>> = (0..(n / 100).max(1)).map(|_| (0..DIM).map(|_| rng.normal()).collect()).collect();
    let draw = |rng: &mut Rng| {
        let c = &centres[(rng.next_u64() % centres.len() as u64) as usize];
        let mut v: Vec<f32> = c.iter().map(|x| x + 0.35 * rng.normal()).collect();
        normalise(&mut v);
        v
    };
    let base: Vec<f32> = (0..n).flat_map(|_| draw(&mut rng)).collect();
    let queries: Vec<f32> = (0..QUERIES).flat_map(|_| draw(&mut rng)).collect();
    let name = format!("synthetic-clustered-{}k", n / 1000);
    let mut set = Set { name, dim: DIM, base, queries, truth: Vec::new() };
    set.truth = exact_top10(&set, None);
    set
}

/// Each query's exact top-10 by cosine (the vectors are unit length: by dot product),
/// among the vectors `allow` lets through; two threads.
pub fn exact_top10(set: &Set, allow: Option<&(dyn Fn(usize, usize) -> bool + Sync)>) -> Vec<Vec<u32>> {
    let nq = set.query_count();
    let one = |q: usize| {
        let query = set.query(q);
        let mut scored: Vec<(f32, u32)> = (0..set.len())
            .filter(|i| allow.is_none_or(|a| a(q, *i)))
            .map(|i| (strata_shards::vector::simd::dot(query, set.vector(i)), i as u32))
            .collect();
        let k = 10.min(scored.len());
        if k < scored.len() {
            scored.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0));
            scored.truncate(k);
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().map(|(_, i)| i).collect::<Vec<u32>>()
    };
    let half = nq / 2;
    std::thread::scope(|s| {
        let a = s.spawn(|| (0..half).map(one).collect::<Vec<_>>());
        let mut rest: Vec<Vec<u32>> = (half..nq).map(one).collect();
        let mut out = a.join().expect("ground truth thread");
        out.append(&mut rest);
        out
    })
}

/// recall@10 of `got` (node ids as numbers) against `truth`.
pub fn recall(got: &[Vec<u32>], truth: &[Vec<u32>]) -> f64 {
    let hits: usize = got.iter().zip(truth).map(|(g, t)| g.iter().filter(|i| t.contains(i)).count()).sum();
    let wanted: usize = truth.iter().map(|t| t.len().min(10)).sum();
    hits as f64 / wanted.max(1) as f64
}
