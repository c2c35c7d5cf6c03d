"""Two runs of a method side by side over record-level splits: mean AF AUROC under each corruption, on how
many splits the second scored above the first, and (--png) both curves beside every method all splits scored.

    python experiments/robust-views/variants.py "dacl+diffaug [diffaug_split*]" "dacl+diffaug [robust_diffaug_split*]" \
        EVAL_0 ... EVAL_4 [--png robustness.png]

The two runs were scored on the same corrupted test records, but `dacl evaluate` pairs each run with the baselines
only, so there is no confidence interval for their difference here: the count of splits is the evidence (the
differences to the baselines, with CIs, are `dacl summarise splits --method PATTERN`).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from dacl.report.summaries import names, plot_robustness_over_splits, read_metrics


def per_split(evaluation: Path, pattern: str) -> dict[str, float]:
    """{corruption label: AF AUROC} of the curve ``pattern`` names in one evaluation."""
    _, doc = read_metrics(evaluation)
    curve = next(c for c in doc["robustness"] if names(c["method"], pattern))
    return {p["label"]: p["metrics"]["auroc_af"]["value"] for p in curve["points"]}


def table(first: str, second: str, evaluations: list[Path]) -> None:
    """Print the markdown table: per corruption, both runs' mean AF AUROC, the mean difference, the count."""
    a = [per_split(e, first) for e in evaluations]
    b = [per_split(e, second) for e in evaluations]
    print(f"| corruption | {first} | {second} | mean Δ | splits where the second is higher |")
    print("|---|---|---|---|---|")
    for c in a[0]:
        diffs = [y[c] - x[c] for x, y in zip(a, b, strict=True)]
        print(
            f"| {c} | {statistics.fmean(x[c] for x in a):.4f} | {statistics.fmean(y[c] for y in b):.4f} "
            f"| {statistics.fmean(diffs):+.4f} | {sum(d > 0 for d in diffs)} of {len(diffs)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", help="a method name or NAME [RUN*] pattern (as `dacl summarise splits --method`)")
    parser.add_argument("second")
    parser.add_argument("evaluations", type=Path, nargs="+", metavar="EVAL_DIR")
    parser.add_argument("--png", type=Path, help="also draw the mean robustness curves over the splits here")
    args = parser.parse_args()
    table(args.first, args.second, args.evaluations)
    if args.png is not None:
        plot_robustness_over_splits(args.evaluations, args.png, methods=[args.first, args.second])


if __name__ == "__main__":
    main()
