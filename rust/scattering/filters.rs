//! The Morlet filter bank of kymatio's `Scattering1D`, built in the Fourier
//! domain exactly as kymatio 0.3.0 builds it (`scattering1d/filter_bank.py`),
//! so that the transform reproduces kymatio's numbers.
//!
//! Frequencies are in cycles per sample (Nyquist = 0.5). Filters are real
//! arrays indexed like `numpy.fft.fftfreq`: bin `m` holds frequency `m/L`
//! for `m < L/2` and `m/L - 1` above.

use std::ops::Range;

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::error::Result;
use crate::memory::{try_with_capacity, try_zeros};

/// Width of the low-pass filter at scale 1: `sigma_phi = SIGMA0 / T`.
pub const SIGMA0: f64 = 0.1;
/// Anti-aliasing tolerance: a filter may be subsampled by `2^j` while
/// `xi + ALPHA * sigma < 2^-(j+1)`.
pub const ALPHA: f64 = 5.0;
/// Most periods summed when periodising a Gaussian (kymatio's cap).
const MAX_PERIODS: usize = 5;
/// Precision asked of the periodisation (kymatio's `adaptive_choice_P`).
const PERIOD_EPS: f64 = 1e-7;
/// L1 tail below which the low-pass filter counts as finished; it sets the padding.
const SUPPORT_CRITERION: f64 = 1e-3;
/// Filter bins below this fraction of the filter's peak are skipped in the
/// transform. Their contribution is under 1e-18 of the signal's energy in the
/// band, far below float64 rounding of the result.
const NEGLIGIBLE: f64 = 1e-18;

/// Redundancy of adjacent wavelets: they cross at `R_PSI` of their peak.
fn r_psi() -> f64 {
    0.5f64.sqrt()
}

/// How a filter is brought to a coarser resolution `L / 2^k` by folding its
/// `2^k` spectral blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Block mean: kymatio 0.3.0 (PyPI).
    Mean,
    /// Block sum: kymatio main (0.4.0.dev, commit e5499f4b, issue #984).
    Sum,
}

impl Reduction {
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }
}

/// Centre frequencies, widths and maximal subsamplings of one wavelet family,
/// `n = 0` being the highest frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveletFamily {
    pub xi: Vec<f64>,
    pub sigma: Vec<f64>,
    pub j: Vec<usize>,
}

impl WaveletFamily {
    pub fn len(&self) -> usize {
        self.xi.len()
    }

    pub fn is_empty(&self) -> bool {
        self.xi.is_empty()
    }
}

/// Frequency width of a Morlet wavelet at `xi` in a family of `q` wavelets per
/// octave, so that neighbours cross at `R_PSI` (Lostanlen 2017, PhD thesis).
pub fn sigma_psi(xi: f64, q: usize) -> f64 {
    let factor = 1.0 / 2f64.powf(1.0 / q as f64);
    let term1 = (1.0 - factor) / (1.0 + factor);
    let term2 = 1.0 / (2.0 * (1.0 / r_psi()).ln()).sqrt();
    xi * term1 * term2
}

/// Highest centre frequency of a family with `q` wavelets per octave.
pub fn xi_max(q: usize) -> f64 {
    (1.0 / (1.0 + 2f64.powf(3.0 / q as f64))).max(0.35)
}

/// Largest `j` such that the filter can be subsampled by `2^j` without aliasing.
pub fn max_dyadic_subsampling(xi: f64, sigma: f64) -> usize {
    let upper = (xi + ALPHA * sigma).min(0.5);
    ((-upper.log2()).floor() - 1.0) as usize
}

/// The wavelet family of scale `2^J` with `q` wavelets per octave: a geometric
/// part down to the width `SIGMA0 / 2^J`, then `q - 1` linearly spaced
/// wavelets of that width below the elbow.
pub fn wavelet_family(j_scale: u32, q: usize) -> WaveletFamily {
    let sigma_min = SIGMA0 / 2f64.powi(j_scale as i32);
    let ratio = 2f64.powf(1.0 / q as f64);
    let xi_top = xi_max(q);
    let sigma_top = sigma_psi(xi_top, q);
    let mut xi = Vec::new();
    let mut sigma = Vec::new();
    let elbow_xi = if sigma_top <= sigma_min {
        // kymatio uses the width as the elbow frequency here (sic).
        sigma_top
    } else {
        xi.push(xi_top);
        sigma.push(sigma_top);
        while *sigma.last().unwrap() > sigma_min * ratio {
            let (x, s) = (*xi.last().unwrap(), *sigma.last().unwrap());
            xi.push(x / ratio);
            sigma.push(s / ratio);
        }
        *xi.last().unwrap()
    };
    for k in 1..q {
        xi.push(elbow_xi - k as f64 / q as f64 * elbow_xi);
        sigma.push(sigma_min);
    }
    let j = xi
        .iter()
        .zip(&sigma)
        .map(|(&x, &s)| max_dyadic_subsampling(x, s))
        .collect();
    WaveletFamily { xi, sigma, j }
}

