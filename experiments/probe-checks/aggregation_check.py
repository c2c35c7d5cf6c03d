"""Val-split check of how window probabilities are pooled per record (mean, max, geometric mean, q75).

The same probe as ``dacl evaluate`` (fitted on train windows), scored on val records
(test records dropped first: :func:`dacl.probe.selection.validation_view`, as ``dacl evaluate --on val``).
``dacl evaluate`` uses the mean.

    .venv/bin/python experiments/probe-checks/aggregation_check.py DATASET_DIR [RUN_DIR]   # no RUN_DIR: scattering
"""

from __future__ import annotations

import argparse

import numpy as np

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import load_features
from dacl.probe import metrics
from dacl.probe.linear import make_probe, predict_proba4
from dacl.probe.selection import validation_view

POOLS = {
    "mean": lambda p: p.mean(axis=0),
    "max": lambda p: p.max(axis=0),
    "geometric mean": lambda p: np.exp(np.log(p + 1e-9).mean(axis=0)),
    "q75": lambda p: np.quantile(p, 0.75, axis=0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    parser.add_argument("run", nargs="?")
    args = parser.parse_args()
    fs = validation_view(load_features(args.features))
    if args.run:
        from dacl.embedding.embedder import load_embedder

        embedder = load_embedder(args.run)
    else:
        embedder = ScatteringPoolEmbedder()
    x = embedder.embed(fs.features)
    ri, split, labels = np.asarray(fs.record_index), np.asarray(fs.record_split), np.asarray(fs.record_labels)
    train, val = split[ri] == "train", split[ri] == "test"  # the view names the val records "test"
    model = make_probe("logreg", 0).fit(x[train], labels[ri[train]])
    probs, rec = predict_proba4(model, x[val]), ri[val]
    records = np.unique(rec)
    y = labels[records]
    for name, pool in POOLS.items():
        p = np.stack([pool(probs[rec == r]) for r in records])
        af, macro = metrics.auroc_af_vs_rest(y, p), metrics.macro_ovr_auroc(y, p).value
        print(f"{name:15s} val AUROC AF {af:.4f}  macro {macro:.4f}")


if __name__ == "__main__":
    main()
