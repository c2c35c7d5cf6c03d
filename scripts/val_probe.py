"""Model selection on the validation split: the ``dacl evaluate`` probe scored on val records.

Fits the same probe as ``dacl evaluate`` (train-split windows) but scores the *val*
records instead of the test records, so hyperparameters can be picked without
looking at the test split. The test split is dropped from the dataset view
before anything is embedded.

    .venv/bin/python scripts/val_probe.py RUN_DIR [RUN_DIR ...] --features DIR [--baseline-scattering] [--json OUT]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np

from dacl.features import load_features
from dacl.embedding.embedder import load_embedder
from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.probe.linear import evaluate


def val_view(features):
    """The dataset with val records playing the role of "test" and the real test records removed."""
    split = np.asarray(features.record_split).astype(object)
    keep_rec = split != "test"
    keep_win = keep_rec[np.asarray(features.record_index)]
    new_index = np.cumsum(keep_rec) - 1
    split = np.where(split == "val", "test", split)
    return dataclasses.replace(
        features,
        features=features.features[keep_win],
        record_index=new_index[np.asarray(features.record_index)[keep_win]],
        starts=np.asarray(features.starts)[keep_win],
        record_ids=np.asarray(features.record_ids)[keep_rec],
        record_labels=np.asarray(features.record_labels)[keep_rec],
        record_split=split[keep_rec].astype(str),
        record_targets=np.asarray(features.record_targets)[keep_rec],
        window_labels=None if features.window_labels is None else features.window_labels[keep_win],
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*")
    p.add_argument("--features", required=True)
    p.add_argument("--baseline-scattering", action="store_true")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--json", default=None, help="append one JSON line per run to this file")
    args = p.parse_args(argv)
    fs = val_view(load_features(args.features))
    todo = [("scattering-pool", ScatteringPoolEmbedder())] if args.baseline_scattering else []
    todo += [(r, load_embedder(r)) for r in args.runs]
    for name, emb in todo:
        t0 = time.perf_counter()
        r = evaluate(fs, emb, n_boot=args.n_boot, method=str(name))
        m = {k: round(v.value, 4) for k, v in r.metrics.items()}
        row = {"run": str(name), "split": "val", **m, "probe_s": round(time.perf_counter() - t0, 1),
               "n_val_records": int(len(r.test_labels)), "notes": r.notes}
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
