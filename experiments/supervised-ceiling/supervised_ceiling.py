"""Val-split ceiling check: a supervised MLP on the pooled scattering features vs the linear probe.

Both are fitted on train-split windows (labels used directly, no representation learning)
and scored on val records (window probabilities averaged per record, test records dropped
first, as ``dacl evaluate --on val`` does). If the MLP is no better than logistic regression, the
pooled features, not the probe's linearity, bound what any encoder on them can reach.

    .venv/bin/python experiments/supervised-ceiling/supervised_ceiling.py DATASET_DIR [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import load_features
from dacl.probe import metrics
from dacl.probe.linear import make_probe, score_model
from dacl.probe.selection import validation_view


def val_aurocs(model: Pipeline, x: np.ndarray, rec: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(AF-vs-rest, macro) AUROC of the record-mean probabilities, as ``dacl evaluate`` scores them."""
    _, y, probs = score_model(model, x, rec, labels)
    return metrics.auroc_af_vs_rest(y, probs), metrics.macro_ovr_auroc(y, probs).value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    fs = validation_view(load_features(args.features))
    x = ScatteringPoolEmbedder().embed(fs.features).astype(np.float64)
    ri, split, labels = np.asarray(fs.record_index), np.asarray(fs.record_split), np.asarray(fs.record_labels)
    train, val = split[ri] == "train", split[ri] == "test"  # the view names the val records "test"
    y = labels[ri[train]]
    lin = make_probe("logreg", 0).fit(x[train], y)
    print("logistic regression  val AUROC AF {:.4f}  macro {:.4f}".format(*val_aurocs(lin, x[val], ri[val], labels)))
    for seed in args.seeds:
        mlp = make_pipeline(
            StandardScaler(),
            MLPClassifier(
                hidden_layer_sizes=(256, 128), alpha=1e-3, early_stopping=True, max_iter=200, random_state=seed
            ),
        ).fit(x[train], y)
        af, macro = val_aurocs(mlp, x[val], ri[val], labels)
        print(f"MLP 256-128 seed {seed}   val AUROC AF {af:.4f}  macro {macro:.4f}")


if __name__ == "__main__":
    main()
