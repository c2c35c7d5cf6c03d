"""Time dacl's Rust Scattering1D against kymatio (numpy and torch CPU) side by side.

Usage: .venv/bin/python benches/scattering_ratio.py [--batch 64] [--n 9000] [--J 8] [--Q 8]
       [--repeats 5] [--torch-threads 2]

Each implementation is warmed up once, then timed `--repeats` times on the same
batch; the median batch time is reported per signal. Rust runs on float64 (the
numpy comparison) and on float32 (the torch comparison, which is float32-only).
The machine may be shared: run the script when it is idle, and read ratios
rather than absolute times. CPU time (summed over threads) is printed too:
on a busy machine it is the steadier measure of work.
"""

import argparse

import numpy as np
from compare import timed  # benches/compare.py: median wall and CPU seconds after a warm-up


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
    per_signal["rust float64"] = timed(lambda: rust(x64), args.repeats)
    per_signal["rust float32"] = timed(lambda: rust(x32), args.repeats)

    if not args.skip_kymatio:
        from kymatio.numpy import Scattering1D as KymatioNumpy

        kn = KymatioNumpy(J=args.J, shape=args.n, Q=args.Q)
        per_signal["kymatio numpy float64"] = timed(lambda: kn(x64), args.repeats)

        import torch
        from kymatio.torch import Scattering1D as KymatioTorch

        torch.set_num_threads(args.torch_threads)
        kt = KymatioTorch(J=args.J, shape=args.n, Q=args.Q)
        xt = torch.from_numpy(x32)
        with torch.no_grad():
            per_signal["kymatio torch float32"] = timed(lambda: kt(xt), args.repeats)

    print(f"N={args.n} J={args.J} Q={args.Q} B={args.batch}, median of {args.repeats}, ms per signal")
    print(f"  {'':24s} {'wall':>9s} {'cpu':>9s}")
    for name, (wall, cpu) in per_signal.items():
        print(f"  {name:24s} {wall / args.batch * 1e3:9.3f} {cpu / args.batch * 1e3:9.3f}")
    for reference, ours in [("kymatio numpy float64", "rust float64"), ("kymatio torch float32", "rust float32")]:
        if reference in per_signal:
            wall = per_signal[reference][0] / per_signal[ours][0]
            cpu = per_signal[reference][1] / per_signal[ours][1]
            print(f"  speed-up of {ours} over {reference}: {wall:.1f}x wall, {cpu:.1f}x cpu")


if __name__ == "__main__":
    main()
