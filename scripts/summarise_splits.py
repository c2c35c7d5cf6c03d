"""Markdown table for results/dev/README.md ("Other splits"): test scores of scattering + LR
and of each other method on several record-level splits, with the paired bootstrap
difference to the baseline that ``dacl evaluate`` stored in each metrics.json.

    .venv/bin/python scripts/summarise_splits.py EVAL_DIR [EVAL_DIR ...] [--method dacl] [--png PATH]
    .venv/bin/python scripts/summarise_splits.py EVAL_DIR ... --baseline dacl --method gauss-contrastive

Each EVAL_DIR is one ``dacl evaluate`` output folder (one split) whose first method is the
baseline (``--baseline-scattering``, or the run listed first). The last lines give, over the
splits, the mean and range of each column. ``--png`` draws the AF-vs-rest AUROC of both per
split, with their 95 % CIs and the paper's figure. Folders evaluated with ``--robustness``
also get a second table: the method's paired AF difference to the baseline at every noise
level, per split.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from matplotlib.figure import Figure

from dacl.report.markdown import format_ci as _ci
from dacl.report.plots import save_png as _save

SCATTERING = "scattering-pool"
METRICS = ("auroc_af", "auroc_macro_ovr", "f1_challenge")
PAPER_AF = 0.9741  # DACL v3 abstract, AF detection on PhysioNet 2017


def split_row(eval_dir: Path, method: str, baseline: str = SCATTERING) -> dict[str, object]:
    """Split seed, baseline and method scores, and the method's paired difference to the baseline."""
    m = json.loads((eval_dir / "metrics.json").read_text())

    def first(name: str) -> dict | None:
        """The first row named ``name`` or ``name [run]``."""
        return next((r for r in m["methods"] if r["method"] == name or r["method"].startswith(name + " [")), None)

    base = first(baseline)
    if base is None:
        hint = "evaluate with --baseline-scattering" if baseline == SCATTERING else f"evaluate a {baseline} run first"
        raise SystemExit(f"{eval_dir}: no {baseline} row; {hint}")
    row: dict[str, object] = {"seed": m["split"]["seed"], "n_test": m["n_records"]["test"],
                              "baseline": {k: base["metrics"][k] for k in METRICS}}
    other = first(method)
    if other is not None:
        row["method"] = {k: other["metrics"][k] for k in METRICS}
        diff = other.get("difference_to")
        if diff is None or diff.get("method") != base["method"]:
            raise SystemExit(f"{eval_dir}: {method} has no paired difference to {baseline}")
        row["difference"] = {k: diff[k] for k in METRICS}
    return row



def robustness_row(eval_dir: Path, method: str) -> tuple[int, dict[str, dict]] | None:
    """(split seed, {corruption label: paired AF difference}) of ``method``'s robustness curve, if any."""
    m = json.loads((eval_dir / "metrics.json").read_text())
    for curve in m.get("robustness") or []:
        if (curve["method"] == method or curve["method"].startswith(method + " [")) and curve.get("difference_to"):
            return m["split"]["seed"], {p["label"]: p["difference"]["auroc_af"] for p in curve["points"]
                                        if "difference" in p}
    return None


def label(name: str) -> str:
    return "scattering + LR" if name == SCATTERING else name


def plot_af(rows: list[dict], baseline: str, method: str, path: Path) -> None:
    """AF AUROC with its 95 % CI per split: baseline and method side by side."""
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot()
    for offset, key, name in ((-0.12, "baseline", label(baseline)), (0.12, "method", method)):
        have = [r for r in rows if key in r]
        x = [r["seed"] + offset for r in have]
        e = [r[key]["auroc_af"] for r in have]
        yerr = [[v["value"] - v["low"] for v in e], [v["high"] - v["value"] for v in e]]
        ax.errorbar(x, [v["value"] for v in e], yerr=yerr, fmt="o", capsize=3, label=name)
    ax.axhline(PAPER_AF, ls="--", color="0.4", lw=1, label=f"paper v3 ({PAPER_AF})")
    n_test = sorted({r["n_test"] for r in rows})
    each = f"; {n_test[0]:,} test records each" if len(n_test) == 1 else ""
    ax.set(xlabel=f"split seed (record-level, stratified{each})", ylabel="AUROC AF vs rest",
           title="Test AUROC on different splits of the same records (95% CI)")
    ax.set_xticks(sorted({r["seed"] for r in rows}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3)
    _save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evals", nargs="+", type=Path)
    parser.add_argument("--method", default="dacl", help="the method compared with the baseline (default dacl)")
    parser.add_argument("--baseline", default=SCATTERING, help=f"the reference method (default {SCATTERING})")
    parser.add_argument("--png", type=Path, help="also draw AF AUROC per split to this PNG")
    args = parser.parse_args()
    rows = sorted((split_row(d, args.method, args.baseline) for d in args.evals), key=lambda r: r["seed"])
    m, b = args.method, label(args.baseline)
    print(f"| split seed | {b}: AF | macro | {m}: AF | macro | Δ AF ({m} − {b}) | Δ macro |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        base = r["baseline"]
        cells = [str(r["seed"]), f"{base['auroc_af']['value']:.4f}", f"{base['auroc_macro_ovr']['value']:.4f}"]
        if "method" in r:
            cells += [f"{r['method']['auroc_af']['value']:.4f}", f"{r['method']['auroc_macro_ovr']['value']:.4f}"]
            cells += [_ci(r["difference"]["auroc_af"], signed=True), _ci(r["difference"]["auroc_macro_ovr"], signed=True)]
        else:
            cells += ["—"] * 4
        print("| " + " | ".join(cells) + " |")
    print()
    for name, key in ((b, "baseline"), (m, "method"), (f"Δ {m} − {b}", "difference")):
        have = [r[key] for r in rows if key in r]
        if not have:
            continue
        for metric in ("auroc_af", "auroc_macro_ovr"):
            values = [h[metric]["value"] for h in have]
            f = "+.4f" if key == "difference" else ".4f"
            print(
                f"- {name}, {metric}: mean {statistics.fmean(values):{f}} over {len(values)} splits, "
                f"range {min(values):{f}} … {max(values):{f}}"
            )
    robust = sorted(r for r in (robustness_row(d, args.method) for d in args.evals) if r is not None)
    if robust:
        labels = list(robust[0][1])
        print(f"\nΔ AUROC AF ({m} − {b}) under each corruption, paired over the same corrupted test records:\n")
        print("| split seed | " + " | ".join(labels) + " |")
        print("|---|" + "---|" * len(labels))
        for seed, diffs in robust:
            print(f"| {seed} | " + " | ".join(_ci(diffs.get(lab), signed=True) for lab in labels) + " |")
    if args.png:
        plot_af(rows, args.baseline, m, args.png)


if __name__ == "__main__":
    main()
