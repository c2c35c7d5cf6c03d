"""Val-split ceiling check: a supervised MLP on the pooled scattering features vs the linear probe.

Both are fitted on train-split windows (labels used directly, no representation learning)
and scored on val records (window probabilities averaged per record, test records dropped
first as in ``scripts/val_probe.py``). If the MLP is no better than logistic regression, the
pooled features, not the probe's linearity, bound what any encoder on them can reach.

    .venv/bin/python scripts/supervised_ceiling.py DATASET_DIR [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from val_probe import val_view

from dacl.dataset import load_features
from dacl.evaluate import ScatteringPoolEmbedder, make_probe


def record_scores(model, x, rec, labels):
    probs = model.predict_proba(x)
    records = np.unique(rec)
    p = np.stack([probs[rec == r].mean(axis=0) for r in records])
    y = labels[records]
    af = roc_auc_score(y == 1, p[:, 1])
    macro = np.mean([roc_auc_score(y == c, p[:, c]) for c in range(4)])
    return af, macro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    fs = val_view(load_features(args.features))
    x = ScatteringPoolEmbedder().embed(fs.features).astype(np.float64)
    ri, split, labels = np.asarray(fs.record_index), np.asarray(fs.record_split), np.asarray(fs.record_labels)
    train, val = split[ri] == "train", split[ri] == "test"  # val_view renames val to "test"
    y = labels[ri[train]]
    lin = make_probe("logreg", 0).fit(x[train], y)
    print("logistic regression  val AUROC AF {:.4f}  macro {:.4f}".format(*record_scores(lin, x[val], ri[val], labels)))
    for seed in args.seeds:
        mlp = make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(256, 128), alpha=1e-3, early_stopping=True, max_iter=200, random_state=seed),
        ).fit(x[train], y)
        print(f"MLP 256-128 seed {seed}   val AUROC AF {{:.4f}}  macro {{:.4f}}".format(*record_scores(mlp, x[val], ri[val], labels)))


if __name__ == "__main__":
    main()
