"""Score methods on val (selection) or test, clean and under every corruption; keep per-record probabilities.

The same protocol as ``dacl evaluate --robustness`` (its functions: ``evaluate``, ``robustness_curves``),
with three additions for the study in results/proto:

* ``--split val`` scores the val records (test records removed before anything is embedded), so
  choices never look at test;
* each method's record probabilities, clean and per corruption, go to ``OUT/<name>.npz`` so that
  ``compare.py`` can pair any two methods later (methods scored in different calls included);
* the corrupted recordings' features are cached in ``--cache`` keyed by the content of the corrupted
  signals, so scoring one more run does not featurise the corruptions again.

    .venv/bin/python scripts/proto/score.py --features DIR --split val --out OUT [--baseline-scattering]
        [--noise-aug snr:0:24] [--noise-aug diffusion:259] [--run NAME=RUN_DIR ...] [--corruptions all]
        [--levels KIND=L1,L2,...] [--n-boot 200] [--cache DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from dacl import robustness
from dacl.dataset import FeatureSet, load_features
from dacl.embedder import load_embedder
from dacl.evaluate import ScatteringPoolEmbedder, evaluate, parse_noise_levels


def val_as_test(features: FeatureSet) -> FeatureSet:
    """The dataset with val records playing "test" and the real test records removed (as scripts/val_probe.py)."""
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
    )


def caching_featurizer(featurize, cache: Path | None):
    """``featurize`` with its results kept on disk under a digest of the input signals."""
    if cache is None:
        return featurize
    cache.mkdir(parents=True, exist_ok=True)

    def cached(signals):
        h = hashlib.sha256()
        for x in signals:
            h.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
            h.update(b"|")
        path = cache / f"{h.hexdigest()[:32]}.npz"
        if path.is_file():
            with np.load(path) as z:
                return z["features"], z["record_index"]
        feats, index = featurize(signals)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, features=feats, record_index=index)
        tmp.rename(path)
        return feats, index

    return cached


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", required=True)
    p.add_argument("--split", choices=("val", "test"), default="val")
    p.add_argument("--out", required=True)
    p.add_argument("--baseline-scattering", action="store_true")
    p.add_argument("--noise-aug", action="append", default=[], metavar="LEVELS",
                   help="noise-augmented scattering baseline (as dacl evaluate --baseline-scattering-noise)")
    p.add_argument("--run", action="append", default=[], metavar="NAME=RUN_DIR")
    p.add_argument("--run-aug", action="append", default=[], metavar="NAME=RUN_DIR",
                   help="a run whose probe is also trained on noisy train copies (--run-aug-levels)")
    p.add_argument("--run-aug-levels", default="snr:0:24", metavar="LEVELS")
    p.add_argument("--corruptions", default="all")
    p.add_argument("--levels", action="append", default=[], metavar="KIND=L1,L2",
                   help="override the levels of one corruption kind (calibration)")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="folder for the corrupted features")
    p.add_argument("--no-robustness", action="store_true")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    full = load_features(args.features)
    features = val_as_test(full) if args.split == "val" else full

    methods = []  # (name, embedder, extra_train spec)
    for spec in args.noise_aug:
        methods.append((f"noise-aug {spec}", ScatteringPoolEmbedder(), spec))
    if args.baseline_scattering:
        methods.append(("scattering", ScatteringPoolEmbedder(), None))
    for item in args.run:
        name, run_dir = item.split("=", 1)
        methods.append((name, load_embedder(run_dir), None))
    for item in args.run_aug:
        name, run_dir = item.split("=", 1)
        methods.append((name, load_embedder(run_dir), args.run_aug_levels))

    results, embedders = [], []
    augmented: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # noisy train copies, made once per spec
    for name, emb, spec in methods:
        t0 = time.perf_counter()
        extra = None
        if spec is not None:
            from dacl.signal_views import noise_augmentation

            if spec not in augmented:  # "LEVELS@window": noise on the band-passed windows instead of the record
                levels, _, placement = spec.partition("@")
                augmented[spec] = noise_augmentation(features, parse_noise_levels(levels), seed=args.seed,
                                                     placement=placement or "record")
            extra = augmented[spec]
        r = evaluate(features, emb, seed=args.seed, n_boot=args.n_boot, method=name, extra_train=extra)
        results.append(r)
        embedders.append(emb)
        m = {k: round(v.value, 4) for k, v in r.metrics.items()}
        print(json.dumps({"method": name, "split": args.split, **m, "s": round(time.perf_counter() - t0, 1)}),
              flush=True)

    curves = []
    if not args.no_robustness:
        corruptions = robustness.corruptions_for(args.corruptions.split(","))
        overrides = {}
        for item in args.levels:
            kind, levels = item.split("=", 1)
            overrides[kind] = [float(v) for v in levels.split(",")]
        if overrides:
            kinds = [c.kind for c in corruptions]
            corruptions = [c for c in corruptions if c.kind not in overrides]
            corruptions += [robustness.Corruption(k, lv) for k in dict.fromkeys(kinds) if k in overrides
                            for lv in overrides[k]]
        read = robustness.corpus_reader(robustness.manifest_corpus(features.manifest), features.manifest.get("inputs"))
        signals, fs = read([str(r) for r in results[0].test_record_ids])
        featurize = caching_featurizer(robustness.dataset_featurizer(features.manifest, fs, num_threads=1),
                                       Path(args.cache) / args.split if args.cache else None)
        t0 = time.perf_counter()
        curves = robustness.robustness_curves([(r.model, e, r.method) for r, e in zip(results, embedders)], signals,
                                              results[0].test_labels, featurize, fs=fs, corruptions=corruptions,
                                              seed=args.seed, n_boot=args.n_boot, log=print)
        print(f"robustness: {len(corruptions)} corruptions, {time.perf_counter() - t0:.0f} s", flush=True)

    for i, r in enumerate(results):
        arrays = {"clean/records": np.arange(len(r.test_labels)), "clean/y": r.test_labels, "clean/probs": r.test_probs,
                  "record_ids": np.asarray(r.test_record_ids).astype(str)}
        summary = {"method": r.method, "split": args.split, "metrics": {k: v.to_dict() for k, v in r.metrics.items()},
                   "probe_train_windows": r.extra.get("probe_train_windows"), "points": []}
        if curves:
            for pt in curves[i].points:
                lab = pt.corruption.label
                arrays[f"{lab}/records"], arrays[f"{lab}/y"], arrays[f"{lab}/probs"] = pt.records, pt.y_true, pt.probs
                summary["points"].append({"kind": pt.corruption.kind, "level": pt.corruption.level, "label": lab,
                                          "metrics": {k: v.to_dict() for k, v in pt.metrics.items()}})
        safe = r.method.replace("/", "_").replace(" ", "_")
        np.savez(out / f"{safe}.npz", **arrays)
        (out / f"{safe}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
