//! kymatio-exact 1-D wavelet scattering (Andén & Mallat 2014, "Deep
//! scattering spectrum"), reproducing `kymatio.numpy.Scattering1D`.
//!
//! A [`Scattering1D`] is a plan: the filter bank, padding and FFT plans are
//! built once for `(N, J, Q, T, max_order, reduction)`, then
//! [`Scattering1D::transform`] runs on a batch of signals, in parallel over
//! signals with rayon. Each signal is computed by one thread in a fixed order,
//! so the result does not depend on the number of threads.

pub mod filters;
pub(crate) mod kernels;
pub(crate) mod transform;

use std::sync::OnceLock;

use rayon::prelude::*;
use rustfft::FftPlanner;

use crate::error::{DaclError, Result};
use crate::memory::{human_bytes, product, try_zeros};
use crate::real::Real;
pub use filters::Reduction;
use filters::{morlet_fourier, padding, periodise, wavelet_family, FourierFilter, Padding, WaveletFamily, SIGMA0};
use transform::{Kernels, Loan, WorkspacePool};

/// Largest accepted `J`: beyond it the wavelet widths `0.1 / 2^J` vanish on any
/// frequency grid a machine can hold.
pub const MAX_J: u32 = 40;
/// Largest accepted signal length `N`: 2^22 samples, 3.9 hours at 300 Hz,
/// 2.3 hours at 500 Hz. The padding is found with FFTs of length `N` before
/// the filter bank's size is known, and rustfft's plans allocate without a
/// way to report failure, so this bound keeps those allocations well under
/// a GiB.
pub const MAX_SHAPE: usize = 1 << 22;
/// Most wavelets per octave at either order (kymatio's examples use 1 to 16).
pub const MAX_Q: usize = 256;
/// Largest float64 filter bank a plan may build (4 GiB). The bank holds about
/// `Q1·(J + 3)` filters of `N_padded` values plus the second-order ones, so
/// this is what refuses, e.g., `J = 8, Q = 8` beyond `N ≈ 4·10^6`.
pub const MAX_FILTER_BANK_BYTES: usize = 4 << 30;

/// A second-order path `(n1, n2)`: the wavelet `n2` at the resolution of its
/// parent, and the extra subsampling `k2` after it.
#[derive(Debug, Clone)]
struct SecondOrder {
    n2: usize,
    /// Index into [`Scattering1D::psi2`].
    filter: usize,
    k2: u32,
}

/// A first-order path `n1`, its subsampling `k1` and its children.
#[derive(Debug, Clone)]
struct FirstOrder {
    k1: u32,
    second: Vec<SecondOrder>,
}

/// Which filters a scattering path went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    Zeroth,
    First { n1: usize },
    Second { n1: usize, n2: usize },
}

/// A built scattering transform for signals of length `N`.
pub struct Scattering1D {
    j: u32,
    n: usize,
    q: (usize, usize),
    t: usize,
    log2_t: u32,
    max_order: usize,
    reduction: Reduction,
    padding: Padding,
    family1: WaveletFamily,
    family2: WaveletFamily,
    /// Filters and FFT plans in float64, and in float32 once a float32 input came.
    pub(crate) kernels: Kernels<f64>,
    pub(crate) kernels32: OnceLock<Kernels<f32>>,
    pub(crate) workspaces: WorkspacePool<f64>,
    pub(crate) workspaces32: WorkspacePool<f32>,
    first_order: Vec<FirstOrder>,
    /// Output crop at stride `2^log2_t`.
    out_start: usize,
    out_len: usize,
}

impl std::fmt::Debug for Scattering1D {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scattering1D")
            .field("J", &self.j)
            .field("N", &self.n)
            .field("Q", &self.q)
            .field("T", &self.t)
            .field("max_order", &self.max_order)
            .field("reduction", &self.reduction)
            .finish()
    }
}

/// For each second-order wavelet `n2`, the resolutions `L / 2^k1` (ascending)
/// at which it is needed: those of the first-order parents `n1` with
/// `j1 < j2`, `k1s[n1]` being parent `n1`'s subsampling.
fn second_order_levels(family1: &WaveletFamily, family2: &WaveletFamily, k1s: &[u32]) -> Vec<Vec<u32>> {
    (0..family2.len())
        .map(|n2| {
            let mut levels: Vec<u32> = (0..family1.len())
                .filter(|&n1| family2.j[n2] > family1.j[n1])
                .map(|n1| k1s[n1])
                .collect();
            levels.sort_unstable();
            levels.dedup();
            levels
        })
        .collect()
}

