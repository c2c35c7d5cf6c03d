"""Measure the whole preprocessing pipeline on a corpus: Rust scattering vs kymatio.

Runs ``dacl.features.preprocess`` once per backend, each in a fresh child
process so that its peak RSS (``ru_maxrss``) is its own, and prints wall time,
records/s, windows/s and peak RSS. ``--backend kymatio`` swaps
``kymatio.numpy.Scattering1D`` in for the scattering step only (this
injection exists in the benchmark, not in the product). ``--replicate K``
iterates the corpus K times into one output, to show that peak RSS does not
grow with corpus size (compare ``--replicate 1`` with ``--replicate 4``).

Example (the full development corpus, both backends, then the RSS check)::

    .venv/bin/python benches/preprocess_corpus.py training2017-dev.zip --backend rust kymatio
    .venv/bin/python benches/preprocess_corpus.py training2017-dev.zip --backend rust --replicate 1 4
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_parts import KymatioScatter, replicated


def child(args: argparse.Namespace) -> None:
    from dacl.corpus import open_corpus
    from dacl.features import PreprocessConfig, preprocess

    config = PreprocessConfig(chunk_records=args.chunk_records)
    corpus = open_corpus(args.corpus)
    if args.limit:
        corpus.names = corpus.names[: args.limit]
    corpus = replicated(corpus, args.replicate)
    scatter = None
    if args.backend == "kymatio":
        scatter = KymatioScatter(config.J, config.window, config.Q, config.T, config.max_order)
    t0 = time.perf_counter()
    out = preprocess(corpus, args.out, config, overwrite=True, progress=args.progress, _scatter=scatter)
    wall = time.perf_counter() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    print(
        json.dumps(
            {
                "backend": args.backend,
                "replicate": args.replicate,
                "records": len(corpus.names),
                "windows": manifest["n_windows"],
                "errors": len(manifest["errors"]),
                "wall_s": round(wall, 2),
                "records_per_s": round(len(corpus.names) / wall, 1),
                "windows_per_s": round(manifest["n_windows"] / wall, 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the corpus: a zip or folder, e.g. training2017.zip")
    parser.add_argument("--backend", nargs="+", choices=["rust", "kymatio"], default=["rust", "kymatio"])
    parser.add_argument("--replicate", nargs="+", type=int, default=[1])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N records")
    parser.add_argument("--chunk-records", type=int, default=256)
    parser.add_argument("--out-root", type=Path, default=Path("runs/bench-preprocess"))
    parser.add_argument("--keep", action="store_true", help="keep the written datasets")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        args.backend, args.replicate = args.backend[0], args.replicate[0]
        child(args)
        return

    print(f"corpus {args.corpus}" + (f" (first {args.limit} records)" if args.limit else ""))
    for backend in args.backend:
        for k in args.replicate:
            out = args.out_root / f"{backend}-x{k}"
            cmd = [
                sys.executable,
                __file__,
                str(args.corpus),
                "--_child",
                "--backend",
                backend,
                "--replicate",
                str(k),
                "--chunk-records",
                str(args.chunk_records),
                "--out",
                str(out),
            ]
            cmd += ["--limit", str(args.limit)] if args.limit else []
            cmd += ["--progress"] if args.progress else []
            result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            r = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                f"{r['backend']:8s} x{r['replicate']}: {r['records']} records, {r['windows']} windows, "
                f"{r['errors']} bad | wall {r['wall_s']:.1f} s | {r['records_per_s']:.1f} records/s | "
                f"{r['windows_per_s']:.1f} windows/s | peak RSS {r['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