/// Number of periods `P` (frequencies `[1-P, P)`) that makes a Gaussian of
/// width `sigma` periodic to `PERIOD_EPS`, capped at `MAX_PERIODS`.
fn periods(sigma: f64) -> usize {
    let p = ((-2.0 * sigma * sigma * PERIOD_EPS.ln()).sqrt() + 1.0).ceil() as usize;
    p.min(MAX_PERIODS)
}

/// Sum of `exp(-(f - centre)^2 / 2 sigma^2)` over the `2P-1` periods folded
/// onto `[0, L)`, divided by the number of periods (kymatio's mean).
fn periodised_gaussian(len: usize, centre: f64, sigma: f64, p: usize) -> Result<Vec<f64>> {
    let n_periods = 2 * p - 1;
    let two_var = 2.0 * (sigma * sigma);
    let mut out = try_zeros("a scattering filter", len)?;
    for period in 0..n_periods {
        for (m, o) in out.iter_mut().enumerate() {
            let idx = (period * len + m) as i64 + (1 - p as i64) * len as i64;
            let f = idx as f64 / len as f64;
            let d = f - centre;
            *o += ((-(d * d)) / two_var).exp();
        }
    }
    for o in out.iter_mut() {
        *o /= n_periods as f64;
    }
    Ok(out)
}

/// Inverse DFT (with the `1/L` factor) of a real spectrum.
fn inverse_dft(planner: &mut FftPlanner<f64>, spectrum: &[f64]) -> Result<Vec<Complex<f64>>> {
    let len = spectrum.len();
    let mut buf = try_with_capacity("a scattering filter's inverse DFT", len)?;
    buf.extend(spectrum.iter().map(|&v| Complex::new(v, 0.0)));
    let fft = planner.plan_fft_inverse(len);
    let mut scratch = try_zeros("a scattering filter's FFT scratch", fft.get_inplace_scratch_len())?;
    fft.process_with_scratch(&mut buf, &mut scratch);
    let scale = 1.0 / len as f64;
    buf.iter_mut().for_each(|c| *c *= scale);
    Ok(buf)
}

/// Fourier transform of a Morlet wavelet (`xi = Some`) or a Gaussian low-pass
/// (`xi = None`) on `len` bins, with unit L1 norm in time.
///
/// The Morlet is a Gabor minus the multiple of the Gaussian that makes its
/// mean exactly zero (`psi[0] = 0`).
pub fn morlet_fourier(planner: &mut FftPlanner<f64>, len: usize, xi: Option<f64>, sigma: f64) -> Result<Vec<f64>> {
    let p = periods(sigma);
    let low = periodised_gaussian(len, 0.0, sigma, p)?;
    let mut filter = match xi {
        Some(xi) if xi != 0.0 => {
            let mut gabor = periodised_gaussian(len, xi, sigma, p)?;
            let kappa = gabor[0] / low[0];
            gabor.iter_mut().zip(&low).for_each(|(g, l)| *g -= kappa * l);
            gabor
        }
        _ => low,
    };
    let l1: f64 = inverse_dft(planner, &filter)?.iter().map(|c| c.norm()).sum();
    filter.iter_mut().for_each(|v| *v /= l1);
    Ok(filter)
}

/// Half temporal support of a centred, symmetric filter given in Fourier: one
/// more than the first `n` whose L1 tail `sum_{m=n}^{L/2-1} |h[m]|` is at most
/// `SUPPORT_CRITERION`; `None` if the tail never gets that small.
pub fn temporal_support(planner: &mut FftPlanner<f64>, filter: &[f64]) -> Result<Option<usize>> {
    let h = inverse_dft(planner, filter)?;
    let half = filter.len() / 2;
    let mut tail = try_zeros("a filter's L1 tail", half)?;
    let mut acc = 0.0;
    for n in (0..half).rev() {
        acc += h[n].norm();
        tail[n] = acc;
    }
    Ok(tail.iter().position(|&r| r <= SUPPORT_CRITERION).map(|n| n + 1))
}

