//! Digital Butterworth band-pass design, as `scipy.signal.butter(...,
//! 'bandpass', output='sos')` with scipy's "nearest" pole/zero pairing.

use rustfft::num_complex::Complex;

use crate::error::{DaclError, Result};

/// Highest supported Butterworth prototype order.
pub const MAX_BAND_ORDER: usize = 10;

/// One second-order section `[b0, b1, b2, 1, a1, a2]`.
pub type Sos = [f64; 6];

fn is_real(z: Complex<f64>) -> bool {
    z.im.abs() <= 100.0 * f64::EPSILON * z.norm()
}

fn idx_worst(p: &[Complex<f64>]) -> usize {
    let mut best = 0;
    for (i, z) in p.iter().enumerate() {
        if (1.0 - z.norm()).abs() < (1.0 - p[best].norm()).abs() {
            best = i;
        }
    }
    best
}

fn nearest(zeros: &[f64], to: Complex<f64>) -> usize {
    let mut best = 0;
    for (i, &z) in zeros.iter().enumerate() {
        if (Complex::new(z, 0.0) - to).norm() < (Complex::new(zeros[best], 0.0) - to).norm() {
            best = i;
        }
    }
    best
}

/// Digital Butterworth band-pass as second-order sections, following the steps
/// of `scipy.signal.butter(order, [lo, hi], 'bandpass', fs=fs, output='sos')`:
/// analog prototype → bilinear pre-warping → low-pass-to-band-pass → bilinear
/// transform → sections with the "nearest" pairing (poles closest to the unit
/// circle last, each with its nearest zeros) and the gain in the first section.
pub fn butter_bandpass(order: usize, lo: f64, hi: f64, fs: f64) -> Result<Vec<Sos>> {
    if order == 0 || order > MAX_BAND_ORDER {
        return Err(DaclError::invalid(format!(
            "band_order must be in [1, {MAX_BAND_ORDER}], got {order}"
        )));
    }
    let nyq = fs / 2.0;
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi && hi < nyq) {
        return Err(DaclError::invalid(format!(
            "band edges must satisfy 0 < lo < hi < Nyquist ({nyq} Hz), got ({lo}, {hi})"
        )));
    }
    let n = order;
    let warp = |f: f64| {
        let wn = 2.0 * f / fs;
        2.0 * 2.0 * (std::f64::consts::PI * wn / 2.0).tan()
    };
    let (w_lo, w_hi) = (warp(lo), warp(hi));
    let bw = w_hi - w_lo;
    let wo = (w_lo * w_hi).sqrt();
    // Analog prototype poles -exp(iπm/(2N)), m = -N+1, -N+3, ..., N-1.
    let proto: Vec<Complex<f64>> = (0..n)
        .map(|j| {
            let m = -(n as f64) + 1.0 + 2.0 * j as f64;
            -Complex::new(0.0, std::f64::consts::PI * m / (2.0 * n as f64)).exp()
        })
        .collect();
    let p_lp: Vec<Complex<f64>> = proto.iter().map(|p| p * (bw / 2.0)).collect();
    let mut p_bp: Vec<Complex<f64>> = p_lp.iter().map(|p| p + (p * p - wo * wo).sqrt()).collect();
    p_bp.extend(p_lp.iter().map(|p| p - (p * p - wo * wo).sqrt()));
    // Bilinear transform with fs = 2 (frequencies were normalised above).
    let fs2 = 4.0;
    let mut k = bw.powi(n as i32);
    let prod_p = p_bp.iter().fold(Complex::new(1.0, 0.0), |acc, p| acc * (fs2 - p));
    k *= (Complex::new(fs2.powi(n as i32), 0.0) / prod_p).re;
    let p_z: Vec<Complex<f64>> = p_bp.iter().map(|p| (fs2 + p) / (fs2 - p)).collect();

    // One representative per conjugate pair (positive imaginary part), sorted
    // by real part, then the real poles, sorted.
    let mut cplx: Vec<Complex<f64>> = p_z.iter().copied().filter(|p| !is_real(*p) && p.im > 0.0).collect();
    cplx.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.abs().total_cmp(&b.im.abs())));
    let mut reals: Vec<f64> = p_z.iter().copied().filter(|p| is_real(*p)).map(|p| p.re).collect();
    reals.sort_by(f64::total_cmp);
    let mut poles: Vec<Complex<f64>> = cplx;
    poles.extend(reals.iter().map(|&r| Complex::new(r, 0.0)));
    // N zeros at z = +1 (from s = 0) and N at z = -1 (from s = ∞).
    let mut zeros: Vec<f64> = std::iter::repeat(-1.0)
        .take(n)
        .chain(std::iter::repeat(1.0).take(n))
        .collect();

    let mut sos = vec![[0.0; 6]; n];
    for si in (0..n).rev() {
        let p1 = poles.remove(idx_worst(&poles));
        let p1_real = p1.im == 0.0;
        let reals_left = poles.iter().filter(|p| p.im == 0.0).count();
        if p1_real && reals_left == 0 {
            // A lone real pole takes a single real zero (first-order section).
            let z1 = zeros.remove(nearest(&zeros, p1));
            sos[si] = [1.0, -z1, 0.0, 1.0, -p1.re, 0.0];
            continue;
        }
        let p2 = if p1_real {
            let real_idx: Vec<usize> = (0..poles.len()).filter(|&i| poles[i].im == 0.0).collect();
            let sub: Vec<Complex<f64>> = real_idx.iter().map(|&i| poles[i]).collect();
            poles.remove(real_idx[idx_worst(&sub)])
        } else {
            p1.conj()
        };
        let z1 = zeros.remove(nearest(&zeros, p1));
        let (b1, b2) = if zeros.is_empty() {
            (-z1, 0.0)
        } else {
            let z2 = zeros.remove(nearest(&zeros, p1));
            (-(z1 + z2), z1 * z2)
        };
        sos[si] = [1.0, b1, b2, 1.0, -(p1 + p2).re, (p1 * p2).re];
    }
    for c in &mut sos[0][..3] {
        *c *= k;
    }
    Ok(sos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_band_edges_and_orders_are_errors() {
        assert_eq!(butter_bandpass(2, 0.5, 40.0, 500.0).unwrap().len(), 2);
        assert!(butter_bandpass(2, 40.0, 0.5, 500.0).is_err());
        assert!(butter_bandpass(2, 0.5, 250.0, 500.0).is_err());
        assert!(butter_bandpass(0, 0.5, 40.0, 500.0).is_err());
        assert!(butter_bandpass(MAX_BAND_ORDER + 1, 0.5, 40.0, 500.0).is_err());
    }
}
