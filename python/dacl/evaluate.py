"""Linear-probe evaluation of frozen embeddings; the ``dacl evaluate`` command.

Protocol (training contract; the DACL paper does not state its own):

1. Embed every window with the frozen :class:`Embedder`.
2. Fit a probe, ``StandardScaler`` + ``LogisticRegression(class_weight="balanced")``
   (or an RBF-SVM, the Scattering Transformer paper's classifier), on the
   *train*-split windows of labelled records.
3. Predict the *test*-split windows, average each record's window
   probabilities, and score the records (:mod:`dacl.metrics`) with bootstrap
   95 % CIs that resample records.

Records are the unit of leakage: :func:`check_splits` refuses a dataset whose
record appears in two splits (by name, or by identical feature content — the
PhysioNet 2017 set holds byte-identical duplicate recordings).

The no-training baseline, "scattering + logistic regression", is
:class:`ScatteringPoolEmbedder`: time-mean and time-std of the (log) scattering
paths of each window.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from dacl import metrics
from dacl.atomic import atomic_output, write_json
from dacl.dataset import CLASSES, FeatureSet
from dacl.robustness import DEFAULT_FAMILIES

PROBES = ("logreg", "svm")


class Embedder(Protocol):
    """What :func:`evaluate` needs of a model (see ``dacl.embedder``)."""

    name: str

    def embed(self, features: np.ndarray) -> np.ndarray: ...


class ScatteringPoolEmbedder:
    """Training-free baseline: per-path time mean and time std of the scattering.

    ``(W, P, F) -> (W, 2P)``. With ``log=True`` the features are first mapped by
    ``log1p`` (use it when the dataset's features are not already log-scaled).
    """

    def __init__(self, log: bool = False) -> None:
        self.log = log
        self.name = "scattering-pool" + ("-log" if log else "")

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 3:
            raise ValueError(f"features must be (windows, paths, frames), got shape {x.shape}")
        if self.log:
            if (x < 0).any():
                raise ValueError("log=True needs non-negative (raw) scattering features")
            x = np.log1p(x)
        return np.concatenate([x.mean(axis=2), x.std(axis=2)], axis=1).astype(np.float32)


@dataclass
class EvalResult:
    """Everything :func:`evaluate` measured for one method.

    ``model`` is the fitted probe (kept for :mod:`dacl.robustness`); it and the
    record-level arrays are not part of :meth:`to_dict`.
    """

    method: str
    probe: str
    metrics: dict[str, metrics.Estimate]
    auroc_per_class: dict[str, float]
    macro_skipped: tuple[str, ...]
    f1_per_class: dict[str, float]
    confusion_matrix: list[list[int]]
    roc_af: dict[str, list[float]]
    n_records: dict[str, int]
    n_windows: dict[str, int]
    seed: int
    n_boot: int
    test_record_ids: np.ndarray
    test_labels: np.ndarray
    test_probs: np.ndarray
    test_embeddings: np.ndarray  # record-mean embeddings, for the 2-D map
    model: Any = field(repr=False, default=None)
    #: 5-NN accuracy on record-mean embeddings, train records -> test records (the
    #: DiffAug papers' weight-free probe); NaN when there are fewer than 5 train records.
    knn_accuracy: float = float("nan")
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "probe": self.probe,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "auroc_per_class": self.auroc_per_class,
            "macro_auroc_skipped_classes": list(self.macro_skipped),
            "f1_per_class": {k: (None if np.isnan(v) else v) for k, v in self.f1_per_class.items()},
            "confusion_matrix": {"classes": list(CLASSES), "rows_true_cols_pred": self.confusion_matrix},
            "roc_af": self.roc_af,
            "n_records": self.n_records,
            "n_windows": self.n_windows,
            "seed": self.seed,
            "n_boot": self.n_boot,
            "knn_accuracy": None if np.isnan(self.knn_accuracy) else self.knn_accuracy,
            "notes": self.notes,
            **self.extra,
        }


# ------------------------------------------------------------------- leakage


def check_splits(features: FeatureSet) -> None:
    """Raise ``ValueError`` unless every record sits in exactly one split.

    Checks record names (a name listed twice with different splits) and record
    content (identical feature windows in different splits, e.g. PhysioNet
    2017's byte-identical duplicate recordings). Constant records are ignored
    by the content check: two flat-line recordings are not a leak.
    """
    fs = features
    n_rec = len(fs.record_ids)
    if len(fs.record_split) != n_rec or len(fs.record_labels) != n_rec:
        raise ValueError(
            f"record arrays disagree: {n_rec} record_ids, {len(fs.record_split)} record_split, "
            f"{len(fs.record_labels)} record_labels"
        )
    ri = np.asarray(fs.record_index)
    if ri.shape != (fs.features.shape[0],):
        raise ValueError(f"record_index has shape {ri.shape}, expected ({fs.features.shape[0]},)")
    if ri.size and (ri.min() < 0 or ri.max() >= n_rec):
        raise ValueError(f"record_index out of range [0, {n_rec})")

    split_of: dict[str, str] = {}
    clashes = []
    for rid, split in zip(fs.record_ids.tolist(), fs.record_split.tolist()):
        if rid in split_of and split_of[rid] != split:
            clashes.append(f"{rid} ({split_of[rid]} and {split})")
        split_of.setdefault(rid, split)
    if clashes:
        raise ValueError(f"leakage: record(s) in two splits: {', '.join(clashes[:10])}")

    order = np.argsort(ri, kind="stable")
    bounds = np.searchsorted(ri[order], np.arange(n_rec + 1))
    seen: dict[str, tuple[str, str]] = {}
    dupes = []
    for r in range(n_rec):
        split = str(fs.record_split[r])
        if split not in ("train", "val", "test"):
            continue
        block = np.ascontiguousarray(fs.features[order[bounds[r] : bounds[r + 1]]])
        if block.size == 0 or np.ptp(block) == 0:
            continue
        digest = hashlib.sha256(block.tobytes()).hexdigest()
        rid = str(fs.record_ids[r])
        if digest in seen and seen[digest][1] != split:
            other, other_split = seen[digest]
            dupes.append(f"{other} ({other_split}) = {rid} ({split})")
        seen.setdefault(digest, (rid, split))
    if dupes:
        raise ValueError(
            f"leakage: identical records in different splits: {', '.join(dupes[:10])}; "
            "keep duplicates on the same side of the split"
        )


# --------------------------------------------------------------------- probe


def make_probe(kind: str, seed: int, groups: np.ndarray | None = None, y: np.ndarray | None = None) -> Pipeline:
    """An unfitted probe: standardisation + logistic regression or RBF-SVM."""
    if kind == "logreg":
        clf: Any = LogisticRegression(class_weight="balanced", max_iter=10_000, random_state=seed)
    elif kind == "svm":
        # Platt-calibrated SVM; calibration folds never split a record's windows.
        if groups is None or y is None:
            raise ValueError("the svm probe needs the training groups and labels for calibration folds")
        pairs = np.unique(np.stack([groups, y], axis=1), axis=0)  # (record, class)
        records_per_class = np.bincount(pairs[:, 1])
        n_folds = max(2, min(5, int(records_per_class[records_per_class > 0].min())))
        cv = list(StratifiedGroupKFold(n_splits=n_folds).split(np.zeros(len(y)), y, groups))
        clf = CalibratedClassifierCV(SVC(kernel="rbf", class_weight="balanced", random_state=seed), cv=cv, ensemble=False)
    else:
        raise ValueError(f"unknown probe {kind!r}; choose one of {PROBES}")
    return make_pipeline(StandardScaler(), clf)


def predict_proba4(model: Pipeline, x: np.ndarray) -> np.ndarray:
    """``(W, 4)`` class probabilities; classes unseen in training get probability 0."""
    p = model.predict_proba(np.asarray(x, dtype=np.float64))
    out = np.zeros((x.shape[0], len(CLASSES)))
    out[:, np.asarray(model.classes_, dtype=int)] = p
    return out


def embed_checked(embedder: Embedder, features: np.ndarray) -> np.ndarray:
    """Embed and check the result is a finite ``(W, d)`` array."""
    z = np.asarray(embedder.embed(features))
    if z.ndim != 2 or z.shape[0] != features.shape[0]:
        raise ValueError(
            f"embedder {embedder.name!r} returned shape {z.shape} for {features.shape[0]} windows; expected (W, d)"
        )
    if not np.all(np.isfinite(z)):
        raise ValueError(f"embedder {embedder.name!r} returned NaN or inf embeddings")
    return z


def score_model(
    model: Pipeline,
    embeddings: np.ndarray,
    record_index: np.ndarray,
    record_labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window probabilities -> per-record ``(records, labels, probs)``."""
    records, probs = metrics.aggregate_by_record(predict_proba4(model, embeddings), record_index)
    return records, np.asarray(record_labels)[records], probs


def evaluate(
    features: FeatureSet,
    embedder: Embedder,
    *,
    probe: str = "logreg",
    seed: int = 0,
    n_boot: int = 1000,
    method: str | None = None,
    extra_train: tuple[np.ndarray, np.ndarray] | None = None,
) -> EvalResult:
    """Fit the probe on train-split windows, score test-split records (see module doc).

    ``extra_train = (features (n, P, F), record_rows (n,))``: more windows for the probe's
    training set, e.g. noisy copies of train records (:func:`dacl.signal_views.noise_augmentation`).
    Every one must belong to a labelled train-split record; it takes that record's label.
    """
    check_splits(features)
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}; choose one of {PROBES}")
    fs = features
    labelled = fs.labels >= 0
    train = fs.window_mask("train") & labelled
    test = fs.window_mask("test") & labelled
    if not train.any():
        raise ValueError("no labelled windows in the train split")
    if not test.any():
        raise ValueError("no labelled windows in the test split")
    y_train = fs.labels[train]
    if np.unique(y_train).size < 2:
        raise ValueError(f"the train split holds one class only ({CLASSES[y_train[0]]})")

    notes: list[str] = []
    z_train = embed_checked(embedder, fs.features[train])
    z_test = embed_checked(embedder, fs.features[test])
    z_fit, y_fit, groups = z_train, y_train, fs.record_index[train]
    if extra_train is not None:
        z_extra, rows_extra = _extra_train_windows(fs, embedder, *extra_train)
        z_fit = np.concatenate([z_train, z_extra])
        y_fit = np.concatenate([y_train, fs.record_labels[rows_extra]])
        groups = np.concatenate([groups, rows_extra])  # a record's copies stay in its calibration fold
    model = make_probe(probe, seed, groups=groups, y=y_fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(z_fit.astype(np.float64), y_fit)
    notes += [f"probe: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning)]
    missing = [CLASSES[k] for k in range(len(CLASSES)) if k not in set(model.classes_.tolist())]
    if missing:
        notes.append(f"classes absent from the train split (probability 0): {missing}")

    records, y_test, probs = score_model(model, z_test, fs.record_index[test], fs.record_labels)
    estimates = metrics.score_records(y_test, probs, n_boot=n_boot, seed=seed)
    macro = metrics.macro_ovr_auroc(y_test, probs)
    if macro.skipped:
        notes.append(f"macro AUROC skips classes absent from the test split: {list(macro.skipped)}")
    cm = metrics.confusion_matrix(y_test, probs.argmax(axis=1))

    _, rec_emb = metrics.aggregate_by_record(z_test, fs.record_index[test])
    train_records, train_rec_emb = metrics.aggregate_by_record(z_train, fs.record_index[train])
    knn = float("nan")
    if len(train_records) >= 5:
        knn = metrics.knn_accuracy(train_rec_emb, fs.record_labels[train_records], rec_emb, y_test, k=5)
    n_records, n_windows = split_sizes(fs)
    name = method or (embedder.name if probe == "logreg" else f"{embedder.name} ({probe})")
    extra = {"probe_train_windows": {"clean": int(len(z_train)), "added": int(len(z_fit) - len(z_train))}}
    return EvalResult(
        method=name,
        probe=probe,
        metrics=estimates,
        auroc_per_class=macro.per_class,
        macro_skipped=macro.skipped,
        f1_per_class=metrics.f1_per_class(cm),
        confusion_matrix=cm.tolist(),
        roc_af=metrics.roc_points(y_test, probs),
        n_records=n_records,
        n_windows=n_windows,
        seed=seed,
        n_boot=n_boot,
        test_record_ids=np.asarray(fs.record_ids)[records],
        test_labels=y_test,
        test_probs=probs,
        test_embeddings=rec_emb.astype(np.float32),
        model=model,
        knn_accuracy=knn,
        notes=notes,
        extra=extra if extra_train is not None else {},
    )


def _extra_train_windows(
    fs: FeatureSet, embedder: Embedder, features: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings and record rows of extra probe-training windows, after checking they are train windows."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 1 or len(rows) != len(features):
        raise ValueError(f"extra train windows: {len(features)} windows but record rows of shape {rows.shape}")
    if rows.size and (rows.min() < 0 or rows.max() >= len(fs.record_ids)):
        raise ValueError(f"extra train windows: record rows must lie in [0, {len(fs.record_ids)})")
    outside = rows[(np.asarray(fs.record_split)[rows] != "train") | (fs.record_labels[rows] < 0)]
    if outside.size:
        raise ValueError(f"extra train windows must come from labelled train records; record "
                         f"{fs.record_ids[outside[0]]} is in split {fs.record_split[outside[0]]!r}")
    return embed_checked(embedder, np.asarray(features, dtype=np.float32)), rows


def split_sizes(fs: FeatureSet) -> tuple[dict[str, int], dict[str, int]]:
    """Labelled records (with at least one window) and windows per split."""
    has_window = np.zeros(len(fs.record_ids), dtype=bool)
    has_window[np.asarray(fs.record_index)] = True
    labelled = np.asarray(fs.record_labels) >= 0
    n_records, n_windows = {}, {}
    for split in ("train", "val", "test"):
        in_split = np.asarray(fs.record_split) == split
        n_records[split] = int((in_split & labelled & has_window).sum())
        n_windows[split] = int((fs.window_mask(split) & (fs.labels >= 0)).sum())
    return n_records, n_windows


# ------------------------------------------------------------------- outputs


def split_info(manifest: dict[str, Any]) -> dict[str, Any]:
    """The split's provenance (method, seed, fractions, counts) of a loaded dataset.

    :func:`dacl.dataset.load_features` puts it into ``manifest["split"]`` (from the
    dataset's ``split.json``, or from the manifest itself for a format-1 dataset).
    """
    info = manifest.get("split")
    if isinstance(info, dict):
        return info
    return {k: v for k, v in manifest.items() if k.startswith("split")}


def results_document(
    results: list[EvalResult], features: FeatureSet, features_path: str | None = None
) -> dict[str, Any]:
    """The ``metrics.json`` document for a list of results on one dataset."""
    from dacl import __version__

    n_records, n_windows = split_sizes(features)
    return {
        "dacl_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "features": features_path,
        "split": split_info(features.manifest),
        "n_records": n_records,
        "n_windows": n_windows,
        "protocol": {
            "unit": "record (mean of window probabilities)",
            "probe_fit_on": "train-split windows of labelled records",
            "scored_on": "test-split records",
            "ci": "percentile bootstrap over test records; resamples missing a class are redrawn",
            "auroc_af": "AF vs rest, score = P(A)",
            "auroc_macro_ovr": "unweighted mean of one-vs-rest AUROCs over classes present in the test split",
            "f1_challenge": "PhysioNet/CinC 2017: mean of F1(N), F1(A), F1(O) over argmax predictions",
        },
        "methods": [r.to_dict() for r in results],
    }


def write_results(
    out_dir: str | os.PathLike[str],
    results: list[EvalResult],
    features: FeatureSet,
    features_path: str | None = None,
    robustness: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``metrics.json`` and one ``embeddings_<i>.npz`` per method into ``out_dir``."""
    out = Path(out_dir)
    doc = results_document(results, features, features_path)
    for i, r in enumerate(results):
        name = f"embeddings_{i}.npz"
        with atomic_output(out / name) as f:
            np.savez(
                f,
                record_ids=r.test_record_ids.astype(str),
                labels=r.test_labels,
                probs=r.test_probs,
                embeddings=r.test_embeddings,
            )
        doc["methods"][i]["test_records_file"] = name
    if robustness is not None:
        doc["robustness"] = robustness
    write_json(out / "metrics.json", doc, strict=True)
    return out / "metrics.json"


def _find_key(obj: Any, key: str) -> Any:
    """First value of ``key`` anywhere in a nested dict (e.g. ``t_max`` in a config)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.toml as a dict (``{}`` when it has none)."""
    path = run_dir / "config.toml"
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid TOML ({err})") from None


# ------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run directories written by `dacl train`")
    parser.add_argument("--features", required=True, metavar="DATASET_DIR", help="features dataset (`dacl preprocess`)")
    parser.add_argument(
        "--baseline-scattering",
        action="store_true",
        help="also evaluate the training-free baseline: pooled scattering + logistic regression",
    )
    parser.add_argument(
        "--baseline-scattering-noise",
        action="append",
        nargs="?",
        const=NOISE_AUG_DEFAULT,
        metavar="LEVELS",
        help="also evaluate the noise-augmented baseline: pooled scattering + logistic regression whose probe is "
             "trained on clean train windows plus noisy copies of the train records (white noise on the raw "
             f"record, featurised like the dataset). LEVELS: snr:LOW:HIGH (SNR ~ U(LOW, HIGH) dB; default "
             f"{NOISE_AUG_DEFAULT}) or diffusion:T_MAX[:SCHEDULE:TIMESTEPS] (the signal views of dacl-robust). "
             "Repeatable. These baselines come first, so paired differences are taken to the first of them",
    )
    parser.add_argument("--noise-aug-copies", type=int, default=1, metavar="N",
                        help="noisy copies per train record for --baseline-scattering-noise (default 1)")
    parser.add_argument("--out", default="report", metavar="REPORT_DIR", help="output folder (default: report)")
    parser.add_argument("--probe", choices=PROBES, default="logreg", help="classifier on the embeddings")
    parser.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="device for the embedders (cpu, cuda, auto)")
    parser.add_argument(
        "--robustness",
        action="store_true",
        help="also score test records corrupted by white noise and baseline wander (re-reads the corpus)",
    )
    parser.add_argument(
        "--corruptions",
        default=",".join(DEFAULT_FAMILIES),
        metavar="FAMILY[,FAMILY...]",
        help="corruption families for --robustness: awgn, wander, powerline (50 and 60 Hz), emg, motion, steps, "
             f"coloured (pink and brown), or all (default: {','.join(DEFAULT_FAMILIES)})",
    )
    parser.add_argument(
        "--corpus",
        metavar="PATH",
        help="corpus zip/folder for --robustness and --baseline-scattering-noise "
             "(default: the source recorded in the dataset manifest)",
    )
    parser.add_argument("--no-report", action="store_true", help="write metrics.json only, no report.md/plots")


def run(args: argparse.Namespace) -> int:
    from dacl.dataset import load_features

    noise_specs = args.baseline_scattering_noise or []
    if not args.runs and not args.baseline_scattering and not noise_specs:
        raise ValueError("nothing to evaluate: give RUN_DIR(s) and/or --baseline-scattering[-noise]")
    if args.n_boot < 1:
        raise ValueError(f"--n-boot must be >= 1, got {args.n_boot}")
    if args.noise_aug_copies < 1:
        raise ValueError(f"--noise-aug-copies must be >= 1, got {args.noise_aug_copies}")
    corruption_families = [f.strip() for f in args.corruptions.split(",") if f.strip()]
    if args.robustness:
        from dacl import robustness

        robustness.corruptions_for(corruption_families)  # unknown families fail before any work
    noise_levels = [parse_noise_levels(spec) for spec in noise_specs]
    features = load_features(args.features)
    embedders: list[tuple[Embedder, dict[str, Any]]] = []
    for spec in noise_specs:
        noisy_baseline = ScatteringPoolEmbedder()
        noisy_baseline.name = f"scattering-pool + noise-aug ({spec})"
        embedders.append((noisy_baseline, {"run_dir": None, "noise_aug": {"levels": spec, "copies": args.noise_aug_copies}}))
    if args.baseline_scattering:
        embedders.append((ScatteringPoolEmbedder(), {"run_dir": None}))
    if args.runs:
        from dacl.embedder import load_embedder

        for run_dir in map(Path, args.runs):
            if not run_dir.is_dir():
                raise FileNotFoundError(f"run directory not found: {run_dir}")
            emb = load_embedder(run_dir, device=args.device)
            # Only methods whose views come from the diffusion forward process have a t_max;
            # the other configs carry the [diffusion] section unused.
            t_max = _find_key(run_config(run_dir), "t_max") if emb.name in ("dacl", "dacl+diffaug") else None
            embedders.append((emb, {"run_dir": str(run_dir), "t_max": t_max}))

    names = [e.name for e, _ in embedders]
    results = []
    for emb, extra in embedders:
        label = emb.name
        if names.count(emb.name) > 1 and extra["run_dir"]:
            label = f"{emb.name} [{Path(extra['run_dir']).name}]"
        if args.probe != "logreg":
            label += f" ({args.probe})"
        print(f"evaluating {label} ...", flush=True)
        augment = None
        if "noise_aug" in extra:
            from dacl.signal_views import noise_augmentation

            t0 = time.perf_counter()
            augment = noise_augmentation(features, noise_levels[names.index(emb.name)], seed=args.seed,
                                         copies=args.noise_aug_copies, corpus=args.corpus)
            extra["noise_aug"]["build_s"] = round(time.perf_counter() - t0, 1)
            print(f"  {len(augment[0])} noisy train windows made in {extra['noise_aug']['build_s']} s", flush=True)
        r = evaluate(features, emb, probe=args.probe, seed=args.seed, n_boot=args.n_boot, method=label,
                     extra_train=augment)
        del augment
        r.extra.update({k: v for k, v in extra.items() if v is not None})
        results.append(r)
        m = r.metrics
        print(
            f"  AUROC AF {_fmt(m['auroc_af'])}  macro {_fmt(m['auroc_macro_ovr'])}  "
            f"F1 {_fmt(m['f1_challenge'])}  5-NN acc {r.knn_accuracy:.4f}  ({r.n_records['test']} test records)",
            flush=True,
        )

    if len(results) > 1:
        reference = results[0]  # the training-free baseline when --baseline-scattering is given
        print(f"difference to {reference.method} (paired bootstrap over the same test records):")
        for r in results[1:]:
            diff = compare_results(r, reference, n_boot=args.n_boot, seed=args.seed)
            r.extra["difference_to"] = {"method": reference.method, **{k: v.to_dict() for k, v in diff.items()}}
            print(
                f"  {r.method}: AUROC AF {_fmt(diff['auroc_af'], signed=True)}  "
                f"macro {_fmt(diff['auroc_macro_ovr'], signed=True)}  F1 {_fmt(diff['f1_challenge'], signed=True)}",
                flush=True,
            )

    curves = None
    if args.robustness:
        from dacl import robustness

        corpus = args.corpus or robustness.manifest_corpus(features.manifest)
        corruptions = robustness.corruptions_for(corruption_families)
        print(f"robustness of {len(results)} method(s) under {len(corruptions)} corruptions "
              f"({', '.join(corruption_families)}) ...", flush=True)
        t0 = time.perf_counter()
        computed = robustness.curves_for_results(results, [e for e, _ in embedders], features, seed=args.seed,
                                                 n_boot=args.n_boot, corpus=corpus, corruptions=corruptions,
                                                 log=lambda line: print(line, flush=True))
        print(f"  robustness took {time.perf_counter() - t0:.0f} s", flush=True)
        if len(computed) > 1:
            print(f"robustness, AF AUROC difference to {computed[0].method} (paired over the same corrupted records):")
            for curve in computed[1:]:
                robustness.add_paired_differences(curve, computed[0])
                cells = [f"{p.corruption.label} {_fmt(p.difference['auroc_af'], signed=True)}"
                         for p in curve.points if p.difference is not None]
                print(f"  {curve.method}: " + "; ".join(cells), flush=True)
        curves = [c.to_dict() for c in computed]
    path = write_results(args.out, results, features, str(args.features), curves)
    print(f"wrote {path}")
    if not args.no_report:
        from dacl import report

        print(f"wrote {report.write_report(args.out)}")
    return 0


NOISE_AUG_DEFAULT = "snr:0:24"


def parse_noise_levels(spec: str) -> Any:
    """``snr:LOW:HIGH`` or ``diffusion:T_MAX[:SCHEDULE:TIMESTEPS]`` -> :class:`dacl.signal_views.NoiseLevels`."""
    from dacl.signal_views import NoiseLevels

    parts = spec.split(":")
    try:
        if parts[0] == "snr" and len(parts) == 3:
            return NoiseLevels("snr", snr_low=float(parts[1]), snr_high=float(parts[2]))
        if parts[0] == "diffusion" and len(parts) in (2, 4):
            schedule, timesteps = (parts[2], int(parts[3])) if len(parts) == 4 else ("linear", 1000)
            return NoiseLevels("diffusion", schedule, timesteps, int(parts[1]))
    except ValueError as err:
        raise ValueError(f"--baseline-scattering-noise {spec!r}: {err}") from None
    raise ValueError(f"--baseline-scattering-noise {spec!r}: expected snr:LOW:HIGH or "
                     "diffusion:T_MAX[:SCHEDULE:TIMESTEPS]")


def compare_results(a: EvalResult, b: EvalResult, *, n_boot: int = 1000, seed: int = 0) -> dict[str, metrics.Estimate]:
    """``a - b`` for every metric, paired over the test records both were scored on."""
    if not np.array_equal(a.test_record_ids, b.test_record_ids) or not np.array_equal(a.test_labels, b.test_labels):
        raise ValueError(f"{a.method} and {b.method} were not scored on the same test records; cannot pair them")
    return metrics.paired_difference(a.test_labels, a.test_probs, b.test_probs, n_boot=n_boot, seed=seed)


def _fmt(e: metrics.Estimate, signed: bool = False) -> str:
    return metrics.format_interval(e.value, e.low, e.high, signed)
