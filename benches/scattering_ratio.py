"""Time dacl's Rust Scattering1D against kymatio (numpy and torch CPU) side by side.

Usage: .venv/bin/python benches/scattering_ratio.py [--batch 64] [--n 9000] [--J 8] [--Q 8]
       [--repeats 5] [--torch-threads 2]

Each implementation is warmed up once, then timed `--repeats` times on the same
batch; the median batch time is reported per signal. Rust runs on float64 (the
numpy comparison) and on float32 (the torch comparison, which is float32-only).
The machine may be shared: run the script when it is idle, and read ratios
rather than absolute times.
"""

import argparse
import statistics
import time

import numpy as np


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: plans, caches, thread pools
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n", type=int, default=9000)
    parser.add_argument("--J", type=int, default=8)
    parser.add_argument("--Q", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--skip-kymatio", action="store_true", help="time only the Rust transform")
    args = parser.parse_args()

    from dacl import Scattering1D

    rng = np.random.default_rng(0)
    x64 = rng.standard_normal((args.batch, args.n))
    x32 = x64.astype(np.float32)
    per_signal = {}

    rust = Scattering1D(args.J, args.n, Q=args.Q)
    per_signal["rust float64"] = median_seconds(lambda: rust(x64), args.repeats) / args.batch
    per_signal["rust float32"] = median_seconds(lambda: rust(x32), args.repeats) / args.batch

    if not args.skip_kymatio:
        from kymatio.numpy import Scattering1D as KymatioNumpy

        kn = KymatioNumpy(J=args.J, shape=args.n, Q=args.Q)
        per_signal["kymatio numpy float64"] = median_seconds(lambda: kn(x64), args.repeats) / args.batch

        import torch
        from kymatio.torch import Scattering1D as KymatioTorch

        torch.set_num_threads(args.torch_threads)
        kt = KymatioTorch(J=args.J, shape=args.n, Q=args.Q)
        xt = torch.from_numpy(x32)
        with torch.no_grad():
            per_signal["kymatio torch float32"] = median_seconds(lambda: kt(xt), args.repeats) / args.batch

    print(f"N={args.n} J={args.J} Q={args.Q} B={args.batch}, median of {args.repeats}")
    for name, seconds in per_signal.items():
        print(f"  {name:24s} {seconds * 1e3:8.3f} ms/signal")
    if "kymatio numpy float64" in per_signal:
        print(f"  speed-up vs kymatio numpy (float64): {per_signal['kymatio numpy float64'] / per_signal['rust float64']:.1f}x")
        print(f"  speed-up vs kymatio torch (float32): {per_signal['kymatio torch float32'] / per_signal['rust float32']:.1f}x")


if __name__ == "__main__":
    main()
