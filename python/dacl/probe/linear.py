"""Linear-probe evaluation of frozen embeddings.

Protocol (training contract; the DACL paper does not state its own):

1. Embed every window with the frozen :class:`~dacl.embedding.embedder.Embedder`.
2. Fit a probe, ``StandardScaler`` + ``LogisticRegression(class_weight="balanced")``
   (or an RBF-SVM, the Scattering Transformer paper's classifier), on the
   *train*-split windows of labelled records.
3. Predict the *test*-split windows, average each record's window
   probabilities, and score the records (:mod:`dacl.probe.metrics`) with bootstrap
   95 % CIs that resample records.

Records are the unit of leakage: :func:`check_splits` refuses a dataset whose
record appears in two splits (by name, or by identical feature content — the
PhysioNet 2017 set holds byte-identical duplicate recordings).

The no-training baseline, "scattering + logistic regression", is
:class:`dacl.embedding.baselines.ScatteringPoolEmbedder`.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from dacl.corpus.cinc2017 import CLASSES
from dacl.embedding.embedder import Embedder
from dacl.features import FeatureSet
from dacl.features.sharded import DEFAULT_BATCH, iter_batches
from dacl.probe import metrics
from dacl.probe.config import PROBES
from dacl.probe.metrics import Estimate


@dataclass
class EvalResult:
    """Everything :func:`evaluate` measured for one method.

    ``model`` is the fitted probe (kept for :mod:`dacl.probe.robustness`); it and the
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
    #: The dataset's task, and the protocol it was scored with: ``"cinc2017"`` (the fields above) or
    #: ``"per-label"`` (:mod:`dacl.probe.multilabel`: ``test_labels`` are ``(R, C)`` multi-hot rows, ``test_probs``
    #: ``(R, C)`` per-label scores, columns named by ``labels``).
    task: str = "single-label"
    protocol: str = "cinc2017"
    labels: tuple[str, ...] = CLASSES
    #: Multi-label: each scored label's AUROC with its bootstrap CI, and its positives among the test records.
    label_estimates: dict[str, Estimate] = field(default_factory=dict)
    label_positives: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        if self.protocol == "per-label":
            return self._multilabel_dict()
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

    def _multilabel_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "probe": self.probe,
            "task": self.task,
            "protocol": self.protocol,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "auroc_per_label": {
                code: {**e.to_dict(), "n_positive": self.label_positives.get(code)}
                for code, e in self.label_estimates.items()
            },
            "labels": list(self.labels),
            "labels_not_scored": list(self.macro_skipped),
            "n_records": self.n_records,
            "n_windows": self.n_windows,
            "seed": self.seed,
            "n_boot": self.n_boot,
            "knn_accuracy": None,
            "notes": self.notes,
            **self.extra,
        }


def is_cinc2017(features: FeatureSet) -> bool:
    """Whether the dataset is scored with the CinC 2017 protocol: one label per record from N, A, O, ~."""
    return features.task == "single-label" and tuple(features.vocabulary) == CLASSES and features.window_labels is None


def brief_codes(codes: tuple[str, ...], k: int = 5) -> str:
    return ", ".join(codes[:k]) + (f", ... ({len(codes)} in all)" if len(codes) > k else "")


# ------------------------------------------------------------------- leakage


def check_splits(features: FeatureSet) -> None:
    """Raise ``ValueError`` unless every record sits in exactly one split.

    Checks record names (a name listed twice with different splits) and record
    content (identical feature windows in different splits, e.g. PhysioNet
    2017's byte-identical duplicate recordings). Constant records are ignored
    by the content check: two flat-line recordings are not a leak.
    """
    _check_record_arrays(features)
    _check_names(features)
    _check_content(features)


def _check_record_arrays(fs: FeatureSet) -> None:
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


