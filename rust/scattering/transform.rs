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

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::filters::FourierFilter;
use super::Scattering1D;
use crate::error::{DaclError, Result};

/// Sample types the transform reads and writes (computation is in float64).
pub trait Sample: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Sample for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Sample for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

/// FFT plans at one resolution `L / 2^k`.
struct LevelPlans {
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

/// All FFT plans a transform needs, made once per [`Scattering1D`].
pub(super) struct Plans {
    levels: Vec<LevelPlans>,
    output: Arc<dyn ComplexToReal<f64>>,
    scratch_len: usize,
}

impl Plans {
    /// Plans for resolutions `n_padded / 2^k`, `k = 0..=log2_t`, and the
    /// inverse real FFT at the output resolution `n_padded / 2^log2_t`.
    pub(super) fn new(n_padded: usize, log2_t: u32) -> Self {
        let mut real = RealFftPlanner::<f64>::new();
        let mut complex = FftPlanner::<f64>::new();
        let levels: Vec<LevelPlans> = (0..=log2_t)
            .map(|k| {
                let len = n_padded >> k;
                LevelPlans { forward: real.plan_fft_forward(len), inverse: complex.plan_fft_inverse(len) }
            })
            .collect();
        let output = real.plan_fft_inverse(n_padded >> log2_t);
        let scratch_len = levels
            .iter()
            .flat_map(|l| [l.forward.get_scratch_len(), l.inverse.get_inplace_scratch_len()])
            .chain([output.get_scratch_len()])
            .max()
            .unwrap_or(0);
        Plans { levels, output, scratch_len }
    }
}

/// Per-thread buffers, sized for the finest resolution and reused across signals.
pub(super) struct Workspace {
    real: Vec<f64>,
    u0_hat: Vec<Complex<f64>>,
    u1_hat: Vec<Complex<f64>>,
    u2_hat: Vec<Complex<f64>>,
    complex: Vec<Complex<f64>>,
    folded: Vec<Complex<f64>>,
    half: Vec<Complex<f64>>,
    low: Vec<f64>,
    scratch: Vec<Complex<f64>>,
}

impl Workspace {
    pub(super) fn new(plan: &Scattering1D) -> Self {
        let len = plan.padding.n_padded;
        let out_len = len >> plan.log2_t;
        let zero = Complex::new(0.0, 0.0);
        Workspace {
            real: vec![0.0; len],
            u0_hat: vec![zero; len / 2 + 1],
            u1_hat: vec![zero; len / 2 + 1],
            u2_hat: vec![zero; len / 2 + 1],
            complex: vec![zero; len],
            folded: vec![zero; out_len],
            half: vec![zero; out_len / 2 + 1],
            low: vec![0.0; out_len],
            scratch: vec![zero; plan.plans.scratch_len],
        }
    }
}

fn fft_failed(err: impl std::fmt::Display) -> DaclError {
    DaclError::invalid(format!("internal FFT error in the scattering transform: {err}"))
}

/// Accumulate `spectrum * filter`, folded onto `out.len()` bins, over the
/// filter's support. `out.len()` is a power of two dividing `len`.
#[inline]
fn fold_product(half: &[Complex<f64>], len: usize, filter: &FourierFilter, out: &mut [Complex<f64>]) {
    out.fill(Complex::new(0.0, 0.0));
    let mask = out.len() - 1;
    let nyquist = len / 2;
    for range in &filter.support {
        for m in range.clone() {
            let value = if m <= nyquist { half[m] } else { half[len - m].conj() };
            out[m & mask] += value * filter.values[m];
        }
    }
}

/// Reflect padding (mirror without repeating the edge sample, numpy's
/// `mode='reflect'`) into `out`, converting to float64.
fn pad_reflect<T: Sample>(x: &[T], left: usize, out: &mut [f64]) {
    let n = x.len();
    let right = out.len() - n - left;
    for (o, &v) in out[left..left + n].iter_mut().zip(x) {
        *o = v.to_f64();
    }
    for i in 0..left {
        out[left - 1 - i] = x[i + 1].to_f64();
    }
    for i in 0..right {
        out[left + n + i] = x[n - 2 - i].to_f64();
    }
}

impl Scattering1D {
    /// `|Dec_k(IDFT(spectrum * filter))|` into `ws.real[..len >> k]`, where
    /// `spectrum` is the half spectrum of a real signal of length `len`.
    fn band_pass_modulus(
        &self,
        spectrum: &[Complex<f64>],
        len: usize,
        filter: &FourierFilter,
        k: u32,
        real: &mut [f64],
        complex: &mut [Complex<f64>],
        scratch: &mut [Complex<f64>],
    ) -> usize {
        let out_len = len >> k;
        let buf = &mut complex[..out_len];
        fold_product(spectrum, len, filter, buf);
        let fft_level = (self.padding.n_padded.trailing_zeros() - out_len.trailing_zeros()) as usize;
        self.plans.levels[fft_level].inverse.process_with_scratch(buf, scratch);
        // Block mean (1/2^k) and the inverse DFT's 1/out_len together.
        let scale = 1.0 / len as f64;
        for (r, c) in real[..out_len].iter_mut().zip(buf.iter()) {
            *r = (c.re * c.re + c.im * c.im).sqrt() * scale;
        }
        out_len
    }

