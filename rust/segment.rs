//! Segmentation of variable-length records into fixed-length windows.
//!
//! Per record, in this order:
//! 1. **Resample** to `target_fs` (if given and different from `fs`) with the
//!    polyphase method of `scipy.signal.resample_poly(x, up, down)` and its
//!    defaults ([`crate::dsp::resample`]). We chose it over the FFT method
//!    (`scipy.signal.resample`) because it does not assume a periodic signal:
//!    an ECG record's two ends are unrelated, and the FFT method wraps one
//!    into the other. Only rational ratios `up/down` (reduced, both ≤
//!    [`MAX_RATE_FACTOR`](crate::dsp::MAX_RATE_FACTOR)) are supported, which
//!    covers ECG rates (300→250, 360→250, 300→500 Hz, ...).
//! 2. **Band-pass** (optional): Butterworth of `band_order` (a 2·order band-pass,
//!    as `scipy.signal.butter(order, band, 'bandpass', fs=fs_out,
//!    output='sos')`, with scipy's "nearest" pole/zero pairing;
//!    [`crate::dsp::butter`]), applied zero-phase forward–backward as
//!    `scipy.signal.sosfiltfilt` does by default (odd extension of
//!    `3·(2·sections + 1)` samples, steady-state initial conditions;
//!    [`crate::dsp::sosfilt`]). The record must be longer than that padding.
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

use crate::dsp::{butter_bandpass, rational_ratio, resample_poly, resampled_len, sosfiltfilt, sosfiltfilt_padlen, Sos};
use crate::error::{DaclError, Result};
use crate::memory::{product, try_with_capacity, try_zeros};
use crate::real::Real;

/// A window with std ≤ `ZSCORE_REL_EPS · max|w|` is treated as constant.
pub const ZSCORE_REL_EPS: f64 = 1e-10;

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

// ------------------------------------------------------------------ windows

