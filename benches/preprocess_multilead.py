"""12-lead, 500 Hz preprocessing: dacl against the same pipeline built on ``wfdb.rdrecord`` + kymatio.

Each run preprocesses a corpus of 12-lead 10-s records at 500 Hz (by default a
folder of CinC 2020/2021 records: ``.hea`` + ``.mat`` with ``# Dx:`` labels) into
a features dataset, every lead segmented and scattered (defaults of ``dacl
preprocess``: 300 Hz, 10-s windows, J=8, Q=8), and prints records/s,
lead-windows/s (windows × leads) and peak RSS. Each run is a child process of
its own, so its peak RSS is its own.

Pipelines:

* ``dacl``: ``dacl.corpus.open_corpus`` (dacl's reader) + the Rust segmentation
  and scattering;
* ``dacl-wfdb``: the same, reading every record with ``wfdb.rdrecord`` (the
  featurization alone, against the same reader as the last pipeline);
* ``wfdb-kymatio``: the same preprocessing code, reading every record with
  ``wfdb.rdrecord`` and scattering with ``kymatio.numpy.Scattering1D``.

``--replicate K`` iterates the corpus K times into one dataset (records ``NAME@i``),
to show that peak RSS does not grow with the corpus (compare 16 with 64: below
``--chunk-records`` records, RSS grows until the first shard is full).
``--long-hours H ...`` instead preprocesses one synthetic 2-lead 250 Hz record of
``H`` hours (its samples made on demand, range by range), to show that peak RSS
does not grow with a record's length either.

Example (the table in the README)::

    .venv/bin/python benches/preprocess_multilead.py CINC2021_FOLDER --replicate 4   # every pipeline
    .venv/bin/python benches/preprocess_multilead.py CINC2021_FOLDER --pipeline dacl --replicate 16 64
    .venv/bin/python benches/preprocess_multilead.py --long-hours 1 4
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
from typing import Any

import numpy as np
from bench_parts import KymatioScatter, WfdbCorpus, replicated

from dacl.corpus.records import Record, RecordInfo, signal_sha256


class LongRecordCorpus:
    """One synthetic 2-lead record of ``hours`` at 250 Hz, its samples made on demand for any range (so the
    corpus itself holds no signal): 1.2 Hz spikes, 0.3 Hz wander, noise seeded by position."""

    layout, layout_reason, task, vocabulary = "wfdb", "benchmark: one synthetic long record", "none", None
    fs, leads = 250.0, ("I", "II")

    def __init__(self, hours: float) -> None:
        self.n = int(hours * 3600 * self.fs)
        self.names = ["long"]
        self.fingerprint = {"synthetic_samples": str(self.n)}

    def info(self, name: str) -> RecordInfo:
        return RecordInfo(name, self.n, self.fs, self.leads, ("mV", "mV"))

    def read(self, name: str, min_samples: int = 1, sampfrom: int = 0, sampto: int | None = None) -> Record:
        t = np.arange(sampfrom, self.n if sampto is None else sampto) / self.fs
        noise = np.random.default_rng(sampfrom).standard_normal((2, t.size))
        beat = np.exp(-((((t * 1.2) % 1 - 0.3) / 0.02) ** 2))
        signal = np.stack([beat, 0.7 * beat]) + 0.1 * np.sin(2 * np.pi * 0.3 * t) + 0.02 * noise
        return Record(name, signal, self.leads, self.fs, (), signal_sha256(signal), {}, sampfrom)

    def annotations(self, name: str) -> None:
        return None


def open_reader(folder: Path, pipeline: str) -> tuple[Any, str]:
    """The corpus a pipeline reads, and which reader that is."""
    from dacl.corpus import open_corpus

    if pipeline == "dacl":
        return open_corpus(folder), "dacl"
    return WfdbCorpus(folder), "wfdb"


def child(args: argparse.Namespace) -> None:
    from dacl.features import PreprocessConfig, preprocess

    config = PreprocessConfig(chunk_records=args.chunk_records)
    if args.long_hours:
        corpus, reader = LongRecordCorpus(args.long_hours[0]), "synthetic"
    else:
        corpus, reader = open_reader(args.corpus, args.pipeline)
        if args.limit:
            corpus.names = corpus.names[: args.limit]
        corpus = replicated(corpus, args.replicate)
    scatter = None
    if args.pipeline == "wfdb-kymatio":
        scatter = KymatioScatter(config.J, config.window, config.Q, config.T, config.max_order)
    t0 = time.perf_counter()
    out = preprocess(corpus, args.out, config, overwrite=True, split=None, progress=args.progress, _scatter=scatter)
    wall = time.perf_counter() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    leads = len(manifest["leads"])
    print(
        json.dumps(
            {
                "pipeline": args.pipeline,
                "reader": reader,
                "replicate": args.replicate,
                "hours": args.long_hours[0] if args.long_hours else None,
                "records": len(corpus.names),
                "leads": leads,
                "windows": manifest["n_windows"],
                "errors": len(manifest["errors"]),
                "wall_s": round(wall, 2),
                "records_per_s": round(len(corpus.names) / wall, 1),
                "lead_windows_per_s": round(manifest["n_windows"] * leads / wall, 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", help="folder of 12-lead WFDB records (CinC 2020/2021 layout)")
    pipelines = ["dacl", "dacl-wfdb", "wfdb-kymatio"]
    parser.add_argument("--pipeline", nargs="+", choices=pipelines, default=pipelines)
    parser.add_argument("--replicate", nargs="+", type=int, default=[1])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N records")
    parser.add_argument(
        "--long-hours",
        nargs="+",
        type=float,
        default=None,
        help="instead, one synthetic 2-lead 250 Hz record of each of these lengths (hours)",
    )
    parser.add_argument("--chunk-records", type=int, default=256)
    parser.add_argument("--out-root", type=Path, default=Path("runs/bench-multilead"))
    parser.add_argument("--keep", action="store_true", help="keep the written datasets")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        args.pipeline, args.replicate = args.pipeline[0], args.replicate[0]
        child(args)
        return
    if args.long_hours:
        runs = [(["--long-hours", str(h)], f"dacl-{h}h") for h in args.long_hours]
        args.pipeline = ["dacl"]
    elif args.corpus is None:
        parser.error("give a CORPUS folder or --long-hours")
    else:
        print(f"corpus {args.corpus}" + (f" (first {args.limit} records)" if args.limit else ""))
        runs = [(["--pipeline", p, "--replicate", str(k)], f"{p}-x{k}") for p in args.pipeline for k in args.replicate]
    for extra, name in runs:
        out = args.out_root / name
        cmd = [
            sys.executable,
            __file__,
            *([str(args.corpus)] if args.corpus else []),
            "--_child",
            *extra,
            "--chunk-records",
            str(args.chunk_records),
            "--out",
            str(out),
        ]
        cmd += ["--limit", str(args.limit)] if args.limit else []
        cmd += ["--progress"] if args.progress else []
        result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        what = f"{r['hours']:g} h record" if r["hours"] else f"x{r['replicate']}: {r['records']} records"
        print(
            f"{r['pipeline']:13s} (reader {r['reader']}) {what} of {r['leads']} leads, {r['windows']} windows, "
            f"{r['errors']} bad | wall {r['wall_s']:.1f} s | {r['records_per_s']:.1f} records/s | "
            f"{r['lead_windows_per_s']:.1f} lead-windows/s | peak RSS {r['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