/// Refuse a filter bank above [`MAX_FILTER_BANK_BYTES`] before building it:
/// the low-pass at `log2_t + 1` resolutions, `n_first` full-length wavelets
/// and each second-order wavelet at its `psi2_levels`, plus the one
/// full-length filter alive while the others are made.
fn check_filter_bank_size(
    j: u32,
    n: usize,
    q: (usize, usize),
    len: usize,
    log2_t: u32,
    n_first: usize,
    psi2_levels: &[Vec<u32>],
) -> Result<()> {
    let at = |k: u32| (len >> k) as u128;
    let phi: u128 = (0..=log2_t).map(at).sum();
    let psi1 = n_first as u128 * len as u128;
    let psi2: u128 = psi2_levels.iter().flatten().map(|&k| at(k)).sum();
    let bytes = (phi + psi1 + psi2 + len as u128) * std::mem::size_of::<f64>() as u128;
    if bytes > MAX_FILTER_BANK_BYTES as u128 {
        return Err(DaclError::invalid(format!(
            "J = {j}, Q = ({}, {}) and shape = {n} (padded to {len}) need a filter bank of {}, more than the {} \
             limit; lower Q, J or the shape",
            q.0,
            q.1,
            human_bytes(usize::try_from(bytes).unwrap_or(usize::MAX)),
            human_bytes(MAX_FILTER_BANK_BYTES)
        )));
    }
    Ok(())
}

/// `ceil(i / 2)` applied `times` times: where the signal's edge lands after
/// `times` halvings (kymatio's `compute_border_indices`).
fn halve_up(mut i: usize, times: u32) -> usize {
    for _ in 0..times {
        i = i.div_ceil(2);
    }
    i
}

