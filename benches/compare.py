"""Scattering comparison report: dacl's Rust Scattering1D vs kymatio 0.3.0.

Usage::

    .venv/bin/python benches/compare.py --out benches/results            # full grid (~20 min idle)
    .venv/bin/python benches/compare.py --out /tmp/smoke --quick         # smoke run (~1 min)
    .venv/bin/python benches/compare.py --out DIR --configs 9000:8:8 --batches 1 64 512
    .venv/bin/python benches/compare.py --out DIR --from-json DIR/results.json   # redraw only

For every parameter set ``N:J:Q`` (``Q`` is ``8`` or ``8,2``) each competitor
runs in its own child process (so its peak RSS, ``ru_maxrss``, is its own):

- ``rust64``: dacl Scattering1D on float64 (vs kymatio numpy, float64),
- ``rust32``: dacl Scattering1D on float32 (vs kymatio torch, float32-only),
- ``numpy``: ``kymatio.numpy.Scattering1D`` (single-threaded numpy FFT),
- ``torch``: ``kymatio.torch.Scattering1D`` on CPU, ``--threads`` torch threads.

Rust uses ``--threads`` rayon threads. Each batch size (ascending) is warmed up
once and timed ``rounds`` times; the table holds the median per signal, both
wall time and process CPU time (all threads). CPU time is the steadier number
on a shared machine; the load average at start and end is in the report.
Peak RSS is read after the largest batch. Accuracy: the largest per-path
relative error ``max|Δ| / max|S_kymatio|`` on 4 seeded signals.

Scaling (Rust float64, ``B=16``): CPU time vs threads (1, 2) and vs ``N``
(``2^10..2^16`` and 9000, ``J=8``), with the log-log slope of time against
``N_pad`` and the slope that ``N_pad log N_pad`` has over the same range.

Writes ``report.md``, ``results.json``, ``time_vs_batch.png`` and
``scaling.png`` into ``--out`` (each through a temp file and a rename).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FULL_CONFIGS = ["2048:6:8", "2048:6:8,2", "2048:8:8", "2048:8:8,2", "9000:6:8", "9000:6:8,2", "9000:8:8", "9000:8:8,2"]
FULL_BATCHES = [1, 64, 512]
QUICK_CONFIGS = ["2048:6:8"]
QUICK_BATCHES = [1, 16]
COMPETITORS = ["rust64", "rust32", "numpy", "torch"]
# (ours, reference): the pairs the report puts side by side.
PAIRS = [("rust64", "numpy"), ("rust32", "torch")]
SCALING_N = [1024, 2048, 4096, 8192, 9000, 16384, 32768, 65536]
ERROR_BATCH = 4


def parse_config(text: str) -> tuple[int, int, tuple[int, int]]:
    """``"9000:8:8,2"`` -> ``(9000, 8, (8, 2))``."""
    try:
        n, j, q = text.split(":")
        qs = tuple(int(v) for v in q.split(","))
        return int(n), int(j), (qs[0], qs[1] if len(qs) > 1 else 1)
    except ValueError as err:
        raise ValueError(f"config {text!r} is not N:J:Q (e.g. 9000:8:8 or 9000:8:8,2)") from err


def rounds_for(batch: int, competitor: str, scale: float) -> int:
    """Few rounds where one round is long (big batches, kymatio)."""
    base = 9 if batch == 1 else 5 if batch <= 64 else 3
    if competitor in ("numpy", "torch") and batch > 64:
        base = 2
    return max(1, round(base * scale))


def timed(fn, rounds: int) -> tuple[float, float]:
    """Median wall and median process-CPU seconds of ``fn()`` after one warm-up."""
    fn()
    wall, cpu = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def make_transform(competitor: str, n: int, j: int, q: tuple[int, int], threads: int):
    """A callable ``x (B, N) float64 -> numpy array`` for the competitor."""
    if competitor in ("rust64", "rust32"):
        from dacl import Scattering1D

        s = Scattering1D(j, n, Q=q)
        dtype = np.float64 if competitor == "rust64" else np.float32
        return lambda x: s(x.astype(dtype, copy=False), num_threads=threads), dtype
    if competitor == "numpy":
        from kymatio.numpy import Scattering1D as KymatioNumpy

        s = KymatioNumpy(J=j, shape=n, Q=q)
        return s, np.float64
    if competitor == "torch":
        import torch
        from kymatio.torch import Scattering1D as KymatioTorch

        torch.set_num_threads(threads)
        s = KymatioTorch(J=j, shape=n, Q=q)

        def run(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return s(torch.from_numpy(x)).numpy()

        return run, np.float32
    raise ValueError(f"unknown competitor {competitor!r}")


def child(args: argparse.Namespace) -> None:
    """Time one competitor on one parameter set; print one JSON line."""
    n, j, q = parse_config(args.config)
    fn, dtype = make_transform(args.competitor, n, j, q, args.threads)
    # after imports and the filter bank: the base that the batches add to
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = np.random.default_rng(0)
    err_x = rng.standard_normal((ERROR_BATCH, n)).astype(dtype)
    if args.error_out:
        np.save(args.error_out, np.asarray(fn(err_x), dtype=np.float64))
    rows = []
    for batch in args.batches:
        x = np.random.default_rng(batch).standard_normal((batch, n)).astype(dtype)
        rounds = rounds_for(batch, args.competitor, args.rounds_scale)
        wall, cpu = timed(lambda x=x: fn(x), rounds)
        rows.append(
            {
                "batch": batch,
                "rounds": rounds,
                "wall_ms_per_signal": wall / batch * 1e3,
                "cpu_ms_per_signal": cpu / batch * 1e3,
                "peak_rss_mib_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    print(
        json.dumps(
            {
                "competitor": args.competitor,
                "config": args.config,
                "threads": args.threads,
                "base_rss_mib": base_rss,
                "rows": rows,
            }
        )
    )


def scaling_child(args: argparse.Namespace) -> None:
    """Rust float64 CPU/wall time per signal for each N (and thread count)."""
    from dacl import Scattering1D

    out = []
    for n in args.ns:
        s = Scattering1D(8, n, Q=8)
        x = np.random.default_rng(n).standard_normal((args.scaling_batch, n))
        wall, cpu = timed(lambda s=s, x=x: s(x, num_threads=args.threads), max(1, round(5 * args.rounds_scale)))
        out.append(
            {
                "n": n,
                "n_padded": s.N_padded,
                "threads": args.threads,
                "wall_ms_per_signal": wall / args.scaling_batch * 1e3,
                "cpu_ms_per_signal": cpu / args.scaling_batch * 1e3,
            }
        )
    print(json.dumps(out))


def run_child(extra: list[str]) -> Any:
    cmd = [sys.executable, __file__, "--_child", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"child {' '.join(extra)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_path_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """Largest over paths of ``max|Δ| / max|reference|`` on that path."""
    scale = np.abs(reference).max(axis=-1)
    return float((np.abs(ours - reference).max(axis=-1) / scale).max())


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # Read from the metadata, not by importing: an import of torch here would
    # raise the parent's RSS, which Linux carries into the children's ru_maxrss.
    versions = {"python": platform.python_version()}
    for dist in ["numpy", "scipy", "torch", "kymatio", "dacl"]:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except OSError:
        rev = "?"
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions,
        "git": rev,
        "load_start": list(os.getloadavg()),
    }


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(ys) against log(xs)."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def save_png(fig: Any, path: Path) -> None:
    """Write ``fig`` as a PNG through :func:`write_atomic`, then close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_atomic(path, buf.getvalue())
    plt.close(fig)


