//! Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw,
//! "Parallel random numbers: as easy as 1, 2, 3", SC 2011) and a
//! Box–Muller transform on top of it.
//!
//! A counter-based generator is a pure function `(key, counter) -> bits`, so
//! the value at stream position `i` is computed directly, without walking
//! a state through positions `0..i`. That is what makes the noise of
//! `q_sample` bit-identical for any number of threads and any chunking:
//! every element asks for its own position.
//!
//! Stream layout (stable; part of the reproducibility contract):
//! * key = the 64-bit seed, split into two 32-bit words (low word first);
//! * normal number at position `n` comes from Philox block `n / 2`
//!   (128-bit counter = `n / 2` in its low 64 bits, zero above);
//! * the block's four words give two 53-bit uniforms `u1, u2` in (0, 1)
//!   (words 0,1 -> u1 and words 2,3 -> u2), and Box–Muller turns them into
//!   `r cos(2 pi u2)` (even `n`) and `r sin(2 pi u2)` (odd `n`),
//!   `r = sqrt(-2 ln u1)`.

use rayon::prelude::*;

use crate::error::{DaclError, Result};
use crate::memory::try_zeros;

/// Philox4x32 multipliers and Weyl key increments (Salmon et al. 2011, §4).
const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;
const PHILOX_ROUNDS: usize = 10;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    (p as u32, (p >> 32) as u32)
}

