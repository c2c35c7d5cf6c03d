"""``dacl report``: (re)draw the report of an evaluation folder, after merging other evaluations into it."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "redraw report.md of an evaluation, optionally merging other evaluations' methods or robustness curves"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("evaluation", type=Path, metavar="EVAL_DIR", help="folder written by `dacl evaluate`")
    parser.add_argument(
        "--methods-from",
        type=Path,
        nargs="+",
        default=[],
        metavar="DIR",
        help="first add the methods of these evaluations (same dataset and split)",
    )
    parser.add_argument(
        "--robustness-from",
        type=Path,
        nargs="+",
        default=[],
        metavar="DIR",
        help="first add the robustness curves of these evaluations (same dataset and split)",
    )


def run(args: argparse.Namespace) -> int:
    from dacl.report.markdown import write_report
    from dacl.report.merge import merge_evaluations

    if args.methods_from or args.robustness_from:
        print(f"wrote {merge_evaluations(args.evaluation, args.methods_from, args.robustness_from)}")
    print(f"wrote {write_report(args.evaluation)}")
    return 0
