//! Complex f64 inverse FFT, one thread, at the power-of-two lengths the scattering
//! transform runs (256 ... 16384): rustfft (interleaved, AVX2 kernels) against
//! phastft (split re/im, runtime SIMD incl. AVX-512), tfhe-fft (pulp, AVX-512 when
//! present; its ordered plan stops at 1024, the unordered one returns permuted bins)
//! and oxifft (FFTW-style codelets, `avx512` feature). Median of 7 timed batches.
//! Then the band-pass stage (inverse FFT + modulus in time order) with rustfft against
//! tfhe-fft's unordered FFT plus a scatter back to time order, per call and per signal.

use dyn_stack::{PodBuffer, PodStack};
use oxifft::{Direction as OxiDirection, Flags, Plan as OxiPlan};
use phastft::options::Options;
use phastft::planner::{Direction, PlannerDit64};
use rustfft::{num_complex::Complex, FftPlanner};
use std::time::{Duration, Instant};
use tfhe_fft::c64;

fn median_us(mut run: impl FnMut(), reps: usize) -> f64 {
    run();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                run();
            }
            t.elapsed().as_secs_f64() * 1e6 / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[3]
}

/// The band-pass stage as the transform runs it (inverse FFT, then |z| in time order) with
/// rustfft, against tfhe-fft's unordered forward FFT on the conjugated spectrum (|conj z| = |z|;
/// the conjugation would be folded into the filter product) followed by a scatter of |z| into
/// time order. Returns (rustfft µs, tfhe µs, max abs difference) for one call at length n.
fn band_pass_stage(planner: &mut FftPlanner<f64>, n: usize, reps: usize) -> (f64, f64, f64) {
    let spectrum: Vec<Complex<f64>> = (0..n).map(|i| Complex::new((0.7 * i as f64).sin(), (0.2 * i as f64).cos())).collect();
    let inverse = planner.plan_fft_inverse(n);
    let mut buf = spectrum.clone();
    let mut scratch = vec![Complex::new(0.0, 0.0); inverse.get_inplace_scratch_len()];
    let mut out_a = vec![0.0f64; n];
    let rust = median_us(
        || {
            buf.copy_from_slice(&spectrum);
            inverse.process_with_scratch(&mut buf, &mut scratch);
            for (o, z) in out_a.iter_mut().zip(&buf) {
                *o = (z.re * z.re + z.im * z.im).sqrt();
            }
        },
        reps,
    );

    let plan = tfhe_fft::unordered::Plan::new(n, tfhe_fft::unordered::Method::Measure(Duration::from_millis(5)));
    let mut mem = PodBuffer::new(plan.fft_scratch());
    let stack = PodStack::new(&mut mem);
    // position p of the unordered output holds index sigma[p]: read it off the DFT of a delta at 1
    let mut probe = vec![c64::new(0.0, 0.0); n];
    probe[1] = c64::new(1.0, 0.0);
    plan.fwd(&mut probe, stack);
    let sigma: Vec<usize> = probe
        .iter()
        .map(|v| ((-v.im.atan2(v.re) * n as f64 / std::f64::consts::TAU).round() as i64).rem_euclid(n as i64) as usize)
        .collect();
    let conj: Vec<c64> = spectrum.iter().map(|z| c64::new(z.re, -z.im)).collect();
    let mut tbuf = conj.clone();
    let mut out_b = vec![0.0f64; n];
    let tfhe = median_us(
        || {
            tbuf.copy_from_slice(&conj);
            plan.fwd(&mut tbuf, stack);
            for (z, &k) in tbuf.iter().zip(&sigma) {
                out_b[k] = (z.re * z.re + z.im * z.im).sqrt();
            }
        },
        reps,
    );
    let diff = out_a.iter().zip(&out_b).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    (rust, tfhe, diff)
}

fn main() {
    let mut planner = FftPlanner::<f64>::new();
    println!(
        "{:>6} {:>11} {:>11} {:>13} {:>15} {:>11}",
        "n", "rustfft µs", "phastft µs", "tfhe-ord µs", "tfhe-unord µs", "oxifft µs"
    );
    for n in (8..=14).map(|k| 1usize << k) {
        let reps = (1 << 22) / n;
        let signal = |i: usize| ((i as f64).sin(), (0.3 * i as f64).cos());
        let inverse = planner.plan_fft_inverse(n);
        let mut buf: Vec<Complex<f64>> = (0..n).map(|i| Complex::new(signal(i).0, signal(i).1)).collect();
        let mut scratch = vec![Complex::new(0.0, 0.0); inverse.get_inplace_scratch_len()];
        let rust = median_us(|| inverse.process_with_scratch(&mut buf, &mut scratch), reps);

        let plan = PlannerDit64::new(n);
        let opts = Options::default();
        let mut re: Vec<f64> = (0..n).map(|i| signal(i).0).collect();
        let mut im: Vec<f64> = (0..n).map(|i| signal(i).1).collect();
        let phast = median_us(
            || phastft::fft_f64_dit_with_planner_and_opts(&mut re, &mut im, Direction::Inverse, &plan, &opts),
            reps,
        );

        let mut tbuf: Vec<c64> = (0..n).map(|i| c64::new(signal(i).0, signal(i).1)).collect();
        let ordered = if n <= 1024 {
            let plan = tfhe_fft::ordered::Plan::new(n, tfhe_fft::ordered::Method::Measure(Duration::from_millis(5)));
            let mut mem = PodBuffer::new(plan.fft_scratch());
            let stack = PodStack::new(&mut mem);
            median_us(|| plan.inv(&mut tbuf, stack), reps)
        } else {
            f64::NAN
        };
        let plan = tfhe_fft::unordered::Plan::new(n, tfhe_fft::unordered::Method::Measure(Duration::from_millis(5)));
        let mut mem = PodBuffer::new(plan.fft_scratch());
        let stack = PodStack::new(&mut mem);
        let unordered = median_us(|| plan.inv(&mut tbuf, stack), reps);

        let oplan = OxiPlan::<f64>::dft_1d(n, OxiDirection::Backward, Flags::MEASURE).expect("oxifft plan");
        let input: Vec<oxifft::Complex<f64>> = (0..n).map(|i| oxifft::Complex::new(signal(i).0, signal(i).1)).collect();
        let mut output = input.clone();
        let oxi = median_us(|| oplan.execute(&input, &mut output), reps);
        println!("{n:>6} {rust:>11.3} {phast:>11.3} {ordered:>13.3} {unordered:>15.3} {oxi:>11.3}");
    }

    // The band-pass stage per signal: calls per length from benches/PROFILE.md (N=9000, J=8, Q=8).
    println!("\nband-pass stage (inverse FFT + modulus into time order), µs per call");
    println!("{:>6} {:>6} {:>11} {:>16} {:>12}", "n", "calls", "rustfft", "tfhe + scatter", "max |diff|");
    let (mut total_rust, mut total_tfhe) = (0.0, 0.0);
    for (n, calls) in [(16384, 10), (8192, 18), (4096, 26), (2048, 34), (1024, 42), (512, 49), (256, 53)] {
        let (rust, tfhe, diff) = band_pass_stage(&mut planner, n, (1 << 22) / n);
        total_rust += rust * calls as f64;
        total_tfhe += tfhe * calls as f64;
        println!("{n:>6} {calls:>6} {rust:>11.3} {tfhe:>16.3} {diff:>12.2e}");
    }
    println!("per signal: rustfft {:.0} µs, tfhe-fft unordered + scatter {:.0} µs", total_rust, total_tfhe);
}
