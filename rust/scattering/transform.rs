//! The scattering transform of one signal, given a built [`Scattering1D`].
//!
//! Follows kymatio's `scattering1d` step by step, with three exact rewrites
//! that save work without changing the numbers beyond float64 rounding:
//! - the input and the moduli are real, so their spectra come from real FFTs
//!   and the negative half is read off by Hermitian symmetry;
//! - decimating by `2^k` after a filter is done in Fourier by folding the
//!   filtered spectrum into `L / 2^k` bins and running the inverse FFT at that
//!   length (what kymatio's `subsample_fourier` does), visiting only the bins
//!   where the filter is not negligible;
//! - the low-pass output is real, so `Re(IFFT(Z))` is a complex-to-real FFT of
//!   the Hermitian part of `Z`.

use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::filters::FourierFilter;
use super::kernels::{fold_product, modulus, Segment};
use super::Scattering1D;
use crate::error::{DaclError, Result};
use crate::memory::{try_with_capacity, try_zeros};
use crate::real::Real;

/// A filter in Fourier at the compute precision, with its support.
pub struct Kernel<F> {
    values: Vec<F>,
    support: Vec<Range<usize>>,
    /// How the filter folds onto the one output width it is used with, made
    /// on first use.
    fold: OnceLock<FoldPlan>,
}

impl<F: Real> Kernel<F> {
    /// The float64 filter `values` (non-negligible on `support`) at this precision.
    fn new(values: &[f64], support: &[Range<usize>]) -> Result<Self> {
        let mut narrowed = try_with_capacity("a scattering filter", values.len())?;
        narrowed.extend(values.iter().map(|&v| F::narrow(v)));
        Ok(Kernel {
            values: narrowed,
            support: support.to_vec(),
            fold: OnceLock::new(),
        })
    }

    /// The fold plan for output width `width` (cached for the first width asked).
    fn fold_plan(&self, len: usize, width: usize) -> std::borrow::Cow<'_, FoldPlan> {
        let plan = self.fold.get_or_init(|| FoldPlan::new(&self.support, len, width));
        if plan.width == width && plan.len == len {
            std::borrow::Cow::Borrowed(plan)
        } else {
            std::borrow::Cow::Owned(FoldPlan::new(&self.support, len, width))
        }
    }

    /// `out = fold(spectrum * filter)` (see [`fold_product`]).
    fn fold_product(&self, half: &[Complex<F>], len: usize, out: &mut [Complex<F>]) {
        let plan = self.fold_plan(len, out.len());
        fold_product(half, len, &self.values, &plan.segments, &plan.zeros, out);
    }
}

/// The folding of a filter's support onto `width` output bins: the stretches
/// in the order the plain "zero, then accumulate" loop visits them, so the
/// sums are the same, but the first stretch on a bin assigns instead of
/// adding to zero and only the bins no stretch reaches are zeroed (zeroing
/// the whole buffer was a fifth of the transform's instructions).
#[derive(Clone, Debug)]
struct FoldPlan {
    len: usize,
    width: usize,
    segments: Vec<Segment>,
    zeros: Vec<Range<usize>>,
}

