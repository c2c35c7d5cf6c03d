"""Where the time of making signal-space views goes: Rust (segment, scattering, Philox) vs Python/numpy.

Profiles :meth:`dacl.signal_views.SignalViews.views` (the work of one bank view or one on-the-fly view)
on ``--records`` train records with cProfile and sums the time spent inside the native module's
functions. Also reports windows/s, i.e. the cost of one view of the whole train split.

    .venv/bin/python scripts/proto/time_views.py --features DIR [--records 600] [--placement record] [--threads 1]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time

import numpy as np

from dacl.context import ContextConfig, contextualise
from dacl.dataset import load_features
from dacl.signal_views import NoiseLevels, SignalViews


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", required=True)
    p.add_argument("--records", type=int, default=600)
    p.add_argument("--placement", default="record", choices=("record", "window"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--t-max", type=int, default=259)
    args = p.parse_args(argv)

    fs = load_features(args.features)
    train = np.flatnonzero(fs.record_split == "train")
    views = SignalViews(fs, train[: args.records], NoiseLevels(t_max=args.t_max), placement=args.placement,
                        num_threads=args.threads)
    views.signals()  # reading the corpus is done once per run, not per view: leave it out
    reduce = lambda f: contextualise(f, ContextConfig())  # noqa: E731
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    views.views([0], reduce)
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    native = {}
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        # Native functions show as "{built-in method dacl._native.segment}"; the scattering transform is called
        # (and timed, its own time being the native call's) through preprocess._WithThreads.__call__, and built
        # (filters, FFT plans: Rust too) in preprocess.default_scatter.
        if "_native" in func:
            native[func] = native.get(func, 0.0) + tt
        elif file.endswith("preprocess.py") and func in ("__call__", "default_scatter"):
            name = "Scattering1D.__call__" if func == "__call__" else "Scattering1D(...) (filters)"
            native[name] = native.get(name, 0.0) + tt
    rust = sum(native.values())
    n_windows = len(views.windows)
    n_train_windows = int(fs.window_mask("train").sum())
    out = {
        "records": len(views.rows), "windows": n_windows, "placement": args.placement, "threads": args.threads,
        "wall_s": round(wall, 2), "ms_per_window": round(1000 * wall / n_windows, 3),
        "rust_s": round(rust, 2), "rust_share": round(rust / wall, 3),
        "native_functions_s": {k: round(v, 3) for k, v in sorted(native.items(), key=lambda kv: -kv[1])},
        "timing_s": {k: round(v, 2) for k, v in vars(views.timing).items()},
        "one_train_view_s": round(wall / n_windows * n_train_windows, 1), "train_windows": n_train_windows,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