impl Scattering1D {
    /// Build the transform. `q = (Q1, Q2)` wavelets per octave at orders 1
    /// and 2; `t = None` means `T = 2^J`.
    ///
    /// Sizes are bounded before anything is allocated: `N <=` [`MAX_SHAPE`],
    /// `Q1, Q2 <=` [`MAX_Q`], `J <=` [`MAX_J`], and the float64 filter bank
    /// at most [`MAX_FILTER_BANK_BYTES`] (all `InvalidArgument`). Memory the
    /// system refuses is [`DaclError::OutOfMemory`].
    pub fn new(
        j: u32,
        n: usize,
        q: (usize, usize),
        t: Option<usize>,
        max_order: usize,
        reduction: Reduction,
    ) -> Result<Self> {
        if n < 2 {
            return Err(DaclError::invalid(format!("shape must be at least 2 samples, got {n}")));
        }
        if n > MAX_SHAPE {
            return Err(DaclError::invalid(format!(
                "shape must be at most {MAX_SHAPE} samples (2**22), got {n}"
            )));
        }
        if q.0 < 1 || q.1 < 1 {
            return Err(DaclError::invalid(format!(
                "Q should always be >= 1, got ({}, {})",
                q.0, q.1
            )));
        }
        if q.0 > MAX_Q || q.1 > MAX_Q {
            return Err(DaclError::invalid(format!(
                "Q must be at most {MAX_Q} wavelets per octave, got ({}, {})",
                q.0, q.1
            )));
        }
        if j > MAX_J {
            return Err(DaclError::invalid(format!("J must be at most {MAX_J}, got {j}")));
        }
        if !(1..=2).contains(&max_order) {
            return Err(DaclError::invalid(format!("max_order must be 1 or 2, got {max_order}")));
        }
        let t = match t {
            None => {
                let t = 1usize << j;
                if t > n {
                    return Err(DaclError::invalid(format!(
                        "the default T = 2**J = {t} exceeds the signal length N = {n}; lower J or pass a T <= N"
                    )));
                }
                t
            }
            Some(0) => {
                return Err(DaclError::invalid(
                    "T must be >= 1 (T=0, no averaging, is not supported)",
                ))
            }
            Some(t) if t > n => {
                return Err(DaclError::invalid(format!(
                "the temporal support T of the low-pass filter cannot exceed the signal length (got T = {t} > N = {n})"
            )))
            }
            Some(t) => t,
        };
        let log2_t = usize::BITS - 1 - t.leading_zeros();

        let mut planner = FftPlanner::new();
        let padding = padding(&mut planner, n, t)?;
        let len = padding.n_padded;
        let family1 = wavelet_family(j, q.0);
        let family2 = wavelet_family(j, q.1);
        let k1s: Vec<u32> = family1.j.iter().map(|&j1| (j1 as u32).min(log2_t)).collect();
        let psi2_levels = if max_order == 2 {
            second_order_levels(&family1, &family2, &k1s)
        } else {
            vec![Vec::new(); family2.len()]
        };
        check_filter_bank_size(j, n, q, len, log2_t, family1.len(), &psi2_levels)?;

        let checked = |values: Vec<f64>, what: &str| -> Result<Vec<f64>> {
            if values.iter().all(|v| v.is_finite()) {
                Ok(values)
            } else {
                Err(DaclError::invalid(format!(
                    "J = {j} is too large for N = {n} (padded to {len}): the {what} vanishes on the frequency grid"
                )))
            }
        };

        let phi0 = checked(
            morlet_fourier(&mut planner, len, None, SIGMA0 / t as f64)?,
            "low-pass filter",
        )?;
        let phi: Vec<FourierFilter> = (0..=log2_t)
            .map(|k| Ok(FourierFilter::new(periodise(&phi0, k, reduction)?)))
            .collect::<Result<_>>()?;
        drop(phi0);

        let mut psi1 = Vec::with_capacity(family1.len());
        for (&xi, &sigma) in family1.xi.iter().zip(&family1.sigma) {
            psi1.push(FourierFilter::new(checked(
                morlet_fourier(&mut planner, len, Some(xi), sigma)?,
                "first-order wavelet",
            )?));
        }

        let mut psi2 = Vec::new();
        // psi2_index[n2][k1]: where wavelet n2 at resolution L/2^k1 sits in psi2.
        let mut psi2_index = vec![vec![None; log2_t as usize + 1]; family2.len()];
        for (n2, (&xi, &sigma)) in family2.xi.iter().zip(&family2.sigma).enumerate() {
            if psi2_levels[n2].is_empty() {
                continue;
            }
            let full = checked(
                morlet_fourier(&mut planner, len, Some(xi), sigma)?,
                "second-order wavelet",
            )?;
            for &k in &psi2_levels[n2] {
                psi2_index[n2][k as usize] = Some(psi2.len());
                psi2.push(FourierFilter::new(periodise(&full, k, reduction)?));
            }
        }

        let first_order = (0..family1.len())
            .map(|n1| {
                let k1 = k1s[n1];
                let second = if max_order == 2 {
                    (0..family2.len())
                        .filter(|&n2| family2.j[n2] > family1.j[n1])
                        .filter_map(|n2| {
                            let k2 = ((family2.j[n2] as u32).min(log2_t)).saturating_sub(k1);
                            psi2_index[n2][k1 as usize].map(|filter| SecondOrder { n2, filter, k2 })
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                FirstOrder { k1, second }
            })
            .collect();

        let out_start = halve_up(padding.left, log2_t);
        let out_end = halve_up(padding.left + n, log2_t);
        let kernels = Kernels::new(phi, psi1, psi2, len, log2_t)?;
        Ok(Scattering1D {
            j,
            n,
            q,
            t,
            log2_t,
            max_order,
            reduction,
            padding,
            family1,
            family2,
            kernels,
            kernels32: OnceLock::new(),
            workspaces: WorkspacePool::default(),
            workspaces32: WorkspacePool::default(),
            first_order,
            out_start,
            out_len: out_end - out_start,
        })
    }

    pub fn j(&self) -> u32 {
        self.j
    }
    /// Signal length `N`.
    pub fn n(&self) -> usize {
        self.n
    }
    pub fn q(&self) -> (usize, usize) {
        self.q
    }
    pub fn t(&self) -> usize {
        self.t
    }
    pub fn max_order(&self) -> usize {
        self.max_order
    }
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }
    /// Length after reflect padding (a power of two).
    pub fn n_padded(&self) -> usize {
        self.padding.n_padded
    }
    pub fn padding(&self) -> Padding {
        self.padding
    }
    /// First- and second-order wavelet families.
    pub fn families(&self) -> (&WaveletFamily, &WaveletFamily) {
        (&self.family1, &self.family2)
    }
    /// Output samples per path, `T_out`.
    pub fn output_len(&self) -> usize {
        self.out_len
    }

    /// The paths in output order: order 0, then order 1 by `n1`, then order 2
    /// with `n1` major and `n2` minor.
    pub fn paths(&self) -> Vec<PathKind> {
        let mut paths = vec![PathKind::Zeroth];
        paths.extend((0..self.first_order.len()).map(|n1| PathKind::First { n1 }));
        for (n1, path) in self.first_order.iter().enumerate() {
            paths.extend(path.second.iter().map(|c| PathKind::Second { n1, n2: c.n2 }));
        }
        paths
    }

    /// Number of output paths (kymatio's `output_size()`).
    pub fn n_paths(&self) -> usize {
        1 + self.first_order.len() + self.first_order.iter().map(|p| p.second.len()).sum::<usize>()
    }

    /// Scatter a batch: `x` holds `B` signals of length `N` back to back; the
    /// result holds `B` blocks of `n_paths() x output_len()`. Runs on the
    /// current rayon pool. Fails on non-finite input, naming the signal.
    pub fn transform<T: Real>(&self, x: &[T]) -> Result<Vec<T>> {
        if x.is_empty() || x.len() % self.n != 0 {
            return Err(DaclError::invalid(format!(
                "input of {} samples is not a non-empty batch of signals of length N = {}",
                x.len(),
                self.n
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(DaclError::NonFinite {
                what: format!("signal {} of the batch", i / self.n),
                index: i % self.n,
            });
        }
        let signals = x.len() / self.n;
        let per_signal = self.n_paths() * self.out_len;
        let what = format!(
            "the scattering output ({signals} signals × {} paths × {} samples)",
            self.n_paths(),
            self.out_len
        );
        let mut out = try_zeros(&what, product(&what, &[signals, per_signal])?)?;
        // Made here, once, rather than by the first threads that need them.
        T::kernels(self)?;
        if signals < rayon::current_num_threads() {
            // Too few signals to keep the pool busy: spread each one's paths.
            let mut loan = Loan::<T>::take(self)?;
            for (signal, coefs) in x.chunks(self.n).zip(out.chunks_mut(per_signal)) {
                self.transform_one_by_branches(signal, coefs, loan.get())?;
            }
        } else {
            x.par_chunks(self.n)
                .zip(out.par_chunks_mut(per_signal))
                .try_for_each_init(
                    || Loan::<T>::take(self),
                    |loan, (signal, coefs)| self.transform_one(signal, coefs, Loan::get_or_err(loan)?),
                )?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<f64> {
        // deterministic test input from the crate's counter-based RNG
        let mut x = vec![0.0; len];
        crate::rng::fill_standard_normal(seed, 0, &mut x);
        x
    }

    #[test]
    fn path_counts_match_kymatio() {
        let s = Scattering1D::new(6, 2048, (8, 1), None, 2, Reduction::Mean).unwrap();
        assert_eq!(s.n_paths(), 126);
        assert_eq!(s.output_len(), 32);
        let s = Scattering1D::new(8, 2048, (8, 1), None, 2, Reduction::Mean).unwrap();
        assert_eq!(s.n_paths(), 234);
        let s = Scattering1D::new(8, 9000, (8, 2), None, 2, Reduction::Mean).unwrap();
        assert_eq!(s.n_paths(), 466);
        assert_eq!(s.output_len(), 35);
        assert_eq!(s.n_padded(), 16384);
        let s = Scattering1D::new(6, 9000, (8, 1), None, 1, Reduction::Mean).unwrap();
        assert_eq!(s.n_paths(), 39);
        assert_eq!(s.output_len(), 141);
        assert_eq!(s.paths().len(), 39);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        let bad = [
            Scattering1D::new(6, 1, (8, 1), None, 2, Reduction::Mean),
            Scattering1D::new(6, 32, (8, 1), None, 2, Reduction::Mean),
            Scattering1D::new(6, 2048, (0, 1), None, 2, Reduction::Mean),
            Scattering1D::new(6, 2048, (8, 1), None, 3, Reduction::Mean),
            Scattering1D::new(6, 2048, (8, 1), Some(0), 2, Reduction::Mean),
            Scattering1D::new(6, 2048, (8, 1), Some(4096), 2, Reduction::Mean),
        ];
        for b in bad {
            assert!(matches!(b, Err(DaclError::InvalidArgument(_))), "{b:?}");
        }
    }

    #[test]
    fn transform_is_linear_in_order_zero_and_homogeneous() {
        let s = Scattering1D::new(5, 512, (4, 1), None, 2, Reduction::Mean).unwrap();
        let x = noise(512, 1);
        let y = noise(512, 2);
        let sum: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a + 1.5 * b).collect();
        let (sx, sy, ss) = (
            s.transform(&x).unwrap(),
            s.transform(&y).unwrap(),
            s.transform(&sum).unwrap(),
        );
        let t = s.output_len();
        for i in 0..t {
            assert!((ss[i] - (sx[i] + 1.5 * sy[i])).abs() < 1e-12);
        }
        // every order is positively homogeneous: S(c x) = |c| S(x)
        let scaled: Vec<f64> = x.iter().map(|v| -3.0 * v).collect();
        let sc = s.transform(&scaled).unwrap();
        for (i, (a, b)) in sc.iter().zip(&sx).enumerate().skip(t) {
            assert!((a - 3.0 * b).abs() <= 1e-12 * b.abs().max(1e-3), "coefficient {i}");
        }
    }

    #[test]
    fn batch_equals_single_signals_and_is_deterministic() {
        let s = Scattering1D::new(4, 300, (3, 2), Some(8), 2, Reduction::Mean).unwrap();
        let x = noise(3 * 300, 7);
        let batch = s.transform(&x).unwrap();
        let per = s.n_paths() * s.output_len();
        for b in 0..3 {
            let single = s.transform(&x[b * 300..(b + 1) * 300]).unwrap();
            assert_eq!(&batch[b * per..(b + 1) * per], &single[..]);
        }
        for threads in [1, 2, 4] {
            // 4 threads > 3 signals: the paths of each signal are spread instead
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(|| s.transform(&x).unwrap()), batch);
        }
    }

    #[test]
    fn first_order_is_nearly_translation_invariant() {
        // A shift much smaller than T barely changes the averaged coefficients.
        let s = Scattering1D::new(7, 4096, (8, 1), None, 1, Reduction::Mean).unwrap();
        let x: Vec<f64> = (0..4096)
            .map(|i| (-((i as f64 - 2048.0) / 40.0).powi(2)).exp() * (i as f64 * 0.3).sin())
            .collect();
        let shifted: Vec<f64> = (0..4096).map(|i| x[(i + 4096 - 2) % 4096]).collect();
        let (a, b) = (s.transform(&x).unwrap(), s.transform(&shifted).unwrap());
        let t = s.output_len();
        let norm: f64 = a[t..].iter().map(|v| v * v).sum::<f64>().sqrt();
        let diff: f64 = a[t..]
            .iter()
            .zip(&b[t..])
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt();
        assert!(diff < 0.05 * norm, "relative change {}", diff / norm);
    }

    #[test]
    fn sum_reduction_scales_orders_by_powers_of_two() {
        let mean = Scattering1D::new(6, 1024, (8, 2), None, 2, Reduction::Mean).unwrap();
        let sum = Scattering1D::new(6, 1024, (8, 2), None, 2, Reduction::Sum).unwrap();
        let x = noise(1024, 3);
        let (a, b) = (mean.transform(&x).unwrap(), sum.transform(&x).unwrap());
        let t = mean.output_len();
        for (p, kind) in mean.paths().iter().enumerate() {
            let factor = match *kind {
                PathKind::Zeroth => 1.0,
                PathKind::First { n1 } => 2f64.powi(mean.first_order[n1].k1 as i32),
                PathKind::Second { n1, n2 } => {
                    let k1 = mean.first_order[n1].k1;
                    let k2 = mean.first_order[n1].second.iter().find(|c| c.n2 == n2).unwrap().k2;
                    2f64.powi((2 * k1 + k2) as i32)
                }
            };
            for i in p * t..(p + 1) * t {
                assert!(
                    (b[i] - factor * a[i]).abs() <= 1e-12 * b[i].abs().max(1e-12),
                    "path {p}"
                );
            }
        }
    }

    #[test]
    fn non_finite_input_names_the_signal() {
        let s = Scattering1D::new(3, 64, (1, 1), None, 2, Reduction::Mean).unwrap();
        let mut x = noise(128, 5);
        x[64 + 10] = f64::NAN;
        match s.transform(&x) {
            Err(DaclError::NonFinite { what, index }) => {
                assert_eq!(what, "signal 1 of the batch");
                assert_eq!(index, 10);
            }
            other => panic!("{other:?}"),
        }
        assert!(s.transform(&x[..100]).is_err());
    }
}
