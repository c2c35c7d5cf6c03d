"""Tables of AUROCs and paired differences from the per-method files written by score.py.

    .venv/bin/python scripts/proto/compare.py DIR --methods A B C --reference A [--reference B] [--metric auroc_af]
        [--labels clean,12 dB,...] [--n-boot 1000] [--json OUT]

For every method and corruption: the AUROC, and ``method - reference`` with a paired percentile bootstrap over
the same (corrupted) records (``dacl.metrics.paired_difference``). A difference whose interval excludes 0 is bold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dacl import metrics
from dacl.robustness import ROBUSTNESS_METRICS


def load(folder: Path, name: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], list[str]]:
    safe = name.replace("/", "_").replace(" ", "_")
    with np.load(folder / f"{safe}.npz") as z:
        labels = list(dict.fromkeys(k.split("/")[0] for k in z.files if "/" in k))
        return {lab: (z[f"{lab}/records"], z[f"{lab}/y"], z[f"{lab}/probs"]) for lab in labels}, labels


def cell(e: metrics.Estimate, signed: bool = False) -> str:
    text = metrics.format_interval(e.value, e.low, e.high, signed)
    return f"**{text}**" if signed and (e.low > 0 or e.high < 0) else text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder")
    p.add_argument("--methods", nargs="+", required=True)
    p.add_argument("--reference", action="append", default=[])
    p.add_argument("--metric", default="auroc_af", choices=list(ROBUSTNESS_METRICS))
    p.add_argument("--labels", default=None, help="comma-separated corruption labels (default: all, in file order)")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None)
    p.add_argument("--no-values", action="store_true", help="only the difference tables")
    p.add_argument("--summary", action="store_true",
                   help="per method and reference: cells significantly better / worse, mean difference over the "
                        "white-noise SNRs and over the corruptions never used in training")
    args = p.parse_args(argv)

    folder = Path(args.folder)
    data, order = {}, None
    for m in dict.fromkeys(args.methods + args.reference):
        data[m], labels = load(folder, m)
        order = order or labels
    labels = args.labels.split(",") if args.labels else order
    metric = {args.metric: ROBUSTNESS_METRICS[args.metric]}
    doc: dict = {"metric": args.metric, "values": {}, "differences": {}}
    head = "| method | " + " | ".join(labels) + " |\n|---|" + "---|" * len(labels)
    if not args.no_values:
        print(f"{args.metric} (value [95% CI])\n\n{head}")
        for m in args.methods:
            cells = []
            for lab in labels:
                if lab not in data[m]:
                    cells.append("–")
                    continue
                _, y, probs = data[m][lab]
                e = metrics.score_records(y, probs, n_boot=args.n_boot, seed=args.seed, metrics=metric)[args.metric]
                doc["values"].setdefault(m, {})[lab] = e.to_dict()
                cells.append(f"{e.value:.4f}")
            print(f"| {m} | " + " | ".join(cells) + " |")
        print()
    for ref in args.reference:
        print(f"paired difference in {args.metric} to {ref} (bold: 95% CI excludes 0)\n\n{head}")
        for m in args.methods:
            if m == ref:
                continue
            cells = []
            for lab in labels:
                if lab not in data[m] or lab not in data[ref]:
                    cells.append("–")
                    continue
                rec, y, probs = data[m][lab]
                rec_r, y_r, probs_r = data[ref][lab]
                if not (np.array_equal(rec, rec_r) and np.array_equal(y, y_r)):
                    raise ValueError(f"{m} and {ref} were not scored on the same records at {lab}")
                d = metrics.paired_difference(y, probs, probs_r, n_boot=args.n_boot, seed=args.seed,
                                              metrics=metric)[args.metric]
                doc["differences"].setdefault(ref, {}).setdefault(m, {})[lab] = d.to_dict()
                cells.append(cell(d, signed=True))
            print(f"| {m} | " + " | ".join(cells) + " |")
        print()
    if args.summary:
        print("| method | reference | cells better | cells worse | mean diff, white noise 24-0 dB | "
              "mean diff, unseen kinds | mean diff, wander |\n|---|---|---:|---:|---:|---:|---:|")
        for ref, by_method in doc["differences"].items():
            for m, cells_ in by_method.items():
                better = sum(d["low"] > 0 for d in cells_.values())
                worse = sum(d["high"] < 0 for d in cells_.values())
                awgn = [d["value"] for lab, d in cells_.items() if lab.endswith(" dB") and lab[0].isdigit()]
                wander = [d["value"] for lab, d in cells_.items() if lab.startswith("wander")]
                unseen = [d["value"] for lab, d in cells_.items()
                          if lab != "clean" and lab not in (lab_ for lab_ in cells_ if lab_[0].isdigit())
                          and not lab.startswith("wander")]
                mean = lambda v: f"{np.mean(v):+.4f}" if v else "–"  # noqa: E731
                print(f"| {m} | {ref} | {better} | {worse} | {mean(awgn)} | {mean(unseen)} | {mean(wander)} |")
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