/// Reflect padding of a signal of length `n` to the power of two `n_padded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Padding {
    pub n_padded: usize,
    pub left: usize,
    pub right: usize,
}

fn ceil_log2(v: usize) -> u32 {
    v.next_power_of_two().trailing_zeros()
}

fn floor_log2(v: usize) -> u32 {
    usize::BITS - 1 - v.leading_zeros()
}

/// Padding of a length-`n` signal for a low-pass of scale `t`: three times
/// the low-pass support on each side, rounded up to a power of two, but never
/// more than `n - 1` samples per side (reflection needs `pad < n`).
///
/// Needs `n >= 2`. When the low-pass is wider than the signal kymatio warns
/// and takes half the signal as the support; so do we (without the warning).
pub fn padding(planner: &mut FftPlanner<f64>, n: usize, t: usize) -> Result<Padding> {
    let phi = morlet_fourier(planner, n, None, SIGMA0 / t as f64)?;
    let support = temporal_support(planner, &phi)?.unwrap_or(n / 2);
    let wanted = ceil_log2(n + 2 * 3 * support);
    let cap = floor_log2(3 * n - 2);
    let n_padded = 1usize << wanted.min(cap);
    let left = (n_padded - n) / 2;
    Ok(Padding {
        n_padded,
        left,
        right: n_padded - n - left,
    })
}

/// Filter brought to resolution `L / 2^level` by folding its `2^level`
/// spectral blocks (mean or sum).
pub fn periodise(filter: &[f64], level: u32, reduction: Reduction) -> Result<Vec<f64>> {
    let blocks = 1usize << level;
    let len = filter.len() / blocks;
    let mut out = try_with_capacity("a periodised scattering filter", len)?;
    out.extend_from_slice(&filter[..len]);
    for block in filter.chunks_exact(len).skip(1) {
        out.iter_mut().zip(block).for_each(|(o, b)| *o += b);
    }
    if reduction == Reduction::Mean {
        let scale = 1.0 / blocks as f64;
        out.iter_mut().for_each(|o| *o *= scale);
    }
    Ok(out)
}

/// A filter in Fourier plus the bin ranges where it is not negligible, so the
/// transform multiplies only there.
#[derive(Debug, Clone)]
pub struct FourierFilter {
    pub values: Vec<f64>,
    pub support: Vec<Range<usize>>,
}

