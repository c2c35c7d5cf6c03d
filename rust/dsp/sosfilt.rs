//! Zero-phase filtering with second-order sections, as
//! `scipy.signal.sosfiltfilt` with its defaults (odd extension, steady-state
//! initial conditions).

use super::butter::Sos;
use crate::error::{DaclError, Result};
use crate::memory::try_with_capacity;

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
    // n is a slice's length and edge at most 3·(2·MAX_BAND_ORDER + 1): no overflow.
    let mut ext = try_with_capacity("the band-passed record", n + 2 * edge)?;
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
    ext.drain(..edge);
    ext.truncate(n);
    Ok(ext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::butter::butter_bandpass;

    #[test]
    fn bandpass_passes_centre_and_blocks_dc() {
        let sos = butter_bandpass(2, 0.5, 40.0, 500.0).unwrap();
        assert_eq!(sos.len(), 2);
        let n = 5000;
        let tone: Vec<f64> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 10.0 * i as f64 / 500.0).sin() + 3.0)
            .collect();
        let y = sosfiltfilt(&sos, &tone).unwrap();
        for (i, v) in y.iter().enumerate().take(4000).skip(1000) {
            let expect = (2.0 * std::f64::consts::PI * 10.0 * i as f64 / 500.0).sin();
            assert!((v - expect).abs() < 2e-2, "{i}: {v} vs {expect}");
        }
    }
}