impl FoldPlan {
    fn new(support: &[Range<usize>], len: usize, width: usize) -> Self {
        let nyquist = len / 2;
        let mut covered = vec![false; width];
        let mut segments = Vec::new();
        for range in support {
            let mut m = range.start;
            while m < range.end {
                // a stretch that neither wraps around the output nor crosses Nyquist
                let offset = m % width;
                let mut end = range.end.min(m - offset + width);
                let mirrored = m > nyquist;
                if !mirrored {
                    end = end.min(nyquist + 1);
                }
                // split where the output bins change from untouched to touched
                let mut i = 0;
                while i < end - m {
                    let assign = !covered[offset + i];
                    let start = i;
                    while i < end - m && covered[offset + i] != assign {
                        covered[offset + i] = true;
                        i += 1;
                    }
                    segments.push(Segment {
                        out: offset + start,
                        src: m + start,
                        len: i - start,
                        mirrored,
                        assign,
                    });
                }
                m = end;
            }
        }
        let mut zeros = Vec::new();
        let mut i = 0;
        while i < width {
            if covered[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < width && !covered[i] {
                i += 1;
            }
            zeros.push(start..i);
        }
        FoldPlan {
            len,
            width,
            segments,
            zeros,
        }
    }
}

/// Forward FFT of a real signal of even length `L = 2H`: the complex FFT of
/// `z[n] = x[2n] + i x[2n+1]` (length `H`), then
/// `X[k] = (Z[k] + conj Z[H-k]) / 2 - i w^k (Z[k] - conj Z[H-k]) / 2` with
/// `w = e^(-2 pi i / L)` and `Z[H] = Z[0]`, for `k = 0..=H`. Same algorithm
/// as realfft; the last pass ([`super::kernels::real_fft_post`]) is
/// vectorised by hand for float64 (realfft's scalar pass was 14 % of the
/// transform's instructions).
struct RealForward<F: Real> {
    half: Arc<dyn Fft<F>>,
    /// `w^k`, `k = 0..=H`, exact at `k = 0, H/2, H`.
    twiddles: Vec<Complex<F>>,
}

impl<F: Real> RealForward<F> {
    fn new(planner: &mut FftPlanner<F>, len: usize) -> Self {
        let h = len / 2;
        let twiddles = (0..=h)
            .map(|k| {
                if k == 0 {
                    return Complex::new(F::one(), F::zero());
                }
                if 2 * k == h {
                    return Complex::new(F::zero(), -F::one());
                }
                if k == h {
                    return Complex::new(-F::one(), F::zero());
                }
                let angle = std::f64::consts::PI * k as f64 / h as f64;
                Complex::new(F::narrow(angle.cos()), F::narrow(-angle.sin()))
            })
            .collect();
        RealForward {
            half: planner.plan_fft_forward(h.max(1)),
            twiddles,
        }
    }

    fn scratch_len(&self) -> usize {
        self.half.get_inplace_scratch_len()
    }

    /// `out[..=H]` = the non-negative half of the spectrum of `x` (length
    /// `2H`); `x` is used as the buffer of the half-length FFT.
    fn process(&self, x: &mut [F], out: &mut [Complex<F>], scratch: &mut [Complex<F>]) {
        let h = x.len() / 2;
        // SAFETY: `Complex<F>` is `repr(C)` {re, im} with the alignment of `F`,
        // so `2H` samples are `H` complex numbers z[n] = x[2n] + i x[2n+1].
        let z = unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr() as *mut Complex<F>, h) };
        self.half.process_with_scratch(z, scratch);
        F::real_fft_post(z, &mut out[..=h], &self.twiddles);
    }
}

/// FFT plans at one resolution `L / 2^k`.
struct LevelPlans<F: Real> {
    forward: RealForward<F>,
    inverse: Arc<dyn Fft<F>>,
}

/// Filters and FFT plans at one precision, made once per [`Scattering1D`].
/// Opaque outside this module ([`Real::kernels`] hands out the one of a type).
pub struct Kernels<F: Real> {
    /// Low-pass at resolutions `L / 2^k`, `k = 0..=log2_t`.
    phi: Vec<Kernel<F>>,
    /// First-order wavelets at full resolution.
    psi1: Vec<Kernel<F>>,
    /// Second-order wavelets at the resolutions their parents need.
    psi2: Vec<Kernel<F>>,
    levels: Vec<LevelPlans<F>>,
    output: Arc<dyn ComplexToReal<F>>,
    scratch_len: usize,
}

impl<F: Real> Kernels<F> {
    /// The filters at this precision (each float64 filter is freed once
    /// converted), with their FFT plans (see [`Self::with_plans`]).
    pub(super) fn new(
        phi: Vec<FourierFilter>,
        psi1: Vec<FourierFilter>,
        psi2: Vec<FourierFilter>,
        n_padded: usize,
        log2_t: u32,
    ) -> Result<Self> {
        let convert = |filters: Vec<FourierFilter>| -> Result<Vec<Kernel<F>>> {
            filters
                .into_iter()
                .map(|f| Kernel::new(&f.values, &f.support))
                .collect()
        };
        let (phi, psi1, psi2) = (convert(phi)?, convert(psi1)?, convert(psi2)?);
        Ok(Self::with_plans(phi, psi1, psi2, n_padded, log2_t))
    }

