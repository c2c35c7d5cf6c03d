//! The inner loops of the scattering transform, each with a portable body
//! and a build of that body for AVX2 chosen at run time: the last pass of the
//! real forward FFT (hand-vectorised for float64), the modulus, and the
//! folded product of a spectrum with a filter.
//!
//! The AVX2 builds compute the same operations in the same order as the
//! portable ones, so the numbers do not depend on the CPU.

use std::ops::Range;

use rustfft::num_complex::Complex;

use crate::real::Real;

/// A stretch of filter bins `src..src + len` landing on output bins
/// `out..out + len`, read from the negative half (`mirrored`, as conjugates)
/// or not, and either the first to land there (`assign`) or added.
#[derive(Clone, Debug)]
pub(super) struct Segment {
    pub(super) out: usize,
    pub(super) src: usize,
    pub(super) len: usize,
    pub(super) mirrored: bool,
    pub(super) assign: bool,
}

/// The last pass of a real forward FFT (see `RealForward` in the transform):
/// `out[k]` for `k = 0..=H` from the half-length spectrum `z` (length `H`).
pub(crate) fn real_fft_post<F: Real>(z: &[Complex<F>], out: &mut [Complex<F>], twiddles: &[Complex<F>]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        return unsafe { real_fft_post_avx2(z, out, twiddles) };
    }
    real_fft_post_portable(z, out, twiddles)
}

/// [`real_fft_post`] for float64, with the hand-vectorised pass where AVX2 is there.
pub(crate) fn real_fft_post_f64(z: &[Complex<f64>], out: &mut [Complex<f64>], twiddles: &[Complex<f64>]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the feature was just detected.
        return unsafe { real_fft_post_avx2_f64(z, out, twiddles) };
    }
    real_fft_post_portable(z, out, twiddles)
}

/// The last pass of a real forward FFT, one output bin at a time:
/// `out[k]` from `a = Z[k mod H]` and `b = conj Z[(H - k) mod H]`.
#[inline(always)]
fn real_fft_bin<F: Real>(a: Complex<F>, b: Complex<F>, w: Complex<F>) -> Complex<F> {
    let half = F::one() / (F::one() + F::one());
    // even part (a + b) / 2 and odd part (a - b) / 2i = (d.im, -d.re), d = (a - b) / 2
    let (er, ei) = ((a.re + b.re) * half, (a.im + b.im) * half);
    let (dr, di) = ((a.re - b.re) * half, (a.im - b.im) * half);
    Complex::new(er + (w.re * di + w.im * dr), ei + (w.im * di - w.re * dr))
}

#[inline(always)]
fn real_fft_post_portable<F: Real>(z: &[Complex<F>], out: &mut [Complex<F>], twiddles: &[Complex<F>]) {
    let h = z.len();
    out[0] = real_fft_bin(z[0], z[0].conj(), twiddles[0]);
    out[h] = real_fft_bin(z[0], z[0].conj(), twiddles[h]);
    let mirrored = z[1..].iter().rev();
    for (((o, &a), b), &w) in out[1..h].iter_mut().zip(&z[1..]).zip(mirrored).zip(&twiddles[1..h]) {
        *o = real_fft_bin(a, b.conj(), w);
    }
}

/// [`real_fft_post_portable`] compiled for AVX2 (float32 relies on it).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn real_fft_post_avx2<F: Real>(z: &[Complex<F>], out: &mut [Complex<F>], twiddles: &[Complex<F>]) {
    real_fft_post_portable(z, out, twiddles)
}

