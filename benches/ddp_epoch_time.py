"""Time per epoch of data-parallel training on the CPU: ``dacl train`` under torchrun with 1 and 2 ranks.

Every run trains the same global batch (``--global-batch``, split evenly over the ranks, so
the steps per epoch are the same), one torch thread per rank, on a features dataset. It
prints, per number of ranks, the wall time of the whole command and the mean seconds per
epoch of each stage (from the run's history.json; the time of an epoch includes its val loss).
Each rank contextualises and standardises the train and val windows itself before training.

Example (the development corpus, DACL with the tiny config, 2 epochs per stage)::

    .venv/bin/python benches/ddp_epoch_time.py --features runs/dev --ranks 1 2 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def train_under_torchrun(features: Path, out: Path, ranks: int, args: argparse.Namespace) -> dict[str, Any]:
    """One ``torchrun ... dacl train`` run; its wall time and mean seconds per epoch of each stage."""
    if args.global_batch % ranks:
        raise ValueError(f"--global-batch {args.global_batch} is not a multiple of {ranks} ranks")
    per_rank = args.global_batch // ranks
    settings = [("train.threads", 1), *((f"{stage}.batch_size", per_rank) for stage in ("vae", "encoder", "dae"))]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(ranks),
        "-m",
        "dacl",
        "train",
        "--config",
        args.config,
        "--method",
        args.method,
        "--features",
        str(features),
        "--device",
        "cpu",
        "--out",
        str(out),
        "--epochs",
        str(args.epochs),
        "--no-progress",
        *(f"--set={key}={value}" for key, value in settings),
    ]
    t0 = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    history = json.loads((out / "history.json").read_text())
    epochs = {stage: sum(row["time_s"] for row in rows) / len(rows) for stage, rows in history["stages"].items()}
    return {
        "ranks": ranks,
        "world_size": history["world_size"],
        "global_batch": history["global_batch_size"],
        "wall_s": wall,
        "epoch_s": epochs,
        "n_train": history["n_train"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", type=Path, required=True, help="a dataset written by dacl preprocess")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--method", default="dacl")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of every stage")
    parser.add_argument("--global-batch", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-ddp"), help="scratch directory (replaced)")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    rows = [train_under_torchrun(args.features, args.out / f"ranks{n}", n, args) for n in args.ranks]
    base = rows[0]
    print(
        f"{args.method}, config {args.config}, {base['n_train']} train windows, global batch {args.global_batch}, "
        f"{args.epochs} epochs per stage, CPU, 1 thread per rank"
    )
    print(f"{'ranks':>5} {'wall s':>8} " + " ".join(f"{s + ' s/epoch':>16} {'speed-up':>8}" for s in base["epoch_s"]))
    for row in rows:
        cells = [f"{row['epoch_s'][s]:>16.2f} {base['epoch_s'][s] / row['epoch_s'][s]:>8.2f}" for s in base["epoch_s"]]
        print(f"{row['ranks']:>5} {row['wall_s']:>8.1f} " + " ".join(cells))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
