"""5-NN accuracy (record-mean embeddings, train records -> test records) for trained runs.

The same number `dacl evaluate` now reports beside the probe metrics, without
refitting the logistic-regression probe (minutes per method on a 2-core CPU).

    python experiments/dev-comparison/knn_accuracy.py --features DATASET_DIR RUN_DIR [RUN_DIR ...] \
        [--baseline-scattering]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.embedding.embedder import Embedder, load_embedder
from dacl.features import load_features
from dacl.probe import metrics
from dacl.probe.linear import check_splits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("--features", required=True, type=Path)
    ap.add_argument("--baseline-scattering", action="store_true")
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    fs = load_features(args.features)
    check_splits(fs)
    labelled = fs.labels >= 0
    train, test = fs.window_mask("train") & labelled, fs.window_mask("test") & labelled
    embedders: list[Embedder] = [ScatteringPoolEmbedder()] if args.baseline_scattering else []
    embedders += [load_embedder(r) for r in args.runs]
    names = ["scattering-pool"] if args.baseline_scattering else []
    names += [str(r) for r in args.runs]
    print("| run | 5-NN accuracy (test records) |\n|---|---:|")
    for name, emb in zip(names, embedders, strict=True):
        tr_rec, tr_emb = metrics.aggregate_by_record(emb.embed(fs.features[train]), fs.record_index[train])
        te_rec, te_emb = metrics.aggregate_by_record(emb.embed(fs.features[test]), fs.record_index[test])
        acc = metrics.knn_accuracy(tr_emb, fs.record_labels[tr_rec], te_emb, fs.record_labels[te_rec], k=args.k)
        print(f"| {name} | {acc:.4f} |", flush=True)


if __name__ == "__main__":
    main()
