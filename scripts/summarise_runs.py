"""Markdown tables for results/dev/README.md: CPU seconds per epoch (from each run's
history.json) and the validation-split probe scores (from scripts/val_probe.py's JSON lines).

    .venv/bin/python scripts/summarise_runs.py RUNS_DIR [--val RUNS_DIR/val.jsonl]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def epoch_times(run: Path, skip_first: bool = False) -> dict[str, tuple[int, float]]:
    """stage -> (epochs run, median seconds per epoch).

    ``skip_first`` leaves each stage's first epoch out of the median when there are more
    (on a GPU it pays for CUDA start-up and kernel selection).
    """

    def median(times: list[float]) -> float:
        return statistics.median(times[1:] if skip_first and len(times) > 1 else times)

    h = json.loads((run / "history.json").read_text())
    out: dict[str, tuple[int, float]] = {}
    if isinstance(h, list) or "epochs" in h:  # DiffAug: one row per epoch with its phase kind (a list in old runs)
        rows = h if isinstance(h, list) else h["epochs"]
        for kind in ("E", "M"):
            s = [r["seconds"] for r in rows if r["kind"] == kind]
            if s:
                out[f"diffaug {kind}"] = (len(s), median(s))
        return out
    for stage, rows in h.get("stages", {}).items():
        if rows:
            out[stage] = (len(rows), median([r["time_s"] for r in rows]))
    sub = run / "diffaug" / "history.json"
    if sub.is_file():
        out.update({f"sub-{k}": v for k, v in epoch_times(run / "diffaug", skip_first).items()})
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("runs", type=Path)
    p.add_argument("--val", type=Path, default=None)
    a = p.parse_args()
    print("| run | stage | epochs | median s/epoch (CPU) |\n|---|---|---:|---:|")
    for run in sorted(d for d in a.runs.iterdir() if (d / "history.json").is_file()):
        for stage, (n, s) in epoch_times(run).items():
            print(f"| {run.name} | {stage} | {n} | {s:.1f} |")
    if a.val and a.val.is_file():
        print("\n| run (val split) | AUROC AF | macro AUROC | F1 |\n|---|---:|---:|---:|")
        for line in a.val.read_text().splitlines():
            r = json.loads(line)
            print(f"| {Path(r['run']).name} | {r['auroc_af']:.4f} | {r['auroc_macro_ovr']:.4f} | {r['f1_challenge']:.4f} |")


if __name__ == "__main__":
    main()
