"""``dacl split``: a record-level, stratified train/val/test split of a features dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from dacl.features.split import DEFAULT_FRACTIONS, SPLITS, split_dataset

HELP = "record-level stratified train/val/test split of a features dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="features dataset directory written by `dacl preprocess`")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--fractions", type=float, nargs=3, default=list(DEFAULT_FRACTIONS), metavar=("TRAIN", "VAL", "TEST"),
        help="split fractions (default 0.7 0.1 0.2)",
    )


def run(args: argparse.Namespace) -> int:
    entry = split_dataset(args.dataset, args.fractions, args.seed)
    summary = ", ".join(f"{s} {sum(entry['records'][s].values())}" for s in SPLITS)
    print(f"split {args.dataset} (seed {entry['seed']}): {summary} records; {entry['unassigned']} unassigned")
    return 0
