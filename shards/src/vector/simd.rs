//! The dot products behind graph searches and builds (f32, and a 16-bit query against
//! 8-bit codes in integers), each with the fastest kernel the CPU running us has, picked once at run time (`is_x86_feature_detected!`), never from
//! `target-cpu=native` (a binary built that way dies with SIGILL on an older CPU).

use std::sync::OnceLock;

/// A dot-product kernel over f32 and `T` components.
type Kernel<T> = fn(&[f32], &[T]) -> f32;
/// An integer dot-product kernel of a 16-bit query and 8-bit codes.
type CodeKernel = fn(&[i16], &[u8]) -> i32;

/// `a · b` in f32 (the slices have the same length).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    static KERNEL: OnceLock<Kernel<f32>> = OnceLock::new();
    (KERNEL.get_or_init(|| if avx2_fma() { dot_avx2_dispatch } else { dot_portable }))(a, b)
}

/// `a · codes` in exact integer arithmetic, for a query quantised to 16 bits and unsigned
/// 8-bit codes ([`super::quant`]); the caller keeps `|a| · 255 · len` within `i32`.
pub fn dot_i16_u8(a: &[i16], codes: &[u8]) -> i32 {
    static KERNEL: OnceLock<CodeKernel> = OnceLock::new();
    (KERNEL.get_or_init(|| if avx2() { dot_i16_u8_avx2_dispatch } else { dot_i16_u8_portable }))(a, codes)
}

/// Whether this CPU has AVX2.
fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        return true;
    }
    false
}

/// Whether this CPU has AVX2 and FMA.
fn avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return true;
    }
    false
}

/// The name of the kernel in use (for benchmark reports).
pub fn kernel_name() -> &'static str {
    if avx2_fma() { "avx2+fma" } else { "portable" }
}

/// Sixteen independent lanes so the compiler keeps the adds in vector registers.
#[inline(always)]
fn dot_lanes<T: Copy + Into<f32>>(a: &[f32], b: &[T]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] = x[i].mul_add(y[i].into(), acc[i]);
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = x.mul_add((*y).into(), tail);
    }
    let mut sum = 0.0f32;
    for v in acc {
        sum += v;
    }
    sum + tail
}

fn dot_portable<T: Copy + Into<f32>>(a: &[f32], b: &[T]) -> f32 {
    // Without FMA in the target, `mul_add` would be a slow libm call: multiply and add.
    a.iter().zip(b).map(|(x, y)| x * (*y).into()).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2<T: Copy + Into<f32>>(a: &[f32], b: &[T]) -> f32 {
    dot_lanes(a, b)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn dot_avx2_dispatch(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `dot` hands this kernel out only after `is_x86_feature_detected!` found
    // both AVX2 and FMA on this CPU; `dot_avx2` itself is safe Rust (no pointers).
    unsafe { dot_avx2(a, b) }
}

fn dot_i16_u8_portable(a: &[i16], codes: &[u8]) -> i32 {
    a.iter().zip(codes).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum()
}

/// Sixteen components a step: widen the codes to 16 bits, multiply and add pairs into
/// 32-bit lanes (`vpmaddwd`), two accumulators to keep the adds independent.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
fn dot_i16_u8_avx2(a: &[i16], codes: &[u8]) -> i32 {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm_loadu_si128, _mm256_add_epi32, _mm256_cvtepu8_epi16, _mm256_loadu_si256,
        _mm256_madd_epi16, _mm256_setzero_si256, _mm256_storeu_si256,
    };
    let (ca, cc) = (a.chunks_exact(16), codes.chunks_exact(16));
    let tail = dot_i16_u8_portable(ca.remainder(), cc.remainder());
    let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut even = true;
    for (x, y) in ca.zip(cc) {
        // SAFETY: `x` is 16 i16 (32 bytes) and `y` 16 u8 (16 bytes), exactly what the
        // unaligned loads read; AVX2 is enabled on this function and checked by the caller.
        let product = unsafe {
            let x = _mm256_loadu_si256(x.as_ptr().cast::<__m256i>());
            let y = _mm256_cvtepu8_epi16(_mm_loadu_si128(y.as_ptr().cast::<__m128i>()));
            _mm256_madd_epi16(x, y)
        };
        if even {
            acc0 = _mm256_add_epi32(acc0, product);
        } else {
            acc1 = _mm256_add_epi32(acc1, product);
        }
        even = !even;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` is 8 i32, the 32 bytes the unaligned store writes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast::<__m256i>(), _mm256_add_epi32(acc0, acc1)) };
    lanes.iter().sum::<i32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn dot_i16_u8_avx2_dispatch(a: &[i16], codes: &[u8]) -> i32 {
    // SAFETY: `dot_i16_u8` hands this kernel out only after `is_x86_feature_detected!`
    // found AVX2 on this CPU.
    unsafe { dot_i16_u8_avx2(a, codes) }
}

#[cfg(not(target_arch = "x86_64"))]
fn dot_avx2_dispatch(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

#[cfg(not(target_arch = "x86_64"))]
fn dot_i16_u8_avx2_dispatch(a: &[i16], codes: &[u8]) -> i32 {
    dot_i16_u8_portable(a, codes)
}

/// Asks the CPU to start loading `data` into its caches (a hint: it never faults, and
/// does nothing where there is no prefetch instruction).
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = data.as_ptr().cast::<i8>();
        for offset in (0..std::mem::size_of_val(data)).step_by(64) {
            prefetch_line(start.wrapping_add(offset));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_line(p: *const i8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: a prefetch is a hint that never faults and reads nothing into the program,
    // whatever the address; SSE (which has it) is part of every x86_64 CPU.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p) }
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
            let codes: Vec<u8> = (0..len).map(|i| (i * 131 % 256) as u8).collect();
            let wide: Vec<i16> = (0..len).map(|i| ((i * 7919 % 43_001) as i32 - 21_500) as i16).collect();
            let exact_int: i32 = wide.iter().zip(&codes).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
            assert_eq!(dot_i16_u8(&wide, &codes), exact_int, "i16·u8 dispatch, len {len}");
            assert_eq!(dot_i16_u8_portable(&wide, &codes), exact_int, "i16·u8 portable, len {len}");
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
