"""``dacl train``: train DACL, DiffAug or a baseline on a features dataset into a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dacl.cli.experiment import add_config_arguments, load_experiment
from dacl.features import load_features
from dacl.io.documents import read_json_object
from dacl.settings import add_options, given_options
from dacl.training import train
from dacl.training.config import Config, DataSection, TrainSection

HELP = "train DACL, DiffAug or a baseline on a features dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, example="diffusion.t_max=50")
    add_options(parser, [("train", TrainSection), ("data", DataSection)])
    parser.add_argument("--out", type=Path, default=None, help="run directory (default runs/<method>)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every stage of the method")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def config_of(args: argparse.Namespace) -> Config:
    """The training config: the file, the flags given, then every ``--set``."""
    flags: dict[str, dict[str, Any]] = {"train": given_options(args, "train"), "data": given_options(args, "data")}
    if args.epochs is not None:
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        flags.update({section: {"epochs": args.epochs} for section in ("vae", "encoder", "dae")})
    return load_experiment(args.config, args.overrides, flags).training()


def run(args: argparse.Namespace) -> int:
    # torch: imported when a run starts
    from dacl.training.checkpoint import HISTORY
    from dacl.training.distributed import launched_rank

    config = config_of(args)
    if not config.data.features:
        raise ValueError("no features dataset: pass --features DIR or set [data] features")
    features = load_features(config.data.features)
    out = args.out if args.out is not None else Path("runs") / config.train.method.replace("+", "_")
    train(config, features, out, resume=args.resume, progress=not args.no_progress)
    if launched_rank() != 0:  # under torchrun, rank 0 wrote the run and reports it
        return 0
    history = read_json_object(out / HISTORY) if (out / HISTORY).is_file() else {}
    for stage, rows in history.get("stages", {}).items():
        best = history.get("best_epoch", {}).get(stage)
        last = rows[-1] if rows else {}
        print(
            f"dacl train: {stage}: {len(rows)} epochs, last train loss {last.get('train_loss', float('nan')):.4f}, "
            f"best epoch {best}"
        )
    print(f"dacl train: {config.train.method} run written to {out}")
    return 0
