"""Preprocessing in this process against Dask workers: records/s, scaling efficiency, peak RSS per process.

Preprocesses a folder of 12-lead records (``make_synthetic_corpus.py``; ``dacl preprocess`` defaults, 64
records per shard, no split) once per configuration, each run a child process of its own whose process
tree (driver, Dask nanny and worker processes) is polled for each process's peak RSS (``VmHWM``). The
configurations use the machine the same way, ``--cores`` cores in all:

* ``local``: ``--executor local --threads CORES`` (one process, rayon on every core);
* ``dask1``: one Dask worker of one thread, each task on ``CORES`` threads;
* ``dask2``: two Dask workers of one thread, each task on ``CORES / 2`` threads.

Every configuration has the same cores, so perfect scaling keeps the records/s of ``local``: the
efficiency printed is a configuration's records/s (start-up excluded) over those of ``local`` (what the
executor costs: a task reads its records, then computes them, where the in-process build reads the next
shard while computing this one). The output datasets are checked to be identical, bit for bit. Records
are read by dacl's corpus layer (``open_corpus``, each worker opening the folder itself), or with
``--reader wfdb`` by ``wfdb.rdrecord`` (``bench_parts.WfdbCorpus``).

Example (the table in the README)::

    .venv/bin/python benches/make_synthetic_corpus.py SYNTH_DIR --records 2000
    .venv/bin/python benches/preprocess_cluster.py SYNTH_DIR --out BENCH_DIR --cores 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CONFIGS = ("local", "dask1", "dask2")


def options_for(config: str, cores: int) -> dict[str, Any]:
    if config == "local":
        return {"executor": "local", "num_threads": cores}
    workers = int(config.removeprefix("dask"))
    return {"executor": "dask", "workers": workers, "num_threads": max(1, cores // workers)}


def child(folder: Path, out: Path, config: str, cores: int, chunk_records: int, reader: str) -> None:
    """One run (in the child process): build the dataset, print its timing as JSON."""
    from bench_parts import WfdbCorpus

    from dacl.features.build import BuildOptions, build
    from dacl.features.executors import open_executor
    from dacl.features.featurizer import PreprocessConfig

    names = (folder / "RECORDS").read_text().split()
    corpus = str(folder) if reader == "dacl" else WfdbCorpus(folder, names=names)
    options = BuildOptions(split=None, progress=False, overwrite=True, **options_for(config, cores))
    t0 = time.perf_counter()
    with open_executor(options) as (executor, options):
        ready = time.perf_counter()
        build(corpus, out, PreprocessConfig(chunk_records=chunk_records), options, executor=executor)
    done = time.perf_counter()
    manifest = json.loads((out / "manifest.json").read_text())
    print(
        json.dumps(
            {
                "seconds": done - t0,
                "startup_seconds": ready - t0,
                "build_seconds": done - ready,
                "records": len(names),
                "reader": reader,
                "windows": manifest["n_windows"],
                "run": manifest["runs"][-1],
            }
        )
    )


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (from ``/proc``)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def _status(pid: int) -> tuple[str, int] | None:
    """``(role, VmHWM in KiB)`` of a process, ``None`` once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    role = "driver" if "--child" in cmdline else "worker" if "spawn_main" in cmdline else "other"
    return role, hwm


def measure(folder: Path, out: Path, config: str, cores: int, chunk_records: int, reader: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        str(folder),
        "--out",
        str(out),
        "--child",
        config,
        "--cores",
        str(cores),
        "--chunk-records",
        str(chunk_records),
        "--reader",
        reader,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent)
    peaks: dict[int, tuple[str, int]] = {}
    while proc.poll() is None:
        for pid in _tree(proc.pid):
            seen = _status(pid)
            if seen is not None:
                peaks[pid] = (seen[0], max(seen[1], peaks.get(pid, ("", 0))[1]))
        time.sleep(0.2)
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"{config} failed ({proc.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    workers = [kib for role, kib in peaks.values() if role == "worker"]
    drivers = [kib for role, kib in peaks.values() if role == "driver"]
    result.update(
        config=config,
        records_per_s=result["records"] / result["seconds"],
        build_records_per_s=result["records"] / result["build_seconds"],
        driver_peak_rss_mib=max(drivers, default=0) / 1024,
        worker_peak_rss_mib=[round(k / 1024, 1) for k in workers],
        processes={pid: [role, round(kib / 1024, 1)] for pid, (role, kib) in peaks.items()},
    )
    return result


def digest(path: Path) -> str:
    """SHA-256 over the dataset's data files (the manifest aside: it records timings)."""
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            h.update(str(p.relative_to(path)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a corpus folder made by make_synthetic_corpus.py")
    parser.add_argument("--out", type=Path, required=True, help="folder for the datasets and results.json")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--cores", type=int, default=2, help="cores every configuration uses")
    parser.add_argument("--chunk-records", type=int, default=64)
    parser.add_argument("--reader", choices=["dacl", "wfdb"], default="dacl", help="who reads the records")
    parser.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.folder.resolve(), args.out, args.child, args.cores, args.chunk_records, args.reader)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for config in args.configs:
        result = measure(
            args.folder.resolve(), (args.out / config).resolve(), config, args.cores, args.chunk_records, args.reader
        )
        result["digest"] = digest(args.out / config)
        results.append(result)
        print(
            f"{config:6s} {result['seconds']:7.1f} s (start-up {result['startup_seconds']:.1f} s)  "
            f"{result['records_per_s']:6.1f} records/s ({result['build_records_per_s']:.1f} without start-up)  "
            f"driver {result['driver_peak_rss_mib']:.0f} MiB, workers {result['worker_peak_rss_mib']} MiB",
            flush=True,
        )
    by = {r["config"]: r for r in results}
    for r in results:
        if "local" in by:
            r["efficiency_vs_local"] = r["build_records_per_s"] / by["local"]["build_records_per_s"]
            print(
                f"{r['config']}: efficiency against local on the same {args.cores} cores {r['efficiency_vs_local']:.2f}"
            )
    same = len({r["digest"] for r in results}) == 1
    print(f"datasets identical: {same}")
    (args.out / "results.json").write_text(
        json.dumps({"cores": args.cores, "results": results, "identical": same}, indent=1)
    )


if __name__ == "__main__":
    main()
