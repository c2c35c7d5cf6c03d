//! The one float trait of the crate: the element types the numerics read and
//! write (`f32`, `f64`).
//!
//! Segmentation and the noise schedules work in `f64` and round once to the
//! caller's type at the end ([`Real::widen`], [`Real::narrow`]). Zero is all
//! zero bytes in both ([`ZeroBits`]), so output buffers come zeroed from the
//! allocator ([`crate::memory::try_zeros`]). The
//! scattering computes in the caller's type; the few things it does
//! differently per precision are items of this trait too: whether the first
//! spectrum is taken in `f64`, the hand-vectorised FFT pass of `f64`, and
//! which of a plan's filter sets and workspace pools belong to the type.

use rustfft::num_complex::Complex;
use rustfft::num_traits::Float;
use rustfft::FftNum;

use crate::error::Result;
use crate::memory::ZeroBits;
use crate::scattering::kernels::{real_fft_post, real_fft_post_f64};
use crate::scattering::transform::{Kernels, WorkspacePool};
use crate::scattering::Scattering1D;

pub trait Real: FftNum + Float + Default + ZeroBits {
    /// Take the padded signal's spectrum in float64 before narrowing it: in
    /// float32 the FFT's rounding, spread over all bins, would swamp the weak
    /// high-frequency bands of an ECG (measured: per-path error 1.2e-5 instead
    /// of 3e-6 against kymatio float64).
    const WIDE_FIRST_SPECTRUM: bool;
    /// `v` rounded to this type.
    fn narrow(v: f64) -> Self;
    /// `self` as `f64` (exact).
    fn widen(self) -> f64;
    /// The plan's filters and FFT plans at this precision (float32 ones are
    /// made on first use, which can run out of memory).
    fn kernels(plan: &Scattering1D) -> Result<&Kernels<Self>>;
    /// The plan's idle workspaces at this precision, kept between calls.
    fn workspaces(plan: &Scattering1D) -> &WorkspacePool<Self>;
    /// The last pass of a real forward FFT (`scattering::kernels::real_fft_post`,
    /// hand-vectorised for `f64`).
    fn real_fft_post(z: &[Complex<Self>], out: &mut [Complex<Self>], twiddles: &[Complex<Self>]) {
        real_fft_post(z, out, twiddles)
    }
}

impl Real for f64 {
    const WIDE_FIRST_SPECTRUM: bool = false;
    #[inline(always)]
    fn narrow(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
    fn kernels(plan: &Scattering1D) -> Result<&Kernels<Self>> {
        Ok(&plan.kernels)
    }
    fn workspaces(plan: &Scattering1D) -> &WorkspacePool<Self> {
        &plan.workspaces
    }
    fn real_fft_post(z: &[Complex<Self>], out: &mut [Complex<Self>], twiddles: &[Complex<Self>]) {
        real_fft_post_f64(z, out, twiddles)
    }
}

impl Real for f32 {
    const WIDE_FIRST_SPECTRUM: bool = true;
    #[inline(always)]
    fn narrow(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn kernels(plan: &Scattering1D) -> Result<&Kernels<Self>> {
        if let Some(kernels) = plan.kernels32.get() {
            return Ok(kernels);
        }
        let built = plan.kernels.to_f32()?;
        Ok(plan.kernels32.get_or_init(|| built))
    }
    fn workspaces(plan: &Scattering1D) -> &WorkspacePool<Self> {
        &plan.workspaces32
    }
}
