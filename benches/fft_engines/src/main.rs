//! Complex f64 inverse FFT, one thread, at the power-of-two lengths the scattering
//! transform runs (256 ... 16384): rustfft (interleaved, AVX2 kernels) against
//! phastft (split re/im, runtime SIMD incl. AVX-512), tfhe-fft (pulp, AVX-512 when
//! present; its ordered plan stops at 1024, the unordered one returns permuted bins)
//! and oxifft (FFTW-style codelets, `avx512` feature). Median of 7 timed batches.

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
}
