"""How much a window-level split inflates the AF AUROC of the same features and probe.

``dacl`` splits by record (every window of a record on one side; byte-identical records
together). A split that draws *windows* at random puts overlapping windows of one
record (hop 5 s, window 10 s) on both sides, so the probe sees the test record in
training. This script scores scattering + LR (the training-free baseline, same probe as
``dacl evaluate``) both ways on the same dataset, with the same train fraction:

1. record-level: the dataset's own split (train records fit, test records score);
2. window-level: the same windows pooled, then a seeded random split of them with the
   same number of training windows.

Each is reported per window and per record (mean of window probabilities; for the
window-level split, the test windows of each record). Bootstrap CIs are over records.

    .venv/bin/python experiments/probe-checks/leakage_check.py DATASET_DIR [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import load_features
from dacl.probe import metrics
from dacl.probe.linear import make_probe, predict_proba4, score_model


def fit_and_score(
    x: np.ndarray, y_win: np.ndarray, ri: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int
) -> str:
    """Fit the probe on ``train`` windows; AF AUROC of ``test`` per window and per record (with a CI)."""
    probe = make_probe("logreg", seed).fit(x[train], y_win[train])
    per_window = metrics.auroc_af_vs_rest(y_win[test], predict_proba4(probe, x[test]))
    _, y_rec, rec_probs = score_model(probe, x[test], ri[test], labels)
    est = metrics.score_records(y_rec, rec_probs, n_boot=1000, seed=seed)["auroc_af"]
    return f"  AF AUROC per window {per_window:.4f}   per record {est.value:.4f} [{est.low:.4f}, {est.high:.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fs = load_features(args.features)
    x = ScatteringPoolEmbedder().embed(fs.features).astype(np.float64)
    ri, split, labels = np.asarray(fs.record_index), np.asarray(fs.record_split), np.asarray(fs.record_labels)
    y_win = labels[ri]
    labelled = y_win >= 0

    # 1. record-level (dacl's protocol): fit on train records' windows, score test records.
    train = np.flatnonzero(labelled & (split[ri] == "train"))
    test = np.flatnonzero(labelled & (split[ri] == "test"))
    print(f"record-level split: {len(train)} train / {len(test)} test windows")
    print(fit_and_score(x, y_win, ri, labels, train, test, args.seed))

    # 2. window-level: the same windows, a random split of windows with the same train fraction.
    shuffled = np.random.default_rng(args.seed).permutation(np.concatenate([train, test]))
    w_train, w_test = np.sort(shuffled[: len(train)]), np.sort(shuffled[len(train) :])
    shared = np.intersect1d(ri[w_train], ri[w_test]).size
    print(
        f"window-level split (seed {args.seed}): {len(w_train)} train / {len(w_test)} test windows; "
        f"{shared} of the {np.unique(ri[w_test]).size} test records also have windows in train"
    )
    print(fit_and_score(x, y_win, ri, labels, w_train, w_test, args.seed))


if __name__ == "__main__":
    main()
