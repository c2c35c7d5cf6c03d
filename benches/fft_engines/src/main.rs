//! Complex f64 inverse FFT, one thread, at the power-of-two lengths the scattering
//! transform runs (256 ... 16384): rustfft (interleaved, AVX2 kernels) vs phastft
//! (split re/im, runtime-selected SIMD incl. AVX-512). Median of 7 timed batches.

use phastft::options::Options;
use phastft::planner::{Direction, PlannerDit64};
use rustfft::{num_complex::Complex, FftPlanner};
use std::time::Instant;

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
    println!("{:>6} {:>12} {:>12} {:>22}", "n", "rustfft µs", "phastft µs", "rustfft / phastft");
    for n in (8..=14).map(|k| 1usize << k) {
        let reps = (1 << 22) / n;
        let inverse = planner.plan_fft_inverse(n);
        let mut buf: Vec<Complex<f64>> = (0..n).map(|i| Complex::new((i as f64).sin(), (0.3 * i as f64).cos())).collect();
        let mut scratch = vec![Complex::new(0.0, 0.0); inverse.get_inplace_scratch_len()];
        let rust = median_us(|| inverse.process_with_scratch(&mut buf, &mut scratch), reps);

        let plan = PlannerDit64::new(n);
        let opts = Options::default(); // one thread: no parallel bit reversal below 2^16
        let mut re: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mut im: Vec<f64> = (0..n).map(|i| (0.3 * i as f64).cos()).collect();
        let phast = median_us(
            || phastft::fft_f64_dit_with_planner_and_opts(&mut re, &mut im, Direction::Inverse, &plan, &opts),
            reps,
        );
        println!("{n:>6} {rust:>12.3} {phast:>12.3} {:>22.2}", rust / phast);
    }
}