    /// Forward real FFT of `real[..len]` (consumed) into `out[..len/2+1]`.
    fn spectrum(&self, real: &mut [f64], len: usize, out: &mut [Complex<f64>], scratch: &mut [Complex<f64>]) -> Result<()> {
        let level = (self.padding.n_padded.trailing_zeros() - len.trailing_zeros()) as usize;
        self.plans.levels[level]
            .forward
            .process_with_scratch(&mut real[..len], &mut out[..len / 2 + 1], scratch)
            .map_err(fft_failed)
    }

    /// `Dec(Re IDFT(spectrum * phi))` cropped to the signal's support, written
    /// to `out` (length `T_out`). `spectrum` is the half spectrum of a real
    /// signal of length `len`, and `phi` the low-pass at that resolution.
    #[allow(clippy::too_many_arguments)]
    fn low_pass<T: Sample>(
        &self,
        spectrum: &[Complex<f64>],
        len: usize,
        phi: &FourierFilter,
        folded: &mut [Complex<f64>],
        half: &mut [Complex<f64>],
        low: &mut [f64],
        scratch: &mut [Complex<f64>],
        out: &mut [T],
    ) -> Result<()> {
        fold_product(spectrum, len, phi, folded);
        // Re(IDFT(Z)) only sees the Hermitian part of Z.
        let m = folded.len();
        for (r, h) in half.iter_mut().enumerate() {
            let mirror = folded[(m - r) & (m - 1)].conj();
            *h = (folded[r] + mirror) * 0.5;
        }
        half[0].im = 0.0;
        half[m / 2].im = 0.0;
        self.plans.output.process_with_scratch(half, low, scratch).map_err(fft_failed)?;
        let scale = 1.0 / len as f64;
        for (o, &v) in out.iter_mut().zip(&low[self.out_start..self.out_start + self.out_len]) {
            *o = T::from_f64(v * scale);
        }
        Ok(())
    }

    /// The scattering coefficients of one signal `x` (length `N`) into `out`
    /// (`n_paths * T_out`, paths in kymatio's order).
    pub(super) fn transform_one<T: Sample>(&self, x: &[T], out: &mut [T], ws: &mut Workspace) -> Result<()> {
        let len0 = self.padding.n_padded;
        let t_out = self.out_len;
        let Workspace { real, u0_hat, u1_hat, u2_hat, complex, folded, half, low, scratch } = ws;

        pad_reflect(x, self.padding.left, real);
        self.spectrum(real, len0, u0_hat, scratch)?;
        self.low_pass(u0_hat, len0, &self.phi[0], folded, half, low, scratch, &mut out[..t_out])?;

        let n_first = self.first_order.len();
        let mut second_index = 1 + n_first;
        for (n1, path) in self.first_order.iter().enumerate() {
            let len1 = self.band_pass_modulus(u0_hat, len0, &self.psi1[n1], path.k1, real, complex, scratch);
            self.spectrum(real, len1, u1_hat, scratch)?;
            let row = 1 + n1;
            let s1 = &mut out[row * t_out..(row + 1) * t_out];
            self.low_pass(u1_hat, len1, &self.phi[path.k1 as usize], folded, half, low, scratch, s1)?;

            for child in &path.second {
                let psi2 = &self.psi2[child.filter];
                let len2 = self.band_pass_modulus(u1_hat, len1, psi2, child.k2, real, complex, scratch);
                self.spectrum(real, len2, u2_hat, scratch)?;
                let s2 = &mut out[second_index * t_out..(second_index + 1) * t_out];
                let phi = &self.phi[(path.k1 + child.k2) as usize];
                self.low_pass(u2_hat, len2, phi, folded, half, low, scratch, s2)?;
                second_index += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_padding_mirrors_without_the_edge() {
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let mut out = [0.0; 9];
        pad_reflect(&x, 2, &mut out);
        assert_eq!(out, [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]);
    }
}