/// Number of windows of a signal of `n` samples and whether the last one is
/// a partial (tail) window; see the module docs for the rule. Window `k`
/// starts at sample `k·hop`.
pub fn window_count(n: usize, window: usize, hop: usize, tail: Tail) -> (usize, bool) {
    let n_full = if n >= window { (n - window) / hop + 1 } else { 0 };
    // n_full·hop <= n + hop and (n_full - 1)·hop + window <= n: no overflow.
    let next = n_full * hop;
    let covered = if n_full > 0 { (n_full - 1) * hop + window } else { 0 };
    let partial = tail != Tail::Drop && next < n && covered < n;
    (n_full + usize::from(partial), partial)
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

/// What a record becomes, known from its length alone.
struct RecordPlan {
    windows: usize,
}

/// Checks one record and counts its windows without processing it, so every
/// error about the input comes before any large allocation.
fn plan_record<T: Real>(index: usize, x: &[T], params: &SegmentParams, prep: &Prepared) -> Result<RecordPlan> {
    if x.is_empty() {
        return Err(DaclError::invalid(format!("record {index} is empty")));
    }
    if let Some(i) = x.iter().position(|v| !v.widen().is_finite()) {
        return Err(DaclError::NonFinite {
            what: format!("record {index}"),
            index: i,
        });
    }
    let n = match prep.resample {
        Some((up, down)) => resampled_len(x.len(), up, down)?,
        None => x.len(),
    };
    if let Some(sos) = &prep.sos {
        let edge = sosfiltfilt_padlen(sos);
        if n <= edge {
            return Err(DaclError::invalid(format!(
                "record {index} has {n} samples at {} Hz, but the zero-phase band-pass needs more than {edge} \
                 (scipy sosfiltfilt's default padding)",
                prep.fs_out
            )));
        }
    }
    if params.tail == Tail::Drop && n < params.window {
        return Err(DaclError::TooShort {
            what: format!("record {index} (at {} Hz, tail='drop')", prep.fs_out),
            len: n,
            needed: params.window,
        });
    }
    let (windows, _) = window_count(n, params.window, params.hop, params.tail);
    Ok(RecordPlan { windows })
}

/// Resample, band-pass, cut and z-score record `index` into `out`, which
/// holds exactly its windows (see [`plan_record`]).
fn fill_record<T: Real>(index: usize, x: &[T], params: &SegmentParams, prep: &Prepared, out: &mut [T]) -> Result<()> {
    let mut sig = try_with_capacity(&format!("record {index}"), x.len())?;
    sig.extend(x.iter().map(|v| v.widen()));
    if let Some((up, down)) = prep.resample {
        sig = resample_poly(&sig, up, down)?;
    }
    if let Some(sos) = &prep.sos {
        sig = sosfiltfilt(sos, &sig)?;
    }
    let n = sig.len();
    let window = params.window;
    let mut buf = try_zeros::<f64>("a window", window)?;
    for (k, dst) in out.chunks_exact_mut(window).enumerate() {
        let s = k * params.hop;
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
        for (d, &v) in dst.iter_mut().zip(&buf) {
            *d = T::narrow(v);
        }
    }
    Ok(())
}

/// Segment `records` (see the module docs). Errors name the first failing
/// record in record order, whatever the thread scheduling. All records are
/// checked and their windows counted first; then the output is allocated
/// once ([`DaclError::OutOfMemory`] if refused) and filled in parallel.
pub fn segment<T: Real>(records: &[&[T]], params: &SegmentParams) -> Result<Segments<T>> {
    if records.is_empty() {
        return Err(DaclError::invalid("no records to segment (empty list)"));
    }
    let prep = validate(params)?;
    let plans: Vec<Result<RecordPlan>> = records
        .par_iter()
        .enumerate()
        .map(|(i, x)| plan_record(i, x, params, &prep))
        .collect();
    let plans: Vec<RecordPlan> = plans.into_iter().collect::<Result<_>>()?;
    let total = plans
        .iter()
        .try_fold(0usize, |acc, p| acc.checked_add(p.windows))
        .ok_or_else(|| DaclError::invalid("the number of windows overflows"))?;
    let what = format!("the windows ({total} × {} values)", params.window);
    let mut windows = try_zeros(&what, product(&what, &[total, params.window])?)?;
    let mut record_index = try_with_capacity("the windows' record indices", total)?;
    let mut starts = try_with_capacity("the windows' starts", total)?;
    let mut parts: Vec<&mut [T]> = Vec::with_capacity(records.len());
    let mut rest = windows.as_mut_slice();
    for (i, plan) in plans.iter().enumerate() {
        record_index.extend(std::iter::repeat(i as i64).take(plan.windows));
        // Starts are below the record's length (at the output rate), which fits i64.
        starts.extend((0..plan.windows).map(|k| (k * params.hop) as i64));
        let (part, tail) = std::mem::take(&mut rest).split_at_mut(plan.windows * params.window);
        parts.push(part);
        rest = tail;
    }
    let filled: Vec<Result<()>> = records
        .par_iter()
        .zip(parts)
        .enumerate()
        .map(|(i, (x, out))| fill_record(i, x, params, &prep, out))
        .collect();
    filled.into_iter().collect::<Result<()>>()?;
    Ok(Segments {
        windows,
        record_index,
        starts,
        window: params.window,
    })
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
        assert_eq!(window_count(10, 4, 2, Tail::Pad), (4, false));
        assert_eq!(window_count(11, 4, 2, Tail::Pad), (5, true));
        assert_eq!(window_count(11, 4, 2, Tail::Drop), (4, false));
        assert_eq!(window_count(3, 4, 2, Tail::Reflect), (1, true));
        // hop > window: a tail window only where its start is inside the signal.
        assert_eq!(window_count(9, 2, 8, Tail::Pad), (2, true));
        assert_eq!(window_count(9, 2, 7, Tail::Pad), (2, false));
        assert_eq!(window_count(10, 2, 7, Tail::Pad), (2, false));
        assert_eq!(window_count(10, 2, 8, Tail::Pad), (2, false));
        assert_eq!(window_count(9, 2, 4, Tail::Pad), (3, true));
        // Huge windows and hops count without overflowing.
        assert_eq!(window_count(5000, 1 << 62, 1, Tail::Pad), (1, true));
        assert_eq!(window_count(5000, 10, usize::MAX, Tail::Pad), (1, false));
        assert_eq!(window_count(5000, usize::MAX, usize::MAX, Tail::Drop), (0, false));
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
        let c = [1.0, f64::NAN];
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
    fn huge_windows_are_errors_not_aborts() {
        let x = vec![0.0f64; 50];
        // 2^62 values of 8 bytes overflow the address space.
        let err = segment(&[&x[..]], &params(1 << 62, 1, Tail::Pad)).unwrap_err();
        assert!(
            matches!(&err, DaclError::InvalidArgument(m) if m.contains("exceed the address space")),
            "{err}"
        );
        // 2^57 values (1 EiB) fit the address space but not any memory.
        let err = segment(&[&x[..]], &params(1 << 57, 1, Tail::Pad)).unwrap_err();
        assert!(
            matches!(err, DaclError::OutOfMemory { bytes, .. } if bytes == 1 << 60),
            "{err}"
        );
        // Input errors come first, whatever the size asked for.
        let bad = [f64::NAN];
        let err = segment(&[&x[..], &bad[..]], &params(1 << 62, 1, Tail::Pad)).unwrap_err();
        assert!(matches!(err, DaclError::NonFinite { .. }), "{err}");
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
    fn split_flat_checks() {
        let buf = [1.0, 2.0, 3.0];
        assert_eq!(split_flat(&buf, &[0, 1, 3]).unwrap(), vec![&buf[..1], &buf[1..]]);
        assert!(split_flat(&buf, &[0, 2, 1, 3]).is_err());
        assert!(split_flat(&buf, &[0, 2]).is_err());
        assert!(split_flat(&buf, &[1, 3]).is_err());
        assert!(split_flat(&buf, &[0]).is_err());
    }
}
