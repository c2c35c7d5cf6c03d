//! Profiling driver for the Rust scattering (see benches/PROFILE.md).
//!
//! ```text
//! cargo run --release --example scattering_profile -- [transform|floor|stages] N J Q1 Q2 B ROUNDS [f64|f32]
//! ```
//!
//! `transform` times `Scattering1D::transform` on `B` signals, `ROUNDS` times,
//! on one thread. `floor` times only the FFTs the transform must run, with the
//! same FFT plans (realfft forward real FFTs, rustfft complex inverse FFTs,
//! realfft complex-to-real output FFTs) on the same lengths and in the same
//! order: the part of the transform no rewrite of the glue code can remove.
//! `stages` times the floor's FFTs split by stage (order and direction).
//! It prints thread CPU time per signal (`/proc/thread-self/schedstat`, steady
//! on a loaded machine) and wall time per signal. Under callgrind, wrap with
//! `--toggle-collect='*profile_region*'` to count only the timed region.

use std::time::Instant;

use _native::scattering::{Reduction, Scattering1D};
use realfft::RealFftPlanner;
use rustfft::num_complex::Complex;
use rustfft::{FftNum, FftPlanner};

/// Nanoseconds this thread has run on a CPU (Linux), or 0 if unknown.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn noise(len: usize, seed: u64) -> Vec<f64> {
    let mut x = vec![0.0; len];
    _native::rng::fill_standard_normal(seed, 0, &mut x);
    x
}

/// FFT lengths per signal: (forward real, complex inverse) per stage, and
/// the number of output complex-to-real FFTs, derived from the path rules.
struct FftWork {
    /// (length, is_complex_inverse, order) in the transform's order.
    calls: Vec<(usize, bool, usize)>,
    outputs: usize,
}

fn fft_work(s: &Scattering1D) -> FftWork {
    let log2_t = s.t().trailing_zeros();
    let len0 = s.n_padded();
    let (f1, f2) = s.families();
    let mut calls = vec![(len0, false, 0)];
    let mut outputs = 1;
    for &j1 in &f1.j {
        let k1 = (j1 as u32).min(log2_t);
        let len1 = len0 >> k1;
        calls.push((len1, true, 1));
        calls.push((len1, false, 1));
        outputs += 1;
        if s.max_order() == 2 {
            for &j2 in f2.j.iter().filter(|&&j2| j2 > j1) {
                let k2 = (j2 as u32).min(log2_t).saturating_sub(k1);
                let len2 = len1 >> k2;
                calls.push((len2, true, 2));
                calls.push((len2, false, 2));
                outputs += 1;
            }
        }
    }
    FftWork { calls, outputs }
}

/// Which FFT calls a stage keeps, by (order, inverse).
type StageFilter = Box<dyn Fn(usize, bool) -> bool>;

#[inline(never)]
fn profile_region<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Time the FFTs of `work` whose (order, inverse) passes `keep`; outputs too if `outputs`.
fn floor<F: FftNum>(
    work: &FftWork,
    out_len: usize,
    signals: usize,
    rounds: usize,
    keep: impl Fn(usize, bool) -> bool,
    outputs: bool,
) -> (f64, f64) {
    let mut real = RealFftPlanner::<F>::new();
    let mut complex = FftPlanner::<F>::new();
    let lengths: std::collections::BTreeSet<usize> = work.calls.iter().map(|c| c.0).collect();
    let plans: std::collections::HashMap<usize, _> = lengths
        .iter()
        .map(|&l| (l, (real.plan_fft_forward(l), complex.plan_fft_inverse(l))))
        .collect();
    let output = real.plan_fft_inverse(out_len);
    let max = *lengths.iter().max().unwrap();
    let zero = Complex::new(F::zero(), F::zero());
    let mut buf_real = vec![F::from_f64(0.25).unwrap(); max];
    let mut buf_complex = vec![Complex::new(F::from_f64(0.5).unwrap(), F::zero()); max];
    let mut half = vec![zero; max / 2 + 1];
    let mut scratch = vec![zero; 2 * max];
    let mut out_half = vec![zero; out_len / 2 + 1];
    let mut out_real = vec![F::zero(); out_len];
    let mut run = || {
        for _ in 0..signals {
            for &(len, inverse, order) in work.calls.iter().filter(|c| keep(c.2, c.1)) {
                let _ = order;
                let (forward, inv) = &plans[&len];
                if inverse {
                    inv.process_with_scratch(&mut buf_complex[..len], &mut scratch);
                } else {
                    forward
                        .process_with_scratch(&mut buf_real[..len], &mut half[..len / 2 + 1], &mut scratch)
                        .unwrap();
                }
            }
            for _ in 0..if outputs { work.outputs } else { 0 } {
                out_half[0].im = F::zero();
                out_half[out_len / 2].im = F::zero();
                output
                    .process_with_scratch(&mut out_half, &mut out_real, &mut scratch)
                    .unwrap();
            }
        }
    };
    run();
    let (cpu0, t0) = (thread_cpu_ns(), Instant::now());
    for _ in 0..rounds {
        profile_region(&mut run);
    }
    let per = (rounds * signals) as f64;
    (
        (thread_cpu_ns() - cpu0) as f64 / 1e6 / per,
        t0.elapsed().as_secs_f64() * 1e3 / per,
    )
}