    /// Plans for resolutions `n_padded / 2^k`, `k = 0..=log2_t`, and the
    /// inverse real FFT at the output resolution `n_padded / 2^log2_t`.
    fn with_plans(
        phi: Vec<Kernel<F>>,
        psi1: Vec<Kernel<F>>,
        psi2: Vec<Kernel<F>>,
        n_padded: usize,
        log2_t: u32,
    ) -> Self {
        let mut real = RealFftPlanner::<F>::new();
        let mut complex = FftPlanner::<F>::new();
        let levels: Vec<LevelPlans<F>> = (0..=log2_t)
            .map(|k| {
                let len = n_padded >> k;
                LevelPlans {
                    forward: RealForward::new(&mut complex, len),
                    inverse: complex.plan_fft_inverse(len),
                }
            })
            .collect();
        let output = real.plan_fft_inverse(n_padded >> log2_t);
        let scratch_len = levels
            .iter()
            .flat_map(|l| [l.forward.scratch_len(), l.inverse.get_inplace_scratch_len()])
            .chain([output.get_scratch_len()])
            .max()
            .unwrap_or(0);
        Kernels {
            phi,
            psi1,
            psi2,
            levels,
            output,
            scratch_len,
        }
    }

    fn n_padded(&self) -> usize {
        self.phi[0].values.len()
    }
}

impl Kernels<f64> {
    /// The same filters rounded to float32, with float32 plans.
    pub(crate) fn to_f32(&self) -> Result<Kernels<f32>> {
        let convert = |kernels: &[Kernel<f64>]| -> Result<Vec<Kernel<f32>>> {
            kernels.iter().map(|k| Kernel::new(&k.values, &k.support)).collect()
        };
        let log2_t = self.levels.len() as u32 - 1;
        Ok(Kernels::with_plans(
            convert(&self.phi)?,
            convert(&self.psi1)?,
            convert(&self.psi2)?,
            self.n_padded(),
            log2_t,
        ))
    }
}

/// Per-thread buffers, sized for the finest resolution and reused across signals.
#[derive(Default)]
pub(super) struct Workspace<F> {
    real: Vec<F>,
    u0_hat: Vec<Complex<F>>,
    u1_hat: Vec<Complex<F>>,
    u2_hat: Vec<Complex<F>>,
    complex: Vec<Complex<F>>,
    folded: Vec<Complex<F>>,
    half: Vec<Complex<F>>,
    low: Vec<F>,
    scratch: Vec<Complex<F>>,
    /// float64 buffers for the first spectrum (empty unless `WIDE_FIRST_SPECTRUM`).
    wide_real: Vec<f64>,
    wide_hat: Vec<Complex<f64>>,
    wide_scratch: Vec<Complex<f64>>,
}

impl<F: Real> Workspace<F> {
    pub(super) fn new(plan: &Scattering1D) -> Result<Self> {
        const WHAT: &str = "a scattering workspace";
        let len = plan.padding.n_padded;
        let out_len = len >> plan.log2_t;
        let real = |n: usize| try_zeros::<F>(WHAT, n);
        let complex = |n: usize| try_zeros::<Complex<F>>(WHAT, n);
        // The float64 buffers are only needed where the first spectrum is taken wide.
        let wide = |n: usize| if F::WIDE_FIRST_SPECTRUM { n } else { 0 };
        Ok(Workspace {
            real: real(len)?,
            u0_hat: complex(len / 2 + 1)?,
            u1_hat: complex(len / 2 + 1)?,
            u2_hat: complex(len / 2 + 1)?,
            complex: complex(len)?,
            folded: complex(out_len)?,
            half: complex(out_len / 2 + 1)?,
            low: real(out_len)?,
            scratch: complex(F::kernels(plan)?.scratch_len)?,
            wide_real: try_zeros(WHAT, wide(len))?,
            wide_hat: try_zeros(WHAT, wide(len / 2 + 1))?,
            wide_scratch: try_zeros(WHAT, wide(plan.kernels.scratch_len))?,
        })
    }
}

/// Workspaces kept between calls, so a batch does not page in fresh buffers
/// (measured: 7% of the time went to the kernel zeroing new pages).
pub struct WorkspacePool<F>(Mutex<Vec<Workspace<F>>>);

impl<F> Default for WorkspacePool<F> {
    fn default() -> Self {
        WorkspacePool(Mutex::new(Vec::new()))
    }
}

