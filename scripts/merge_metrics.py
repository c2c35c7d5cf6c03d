"""Merge separately evaluated methods / robustness curves into one metrics.json and redraw its report.

``dacl evaluate`` runs were split to fit the time box (a late-finishing run, robustness
curves computed in parallel). All come from the same dataset, split, probe and seed.

    .venv/bin/python scripts/merge_metrics.py RESULTS_DIR [--methods-from DIR ...] [--robustness-from DIR ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from dacl.report import markdown as report
from dacl.io.atomic import write_json


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("results", type=Path)
    p.add_argument("--methods-from", type=Path, nargs="*", default=[])
    p.add_argument("--robustness-from", type=Path, nargs="*", default=[])
    a = p.parse_args()
    doc = json.loads((a.results / "metrics.json").read_text())
    for d in a.methods_from:
        other = json.loads((d / "metrics.json").read_text())
        if other.get("split") != doc.get("split") or other.get("n_records") != doc.get("n_records"):
            raise ValueError(f"{d}: different split; refusing to merge")
        for m in other["methods"]:
            f = m.pop("test_records_file", None)
            if f and (d / f).is_file():  # keep its record embeddings for the embedding map
                name = f"embeddings_{len(doc['methods'])}.npz"
                shutil.copyfile(d / f, a.results / name)
                m["test_records_file"] = name
            doc["methods"].append(m)
    curves = list(doc.get("robustness") or [])
    for d in a.robustness_from:
        other = json.loads((d / "metrics.json").read_text())
        if other.get("split") != doc.get("split"):
            raise ValueError(f"{d}: different split; refusing to merge")
        curves += other.get("robustness") or []
    if curves:
        doc["robustness"] = curves
    write_json(a.results / "metrics.json", doc)
    print(f"wrote {report.write_report(a.results)}")


if __name__ == "__main__":
    main()