def _check_names(fs: FeatureSet) -> None:
    split_of: dict[str, str] = {}
    clashes = []
    for rid, split in zip(fs.record_ids.tolist(), fs.record_split.tolist(), strict=True):
        if rid in split_of and split_of[rid] != split:
            clashes.append(f"{rid} ({split_of[rid]} and {split})")
        split_of.setdefault(rid, split)
    if clashes:
        raise ValueError(f"leakage: record(s) in two splits: {', '.join(clashes[:10])}")


def _check_content(fs: FeatureSet) -> None:
    ri = np.asarray(fs.record_index)
    order = np.argsort(ri, kind="stable")
    bounds = np.searchsorted(ri[order], np.arange(len(fs.record_ids) + 1))
    seen: dict[str, tuple[str, str]] = {}
    dupes = []
    for r in range(len(fs.record_ids)):
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
        svc = SVC(kernel="rbf", class_weight="balanced", random_state=seed)
        clf = CalibratedClassifierCV(svc, cv=cv, ensemble=False)
    else:
        raise ValueError(f"unknown probe {kind!r}; choose one of {PROBES}")
    return make_pipeline(StandardScaler(), clf)


def predict_proba4(model: Pipeline, x: np.ndarray) -> np.ndarray:
    """``(W, 4)`` class probabilities; classes unseen in training get probability 0."""
    p = model.predict_proba(np.asarray(x, dtype=np.float64))
    out = np.zeros((x.shape[0], len(CLASSES)))
    out[:, np.asarray(model.classes_, dtype=int)] = p
    return out


