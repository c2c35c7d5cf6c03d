//! Segmentation of variable-length records into fixed-length windows.
//!
//! Per record, in this order:
//! 1. **Resample** to `target_fs` (if given and different from `fs`) with the
//!    polyphase method of `scipy.signal.resample_poly(x, up, down)` and its
//!    defaults (Kaiser-windowed FIR, β = 5, half length `10·max(up, down)`,
//!    zero padding), reproduced to rounding. We chose it over the FFT method
//!    (`scipy.signal.resample`) because it does not assume a periodic signal:
//!    an ECG record's two ends are unrelated, and the FFT method wraps one
//!    into the other. Only rational ratios `up/down` (reduced, both ≤
//!    [`MAX_RATE_FACTOR`]) are supported, which covers ECG rates
//!    (300→250, 360→250, 300→500 Hz, ...).
//! 2. **Band-pass** (optional): Butterworth of `band_order` (a 2·order band-pass,
//!    as `scipy.signal.butter(order, band, 'bandpass', fs=fs_out,
//!    output='sos')`, with scipy's "nearest" pole/zero pairing), applied
//!    zero-phase forward–backward as `scipy.signal.sosfiltfilt` does by default
//!    (odd extension of `3·(2·sections + 1)` samples, steady-state initial
//!    conditions). The record must be longer than that padding.
//! 3. **Windows** of `window` samples every `hop` samples (both at the output
//!    rate), starting at sample 0. Full windows are those that fit. With a
//!    `Pad`/`Reflect` tail, one more window starting at `n_full·hop` is emitted
//!    iff that start lies inside the signal **and** some final samples are in no
//!    full window (so a signal exactly tiled by full windows gets no extra
//!    window). Its missing samples are zeros (`Pad`) or the mirror reflection
//!    of the whole record about its last sample, as `numpy.pad(mode='reflect')`
//!    (`Reflect`). A record shorter than one window gives one such window with
//!    `Pad`/`Reflect` and is an error with `Drop`.
//! 4. **z-score** (optional), per window and over all its samples (padding
//!    included): `(w - mean) / std` with the population std. A window whose std
//!    is at most [`ZSCORE_REL_EPS`]·max|w| is numerically constant and becomes
//!    all zeros instead of NaN/noise.
//!
//! All arithmetic is in `f64`; `f32` input is widened and the windows are
//! rounded back to `f32` once. Records are processed in parallel with rayon;
//! each record's result depends only on that record, so the output is
//! bit-identical for any number of threads.

use rayon::prelude::*;
use rustfft::num_complex::Complex;

use crate::error::{DaclError, Result};
use crate::real::Real;

/// Largest reduced `up` or `down` accepted for resampling (the FIR has
/// `20·max(up, down) + 1` taps).
pub const MAX_RATE_FACTOR: u64 = 1000;
/// A window with std ≤ `ZSCORE_REL_EPS · max|w|` is treated as constant.
pub const ZSCORE_REL_EPS: f64 = 1e-10;
/// Highest supported Butterworth prototype order.
pub const MAX_BAND_ORDER: usize = 10;

/// What to do with a final window that runs past the end of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    Drop,
    Pad,
    Reflect,
}

