//! Diffusion noise schedules (pure functions) and batched forward noising
//! `q(z_t | z_0)`.
//!
//! Indexing convention: arrays have length `T`; index `t = 0..T-1` is
//! diffusion step `t + 1`, so `betas[0]` is β₁ and `alphas_cumprod[t]` is
//! ᾱ_{t+1} = ∏_{s<=t} (1 - betas[s]). This is the convention of the DDPM
//! reference code and of denoising-diffusion-pytorch.

use rayon::prelude::*;

use crate::error::{DaclError, Result};
use crate::memory::product;
use crate::real::Real;
use crate::rng::fill_standard_normal;

/// Upper bound on `timesteps`, only to refuse absurd allocations.
pub const MAX_TIMESTEPS: usize = 10_000_000;

fn check_timesteps(timesteps: usize) -> Result<()> {
    if timesteps == 0 || timesteps > MAX_TIMESTEPS {
        return Err(DaclError::invalid(format!(
            "timesteps must be in [1, {MAX_TIMESTEPS}], got {timesteps}"
        )));
    }
    Ok(())
}

fn check_max_beta(max_beta: f64) -> Result<()> {
    if !(max_beta > 0.0 && max_beta < 1.0) {
        return Err(DaclError::invalid(format!(
            "max_beta must be in (0, 1), got {max_beta}"
        )));
    }
    Ok(())
}

/// Linear schedule of Ho et al. 2020 (DDPM): β evenly spaced from
/// `beta_start` to `beta_end` inclusive, computed as `numpy.linspace` does
/// (`start + i * step`, last value set to `beta_end` exactly).
pub fn linear_betas(timesteps: usize, beta_start: f64, beta_end: f64) -> Result<Vec<f64>> {
    check_timesteps(timesteps)?;
    if !(beta_start > 0.0 && beta_start <= beta_end && beta_end < 1.0) {
        return Err(DaclError::invalid(format!(
            "linear schedule needs 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}"
        )));
    }
    if timesteps == 1 {
        return Ok(vec![beta_start]);
    }
    let step = (beta_end - beta_start) / (timesteps - 1) as f64;
    let mut betas: Vec<f64> = (0..timesteps).map(|i| i as f64 * step + beta_start).collect();
    betas[timesteps - 1] = beta_end;
    Ok(betas)
}

