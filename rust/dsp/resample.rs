//! Polyphase resampling by a rational factor, as `scipy.signal.resample_poly`.
//!
//! `resample_poly(x, up, down)` with scipy's defaults: a Kaiser-windowed FIR
//! (β = 5, half length `10·max(up, down)`) applied with zero padding,
//! reproduced to rounding. Only rational ratios `up/down` (reduced, both ≤
//! [`MAX_RATE_FACTOR`]) are supported, which covers ECG rates (300→250,
//! 360→250, 300→500 Hz, ...).

use crate::error::{DaclError, Result};
use crate::memory::{product, try_with_capacity};

/// Largest reduced `up` or `down` accepted for resampling (the FIR has
/// `20·max(up, down) + 1` taps).
pub const MAX_RATE_FACTOR: u64 = 1000;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `(up, down)` in lowest terms with `up/down == target/fs` (to 1e-12
/// relative), found by continued fractions.
pub fn rational_ratio(fs: f64, target: f64) -> Result<(u64, u64)> {
    let r = target / fs;
    // Convergents p/q of r.
    let (mut p0, mut q0, mut p1, mut q1) = (0u64, 1u64, 1u64, 0u64);
    let mut x = r;
    for _ in 0..64 {
        let a = x.floor();
        if a > 1e15 {
            break;
        }
        let a_u = a as u64;
        let (p2, q2) = (
            a_u.saturating_mul(p1).saturating_add(p0),
            a_u.saturating_mul(q1).saturating_add(q0),
        );
        if p2 > MAX_RATE_FACTOR || q2 > MAX_RATE_FACTOR {
            break;
        }
        (p0, q0, p1, q1) = (p1, q1, p2, q2);
        if ((p1 as f64 / q1 as f64) - r).abs() <= 1e-12 * r {
            let g = gcd(p1, q1);
            return Ok((p1 / g, q1 / g));
        }
        let frac = x - a;
        if frac <= 0.0 {
            break;
        }
        x = 1.0 / frac;
    }
    Err(DaclError::invalid(format!(
        "target_fs / fs = {target} / {fs} is not a ratio up/down of integers <= {MAX_RATE_FACTOR}"
    )))
}

/// Modified Bessel function of the first kind, order 0 (power series; fine
/// for the small arguments of a Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let q = 0.25 * x * x;
    let (mut term, mut sum, mut k) = (1.0f64, 1.0f64, 1.0f64);
    while term > 1e-17 * sum {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// The anti-aliasing filter of `resample_poly`: `firwin(2·half+1, 1/max(up, down),
/// window=('kaiser', 5.0))` scaled by `up`.
fn resample_filter(up: u64, down: u64) -> (Vec<f64>, usize) {
    let half = 10 * up.max(down) as usize;
    let numtaps = 2 * half + 1;
    let cutoff = 1.0 / up.max(down) as f64;
    let alpha = half as f64;
    let beta = 5.0;
    let i0_beta = bessel_i0(beta);
    let mut h: Vec<f64> = (0..numtaps)
        .map(|i| {
            let m = i as f64 - alpha;
            let y = std::f64::consts::PI * if m == 0.0 { 1e-20 } else { cutoff * m };
            let sinc = y.sin() / y;
            let r = (i as f64 - alpha) / alpha;
            let w = bessel_i0(beta * (1.0 - r * r).sqrt()) / i0_beta;
            cutoff * sinc * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    for v in &mut h {
        *v = *v / s * up as f64;
    }
    (h, half)
}

/// Length of `resample_poly`'s output for `n` input samples:
/// `ceil(n·up/down)`, or an error if that does not fit `usize`.
pub fn resampled_len(n: usize, up: u64, down: u64) -> Result<usize> {
    let (up, down) = (usize::try_from(up), usize::try_from(down));
    match (up, down) {
        (Ok(up), Ok(down)) if down > 0 => Ok(product("the resampled record", &[n, up])?.div_ceil(down)),
        _ => Err(DaclError::invalid("resampling factors must be positive and fit usize")),
    }
}

/// `scipy.signal.resample_poly(x, up, down)` (defaults) for `up/down` in lowest
/// terms. Output length `ceil(len·up/down)` ([`resampled_len`]).
pub fn resample_poly(x: &[f64], up: u64, down: u64) -> Result<Vec<f64>> {
    let n_out = resampled_len(x.len(), up, down)?;
    let mut out = try_with_capacity("the resampled record", n_out)?;
    if up == down {
        out.extend_from_slice(x);
        return Ok(out);
    }
    let (h, half) = resample_filter(up, down);
    let (up_u, down_u) = (up as usize, down as usize);
    // Zero-pad the filter in front so output samples land on the centre tap.
    let pre_pad = down_u - half % down_u;
    let pre_remove = (half + pre_pad) / down_u;
    let n_in = x.len();
    let len_h = h.len() + pre_pad;
    out.extend((0..n_out).map(|k| {
        // upfirdn output m = k + pre_remove: y[m] = Σ_i x[i] h_pad[m·down - i·up].
        // Only taps inside the unpadded filter, pre_pad <= pos - i·up < len_h, contribute.
        let pos = (k + pre_remove) * down_u;
        if pos < pre_pad {
            return 0.0;
        }
        let i_hi = ((pos - pre_pad) / up_u).min(n_in.saturating_sub(1));
        let i_lo = (pos + 1).saturating_sub(len_h).div_ceil(up_u);
        let mut acc = 0.0;
        for i in i_lo..=i_hi {
            acc += x[i] * h[pos - i * up_u - pre_pad];
        }
        acc
    }));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_ratios() {
        assert_eq!(rational_ratio(300.0, 250.0).unwrap(), (5, 6));
        assert_eq!(rational_ratio(300.0, 500.0).unwrap(), (5, 3));
        assert_eq!(rational_ratio(360.0, 250.0).unwrap(), (25, 36));
        assert!(rational_ratio(1.0, std::f64::consts::PI).is_err());
    }

    #[test]
    fn output_lengths_are_checked() {
        assert_eq!(resampled_len(3000, 5, 6).unwrap(), 2500);
        assert_eq!(resampled_len(7, 5, 3).unwrap(), 12);
        assert!(matches!(
            resampled_len(usize::MAX / 2, 1000, 3),
            Err(DaclError::InvalidArgument(_))
        ));
        assert_eq!(resample_poly(&[1.0, 2.0], 4, 4).unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn resample_preserves_a_slow_sine() {
        // A 1 Hz sine at 300 Hz resampled to 250 Hz stays a 1 Hz sine away from the ends.
        let x: Vec<f64> = (0..3000)
            .map(|i| (2.0 * std::f64::consts::PI * i as f64 / 300.0).sin())
            .collect();
        let y = resample_poly(&x, 5, 6).unwrap();
        assert_eq!(y.len(), 2500);
        for (k, v) in y.iter().enumerate().skip(100).take(2300) {
            let expect = (2.0 * std::f64::consts::PI * k as f64 / 250.0).sin();
            assert!((v - expect).abs() < 1e-3, "{k}: {v} vs {expect}");
        }
    }
}