def plots(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, (ours, ref) in zip(axes, PAIRS, strict=True):
        for i, (cfg, comp) in enumerate(results["timings"].items()):
            # one colour per parameter set: solid Rust, dashed kymatio
            for name, style in [(ours, "-o"), (ref, "--s")]:
                if name in comp:
                    rows = comp[name]["rows"]
                    ax.plot(
                        [r["batch"] for r in rows],
                        [r["cpu_ms_per_signal"] for r in rows],
                        style,
                        color=f"C{i % 10}",
                        label=f"{name} {cfg}",
                    )
        ax.set(xscale="log", yscale="log", xlabel="batch size B", title=f"{ours} vs kymatio {ref}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    axes[0].set_ylabel("CPU ms per signal (all threads)")
    fig.tight_layout()
    save_png(fig, out / "time_vs_batch.png")

    sc = results.get("scaling")
    if sc:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        pts = sorted(sc["by_n"], key=lambda r: r["n"])
        ax.plot([r["n"] for r in pts], [r["cpu_ms_per_signal"] for r in pts], "-o", label="rust float64, 1 thread")
        ref = pts[0]
        ideal = [
            ref["cpu_ms_per_signal"]
            * r["n_padded"]
            * np.log2(r["n_padded"])
            / (ref["n_padded"] * np.log2(ref["n_padded"]))
            for r in pts
        ]
        ax.plot([r["n"] for r in pts], ideal, ":", label="N_pad log N_pad (through the first point)")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="N",
            ylabel="CPU ms per signal",
            title=f"Rust scaling, J=8 Q=8 (slope {sc['slope']:.2f}, N log N: {sc['slope_nlogn']:.2f})",
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        save_png(fig, out / "scaling.png")


def report_md(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# Scattering1D: dacl (Rust) vs kymatio 0.3.0",
        "",
        f"Generated by `{results['command']}` (git {m['git']}).",
        "",
        f"- Machine: {m['cpu_model']}, {m['cpus']} logical CPUs, {m['platform']}",
        f"- Load average (1, 5, 15 min) at start {fmt_load(m['load_start'])}, at end {fmt_load(m['load_end'])}",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items())}",
        f"- Threads: Rust rayon {results['threads']}, torch {results['threads']}; kymatio numpy is single-threaded.",
        f"- Note: {results['note']}" if results.get("note") else "",
        "",
        "Times are medians per signal in ms: CPU = process CPU time over all threads (steady under load),",
        "wall = elapsed. Ratio = kymatio / Rust (higher is better for Rust). Peak RSS is the child's",
        f"`ru_maxrss` after the largest batch (B={max(results['batches'])}), imports included; growth over base",
        "is that peak minus the RSS after imports and building the transform (what the batches add).",
        "Error: largest per-path `max|Δ| / max|S_kymatio|` on 4 seeded N(0,1) signals",
        "(rust64 vs numpy float64, rust32 vs torch float32).",
        "",
    ]
    for ours, ref in PAIRS:
        lines += [
            f"## {ours} vs kymatio {ref}",
            "",
            "| N | J | Q | B | Rust CPU | kymatio CPU | CPU ratio | Rust wall | kymatio wall | wall ratio |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for cfg, comp in results["timings"].items():
            if ours not in comp or ref not in comp:
                continue
            n, j, q = cfg.split(":")
            for a, b in zip(comp[ours]["rows"], comp[ref]["rows"], strict=True):
                lines.append(
                    f"| {n} | {j} | {q} | {a['batch']} | {a['cpu_ms_per_signal']:.3f} | {b['cpu_ms_per_signal']:.3f} | "
                    f"{b['cpu_ms_per_signal'] / a['cpu_ms_per_signal']:.1f}x | {a['wall_ms_per_signal']:.3f} | "
                    f"{b['wall_ms_per_signal']:.3f} | {b['wall_ms_per_signal'] / a['wall_ms_per_signal']:.1f}x |"
                )
        lines.append("")
        lines += [
            "| N | J | Q | Rust peak RSS MiB | kymatio peak RSS MiB | RSS ratio Rust/kymatio "
            "| Rust / kymatio growth over base MiB | max per-path rel. error |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for cfg, comp in results["timings"].items():
            if ours not in comp or ref not in comp:
                continue
            n, j, q = cfg.split(":")
            ra, rb = comp[ours]["peak_rss_mib"], comp[ref]["peak_rss_mib"]
            err = results["errors"].get(cfg, {}).get(f"{ours}_vs_{ref}", float("nan"))
            ga, gb = ra - comp[ours]["base_rss_mib"], rb - comp[ref]["base_rss_mib"]
            lines.append(f"| {n} | {j} | {q} | {ra:.0f} | {rb:.0f} | {ra / rb:.2f} | {ga:.0f} / {gb:.0f} | {err:.1e} |")
        lines.append("")
    sc = results.get("scaling")
    if sc:
        lines += [
            f"## Scaling (Rust float64, J=8, Q=8, B={sc['batch']})",
            "",
            "| threads | CPU ms/signal | wall ms/signal | wall speed-up vs 1 thread |",
            "|---|---|---|---|",
        ]
        one = sc["by_threads"][0]["wall_ms_per_signal"]
        for r in sc["by_threads"]:
            lines.append(
                f"| {r['threads']} | {r['cpu_ms_per_signal']:.3f} | {r['wall_ms_per_signal']:.3f} | "
                f"{one / r['wall_ms_per_signal']:.2f}x |"
            )
        lines += [
            "",
            f"N = {sc['by_threads'][0]['n']}. Time vs N (1 thread):",
            "",
            "| N | N_pad | CPU ms/signal | CPU µs / (N_pad log2 N_pad / 1000) |",
            "|---|---|---|---|",
        ]
        for r in sorted(sc["by_n"], key=lambda r: r["n"]):
            norm = r["cpu_ms_per_signal"] * 1e3 / (r["n_padded"] * np.log2(r["n_padded"]) / 1e3)
            lines.append(f"| {r['n']} | {r['n_padded']} | {r['cpu_ms_per_signal']:.3f} | {norm:.3f} |")
        lines += [
            "",
            f"Log-log slope of CPU time vs N_pad: **{sc['slope']:.3f}**; the slope of N_pad log N_pad over "
            f"the same points is {sc['slope_nlogn']:.3f} (pure N would be 1.000).",
            "",
            "![time vs batch](time_vs_batch.png)",
            "",
            "![scaling](scaling.png)",
            "",
        ]
    return "\n".join(line for line in lines) + "\n"


def fmt_load(load: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benches/results"))
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--configs", nargs="+", help="parameter sets N:J:Q (default: the full grid)")
    parser.add_argument("--batches", nargs="+", type=int)
    parser.add_argument("--competitors", nargs="+", choices=COMPETITORS, default=COMPETITORS)
    parser.add_argument("--threads", type=int, default=2, help="Rust and torch threads")
    parser.add_argument("--rounds-scale", type=float, default=1.0, help="multiply the timed rounds")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--scaling-batch", type=int, default=16)
    parser.add_argument("--note", default="", help="free text written into the report (e.g. 'under load')")
    parser.add_argument("--from-json", type=Path, help="only rewrite report.md and the plots from this results.json")
    # child-process arguments
    parser.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_scaling", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--competitor", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--error-out", help=argparse.SUPPRESS)
    parser.add_argument("--ns", nargs="+", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        (scaling_child if args._scaling else child)(args)
        return

    if args.from_json:
        results = json.loads(args.from_json.read_text())
        args.out.mkdir(parents=True, exist_ok=True)
        plots(results, args.out)
        write_atomic(args.out / "report.md", report_md(results).encode())
        print(f"wrote {args.out / 'report.md'}")
        return

    configs = args.configs or (QUICK_CONFIGS if args.quick else FULL_CONFIGS)
    batches = sorted(args.batches or (QUICK_BATCHES if args.quick else FULL_BATCHES))
    for cfg in configs:
        parse_config(cfg)
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    rounds_scale = args.rounds_scale * (0.5 if args.quick else 1.0)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "command": " ".join(["python", "benches/compare.py", *sys.argv[1:]]),
        "machine": machine(),
        "threads": args.threads,
        "batches": batches,
        "note": args.note,
        "timings": {},
        "errors": {},
    }
    common = ["--threads", str(args.threads), "--rounds-scale", str(rounds_scale), "--batches", *map(str, batches)]
    with tempfile.TemporaryDirectory() as tmp:
        for cfg in configs:
            comp: dict[str, Any] = {}
            outputs: dict[str, np.ndarray] = {}
            for name in args.competitors:
                err_file = str(Path(tmp) / f"{name}.npy")
                r = run_child(["--competitor", name, "--config", cfg, "--error-out", err_file, *common])
                r["peak_rss_mib"] = r["rows"][-1]["peak_rss_mib_so_far"]
                comp[name] = r
                outputs[name] = np.load(err_file)
                last = r["rows"][-1]
                print(
                    f"{cfg:12s} {name:7s} B={last['batch']:4d}: {last['cpu_ms_per_signal']:8.3f} ms CPU/signal, "
                    f"{last['wall_ms_per_signal']:8.3f} ms wall/signal, peak RSS {r['peak_rss_mib']:.0f} MiB",
                    flush=True,
                )
            results["timings"][cfg] = comp
            errs = {}
            for ours, ref in PAIRS + [("torch", "numpy")]:
                if ours in outputs and ref in outputs:
                    errs[f"{ours}_vs_{ref}"] = per_path_error(outputs[ours], outputs[ref])
            results["errors"][cfg] = errs
            print(f"{cfg:12s} errors: " + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()), flush=True)

    if not args.no_scaling and "rust64" in args.competitors:
        ns = [1024, 2048, 9000] if args.quick else SCALING_N
        base = ["--_scaling", "--rounds-scale", str(rounds_scale), "--scaling-batch", str(args.scaling_batch)]
        by_threads = [run_child([*base, "--threads", str(t), "--ns", "9000"])[0] for t in (1, 2)]
        by_n = run_child([*base, "--threads", "1", "--ns", *map(str, ns)])
        pads = [r["n_padded"] for r in by_n]
        results["scaling"] = {
            "batch": args.scaling_batch,
            "by_threads": by_threads,
            "by_n": by_n,
            "slope": slope(pads, [r["cpu_ms_per_signal"] for r in by_n]),
            "slope_nlogn": slope(pads, [p * np.log2(p) for p in pads]),
        }
        print(f"scaling: slope {results['scaling']['slope']:.3f} (N log N: {results['scaling']['slope_nlogn']:.3f})")

    results["machine"]["load_end"] = list(os.getloadavg())
    write_atomic(args.out / "results.json", json.dumps(results, indent=1).encode())
    plots(results, args.out)
    write_atomic(args.out / "report.md", report_md(results).encode())
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