/// Cosine schedule of Nichol & Dhariwal 2021 ("Improved DDPM", eq. 17):
/// ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s)) · π/2), and
/// β_t = 1 - ᾱ(t)/ᾱ(t-1) clipped to at most `max_beta` (the paper uses 0.999
/// to avoid the singularity at t = T).
pub fn cosine_betas(timesteps: usize, s: f64, max_beta: f64) -> Result<Vec<f64>> {
    check_timesteps(timesteps)?;
    check_max_beta(max_beta)?;
    if !(s.is_finite() && s >= 0.0) {
        return Err(DaclError::invalid(format!(
            "cosine schedule needs a finite offset s >= 0, got {s}"
        )));
    }
    let big_t = timesteps as f64;
    let f = |k: usize| {
        let x = ((k as f64 / big_t + s) / (1.0 + s)) * std::f64::consts::FRAC_PI_2;
        x.cos().powi(2)
    };
    let f0 = f(0);
    let abar: Vec<f64> = (0..=timesteps).map(|k| f(k) / f0).collect();
    Ok((1..=timesteps)
        .map(|k| (1.0 - abar[k] / abar[k - 1]).min(max_beta))
        .collect())
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Sigmoid schedule of Jabri, Fleet & Chen 2022 ("Scalable Adaptive
/// Computation for Iterative Generation", RIN, appendix), in the
/// parameterisation of denoising-diffusion-pytorch's `sigmoid_beta_schedule`:
/// γ(τ) = (σ(end/tau) - σ((τ (end - start) + start)/tau)) / (σ(end/tau) - σ(start/tau))
/// for τ = t/T, ᾱ(t) = γ(t/T)/γ(0), β_t = 1 - ᾱ(t)/ᾱ(t-1) clipped to
/// [0, max_beta].
pub fn sigmoid_betas(timesteps: usize, start: f64, end: f64, tau: f64, max_beta: f64) -> Result<Vec<f64>> {
    check_timesteps(timesteps)?;
    check_max_beta(max_beta)?;
    if !(start.is_finite() && end.is_finite() && start < end) {
        return Err(DaclError::invalid(format!(
            "sigmoid schedule needs finite start < end, got start={start}, end={end}"
        )));
    }
    if !(tau.is_finite() && tau > 0.0) {
        return Err(DaclError::invalid(format!("sigmoid schedule needs tau > 0, got {tau}")));
    }
    let big_t = timesteps as f64;
    let v_start = sigmoid(start / tau);
    let v_end = sigmoid(end / tau);
    let gamma = |k: usize| {
        let x = k as f64 / big_t;
        (v_end - sigmoid((x * (end - start) + start) / tau)) / (v_end - v_start)
    };
    let g0 = gamma(0);
    let abar: Vec<f64> = (0..=timesteps).map(|k| gamma(k) / g0).collect();
    Ok((1..=timesteps)
        .map(|k| (1.0 - abar[k] / abar[k - 1]).clamp(0.0, max_beta))
        .collect())
}

/// α_t = 1 - β_t.
pub fn alphas(betas: &[f64]) -> Vec<f64> {
    betas.iter().map(|b| 1.0 - b).collect()
}

/// ᾱ_t = ∏_{s<=t} α_s (a running product, left to right).
pub fn alphas_cumprod(betas: &[f64]) -> Vec<f64> {
    let mut acc = 1.0;
    betas
        .iter()
        .map(|b| {
            acc *= 1.0 - b;
            acc
        })
        .collect()
}

/// The schedule families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Linear,
    Cosine,
    Sigmoid,
}

impl ScheduleKind {
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Linear => "linear",
            ScheduleKind::Cosine => "cosine",
            ScheduleKind::Sigmoid => "sigmoid",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "linear" => Ok(ScheduleKind::Linear),
            "cosine" => Ok(ScheduleKind::Cosine),
            "sigmoid" => Ok(ScheduleKind::Sigmoid),
            other => Err(DaclError::invalid(format!(
                "kind must be 'linear', 'cosine' or 'sigmoid', got {other:?}"
            ))),
        }
    }

    /// The family's parameters, in the order [`Self::betas`] takes them, with
    /// their defaults.
    pub fn default_params(self) -> &'static [(&'static str, f64)] {
        match self {
            ScheduleKind::Linear => &[("beta_start", 1e-4), ("beta_end", 0.02)],
            ScheduleKind::Cosine => &[("s", 0.008), ("max_beta", 0.999)],
            ScheduleKind::Sigmoid => &[("start", -3.0), ("end", 3.0), ("tau", 1.0), ("max_beta", 0.999)],
        }
    }

    /// The defaults with `overrides` applied by name. A name the family does
    /// not take is an [`DaclError::InvalidType`] listing the accepted ones.
    pub fn params_with(self, overrides: &[(String, f64)]) -> Result<Vec<(&'static str, f64)>> {
        let mut params = self.default_params().to_vec();
        for (name, value) in overrides {
            let slot = params.iter_mut().find(|(known, _)| known == name).ok_or_else(|| {
                let accepted: Vec<&str> = self.default_params().iter().map(|(n, _)| *n).collect();
                DaclError::InvalidType(format!(
                    "unexpected parameter '{name}' for the {} schedule (accepted: {})",
                    self.name(),
                    accepted.join(", ")
                ))
            })?;
            slot.1 = *value;
        }
        Ok(params)
    }

    /// β of this family for `params` in the order of [`Self::default_params`].
    pub fn betas(self, timesteps: usize, params: &[f64]) -> Result<Vec<f64>> {
        let expected = self.default_params().len();
        if params.len() != expected {
            return Err(DaclError::invalid(format!(
                "the {} schedule takes {expected} parameters, got {}",
                self.name(),
                params.len()
            )));
        }
        match self {
            ScheduleKind::Linear => linear_betas(timesteps, params[0], params[1]),
            ScheduleKind::Cosine => cosine_betas(timesteps, params[0], params[1]),
            ScheduleKind::Sigmoid => sigmoid_betas(timesteps, params[0], params[1], params[2], params[3]),
        }
    }
}

