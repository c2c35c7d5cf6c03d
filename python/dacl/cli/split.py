"""``dacl split``: a record-level train/val/test split of a features dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from dacl.features.split import DEFAULT_FRACTIONS, SPLITS, check_folds, split_dataset

HELP = "record-level train/val/test split of a features dataset (stratified, by folds, or from a table)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", type=Path, help="features dataset directory written by `dacl preprocess`")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--fractions",
        type=float,
        nargs=3,
        default=list(DEFAULT_FRACTIONS),
        metavar=("TRAIN", "VAL", "TEST"),
        help="split fractions (default 0.7 0.1 0.2)",
    )
    parser.add_argument(
        "--folds",
        default="auto",
        metavar="SPEC",
        help="split by the records' folds: TRAIN/VAL/TEST folds such as 1-8/9/10; 'auto' (default) does so "
        "when every record has a fold (PTB-XL's strat_fold), 'none' never",
    )
    parser.add_argument(
        "--assign",
        default=None,
        metavar="FILE",
        help="take the split from a record,split CSV (sides train, val, test): an official test "
        "set, another tool's split",
    )


def run(args: argparse.Namespace) -> int:
    entry = split_dataset(args.dataset, args.fractions, args.seed, folds=check_folds(args.folds), assign=args.assign)
    summary = ", ".join(f"{s} {entry['sizes'][s]}" for s in SPLITS)
    how = f"seed {entry['seed']}" if entry.get("seed") is not None else entry["method"].split(", ")[1]
    print(f"split {args.dataset} ({how}): {summary} records; {entry['unassigned']} unassigned")
    return 0