/// A workspace on loan from a plan's pool; it goes back when dropped.
pub(super) struct Loan<'a, F: Real> {
    workspace: Workspace<F>,
    pool: &'a WorkspacePool<F>,
}

impl<'a, F: Real> Loan<'a, F> {
    pub(super) fn take(plan: &'a Scattering1D) -> Result<Self> {
        let pool = F::workspaces(plan);
        let idle = pool.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let workspace = match idle {
            Some(workspace) => workspace,
            None => Workspace::new(plan)?,
        };
        Ok(Loan { workspace, pool })
    }

    /// The workspace of a loan taken by [`Self::take`] in a rayon `*_init`
    /// closure, or the error taking it gave.
    pub(super) fn get_or_err(loan: &mut Result<Self>) -> Result<&mut Workspace<F>> {
        match loan {
            Ok(loan) => Ok(loan.get()),
            Err(err) => Err(err.clone()),
        }
    }

    pub(super) fn get(&mut self) -> &mut Workspace<F> {
        &mut self.workspace
    }
}

impl<F: Real> Drop for Loan<'_, F> {
    fn drop(&mut self) {
        let workspace = std::mem::take(&mut self.workspace);
        self.pool.0.lock().unwrap_or_else(|e| e.into_inner()).push(workspace);
    }
}

fn fft_failed(err: impl std::fmt::Display) -> DaclError {
    DaclError::invalid(format!("internal FFT error in the scattering transform: {err}"))
}

/// Reflect padding (mirror without repeating the edge sample, numpy's
/// `mode='reflect'`) of the `n` samples already at `buf[left..left + n]`.
fn pad_reflect_in_place<F: Copy>(buf: &mut [F], left: usize, n: usize) {
    let right = buf.len() - n - left;
    for i in 0..left {
        buf[left - 1 - i] = buf[left + i + 1];
    }
    for i in 0..right {
        buf[left + n + i] = buf[left + n - 2 - i];
    }
}

impl Scattering1D {
    /// `|Dec_k(IDFT(spectrum * filter))|` into `real[..len >> k]`, where
    /// `spectrum` is the half spectrum of a real signal of length `len`.
    /// Returns the output length.
    #[allow(clippy::too_many_arguments)]
    fn band_pass_modulus<F: Real>(
        &self,
        kernels: &Kernels<F>,
        spectrum: &[Complex<F>],
        len: usize,
        filter: &Kernel<F>,
        k: u32,
        real: &mut [F],
        complex: &mut [Complex<F>],
        scratch: &mut [Complex<F>],
    ) -> usize {
        let out_len = len >> k;
        let buf = &mut complex[..out_len];
        filter.fold_product(spectrum, len, buf);
        let level = (self.padding.n_padded.trailing_zeros() - out_len.trailing_zeros()) as usize;
        kernels.levels[level].inverse.process_with_scratch(buf, scratch);
        // Block mean (1/2^k) and the inverse DFT's 1/out_len together.
        let scale = F::one() / F::from_usize(len).unwrap_or_else(F::one);
        modulus(buf, &mut real[..out_len], scale);
        out_len
    }

    /// Forward real FFT of `real[..len]` (consumed) into `out[..len/2+1]`.
    fn spectrum<F: Real>(
        &self,
        kernels: &Kernels<F>,
        real: &mut [F],
        len: usize,
        out: &mut [Complex<F>],
        scratch: &mut [Complex<F>],
    ) -> Result<()> {
        let level = (self.padding.n_padded.trailing_zeros() - len.trailing_zeros()) as usize;
        kernels.levels[level]
            .forward
            .process(&mut real[..len], &mut out[..len / 2 + 1], scratch);
        Ok(())
    }

