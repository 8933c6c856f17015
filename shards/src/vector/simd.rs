//! The f32 dot product behind every graph search and build, with the fastest kernel the
//! CPU running us has, picked once at run time (`is_x86_feature_detected!`), never from
//! `target-cpu=native` (a binary built that way dies with SIGILL on an older CPU).

use std::sync::OnceLock;

type Kernel = fn(&[f32], &[f32]) -> f32;

/// `a · b` in f32 (the slices have the same length).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    (KERNEL.get_or_init(pick))(a, b)
}

/// The name of the kernel in use (for benchmark reports).
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return "avx2+fma";
    }
    "portable"
}

fn pick() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return dot_avx2_dispatch;
    }
    dot_portable
}

/// Sixteen independent lanes so the compiler keeps the adds in vector registers.
#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = x.mul_add(*y, tail);
    }
    let mut sum = 0.0f32;
    for v in acc {
        sum += v;
    }
    sum + tail
}

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    // Without FMA in the target, `mul_add` would be a slow libm call: multiply and add.
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes(a, b)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn dot_avx2_dispatch(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `pick` hands this kernel out only after `is_x86_feature_detected!` found
    // both AVX2 and FMA on this CPU; `dot_avx2` itself is safe Rust (no pointers).
    unsafe { dot_avx2(a, b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_agree_with_f64_on_every_length() {
        for len in [0usize, 1, 7, 15, 16, 17, 33, 384, 385] {
            let a: Vec<f32> = (0..len).map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0).collect();
            let b: Vec<f32> = (0..len).map(|i| ((i * 13 % 17) as f32 - 8.0) / 9.0).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            for (name, got) in
                [("dispatch", dot(&a, &b)), ("portable", dot_portable(&a, &b)), ("lanes", dot_lanes(&a, &b))]
            {
                assert!(
                    (f64::from(got) - exact).abs() < 1e-4 * (1.0 + exact.abs()),
                    "{name} len {len}: {got} vs {exact}"
                );
            }
        }
    }
}