/// [`real_fft_post_portable`] for float64 with AVX2, two bins per vector; the
/// same products and sums in the same order (no FMA), so the same numbers.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn real_fft_post_avx2_f64(z: &[Complex<f64>], out: &mut [Complex<f64>], twiddles: &[Complex<f64>]) {
    use std::arch::x86_64::*;
    let h = z.len();
    assert!(out.len() == h + 1 && twiddles.len() == h + 1);
    out[0] = real_fft_bin(z[0], z[0].conj(), twiddles[0]);
    out[h] = real_fft_bin(z[0], z[0].conj(), twiddles[h]);
    let (zp, op, wp) = (
        z.as_ptr() as *const f64,
        out.as_mut_ptr() as *mut f64,
        twiddles.as_ptr() as *const f64,
    );
    let half = _mm256_set1_pd(0.5);
    // sign flip of the imaginary lanes (1 and 3)
    let conj = _mm256_set_pd(-0.0, 0.0, -0.0, 0.0);
    let mut k = 1;
    while k + 2 <= h {
        // bins k, k+1: a = Z[k], Z[k+1]; b = conj Z[h-k], conj Z[h-k-1]
        let a = _mm256_loadu_pd(zp.add(2 * k));
        let c = _mm256_loadu_pd(zp.add(2 * (h - k - 1)));
        let b = _mm256_xor_pd(_mm256_permute2f128_pd(c, c, 0x01), conj);
        let e = _mm256_mul_pd(_mm256_add_pd(a, b), half);
        let d = _mm256_mul_pd(_mm256_sub_pd(a, b), half);
        let w = _mm256_loadu_pd(wp.add(2 * k));
        let wr = _mm256_movedup_pd(w);
        let wi = _mm256_permute_pd(w, 0b1111);
        // t1 = (wr di, wr dr), t2 = (wi dr, wi di); w*odd = (t1.re + t2.re, t2.im - t1.im)
        let t1 = _mm256_mul_pd(wr, _mm256_permute_pd(d, 0b0101));
        let t2 = _mm256_mul_pd(wi, d);
        let wo = _mm256_add_pd(_mm256_xor_pd(t1, conj), t2);
        _mm256_storeu_pd(op.add(2 * k), _mm256_add_pd(e, wo));
        k += 2;
    }
    while k < h {
        out[k] = real_fft_bin(z[k], z[h - k].conj(), twiddles[k]);
        k += 1;
    }
}

/// `out[i] = |z[i]| * scale`.
#[inline(always)]
fn modulus_portable<F: Real>(z: &[Complex<F>], out: &mut [F], scale: F) {
    for (r, c) in out.iter_mut().zip(z) {
        *r = (c.re * c.re + c.im * c.im).sqrt() * scale;
    }
}

/// The same loop compiled for AVX2 (4 or 8 square roots per instruction).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn modulus_avx2<F: Real>(z: &[Complex<F>], out: &mut [F], scale: F) {
    modulus_portable(z, out, scale)
}

pub(super) fn modulus<F: Real>(z: &[Complex<F>], out: &mut [F], scale: F) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        return unsafe { modulus_avx2(z, out, scale) };
    }
    modulus_portable(z, out, scale)
}

/// `out = fold(spectrum * filter)`: the product over the filter's support,
/// its bins summed modulo `out.len()` (a power of two dividing `len`).
/// `half` is the non-negative half of the spectrum of a real signal of
/// length `len`; bins above `len/2` are read as conjugates. `segments` and
/// `zeros` are the filter's fold plan for this `len` and width.
pub(super) fn fold_product<F: Real>(
    half: &[Complex<F>],
    len: usize,
    filter: &[F],
    segments: &[Segment],
    zeros: &[Range<usize>],
    out: &mut [Complex<F>],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        return unsafe { fold_product_avx2(half, len, filter, segments, zeros, out) };
    }
    fold_product_portable(half, len, filter, segments, zeros, out)
}

/// [`fold_product_portable`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fold_product_avx2<F: Real>(
    half: &[Complex<F>],
    len: usize,
    filter: &[F],
    segments: &[Segment],
    zeros: &[Range<usize>],
    out: &mut [Complex<F>],
) {
    fold_product_portable(half, len, filter, segments, zeros, out)
}

#[inline(always)]
fn fold_product_portable<F: Real>(
    half: &[Complex<F>],
    len: usize,
    filter: &[F],
    segments: &[Segment],
    zeros: &[Range<usize>],
    out: &mut [Complex<F>],
) {
    let zero = Complex::new(F::zero(), F::zero());
    for range in zeros {
        out[range.clone()].fill(zero);
    }
    for seg in segments {
        let acc = &mut out[seg.out..seg.out + seg.len];
        let values = &filter[seg.src..seg.src + seg.len];
        match (seg.mirrored, seg.assign) {
            (false, true) => {
                for ((a, h), &f) in acc.iter_mut().zip(&half[seg.src..seg.src + seg.len]).zip(values) {
                    *a = Complex::new(h.re * f, h.im * f);
                }
            }
            (false, false) => {
                for ((a, h), &f) in acc.iter_mut().zip(&half[seg.src..seg.src + seg.len]).zip(values) {
                    a.re = a.re + h.re * f;
                    a.im = a.im + h.im * f;
                }
            }
            (true, assign) => {
                // bin m > len/2 holds the conjugate of bin len - m
                let end = seg.src + seg.len;
                let mirrored = half[len + 1 - end..=len - seg.src].iter().rev();
                if assign {
                    for ((a, h), &f) in acc.iter_mut().zip(mirrored).zip(values) {
                        *a = Complex::new(h.re * f, -(h.im * f));
                    }
                } else {
                    for ((a, h), &f) in acc.iter_mut().zip(mirrored).zip(values) {
                        a.re = a.re + h.re * f;
                        a.im = a.im - h.im * f;
                    }
                }
            }
        }
    }
}