/// One Philox4x32-10 block: 128 random bits for a 128-bit counter and a
/// 64-bit key.
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;
    for round in 0..PHILOX_ROUNDS {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let (lo0, hi0) = mulhilo(PHILOX_M0, c[0]);
        let (lo1, hi1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

#[inline(always)]
fn seed_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// A uniform in the open interval (0, 1) from 64 bits: the top 53 bits,
/// centred in their cell, so `ln(u)` is always finite.
#[inline(always)]
fn open_unit(hi: u32, lo: u32) -> f64 {
    let bits = ((u64::from(hi) << 32) | u64::from(lo)) >> 11;
    (bits as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// The pair of standard normals of Philox block `block` (stream positions
/// `2 * block` and `2 * block + 1`). It and [`philox4x32_10`] are always
/// inlined: they are the inner loop of `q_sample` and [`standard_normals`],
/// where a call per pair cost 15 %.
#[inline(always)]
pub fn normal_pair(seed: u64, block: u64) -> (f64, f64) {
    let bits = philox4x32_10([block as u32, (block >> 32) as u32, 0, 0], seed_key(seed));
    let u1 = open_unit(bits[1], bits[0]);
    let u2 = open_unit(bits[3], bits[2]);
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
    (r * c, r * s)
}

/// The standard normal at stream position `position` for `seed`.
#[inline]
pub fn normal_at(seed: u64, position: u64) -> f64 {
    let (a, b) = normal_pair(seed, position >> 1);
    if position & 1 == 0 {
        a
    } else {
        b
    }
}

/// Fill `out` with the standard normals at positions `offset .. offset + out.len()`
/// (wrapping modulo 2^64). Each pair is computed once.
pub fn fill_standard_normal(seed: u64, offset: u64, out: &mut [f64]) {
    let mut i = 0;
    let n = out.len();
    // An odd start takes the second half of its block.
    if n > 0 && offset & 1 == 1 {
        out[0] = normal_pair(seed, offset >> 1).1;
        i = 1;
    }
    while i + 1 < n {
        let pos = offset.wrapping_add(i as u64);
        let (a, b) = normal_pair(seed, pos >> 1);
        out[i] = a;
        out[i + 1] = b;
        i += 2;
    }
    if i < n {
        out[i] = normal_at(seed, offset.wrapping_add(i as u64));
    }
}

/// Most values [`standard_normals`] makes in one call (2^40, 8 TiB): a
/// bound on requests, not a promise that they fit in memory.
pub const MAX_STANDARD_NORMALS: usize = 1 << 40;

/// The `len` standard normals at positions `offset .. offset + len` of `seed`,
/// computed in parallel on the current rayon pool (the same numbers for any
/// number of threads). `len` above [`MAX_STANDARD_NORMALS`] is an
/// `InvalidArgument`; memory the system refuses is `OutOfMemory`.
pub fn standard_normals(seed: u64, offset: u64, len: usize) -> Result<Vec<f64>> {
    if len > MAX_STANDARD_NORMALS {
        return Err(DaclError::invalid(format!(
            "at most {MAX_STANDARD_NORMALS} standard normals (2**40) per call, got {len}"
        )));
    }
    const CHUNK: usize = 1 << 14;
    let mut out = try_zeros(&format!("{len} standard normals"), len)?;
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
        fill_standard_normal(seed, offset.wrapping_add((c * CHUNK) as u64), chunk);
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors published with Random123 (tests/kat_vectors).
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    fn draws(seed: u64, offset: u64, n: usize) -> Vec<f64> {
        let mut v = vec![0.0; n];
        fill_standard_normal(seed, offset, &mut v);
        v
    }

    #[test]
    fn moments_and_normality() {
        let n = 1_000_000;
        let x = draws(12345, 0, n);
        let nf = n as f64;
        let mean = x.iter().sum::<f64>() / nf;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf;
        // Standard errors: mean 1/sqrt(n) = 1e-3, variance sqrt(2/n) ~ 1.4e-3; 5 sigma.
        assert!(mean.abs() < 5e-3, "mean {mean}");
        assert!((var - 1.0).abs() < 7.1e-3, "var {var}");
        // Fractions within 1 and 2 sigma: Phi(1)-Phi(-1) = 0.682689..., Phi(2)-Phi(-2) = 0.954499...;
        // binomial standard errors ~4.7e-4 and 2.1e-4; 5 sigma bounds.
        let within = |k: f64| x.iter().filter(|v| v.abs() < k).count() as f64 / nf;
        assert!((within(1.0) - 0.682_689_492).abs() < 2.4e-3, "{}", within(1.0));
        assert!((within(2.0) - 0.954_499_736).abs() < 1.1e-3, "{}", within(2.0));
        // Skewness 0 and kurtosis 3 (standard errors sqrt(6/n), sqrt(24/n)).
        let m3 = x.iter().map(|v| v.powi(3)).sum::<f64>() / nf;
        let m4 = x.iter().map(|v| v.powi(4)).sum::<f64>() / nf;
        assert!(m3.abs() < 5.0 * (6.0 / nf).sqrt(), "m3 {m3}");
        assert!((m4 - 3.0).abs() < 5.0 * (96.0 / nf).sqrt(), "m4 {m4}");
    }

    fn corr(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn independence_across_seeds_and_counters() {
        let n = 200_000;
        let bound = 5.0 / (n as f64).sqrt();
        let a = draws(1, 0, n + 2);
        let b = draws(2, 0, n);
        assert!(corr(&a[..n], &b).abs() < bound);
        // Adjacent positions: lag 1 (same block) and lag 2 (adjacent blocks).
        assert!(corr(&a[..n], &a[1..n + 1]).abs() < bound);
        assert!(corr(&a[..n], &a[2..n + 2]).abs() < bound);
        // Squares too (a dependence that linear correlation misses): the two normals of a
        // Box–Muller pair are exactly independent, so lag 1 counts as well as lag 2.
        let sq: Vec<f64> = a.iter().map(|v| v * v).collect();
        assert!(corr(&sq[..n], &sq[1..n + 1]).abs() < bound);
        assert!(corr(&sq[..n], &sq[2..n + 2]).abs() < bound);
    }

    #[test]
    fn standard_normals_are_the_stream_and_sizes_are_bounded() {
        let v = standard_normals(3, 5, 40_000).unwrap();
        assert_eq!(v, draws(3, 5, 40_000));
        assert!(standard_normals(3, 0, 0).unwrap().is_empty());
        assert!(matches!(
            standard_normals(0, 0, MAX_STANDARD_NORMALS + 1),
            Err(DaclError::InvalidArgument(_))
        ));
    }

    #[test]
    fn position_addressing_is_chunk_independent() {
        let all = draws(99, 7, 101);
        for (start, len) in [(0usize, 1usize), (1, 10), (2, 33), (50, 51), (100, 1)] {
            let part = draws(99, 7 + start as u64, len);
            assert_eq!(&all[start..start + len], &part[..]);
        }
        for (i, v) in all.iter().enumerate() {
            assert_eq!(*v, normal_at(99, 7 + i as u64));
        }
    }
}