impl Tail {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "drop" => Ok(Tail::Drop),
            "pad" => Ok(Tail::Pad),
            "reflect" => Ok(Tail::Reflect),
            other => Err(DaclError::invalid(format!(
                "tail must be 'drop', 'pad' or 'reflect', got {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SegmentParams {
    pub fs: f64,
    pub window: usize,
    pub hop: usize,
    pub tail: Tail,
    pub band: Option<(f64, f64)>,
    pub band_order: usize,
    pub zscore: bool,
    pub target_fs: Option<f64>,
}

/// Windows `(len, window)` row-major, with the source record and start sample
/// (at the output rate) of each window.
#[derive(Debug, Clone, PartialEq)]
pub struct Segments<T> {
    pub windows: Vec<T>,
    pub record_index: Vec<i64>,
    pub starts: Vec<i64>,
    pub window: usize,
}

impl<T> Segments<T> {
    pub fn len(&self) -> usize {
        self.record_index.len()
    }
    pub fn is_empty(&self) -> bool {
        self.record_index.is_empty()
    }
}

// ------------------------------------------------------------------ resampling

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

/// `scipy.signal.resample_poly(x, up, down)` (defaults) for `up/down` in lowest
/// terms. Output length `ceil(len·up/down)`.
pub fn resample_poly(x: &[f64], up: u64, down: u64) -> Vec<f64> {
    if up == down {
        return x.to_vec();
    }
    let (h, half) = resample_filter(up, down);
    let (up_u, down_u) = (up as usize, down as usize);
    // Zero-pad the filter in front so output samples land on the centre tap.
    let pre_pad = down_u - half % down_u;
    let pre_remove = (half + pre_pad) / down_u;
    let n_in = x.len();
    let n_out = (n_in * up_u).div_ceil(down_u);
    let len_h = h.len() + pre_pad;
    (0..n_out)
        .map(|k| {
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
        })
        .collect()
}

// ------------------------------------------------------------------ band-pass

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

/// `scipy.signal.sosfiltfilt` padding length for these sections.
pub fn sosfiltfilt_padlen(sos: &[Sos]) -> usize {
    let zb2 = sos.iter().filter(|s| s[2] == 0.0).count();
    let za2 = sos.iter().filter(|s| s[5] == 0.0).count();
    3 * (2 * sos.len() + 1 - zb2.min(za2))
}

/// Steady-state section states for a unit step (`scipy.signal.sosfilt_zi`).
fn sosfilt_zi(sos: &[Sos]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let (b0, b1, b2, a1, a2) = (s[0], s[1], s[2], s[4], s[5]);
            // (I - companion(a)^T) zi = b[1:] - a[1:] b0, solved in closed form.
            let (r0, r1) = (b1 - a1 * b0, b2 - a2 * b0);
            let z0 = (r0 + r1) / (1.0 + a1 + a2);
            let z1 = r1 - a2 * z0;
            let zi = [scale * z0, scale * z1];
            scale *= (b0 + b1 + b2) / (1.0 + a1 + a2);
            zi
        })
        .collect()
}

/// Cascade of transposed direct-form-II sections, in place.
fn sosfilt_in_place(sos: &[Sos], x: &mut [f64], mut zi: Vec<[f64; 2]>) {
    for v in x.iter_mut() {
        let mut cur = *v;
        for (s, z) in sos.iter().zip(zi.iter_mut()) {
            let y = s[0] * cur + z[0];
            z[0] = s[1] * cur - s[4] * y + z[1];
            z[1] = s[2] * cur - s[5] * y;
            cur = y;
        }
        *v = cur;
    }
}

/// Zero-phase filtering as `scipy.signal.sosfiltfilt(sos, x)` with its
/// defaults (`padtype='odd'`, `padlen = 3·(2·sections + 1)` minus trivial taps).
/// `x` must be longer than the padding.
pub fn sosfiltfilt(sos: &[Sos], x: &[f64]) -> Result<Vec<f64>> {
    let edge = sosfiltfilt_padlen(sos);
    let n = x.len();
    if n <= edge {
        return Err(DaclError::TooShort {
            what: "signal to band-pass".into(),
            len: n,
            needed: edge + 1,
        });
    }
    let mut ext = Vec::with_capacity(n + 2 * edge);
    ext.extend((1..=edge).rev().map(|i| 2.0 * x[0] - x[i]));
    ext.extend_from_slice(x);
    ext.extend((1..=edge).map(|i| 2.0 * x[n - 1] - x[n - 1 - i]));
    let zi = sosfilt_zi(sos);
    let scaled = |c: f64| zi.iter().map(|z| [z[0] * c, z[1] * c]).collect::<Vec<_>>();
    let x0 = ext[0];
    sosfilt_in_place(sos, &mut ext, scaled(x0));
    ext.reverse();
    let y0 = ext[0];
    sosfilt_in_place(sos, &mut ext, scaled(y0));
    ext.reverse();
    Ok(ext[edge..edge + n].to_vec())
}

// ------------------------------------------------------------------ windows

/// Window starts of a signal of `n` samples and whether the last one is a
/// partial (tail) window; see the module docs for the rule.
pub fn window_starts(n: usize, window: usize, hop: usize, tail: Tail) -> (Vec<usize>, bool) {
    let n_full = if n >= window { (n - window) / hop + 1 } else { 0 };
    let mut starts: Vec<usize> = (0..n_full).map(|i| i * hop).collect();
    let next = n_full * hop;
    let covered = if n_full > 0 { (n_full - 1) * hop + window } else { 0 };
    let partial = tail != Tail::Drop && next < n && covered < n;
    if partial {
        starts.push(next);
    }
    (starts, partial)
}

/// Index into `x` (length `n`) of position `j` of its mirror-reflected
/// extension (`numpy.pad(mode='reflect')`: the end sample is not repeated).
fn reflect_index(j: usize, n: usize) -> usize {
    if j < n {
        return j;
    }
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = j % period;
    if m >= n {
        period - m
    } else {
        m
    }
}

fn zscore_in_place(w: &mut [f64]) {
    let len = w.len() as f64;
    let mean = w.iter().sum::<f64>() / len;
    let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len;
    let std = var.sqrt();
    let amp = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if std <= ZSCORE_REL_EPS * amp || std == 0.0 {
        w.fill(0.0);
    } else {
        for v in w.iter_mut() {
            *v = (*v - mean) / std;
        }
    }
}

/// The per-record pipeline after validation: the processed signal.
struct Prepared {
    resample: Option<(u64, u64)>,
    sos: Option<Vec<Sos>>,
    fs_out: f64,
}

fn validate(params: &SegmentParams) -> Result<Prepared> {
    let fs = params.fs;
    if !(fs.is_finite() && fs > 0.0) {
        return Err(DaclError::invalid(format!(
            "fs must be a finite positive rate, got {fs}"
        )));
    }
    if params.window == 0 {
        return Err(DaclError::invalid("window must be > 0"));
    }
    if params.hop == 0 {
        return Err(DaclError::invalid("hop must be > 0"));
    }
    let (resample, fs_out) = match params.target_fs {
        Some(t) => {
            if !(t.is_finite() && t > 0.0) {
                return Err(DaclError::invalid(format!(
                    "target_fs must be a finite positive rate, got {t}"
                )));
            }
            if t == fs {
                (None, fs)
            } else {
                (Some(rational_ratio(fs, t)?), t)
            }
        }
        None => (None, fs),
    };
    let sos = match params.band {
        Some((lo, hi)) => Some(butter_bandpass(params.band_order, lo, hi, fs_out)?),
        None => None,
    };
    Ok(Prepared { resample, sos, fs_out })
}

fn process_record<T: Real>(
    index: usize,
    x: &[T],
    params: &SegmentParams,
    prep: &Prepared,
) -> Result<(Vec<T>, Vec<i64>)> {
    if x.is_empty() {
        return Err(DaclError::invalid(format!("record {index} is empty")));
    }
    let mut sig: Vec<f64> = Vec::with_capacity(x.len());
    for (i, v) in x.iter().enumerate() {
        let v = v.to_f64();
        if !v.is_finite() {
            return Err(DaclError::NonFinite {
                what: format!("record {index}"),
                index: i,
            });
        }
        sig.push(v);
    }
    if let Some((up, down)) = prep.resample {
        sig = resample_poly(&sig, up, down);
    }
    if let Some(sos) = &prep.sos {
        let edge = sosfiltfilt_padlen(sos);
        if sig.len() <= edge {
            return Err(DaclError::invalid(format!(
                "record {index} has {} samples at {} Hz, but the zero-phase band-pass needs more than {edge} \
                 (scipy sosfiltfilt's default padding)",
                sig.len(),
                prep.fs_out
            )));
        }
        sig = sosfiltfilt(sos, &sig)?;
    }
    let n = sig.len();
    let window = params.window;
    if params.tail == Tail::Drop && n < window {
        return Err(DaclError::TooShort {
            what: format!("record {index} (at {} Hz, tail='drop')", prep.fs_out),
            len: n,
            needed: window,
        });
    }
    let (starts, _) = window_starts(n, window, params.hop, params.tail);
    let mut out = Vec::with_capacity(starts.len() * window);
    let mut buf = vec![0.0f64; window];
    for &s in &starts {
        for (j, b) in buf.iter_mut().enumerate() {
            let pos = s + j;
            *b = if pos < n {
                sig[pos]
            } else {
                match params.tail {
                    Tail::Reflect => sig[reflect_index(pos, n)],
                    _ => 0.0,
                }
            };
        }
        if params.zscore {
            zscore_in_place(&mut buf);
        }
        out.extend(buf.iter().map(|&v| T::from_f64(v)));
    }
    Ok((out, starts.into_iter().map(|s| s as i64).collect()))
}

/// Segment `records` (see the module docs). Errors name the first failing
/// record in record order, whatever the thread scheduling.
pub fn segment<T: Real>(records: &[&[T]], params: &SegmentParams) -> Result<Segments<T>> {
    if records.is_empty() {
        return Err(DaclError::invalid("no records to segment (empty list)"));
    }
    let prep = validate(params)?;
    let per_record: Vec<Result<(Vec<T>, Vec<i64>)>> = records
        .par_iter()
        .enumerate()
        .map(|(i, x)| process_record(i, x, params, &prep))
        .collect();
    let mut parts = Vec::with_capacity(per_record.len());
    for r in per_record {
        parts.push(r?);
    }
    let total: usize = parts.iter().map(|(_, s)| s.len()).sum();
    let mut seg = Segments {
        windows: Vec::with_capacity(total * params.window),
        record_index: Vec::with_capacity(total),
        starts: Vec::with_capacity(total),
        window: params.window,
    };
    for (i, (w, s)) in parts.into_iter().enumerate() {
        seg.record_index.extend(std::iter::repeat(i as i64).take(s.len()));
        seg.starts.extend(s);
        seg.windows.extend(w);
    }
    Ok(seg)
}

/// Split a flat buffer into records at `offsets` (`R + 1` values, first 0,
/// last `buffer.len()`, non-decreasing).
pub fn split_flat<'a, T>(buffer: &'a [T], offsets: &[i64]) -> Result<Vec<&'a [T]>> {
    if offsets.len() < 2 {
        return Err(DaclError::invalid(format!(
            "offsets must hold R + 1 >= 2 values (record boundaries), got {}",
            offsets.len()
        )));
    }
    if offsets[0] != 0 {
        return Err(DaclError::invalid(format!("offsets[0] must be 0, got {}", offsets[0])));
    }
    let last = offsets[offsets.len() - 1];
    if last != buffer.len() as i64 {
        return Err(DaclError::invalid(format!(
            "offsets[-1] = {last} does not match the buffer length {}",
            buffer.len()
        )));
    }
    for i in 0..offsets.len() - 1 {
        if offsets[i + 1] < offsets[i] {
            return Err(DaclError::invalid(format!(
                "offsets must be non-decreasing: offsets[{i}] = {} > offsets[{}] = {}",
                offsets[i],
                i + 1,
                offsets[i + 1]
            )));
        }
    }
    Ok(offsets
        .windows(2)
        .map(|w| &buffer[w[0] as usize..w[1] as usize])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(window: usize, hop: usize, tail: Tail) -> SegmentParams {
        SegmentParams {
            fs: 100.0,
            window,
            hop,
            tail,
            band: None,
            band_order: 2,
            zscore: false,
            target_fs: None,
        }
    }

    #[test]
    fn window_rule() {
        // Exactly tiled: no tail window.
        assert_eq!(window_starts(10, 4, 2, Tail::Pad), (vec![0, 2, 4, 6], false));
        assert_eq!(window_starts(11, 4, 2, Tail::Pad), (vec![0, 2, 4, 6, 8], true));
        assert_eq!(window_starts(11, 4, 2, Tail::Drop), (vec![0, 2, 4, 6], false));
        assert_eq!(window_starts(3, 4, 2, Tail::Reflect), (vec![0], true));
        // hop > window: a tail window only where its start is inside the signal.
        assert_eq!(window_starts(9, 2, 8, Tail::Pad), (vec![0, 8], true));
        assert_eq!(window_starts(9, 2, 7, Tail::Pad), (vec![0, 7], false));
        assert_eq!(window_starts(10, 2, 7, Tail::Pad), (vec![0, 7], false));
        assert_eq!(window_starts(10, 2, 8, Tail::Pad), (vec![0, 8], false));
        assert_eq!(window_starts(9, 2, 4, Tail::Pad), (vec![0, 4, 8], true));
    }

    #[test]
    fn reflect_matches_numpy_rule() {
        // numpy.pad([0, 1, 2], (0, 6), 'reflect') = [0 1 2 1 0 1 2 1 0]
        let got: Vec<usize> = (0..9).map(|j| reflect_index(j, 3)).collect();
        assert_eq!(got, vec![0, 1, 2, 1, 0, 1, 2, 1, 0]);
        assert_eq!(reflect_index(5, 1), 0);
    }

    #[test]
    fn segment_basic_and_errors() {
        let a: Vec<f64> = (0..11).map(|i| i as f64).collect();
        let b: Vec<f64> = vec![5.0, 6.0, 7.0];
        let s = segment(&[&a[..], &b[..]], &params(4, 3, Tail::Reflect)).unwrap();
        assert_eq!(s.record_index, vec![0, 0, 0, 0, 1]);
        assert_eq!(s.starts, vec![0, 3, 6, 9, 0]);
        assert_eq!(&s.windows[12..], &[9.0, 10.0, 9.0, 8.0, 5.0, 6.0, 7.0, 6.0]);
        let err = segment(&[&a[..], &b[..]], &params(4, 3, Tail::Drop)).unwrap_err();
        assert!(err.to_string().contains("record 1"), "{err}");
        let c = vec![1.0, f64::NAN];
        let err = segment(&[&a[..], &c[..]], &params(4, 3, Tail::Pad)).unwrap_err();
        assert_eq!(
            err,
            DaclError::NonFinite {
                what: "record 1".into(),
                index: 1
            }
        );
        assert!(segment::<f64>(&[], &params(4, 3, Tail::Pad)).is_err());
        assert!(segment(&[&a[..]], &params(0, 3, Tail::Pad)).is_err());
    }

    #[test]
    fn zscore_constant_window_is_zero() {
        let mut w = vec![0.1; 7];
        zscore_in_place(&mut w);
        assert!(w.iter().all(|&v| v == 0.0));
        let mut w = vec![1.0, 2.0, 3.0];
        zscore_in_place(&mut w);
        let s = (2.0f64 / 3.0).sqrt();
        assert_eq!(w, vec![-1.0 / s, 0.0, 1.0 / s]);
    }

    #[test]
    fn rational_ratios() {
        assert_eq!(rational_ratio(300.0, 250.0).unwrap(), (5, 6));
        assert_eq!(rational_ratio(300.0, 500.0).unwrap(), (5, 3));
        assert_eq!(rational_ratio(360.0, 250.0).unwrap(), (25, 36));
        assert!(rational_ratio(1.0, std::f64::consts::PI).is_err());
    }

    #[test]
    fn resample_preserves_a_slow_sine() {
        // A 1 Hz sine at 300 Hz resampled to 250 Hz stays a 1 Hz sine away from the ends.
        let x: Vec<f64> = (0..3000)
            .map(|i| (2.0 * std::f64::consts::PI * i as f64 / 300.0).sin())
            .collect();
        let y = resample_poly(&x, 5, 6);
        assert_eq!(y.len(), 2500);
        for (k, v) in y.iter().enumerate().skip(100).take(2300) {
            let expect = (2.0 * std::f64::consts::PI * k as f64 / 250.0).sin();
            assert!((v - expect).abs() < 1e-3, "{k}: {v} vs {expect}");
        }
    }

    #[test]
    fn bandpass_passes_centre_and_blocks_dc() {
        let sos = butter_bandpass(2, 0.5, 40.0, 500.0).unwrap();
        assert_eq!(sos.len(), 2);
        let n = 5000;
        let tone: Vec<f64> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 10.0 * i as f64 / 500.0).sin() + 3.0)
            .collect();
        let y = sosfiltfilt(&sos, &tone).unwrap();
        for i in 1000..4000 {
            let expect = (2.0 * std::f64::consts::PI * 10.0 * i as f64 / 500.0).sin();
            assert!((y[i] - expect).abs() < 2e-2, "{i}: {} vs {expect}", y[i]);
        }
        assert!(butter_bandpass(2, 40.0, 0.5, 500.0).is_err());
        assert!(butter_bandpass(2, 0.5, 250.0, 500.0).is_err());
    }

    #[test]
    fn split_flat_checks() {
        let buf = [1.0, 2.0, 3.0];
        assert_eq!(split_flat(&buf, &[0, 1, 3]).unwrap(), vec![&buf[..1], &buf[1..]]);
        assert!(split_flat(&buf, &[0, 2, 1, 3]).is_err());
        assert!(split_flat(&buf, &[0, 2]).is_err());
        assert!(split_flat(&buf, &[1, 3]).is_err());
        assert!(split_flat(&buf, &[0]).is_err());
    }
}