impl FourierFilter {
    pub fn new(values: Vec<f64>) -> Self {
        let peak = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let threshold = peak * NEGLIGIBLE;
        let mut support = Vec::new();
        let mut start = None;
        for (m, v) in values.iter().enumerate() {
            match (v.abs() > threshold, start) {
                (true, None) => start = Some(m),
                (false, Some(s)) => {
                    support.push(s..m);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            support.push(s..values.len());
        }
        FourierFilter { values, support }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn j6_q8_family_matches_kymatio() {
        let fam = wavelet_family(6, 8);
        assert_eq!(fam.len(), 38);
        assert!((fam.xi[0] - 0.435381).abs() < 1e-6);
        assert!((fam.sigma[0] - 0.0226407).abs() < 1e-7);
        let count = |j| fam.j.iter().filter(|&&v| v == j).count();
        assert_eq!(
            [count(0), count(1), count(2), count(3), count(4), count(5)],
            [10, 8, 8, 7, 4, 1]
        );
        assert_eq!(fam.j.len(), 38);
    }

    #[test]
    fn j8_q8_family_has_54_filters_up_to_j7() {
        let fam = wavelet_family(8, 8);
        assert_eq!(fam.len(), 54);
        assert_eq!(*fam.j.iter().max().unwrap(), 7);
    }

    #[test]
    fn q1_family_is_dyadic() {
        let fam = wavelet_family(6, 1);
        assert_eq!(fam.j, vec![0, 0, 0, 1, 2, 3, 4]);
        for (i, (&xi, &sigma)) in fam.xi.iter().zip(&fam.sigma).enumerate() {
            let scale = 2f64.powi(-(i as i32));
            assert!((xi - 0.35 * scale).abs() < 1e-12);
            assert!((sigma - 0.140131 * scale).abs() < 1e-6 * scale);
        }
        let fam8 = wavelet_family(8, 1);
        assert_eq!(fam8.len(), 9);
        assert_eq!(*fam8.j.iter().max().unwrap(), 6);
    }

    #[test]
    fn centre_frequencies_decrease() {
        for (j, q) in [(6, 8), (8, 8), (4, 3), (10, 16)] {
            let fam = wavelet_family(j, q);
            assert!(fam.xi.windows(2).all(|w| w[1] < w[0]));
            assert!(fam.j.windows(2).all(|w| w[1] >= w[0]));
        }
    }

    #[test]
    fn morlet_has_zero_mean_and_unit_l1_norm() {
        let mut planner = FftPlanner::new();
        let fam = wavelet_family(6, 8);
        for (&xi, &sigma) in fam.xi.iter().zip(&fam.sigma) {
            let psi = morlet_fourier(&mut planner, 1024, Some(xi), sigma).unwrap();
            let peak = psi.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            assert!(psi[0].abs() <= 1e-15 * peak, "psi[0] = {}", psi[0]);
            let l1: f64 = inverse_dft(&mut planner, &psi).unwrap().iter().map(|c| c.norm()).sum();
            assert!((l1 - 1.0).abs() < 1e-12);
            // the peak sits at the centre frequency (within one bin)
            let argmax = psi
                .iter()
                .enumerate()
                .fold((0, f64::MIN), |a, (m, &v)| if v > a.1 { (m, v) } else { a })
                .0;
            assert!((argmax as f64 / 1024.0 - xi).abs() <= 1.0 / 1024.0 + 0.01 * xi);
        }
        let phi = morlet_fourier(&mut planner, 1024, None, SIGMA0 / 64.0).unwrap();
        let l1: f64 = inverse_dft(&mut planner, &phi).unwrap().iter().map(|c| c.norm()).sum();
        assert!((l1 - 1.0).abs() < 1e-12);
        assert!(phi.iter().all(|&v| v >= 0.0));
        for m in 1..512 {
            assert!((phi[m] - phi[1024 - m]).abs() < 1e-15);
        }
    }

    #[test]
    fn padding_sizes_match_kymatio() {
        let mut planner = FftPlanner::new();
        let phi = morlet_fourier(&mut planner, 2048, None, SIGMA0 / 64.0).unwrap();
        assert_eq!(temporal_support(&mut planner, &phi).unwrap(), Some(317));
        let phi = morlet_fourier(&mut planner, 2048, None, SIGMA0 / 256.0).unwrap();
        assert_eq!(temporal_support(&mut planner, &phi).unwrap(), Some(1013));
        let phi = morlet_fourier(&mut planner, 4096, None, SIGMA0 / 256.0).unwrap();
        assert_eq!(temporal_support(&mut planner, &phi).unwrap(), Some(1261));
        let pad = padding(&mut planner, 9000, 256).unwrap();
        assert_eq!(pad.n_padded, 16384);
        assert_eq!((pad.left, pad.right), (3692, 3692));
        assert_eq!(padding(&mut planner, 2048, 64).unwrap().n_padded, 4096);
        assert_eq!(padding(&mut planner, 2048, 256).unwrap().n_padded, 4096);
        assert_eq!(padding(&mut planner, 4096, 64).unwrap().n_padded, 8192);
        assert_eq!(padding(&mut planner, 9000, 64).unwrap().n_padded, 16384);
    }

    #[test]
    fn periodise_mean_and_sum_differ_by_block_count() {
        let h: Vec<f64> = (0..16).map(|v| v as f64).collect();
        let mean = periodise(&h, 2, Reduction::Mean).unwrap();
        let sum = periodise(&h, 2, Reduction::Sum).unwrap();
        assert_eq!(sum, vec![24.0, 28.0, 32.0, 36.0]);
        assert_eq!(mean, vec![6.0, 7.0, 8.0, 9.0]);
    }

    #[test]
    fn support_covers_every_non_negligible_bin() {
        let mut planner = FftPlanner::new();
        let psi = morlet_fourier(&mut planner, 4096, Some(0.02), 0.003).unwrap();
        let f = FourierFilter::new(psi.clone());
        let peak = psi.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for (m, v) in psi.iter().enumerate() {
            let inside = f.support.iter().any(|r| r.contains(&m));
            assert_eq!(inside, v.abs() > peak * NEGLIGIBLE, "bin {m}");
        }
        assert!(f.support.iter().map(|r| r.len()).sum::<usize>() < 4096 / 2);
    }
}
