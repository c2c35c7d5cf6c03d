"""Val-split check: does per-frame information beyond the time mean and std help a linear probe?

If a logistic-regression probe on richer summaries of the ``(paths, frames)`` scattering
windows (frame-to-frame differences, max/min, or every frame flattened) scores no better on
val than on mean+std, a per-frame sequence encoder has little the pooled one lacks. Also
tries pooling window *features* per record (mean and std over windows, one row per record)
instead of averaging window probabilities. Test records are dropped first
(:func:`dacl.probe.selection.validation_view`, as ``dacl evaluate --on val``); train windows
fit the probe, val records score it.

    .venv/bin/python experiments/probe-checks/frame_probe.py DATASET_DIR      # ~9 min on 2 cores
"""

from __future__ import annotations

import argparse

import numpy as np

from dacl.features import load_features
from dacl.probe import metrics
from dacl.probe.linear import make_probe, score_model
from dacl.probe.selection import validation_view


def record_pool(x: np.ndarray, record_index: np.ndarray, n_records: int) -> np.ndarray:
    """Per-record mean and std of window rows: ``(W, D) -> (R, 2D)``."""
    count = np.maximum(np.bincount(record_index, minlength=n_records), 1)[:, None]
    mean = np.zeros((n_records, x.shape[1]))
    np.add.at(mean, record_index, x)
    mean /= count
    var = np.zeros_like(mean)
    np.add.at(var, record_index, (x - mean[record_index]) ** 2)
    return np.concatenate([mean, np.sqrt(var / count)], axis=1)


def report(name: str, y: np.ndarray, probs: np.ndarray) -> None:
    af, macro = metrics.auroc_af_vs_rest(y, probs), metrics.macro_ovr_auroc(y, probs).value
    print(f"{name:48s} val AUROC AF {af:.4f}  macro {macro:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    args = parser.parse_args()
    fs = validation_view(load_features(args.features))
    f = np.asarray(fs.features, np.float32)
    f = f.reshape(len(f), -1, f.shape[-1])  # (W, L·P, F): every lead's paths, lead after lead
    ri, split, labels = np.asarray(fs.record_index), np.asarray(fs.record_split), np.asarray(fs.record_labels)
    labelled = labels >= 0
    # the view names the val records "test"
    rec_train, rec_val = (split == "train") & labelled, (split == "test") & labelled
    train, val = rec_train[ri], rec_val[ri]
    mean, std = f.mean(axis=2), f.std(axis=2)
    variants = {
        "mean+std (the baseline)": np.concatenate([mean, std], axis=1),
        "mean+std+mean|frame diff|": np.concatenate([mean, std, np.abs(np.diff(f, axis=2)).mean(axis=2)], axis=1),
        "mean+std+max+min": np.concatenate([mean, std, f.max(axis=2), f.min(axis=2)], axis=1),
        "all frames flattened": f.reshape(len(f), -1),
    }
    for name, x in variants.items():
        probe = make_probe("logreg", 0).fit(x[train], labels[ri[train]])
        _, y, probs = score_model(probe, x[val], ri[val], labels)
        report(f"{name}, window probs averaged", y, probs)
    for name in ("mean+std (the baseline)", "mean+std+mean|frame diff|"):
        xr = record_pool(variants[name], ri, len(labels))
        probe = make_probe("logreg", 0).fit(xr[rec_train], labels[rec_train])
        report(f"{name}, window features pooled per record", labels[rec_val], probe.predict_proba(xr[rec_val]))


if __name__ == "__main__":
    main()