/// A schedule with its derived tables, ready for `q_sample`.
#[derive(Debug, Clone)]
pub struct NoiseSchedule {
    pub kind: ScheduleKind,
    /// The family's parameters in effect (defaults filled in).
    pub params: Vec<(&'static str, f64)>,
    pub betas: Vec<f64>,
    pub alphas: Vec<f64>,
    pub alphas_cumprod: Vec<f64>,
    sqrt_abar: Vec<f64>,
    sqrt_one_minus_abar: Vec<f64>,
}

impl NoiseSchedule {
    /// The `kind` schedule of `timesteps` steps, its parameters being the
    /// family's defaults with `overrides` applied by name (see
    /// [`ScheduleKind::params_with`]).
    pub fn new(kind: ScheduleKind, timesteps: usize, overrides: &[(String, f64)]) -> Result<Self> {
        let params = kind.params_with(overrides)?;
        let values: Vec<f64> = params.iter().map(|(_, v)| *v).collect();
        let betas = kind.betas(timesteps, &values)?;
        let alphas = alphas(&betas);
        let alphas_cumprod = alphas_cumprod(&betas);
        let sqrt_abar = alphas_cumprod.iter().map(|a| a.sqrt()).collect();
        let sqrt_one_minus_abar = alphas_cumprod.iter().map(|a| (1.0 - a).sqrt()).collect();
        Ok(NoiseSchedule {
            kind,
            params,
            betas,
            alphas,
            alphas_cumprod,
            sqrt_abar,
            sqrt_one_minus_abar,
        })
    }

    pub fn timesteps(&self) -> usize {
        self.betas.len()
    }

