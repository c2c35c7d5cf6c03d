"""``dacl summarise``: markdown tables across runs (seconds per epoch, scores) or across splits."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "markdown tables across runs (s/epoch, val scores) or across record-level splits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    runs = what.add_parser(
        "runs",
        help="median seconds per epoch of each run's stages, and an evaluation's scores",
        description="Median seconds per epoch of every stage of every run in RUNS_DIR (from "
        "history.json); with --scores, each run's scores in that evaluation.",
    )
    runs.add_argument("runs", type=Path, metavar="RUNS_DIR", help="folder holding run directories")
    runs.add_argument(
        "--scores",
        type=Path,
        metavar="EVAL_DIR",
        help="an evaluation of those runs, e.g. `dacl evaluate RUN... --on val --out EVAL_DIR`",
    )
    splits = what.add_parser(
        "splits",
        help="a method against the baseline on several splits",
        description="One `dacl evaluate` folder per record-level split, each scoring the "
        "baseline first (or with the noise-augmented baseline): both scores and the paired difference per split, the "
        "mean and range over splits, and the differences under each corruption "
        "when evaluated with --robustness.",
    )
    splits.add_argument("evaluations", type=Path, nargs="+", metavar="EVAL_DIR")
    splits.add_argument(
        "--method",
        default="dacl",
        help="the method compared with the baseline (default dacl); when two runs of one method were evaluated, "
        "'NAME [RUN]' as the report names them, with * for any text: 'dacl+diffaug [robust*]' picks the same run on "
        "every split although each split's run folder has its own name",
    )
    splits.add_argument(
        "--baseline",
        default="scattering-pool",
        help="the method compared against: the one each folder evaluated first, or the noise-augmented baseline "
        "'scattering-pool + noise-aug' when it was evaluated too (default scattering-pool)",
    )
    splits.add_argument("--png", type=Path, metavar="PATH", help="also draw AF AUROC per split to this PNG")
    splits.add_argument(
        "--robustness-png",
        type=Path,
        metavar="PATH",
        help="also draw AF AUROC under each corruption, mean and range over the splits, to this PNG: every method "
        "all folders scored, and --method",
    )


def run(args: argparse.Namespace) -> int:
    from dacl.report import summaries

    if args.what == "runs":
        print(summaries.epoch_time_table(args.runs))
        if args.scores is not None:
            print("\n" + summaries.score_table(args.scores))
        return 0
    rows = summaries.read_splits(args.evaluations, args.method, args.baseline)
    print(summaries.splits_table(rows, args.method, args.baseline))
    robustness = summaries.robustness_table(args.evaluations, args.method, args.baseline)
    if robustness:
        print("\n" + robustness)
    if args.png is not None:
        summaries.plot_splits(rows, args.method, args.png, args.baseline)
        print(f"wrote {args.png}")
    if args.robustness_png is not None:
        summaries.plot_robustness_over_splits(args.evaluations, args.robustness_png, methods=[args.method])
        print(f"wrote {args.robustness_png}")
    return 0