    /// `Dec(Re IDFT(spectrum * phi))` cropped to the signal's support, written
    /// to `out` (length `T_out`). `spectrum` is the half spectrum of a real
    /// signal of length `len`, and `phi` the low-pass at that resolution.
    #[allow(clippy::too_many_arguments)]
    fn low_pass<F: Real>(
        &self,
        kernels: &Kernels<F>,
        spectrum: &[Complex<F>],
        len: usize,
        phi: &Kernel<F>,
        folded: &mut [Complex<F>],
        half: &mut [Complex<F>],
        low: &mut [F],
        scratch: &mut [Complex<F>],
        out: &mut [F],
    ) -> Result<()> {
        phi.fold_product(spectrum, len, folded);
        // Re(IDFT(Z)) only sees the Hermitian part of Z.
        let m = folded.len();
        let two = F::one() + F::one();
        for (r, h) in half.iter_mut().enumerate() {
            let mirror = folded[(m - r) & (m - 1)].conj();
            *h = (folded[r] + mirror) / two;
        }
        half[0].im = F::zero();
        half[m / 2].im = F::zero();
        kernels
            .output
            .process_with_scratch(half, low, scratch)
            .map_err(fft_failed)?;
        let scale = F::one() / F::from_usize(len).unwrap_or_else(F::one);
        for (o, &v) in out.iter_mut().zip(&low[self.out_start..self.out_start + self.out_len]) {
            *o = v * scale;
        }
        Ok(())
    }

    /// Pads `x`, takes its spectrum into `ws.u0_hat` and writes S0 to `s0`.
    fn zeroth_order<F: Real>(&self, x: &[F], s0: &mut [F], ws: &mut Workspace<F>) -> Result<()> {
        let kernels = F::kernels(self)?;
        let len0 = self.padding.n_padded;
        let Workspace {
            real,
            u0_hat,
            folded,
            half,
            low,
            scratch,
            wide_real,
            wide_hat,
            wide_scratch,
            ..
        } = ws;
        let left = self.padding.left;
        if F::WIDE_FIRST_SPECTRUM {
            for (w, &v) in wide_real[left..left + x.len()].iter_mut().zip(x) {
                *w = v.widen();
            }
            pad_reflect_in_place(wide_real, left, x.len());
            self.spectrum(&self.kernels, wide_real, len0, wide_hat, wide_scratch)?;
            for (u, w) in u0_hat.iter_mut().zip(wide_hat.iter()) {
                *u = Complex::new(F::narrow(w.re), F::narrow(w.im));
            }
        } else {
            real[left..left + x.len()].copy_from_slice(x);
            pad_reflect_in_place(real, left, x.len());
            self.spectrum(kernels, real, len0, u0_hat, scratch)?;
        }
        self.low_pass(kernels, u0_hat, len0, &kernels.phi[0], folded, half, low, scratch, s0)
    }

    /// The first-order path `n1` (row `s1`) and its second-order children
    /// (rows `s2`, in order), from the padded signal's spectrum `u0_hat`.
    fn branch<F: Real>(
        &self,
        n1: usize,
        u0_hat: &[Complex<F>],
        s1: &mut [F],
        s2: &mut [F],
        ws: &mut Workspace<F>,
    ) -> Result<()> {
        let kernels = F::kernels(self)?;
        let len0 = self.padding.n_padded;
        let t_out = self.out_len;
        let path = &self.first_order[n1];
        let Workspace {
            real,
            u1_hat,
            u2_hat,
            complex,
            folded,
            half,
            low,
            scratch,
            ..
        } = ws;
        let len1 = self.band_pass_modulus(
            kernels,
            u0_hat,
            len0,
            &kernels.psi1[n1],
            path.k1,
            real,
            complex,
            scratch,
        );
        self.spectrum(kernels, real, len1, u1_hat, scratch)?;
        self.low_pass(
            kernels,
            u1_hat,
            len1,
            &kernels.phi[path.k1 as usize],
            folded,
            half,
            low,
            scratch,
            s1,
        )?;
        for (child, row) in path.second.iter().zip(s2.chunks_exact_mut(t_out)) {
            let psi2 = &kernels.psi2[child.filter];
            let len2 = self.band_pass_modulus(kernels, u1_hat, len1, psi2, child.k2, real, complex, scratch);
            self.spectrum(kernels, real, len2, u2_hat, scratch)?;
            let phi = &kernels.phi[(path.k1 + child.k2) as usize];
            self.low_pass(kernels, u2_hat, len2, phi, folded, half, low, scratch, row)?;
        }
        Ok(())
    }