fn transform<F: _native::real::Real>(s: &Scattering1D, x: &[F], signals: usize, rounds: usize) -> (f64, f64) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        s.transform(x).unwrap();
        let (cpu0, t0) = (thread_cpu_ns(), Instant::now());
        for _ in 0..rounds {
            profile_region(|| s.transform(x).unwrap());
        }
        // `install` runs this closure on the pool's one worker, the thread
        // that does all the work, so its CPU clock is the transform's
        let per = (rounds * signals) as f64;
        let wall = t0.elapsed().as_secs_f64() * 1e3 / per;
        (thread_cpu_ns().saturating_sub(cpu0) as f64 / 1e6 / per, wall)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let mode = arg(0, "transform");
    let n: usize = arg(1, "9000").parse().unwrap();
    let j: u32 = arg(2, "8").parse().unwrap();
    let q1: usize = arg(3, "8").parse().unwrap();
    let q2: usize = arg(4, "1").parse().unwrap();
    let b: usize = arg(5, "8").parse().unwrap();
    let rounds: usize = arg(6, "5").parse().unwrap();
    let dtype = arg(7, "f64");
    let s = Scattering1D::new(j, n, (q1, q2), None, 2, Reduction::Mean).unwrap();
    let x64 = noise(n * b, 1);
    let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let work = fft_work(&s);
    let out_len = s.n_padded() >> s.t().trailing_zeros();
    let (cpu, wall) = match (mode.as_str(), dtype.as_str()) {
        ("transform", "f64") => transform(&s, &x64, b, rounds),
        ("transform", "f32") => transform(&s, &x32, b, rounds),
        ("floor", "f64") => floor::<f64>(&work, out_len, b, rounds, |_, _| true, true),
        ("floor", "f32") => floor::<f32>(&work, out_len, b, rounds, |_, _| true, true),
        ("stages", _) => {
            let stages: [(&str, StageFilter, bool); 6] = [
                ("order-0 forward real", Box::new(|o, _| o == 0), false),
                ("order-1 complex inverse", Box::new(|o, i| o == 1 && i), false),
                ("order-1 forward real", Box::new(|o, i| o == 1 && !i), false),
                ("order-2 complex inverse", Box::new(|o, i| o == 2 && i), false),
                ("order-2 forward real", Box::new(|o, i| o == 2 && !i), false),
                ("low-pass output C2R", Box::new(|_, _| false), true),
            ];
            for (name, keep, outputs) in stages {
                let (cpu, wall) = if dtype == "f32" {
                    floor::<f32>(&work, out_len, b, rounds, keep, outputs)
                } else {
                    floor::<f64>(&work, out_len, b, rounds, keep, outputs)
                };
                println!("  stage {name:24}: cpu {cpu:.4} ms/signal, wall {wall:.4} ms/signal");
            }
            (f64::NAN, f64::NAN)
        }
        other => panic!("unknown mode/dtype {other:?}"),
    };
    let mut by_len = std::collections::BTreeMap::<(usize, bool), usize>::new();
    for &c in &work.calls {
        *by_len.entry((c.0, c.1)).or_default() += 1;
    }
    println!(
        "{mode} {dtype} N={n} J={j} Q=({q1},{q2}) B={b} rounds={rounds}: cpu {cpu:.4} ms/signal, wall {wall:.4} ms/signal"
    );
    println!(
        "  FFTs per signal ({} paths, {} output C2R of length {out_len}):",
        s.n_paths(),
        work.outputs
    );
    for ((len, inverse), count) in by_len.iter().rev() {
        println!(
            "    {:>6} x {count:>3} {}",
            len,
            if *inverse { "complex inverse" } else { "real forward" }
        );
    }
}