    /// Forward noising z_t = sqrt(ᾱ_t) z0 + sqrt(1 - ᾱ_t) ε for a batch.
    ///
    /// `z0` is `(batch, dim)` row-major; `t` is `(batch, views)` row-major
    /// (`views = 1` for one timestep per sample). Outputs are
    /// `(batch, views, dim)`: row `r = b * views + k` noises `z0[b]` at step
    /// `t[r]`. ε of element `(r, j)` is the standard normal at stream position
    /// `offset + r * dim + j` (mod 2^64) of `seed` (see [`crate::rng`]), so a
    /// batch split into chunks reproduces the whole when each chunk's offset
    /// is its first element's position. ε is rounded to `T` first and z_t is
    /// computed in `f64` from that rounded ε, so z_t can be re-derived exactly
    /// from the returned ε. A non-finite `z0` is an error (it would give a
    /// NaN `z_t` that no later step could tell from a diverged model).
    #[allow(clippy::too_many_arguments)]
    pub fn q_sample<T: Real>(
        &self,
        z0: &[T],
        batch: usize,
        dim: usize,
        t: &[i64],
        views: usize,
        seed: u64,
        offset: u64,
        z_out: &mut [T],
        eps_out: &mut [T],
    ) -> Result<()> {
        let rows = product("q_sample's rows", &[batch, views])?;
        let out_len = product("q_sample's output", &[rows, dim])?;
        if Some(z0.len()) != batch.checked_mul(dim)
            || t.len() != rows
            || z_out.len() != out_len
            || eps_out.len() != out_len
        {
            return Err(DaclError::invalid("q_sample: inconsistent array sizes"));
        }
        let big_t = self.timesteps();
        if let Some(i) = t.iter().position(|&s| s < 0 || s as u64 >= big_t as u64) {
            let at = if views == 1 {
                format!("t[{i}]")
            } else {
                format!("t[{}, {}]", i / views, i % views)
            };
            return Err(DaclError::invalid(format!(
                "{at} = {} is outside [0, {big_t}) (index t means diffusion step t+1)",
                t[i]
            )));
        }
        if let Some(i) = z0.iter().position(|v| !v.widen().is_finite()) {
            return Err(DaclError::NonFinite {
                what: format!("z0 row {}", i / dim),
                index: i % dim,
            });
        }
        let (root_abar, root_rest) = (&self.sqrt_abar, &self.sqrt_one_minus_abar);
        let coeffs = |r: usize| (root_abar[t[r] as usize], root_rest[t[r] as usize]);
        noise_rows(z0, dim, views, coeffs, seed, offset, z_out, eps_out);
        Ok(())
    }
}

/// Forward noising with a level of its own per row: x_t = sqrt(ᾱ) x0 + sqrt(1 - ᾱ) ε.
///
/// `x0` is `(rows, dim)` row-major and `abar[r]` (in [0, 1]) row `r`'s ᾱ; the
/// noise is [`NoiseSchedule::q_sample`]'s (ε of element `(r, j)` at stream
/// position `offset + r * dim + j` of `seed`, rounded to `T`, x_t computed in
/// `f64`), so a row noised at ᾱ = ᾱ_t of a schedule is exactly that
/// schedule's `q_sample` at step `t`. For levels that are no schedule step
/// (an SNR drawn in dB, say).
#[allow(clippy::too_many_arguments)]
pub fn forward_noise<T: Real>(
    x0: &[T],
    rows: usize,
    dim: usize,
    abar: &[f64],
    seed: u64,
    offset: u64,
    x_out: &mut [T],
    eps_out: &mut [T],
) -> Result<()> {
    let n = product("forward_noise's output", &[rows, dim])?;
    if x0.len() != n || abar.len() != rows || x_out.len() != n || eps_out.len() != n {
        return Err(DaclError::invalid("forward_noise: inconsistent array sizes"));
    }
    if let Some(r) = abar.iter().position(|a| !(0.0..=1.0).contains(a)) {
        return Err(DaclError::invalid(format!("abar[{r}] = {} is outside [0, 1]", abar[r])));
    }
    if let Some(i) = x0.iter().position(|v| !v.widen().is_finite()) {
        return Err(DaclError::NonFinite {
            what: format!("x0 row {}", i / dim),
            index: i % dim,
        });
    }
    let coeffs = |r: usize| (abar[r].sqrt(), (1.0 - abar[r]).sqrt());
    noise_rows(x0, dim, 1, coeffs, seed, offset, x_out, eps_out);
    Ok(())
}

/// `out[r] = a_r x0[r / views] + c_r ε_r` with `(a_r, c_r) = coeffs(r)` and ε_r
/// the standard normals at stream positions `offset + r * dim ..` of `seed`
/// (rounded to `T` first, the sum taken in `f64`); rows in parallel.
#[allow(clippy::too_many_arguments)]
fn noise_rows<T: Real>(
    x0: &[T],
    dim: usize,
    views: usize,
    coeffs: impl Fn(usize) -> (f64, f64) + Sync,
    seed: u64,
    offset: u64,
    z_out: &mut [T],
    eps_out: &mut [T],
) {
    if z_out.is_empty() || dim == 0 {
        return;
    }
    z_out
        .par_chunks_mut(dim)
        .zip(eps_out.par_chunks_mut(dim))
        .enumerate()
        .for_each_init(
            || vec![0.0f64; dim],
            |noise, (r, (z_row, eps_row))| {
                let (a, c) = coeffs(r);
                let x_row = &x0[(r / views) * dim..(r / views + 1) * dim];
                fill_standard_normal(seed, offset.wrapping_add((r as u64).wrapping_mul(dim as u64)), noise);
                for j in 0..dim {
                    let e = T::narrow(noise[j]);
                    eps_row[j] = e;
                    z_row[j] = T::narrow(a * x_row[j].widen() + c * e.widen());
                }
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn linear_endpoints_exact() {
        let b = linear_betas(1000, 1e-4, 0.02).unwrap();
        assert_eq!(b.len(), 1000);
        assert_eq!(b[0], 1e-4);
        assert_eq!(b[999], 0.02);
        let step = (0.02 - 1e-4) / 999.0;
        for w in b.windows(2) {
            assert_relative_eq!(w[1] - w[0], step, max_relative = 1e-9);
        }
        assert_eq!(linear_betas(1, 0.1, 0.2).unwrap(), vec![0.1]);
    }

    fn cosine_f(k: f64, big_t: f64, s: f64) -> f64 {
        (((k / big_t + s) / (1.0 + s)) * std::f64::consts::PI / 2.0)
            .cos()
            .powi(2)
    }

    #[test]
    fn cosine_matches_closed_form_where_unclipped() {
        let (big_t, s) = (1000usize, 0.008);
        let b = cosine_betas(big_t, s, 0.999).unwrap();
        let ab = alphas_cumprod(&b);
        let f0 = cosine_f(0.0, big_t as f64, s);
        let mut clipped_seen = false;
        for k in 1..=big_t {
            if b[k - 1] >= 0.999 {
                clipped_seen = true;
            }
            if !clipped_seen {
                let closed = cosine_f(k as f64, big_t as f64, s) / f0;
                assert_relative_eq!(ab[k - 1], closed, max_relative = 1e-9);
            }
        }
        // f(T) = cos²(π/2) ≈ 0, so the last step is the clipped one.
        assert!(clipped_seen);
        assert_eq!(b[big_t - 1], 0.999);
    }

    #[test]
    fn abar_monotone_in_unit_interval() {
        for b in [
            linear_betas(1000, 1e-4, 0.02).unwrap(),
            cosine_betas(1000, 0.008, 0.999).unwrap(),
            sigmoid_betas(1000, -3.0, 3.0, 1.0, 0.999).unwrap(),
            sigmoid_betas(50, 0.0, 3.0, 0.7, 0.999).unwrap(),
            cosine_betas(7, 0.0, 0.5).unwrap(),
        ] {
            let ab = alphas_cumprod(&b);
            assert!(ab.iter().all(|&a| a > 0.0 && a < 1.0), "{ab:?}");
            assert!(ab.windows(2).all(|w| w[1] < w[0]));
            let al = alphas(&b);
            for (a, bb) in al.iter().zip(&b) {
                assert_eq!(*a, 1.0 - bb);
            }
        }
    }

    #[test]
    fn sigmoid_matches_closed_form() {
        let (big_t, start, end, tau) = (200usize, -3.0, 3.0, 1.0);
        let b = sigmoid_betas(big_t, start, end, tau, 0.999).unwrap();
        let ab = alphas_cumprod(&b);
        let sg = |x: f64| 1.0 / (1.0 + (-x).exp());
        let gamma =
            |x: f64| (sg(end / tau) - sg((x * (end - start) + start) / tau)) / (sg(end / tau) - sg(start / tau));
        for k in 1..big_t {
            // ᾱ(T) = 0 exactly in closed form, so the last step is clipped.
            assert_relative_eq!(
                ab[k - 1],
                gamma(k as f64 / big_t as f64) / gamma(0.0),
                max_relative = 1e-9
            );
        }
        assert_eq!(b[big_t - 1], 0.999);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(linear_betas(0, 1e-4, 0.02).is_err());
        assert!(linear_betas(10, 0.02, 1e-4).is_err());
        assert!(linear_betas(10, 0.0, 0.02).is_err());
        assert!(cosine_betas(10, -0.1, 0.999).is_err());
        assert!(cosine_betas(10, 0.008, 1.0).is_err());
        assert!(sigmoid_betas(10, 3.0, -3.0, 1.0, 0.999).is_err());
        assert!(sigmoid_betas(10, -3.0, 3.0, 0.0, 0.999).is_err());
        assert!(ScheduleKind::parse("quadratic").is_err());
    }

    #[test]
    fn params_fill_defaults_and_reject_unknown_names() {
        let sched = NoiseSchedule::new(ScheduleKind::Sigmoid, 50, &[("tau".to_string(), 0.7)]).unwrap();
        assert_eq!(
            sched.params,
            vec![("start", -3.0), ("end", 3.0), ("tau", 0.7), ("max_beta", 0.999)]
        );
        assert_eq!(sched.betas, sigmoid_betas(50, -3.0, 3.0, 0.7, 0.999).unwrap());
        let cosine = NoiseSchedule::new(ScheduleKind::Cosine, 20, &[]).unwrap();
        assert_eq!(cosine.betas, cosine_betas(20, 0.008, 0.999).unwrap());
        let err = NoiseSchedule::new(ScheduleKind::Cosine, 10, &[("beta_start".to_string(), 0.1)]).unwrap_err();
        assert_eq!(
            err,
            DaclError::InvalidType(
                "unexpected parameter 'beta_start' for the cosine schedule (accepted: s, max_beta)".into()
            )
        );
        assert!(ScheduleKind::Linear.betas(10, &[1e-4]).is_err());
    }

    #[test]
    fn q_sample_formula_and_chunking() {
        let sched = NoiseSchedule::new(ScheduleKind::Linear, 100, &[]).unwrap();
        assert_eq!(sched.betas, linear_betas(100, 1e-4, 0.02).unwrap());
        let (batch, dim, views) = (5usize, 7usize, 3usize);
        let z0: Vec<f64> = (0..batch * dim).map(|i| (i as f64 * 0.37).sin()).collect();
        let t: Vec<i64> = (0..batch * views).map(|i| (i * 13 % 100) as i64).collect();
        let mut z = vec![0.0; batch * views * dim];
        let mut e = vec![0.0; batch * views * dim];
        sched
            .q_sample(&z0, batch, dim, &t, views, 42, 11, &mut z, &mut e)
            .unwrap();
        for r in 0..batch * views {
            let ab = sched.alphas_cumprod[t[r] as usize];
            for j in 0..dim {
                let expect = ab.sqrt() * z0[(r / views) * dim + j] + (1.0 - ab).sqrt() * e[r * dim + j];
                assert_eq!(z[r * dim + j], expect);
                assert_eq!(e[r * dim + j], crate::rng::normal_at(42, 11 + (r * dim + j) as u64));
            }
        }
        // The last two samples alone, with the offset of their first element.
        let mut z2 = vec![0.0; 2 * views * dim];
        let mut e2 = vec![0.0; 2 * views * dim];
        let off = 11 + (3 * views * dim) as u64;
        sched
            .q_sample(
                &z0[3 * dim..],
                2,
                dim,
                &t[3 * views..],
                views,
                42,
                off,
                &mut z2,
                &mut e2,
            )
            .unwrap();
        assert_eq!(&z[3 * views * dim..], &z2[..]);
        assert_eq!(&e[3 * views * dim..], &e2[..]);
        // Out-of-range step.
        let bad = vec![0i64, 100];
        let mut zz = vec![0.0; 2 * dim];
        let mut ee = vec![0.0; 2 * dim];
        let err = sched
            .q_sample(&z0[..2 * dim], 2, dim, &bad, 1, 0, 0, &mut zz, &mut ee)
            .unwrap_err();
        assert!(err.to_string().contains("t[1] = 100"), "{err}");
        // Non-finite z0, named by row and column.
        let mut poisoned = z0[..2 * dim].to_vec();
        poisoned[dim + 3] = f64::INFINITY;
        let err = sched
            .q_sample(&poisoned, 2, dim, &[0, 1], 1, 0, 0, &mut zz, &mut ee)
            .unwrap_err();
        assert_eq!(
            err,
            DaclError::NonFinite {
                what: "z0 row 1".into(),
                index: 3
            }
        );
    }

    #[test]
    fn forward_noise_at_a_schedule_level_is_q_sample() {
        let sched = NoiseSchedule::new(ScheduleKind::Cosine, 50, &[]).unwrap();
        let (rows, dim) = (6usize, 5usize);
        let x0: Vec<f32> = (0..rows * dim).map(|i| (i as f32 * 0.61).cos()).collect();
        let t: Vec<i64> = (0..rows).map(|r| (r * 9 % 50) as i64).collect();
        let abar: Vec<f64> = t.iter().map(|&s| sched.alphas_cumprod[s as usize]).collect();
        let (mut z, mut e) = (vec![0.0f32; rows * dim], vec![0.0f32; rows * dim]);
        let (mut x, mut n) = (vec![0.0f32; rows * dim], vec![0.0f32; rows * dim]);
        sched.q_sample(&x0, rows, dim, &t, 1, 7, 3, &mut z, &mut e).unwrap();
        forward_noise(&x0, rows, dim, &abar, 7, 3, &mut x, &mut n).unwrap();
        assert_eq!(x, z);
        assert_eq!(n, e);
        // The ends of the range: ᾱ = 1 keeps x0, ᾱ = 0 is the noise alone.
        let (mut x1, mut n1) = (vec![0.0f32; 2 * dim], vec![0.0f32; 2 * dim]);
        forward_noise(&x0[..2 * dim], 2, dim, &[1.0, 0.0], 7, 0, &mut x1, &mut n1).unwrap();
        assert_eq!(&x1[..dim], &x0[..dim]);
        assert_eq!(&x1[dim..], &n1[dim..]);
        // A level outside [0, 1] or NaN, and a non-finite x0, are errors naming the row.
        for bad in [1.5, -0.1, f64::NAN] {
            let err = forward_noise(&x0[..2 * dim], 2, dim, &[0.5, bad], 7, 0, &mut x1, &mut n1).unwrap_err();
            assert!(err.to_string().contains("abar[1]"), "{err}");
        }
        let mut poisoned = x0[..2 * dim].to_vec();
        poisoned[dim + 1] = f32::NAN;
        let err = forward_noise(&poisoned, 2, dim, &[0.5, 0.5], 7, 0, &mut x1, &mut n1).unwrap_err();
        assert_eq!(
            err,
            DaclError::NonFinite {
                what: "x0 row 1".into(),
                index: 1
            }
        );
    }
}