    /// The scattering coefficients of one signal `x` (length `N`) into `out`
    /// (`n_paths * T_out`, paths in kymatio's order), on the calling thread.
    pub(super) fn transform_one<F: Real>(&self, x: &[F], out: &mut [F], ws: &mut Workspace<F>) -> Result<()> {
        let t_out = self.out_len;
        let n_first = self.first_order.len();
        let (s0, rest) = out.split_at_mut(t_out);
        let (mut s1_rows, mut s2_rows) = rest.split_at_mut(n_first * t_out);
        self.zeroth_order(x, s0, ws)?;
        // The branches read u0_hat while writing the other buffers.
        let u0_hat = std::mem::take(&mut ws.u0_hat);
        let mut result = Ok(());
        for n1 in 0..n_first {
            let (s1, s1_next) = s1_rows.split_at_mut(t_out);
            let (s2, s2_next) = s2_rows.split_at_mut(self.first_order[n1].second.len() * t_out);
            (s1_rows, s2_rows) = (s1_next, s2_next);
            result = self.branch(n1, &u0_hat, s1, s2, ws);
            if result.is_err() {
                break;
            }
        }
        ws.u0_hat = u0_hat;
        result
    }

    /// Same as [`Self::transform_one`], with the first-order branches spread
    /// over the rayon pool (for batches smaller than the pool). Each branch is
    /// computed exactly as in the sequential version.
    pub(super) fn transform_one_by_branches<F: Real>(
        &self,
        x: &[F],
        out: &mut [F],
        ws: &mut Workspace<F>,
    ) -> Result<()> {
        let t_out = self.out_len;
        self.zeroth_order(x, &mut out[..t_out], ws)?;
        let u0_hat = &ws.u0_hat;
        let branches: Vec<(Vec<F>, Vec<F>)> = (0..self.first_order.len())
            .into_par_iter()
            .map_init(
                || Loan::<F>::take(self),
                |loan, n1| {
                    let ws = Loan::get_or_err(loan)?;
                    let mut s1 = try_zeros::<F>("a scattering branch", t_out)?;
                    let n2 = self.first_order[n1].second.len();
                    let mut s2 = try_zeros::<F>("a scattering branch", n2 * t_out)?;
                    self.branch(n1, u0_hat, &mut s1, &mut s2, ws)?;
                    Ok((s1, s2))
                },
            )
            .collect::<Result<_>>()?;
        let n_first = self.first_order.len();
        let mut second = (1 + n_first) * t_out;
        for (n1, (s1, s2)) in branches.iter().enumerate() {
            out[(1 + n1) * t_out..(2 + n1) * t_out].copy_from_slice(s1);
            out[second..second + s2.len()].copy_from_slice(s2);
            second += s2.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_forward_matches_realfft<F: Real>(tolerance: f64) {
        let mut planner = FftPlanner::<F>::new();
        let mut reference = RealFftPlanner::<F>::new();
        for len in [4usize, 8, 16, 64, 1024, 4096] {
            let x: Vec<F> = (0..len)
                .map(|i| F::narrow(((i * 7919) % 113) as f64 / 113.0 - 0.4))
                .collect();
            let ours = RealForward::new(&mut planner, len);
            let mut out = vec![Complex::new(F::zero(), F::zero()); len / 2 + 1];
            let mut scratch = vec![Complex::new(F::zero(), F::zero()); ours.scratch_len()];
            ours.process(&mut x.clone(), &mut out, &mut scratch);
            let plan = reference.plan_fft_forward(len);
            let mut expected = plan.make_output_vec();
            plan.process(&mut x.clone(), &mut expected).unwrap();
            let peak = expected.iter().map(|c| c.norm().widen()).fold(0.0, f64::max);
            for (k, (a, b)) in out.iter().zip(&expected).enumerate() {
                assert!(
                    (*a - *b).norm().widen() <= tolerance * peak,
                    "len {len} bin {k}: {a:?} vs {b:?}"
                );
            }
            assert_eq!(out[0].im, F::zero());
            assert_eq!(out[len / 2].im, F::zero());
        }
    }

    #[test]
    fn real_forward_fft_matches_realfft() {
        real_forward_matches_realfft::<f64>(1e-14);
        real_forward_matches_realfft::<f32>(1e-5);
    }

    #[test]
    fn reflect_padding_mirrors_without_the_edge() {
        let mut out = [0.0, 0.0, 1.0f64, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0];
        pad_reflect_in_place(&mut out, 2, 4);
        assert_eq!(out, [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]);
    }
}
