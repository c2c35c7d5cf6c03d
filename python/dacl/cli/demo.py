"""``dacl demo``: the main job, end to end, on the real sample shipped in the package.

preprocess (WFDB zip -> scattering shards, record-level split) -> train DACL with
the tiny config -> evaluate it beside the training-free scattering baseline, with
a robustness curve -> ``report.md`` and plots. Every step is the public CLI, so
the demo doubles as a worked example; rerunning it resumes finished steps.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dacl.cli import evaluate, preprocess, train
from dacl.cli.runner import Command, run_command

HELP = "the main job end to end on the real sample shipped in the package"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--seed", type=int, default=0)


def _steps(args: argparse.Namespace) -> list[tuple[str, str, Command, list[str]]]:
    out: Path = args.out
    features, run_dir, report = out / "features", out / "dacl", out / "report"
    return [
        (
            "preprocess the shipped sample",
            "preprocess",
            preprocess,
            ["--sample", "--out", str(features), "--seed", str(args.seed)],
        ),
        (
            "train DACL (tiny config)",
            "train",
            train,
            [
                "--config",
                "tiny",
                "--features",
                str(features),
                "--out",
                str(run_dir),
                "--device",
                args.device,
                "--seed",
                str(args.seed),
            ]
            + (["--resume"] if (run_dir / "checkpoint.pt").exists() else []),
        ),
        (
            "evaluate DACL and the scattering baseline",
            "evaluate",
            evaluate,
            [
                str(run_dir),
                "--features",
                str(features),
                "--baseline-scattering",
                "--robustness",
                "--out",
                str(report),
                "--n-boot",
                "200",
                "--seed",
                str(args.seed),
            ],
        ),
    ]


def run(args: argparse.Namespace) -> int:
    steps = _steps(args)
    for i, (title, name, command, argv) in enumerate(steps, 1):
        print(f"\n[{i}/{len(steps)}] {title}: dacl {name} {' '.join(argv)}", flush=True)
        start = time.perf_counter()
        status = run_command(name, command, argv)
        if status != 0:
            return status
        print(f"[{i}/{len(steps)}] done in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"\nReport: {args.out / 'report' / 'report.md'}")
    return 0