def embed_checked(embedder: Embedder, features: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """Embed the windows ``rows`` of ``features`` (a boolean mask or indices; default all) and check the result
    is a finite ``(W, d)`` array.

    The windows are read and embedded one batch at a time (the embedder's own ``batch_size``, so its
    network sees the very batches it would see on the whole array: same numbers), so with a
    :class:`~dacl.features.sharded.ShardedArray` only the embeddings are held in memory, not the windows.
    """
    batch = int(getattr(embedder, "batch_size", DEFAULT_BATCH))
    n = len(features) if rows is None else int(np.count_nonzero(rows) if np.asarray(rows).dtype == bool else len(rows))
    z: np.ndarray | None = None
    done = 0
    for _, x in iter_batches(features, rows, batch):
        piece = _checked_piece(embedder, x)
        if z is None:  # filled in place: the embeddings are held once, not once more to concatenate them
            z = np.empty((n, piece.shape[1]), piece.dtype)
        z[done : done + len(piece)] = piece
        done += len(piece)
    if z is None:  # no window: the embedder still says its width
        z = _checked_piece(embedder, np.empty((0, *features.shape[1:]), np.float32))
    return z


def _checked_piece(embedder: Embedder, x: np.ndarray) -> np.ndarray:
    z = np.asarray(embedder.embed(x))
    if z.ndim != 2 or z.shape[0] != len(x):
        raise ValueError(f"embedder {embedder.name!r} returned shape {z.shape} for {len(x)} windows; expected (W, d)")
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


def _probe_windows(fs: FeatureSet) -> tuple[np.ndarray, np.ndarray]:
    """The labelled train and test windows, checked: both present, two classes to train on."""
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
    return train, test


def _fit_probe(
    probe: str, seed: int, z_train: np.ndarray, groups: np.ndarray, y_train: np.ndarray, notes: list[str]
) -> Pipeline:
    """The probe fitted on the train windows; convergence trouble and absent classes go into ``notes``."""
    model = make_probe(probe, seed, groups=groups, y=y_train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(z_train.astype(np.float64), y_train)
    notes += [f"probe: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning)]
    missing = [CLASSES[k] for k in range(len(CLASSES)) if k not in set(model.classes_.tolist())]
    if missing:
        notes.append(f"classes absent from the train split (probability 0): {missing}")
    return model


def evaluate(
    features: FeatureSet,
    embedder: Embedder,
    *,
    probe: str = "logreg",
    seed: int = 0,
    n_boot: int = 1000,
    method: str | None = None,
) -> EvalResult:
    """Fit the probe on train-split windows, score test-split records (see module doc); single-label data
    (multi-label data: :func:`dacl.probe.protocol.evaluate`)."""
    if not is_cinc2017(features):
        raise ValueError(
            "this probe scores CinC 2017's four classes, one label per record; the dataset "
            f"({features.task}, labels {brief_codes(features.vocabulary)}) is scored per label by "
            "dacl.probe.protocol.evaluate"
        )
    check_splits(features)
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}; choose one of {PROBES}")
    fs = features
    train, test = _probe_windows(fs)
    notes: list[str] = []
    z_train = embed_checked(embedder, fs.features, train)
    z_test = embed_checked(embedder, fs.features, test)
    model = _fit_probe(probe, seed, z_train, fs.record_index[train], fs.labels[train], notes)
    records, y_test, probs = score_model(model, z_test, fs.record_index[test], fs.record_labels)
    estimates = metrics.score_records(y_test, probs, n_boot=n_boot, seed=seed)
    macro = metrics.macro_ovr_auroc(y_test, probs)
    if macro.skipped:
        notes.append(f"macro AUROC skips classes absent from the test split: {list(macro.skipped)}")
    cm = metrics.confusion_matrix(y_test, probs.argmax(axis=1))
    _, rec_emb = metrics.aggregate_by_record(z_test, fs.record_index[test])
    n_records, n_windows = split_sizes(fs)
    return EvalResult(
        method=method or (embedder.name if probe == "logreg" else f"{embedder.name} ({probe})"),
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
        knn_accuracy=_knn_accuracy(fs, z_train, train, rec_emb, y_test),
        notes=notes,
    )


def _knn_accuracy(
    fs: FeatureSet, z_train: np.ndarray, train: np.ndarray, test_record_emb: np.ndarray, y_test: np.ndarray
) -> float:
    """5-NN accuracy of record-mean embeddings, train records -> test records (NaN with < 5 train records)."""
    train_records, train_rec_emb = metrics.aggregate_by_record(z_train, fs.record_index[train])
    if len(train_records) < 5:
        return float("nan")
    return metrics.knn_accuracy(train_rec_emb, fs.record_labels[train_records], test_record_emb, y_test, k=5)


def split_sizes(fs: FeatureSet) -> tuple[dict[str, int], dict[str, int]]:
    """Labelled records (with at least one window) and windows per split (multi-label data: every record
    is labelled, an empty label set being a negative for every label)."""
    has_window = np.zeros(len(fs.record_ids), dtype=bool)
    has_window[np.asarray(fs.record_index)] = True
    multi = fs.task == "multi-label"
    labelled = np.ones(len(fs.record_ids), bool) if multi else np.asarray(fs.record_labels) >= 0
    window_labelled = np.ones(len(fs.record_index), bool) if multi else fs.labels >= 0
    n_records, n_windows = {}, {}
    for split in ("train", "val", "test"):
        in_split = np.asarray(fs.record_split) == split
        n_records[split] = int((in_split & labelled & has_window).sum())
        n_windows[split] = int((fs.window_mask(split) & window_labelled).sum())
    return n_records, n_windows


def compare_results(a: EvalResult, b: EvalResult, *, n_boot: int = 1000, seed: int = 0) -> dict[str, metrics.Estimate]:
    """``a - b`` for every metric, paired over the test records both were scored on."""
    if not np.array_equal(a.test_record_ids, b.test_record_ids) or not np.array_equal(a.test_labels, b.test_labels):
        raise ValueError(f"{a.method} and {b.method} were not scored on the same test records; cannot pair them")
    return metrics.paired_difference(a.test_labels, a.test_probs, b.test_probs, n_boot=n_boot, seed=seed)


def format_estimate(e: metrics.Estimate, signed: bool = False) -> str:
    """``"0.9577 [0.9435, 0.9701]"`` for an estimate (see :func:`dacl.probe.metrics.format_interval`)."""
    return metrics.format_interval(e.value, e.low, e.high, signed)
