"""Record-level classification metrics with bootstrap confidence intervals.

Pure numpy / scikit-learn functions, no I/O. Labels are integer indices into
:data:`dacl.corpus.cinc2017.CLASSES` = ``("N", "A", "O", "~")``; probabilities are
``(R, 4)`` arrays whose columns follow the same order.

Conventions (explicit, because the DACL paper does not state its own):

* Window scores become record scores by averaging the class probabilities of a
  record's windows (:func:`aggregate_by_record`); every metric is per record.
* AF-vs-rest AUROC scores each record by its probability of class ``A``.
* Macro one-vs-rest AUROC averages the AUROC of each class against the rest
  over the classes that have both positives and negatives in the labels; a
  class absent from the labels is *skipped* and named in the result
  (:class:`MacroAUROC`). Fewer than two scorable classes raise ``ValueError``.
* The challenge F1 is the PhysioNet/CinC 2017 score (Clifford et al., CinC
  2017): ``(F1_N + F1_A + F1_O) / 3`` with ``F1_x = 2 C_xx / (sum_j C_xj +
  sum_i C_ix)`` on the 4×4 confusion matrix of argmax predictions; ``~`` takes
  part in the matrix but not in the mean.
* Bootstrap CIs resample *records* with replacement (percentile method). A
  resample that lacks a class present in the full sample is redrawn, so every
  resample has the same scorable classes as the point estimate; the number of
  redraws is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_curve

from dacl.corpus.cinc2017 import CLASSES

AF = CLASSES.index("A")
#: Classes whose F1 enters the PhysioNet 2017 challenge score (``~`` does not).
CHALLENGE_F1_CLASSES: tuple[str, ...] = ("N", "A", "O")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap percentile interval."""

    value: float
    low: float
    high: float
    level: float = 0.95

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def format_interval(value: float, low: float, high: float, signed: bool = False) -> str:
    """``"0.9577 [0.9435, 0.9701]"``; ``signed`` prefixes ``+`` to non-negative numbers (differences)."""
    f = "+.4f" if signed else ".4f"
    return f"{value:{f}} [{low:{f}}, {high:{f}}]"


@dataclass(frozen=True)
class MacroAUROC:
    """Macro one-vs-rest AUROC and the per-class AUROCs it averages."""

    value: float
    per_class: dict[str, float]
    skipped: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------ validation


def _check_labels(y: np.ndarray, name: str = "y_true", n_classes: int = len(CLASSES)) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"{name} must hold class indices in [0, {n_classes}), got range [{y.min()}, {y.max()}]"
            " (drop unlabelled records, label -1, before scoring)"
        )
    return y.astype(np.int64, copy=False)


def _check_probs(probs: np.ndarray, n: int, name: str = "probs") -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (n, len(CLASSES)):
        raise ValueError(f"{name} must have shape ({n}, {len(CLASSES)}), got {probs.shape}")
    if not np.all(np.isfinite(probs)):
        raise ValueError(f"{name} contains NaN or inf")
    return probs


# ----------------------------------------------------------------- aggregation


def aggregate_by_record(window_probs: np.ndarray, record_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average window class-probabilities per record.

    Args:
        window_probs: ``(W, C)`` per-window probabilities (or any scores).
        record_index: ``(W,)`` record row of each window.

    Returns:
        ``(records, probs)``: the sorted distinct record rows ``(K,)`` and
        their mean window probabilities ``(K, C)``.
    """
    window_probs = np.asarray(window_probs, dtype=np.float64)
    record_index = np.asarray(record_index)
    if window_probs.ndim != 2:
        raise ValueError(f"window_probs must be 2-D (windows, classes), got shape {window_probs.shape}")
    if record_index.shape != (window_probs.shape[0],):
        raise ValueError(f"record_index must have shape ({window_probs.shape[0]},), got {record_index.shape}")
    if window_probs.shape[0] == 0:
        raise ValueError("no windows to aggregate")
    records, inverse, counts = np.unique(record_index, return_inverse=True, return_counts=True)
    sums = np.zeros((records.size, window_probs.shape[1]))
    np.add.at(sums, inverse, window_probs)
    return records, sums / counts[:, None]


# --------------------------------------------------------------------- metrics


def binary_auroc(positive: np.ndarray, scores: np.ndarray) -> float:
    """AUROC via the Mann-Whitney U statistic (ties count one half).

    Equal to ``sklearn.metrics.roc_auc_score`` but without its per-call
    validation overhead, which dominates a 1000-resample bootstrap.
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUROC needs both positive and negative records")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_af_vs_rest(y_true: np.ndarray, probs: np.ndarray) -> float:
    """AUROC of atrial fibrillation (``A``) against all other classes."""
    y = _check_labels(y_true)
    probs = _check_probs(probs, y.size)
    is_af = y == AF
    if is_af.all() or not is_af.any():
        raise ValueError("AF-vs-rest AUROC needs both AF and non-AF records in y_true")
    return float(binary_auroc(is_af, probs[:, AF]))


def macro_ovr_auroc(y_true: np.ndarray, probs: np.ndarray) -> MacroAUROC:
    """Unweighted mean of one-vs-rest AUROCs over the classes present in ``y_true``.

    A class with no record in ``y_true`` has no AUROC; it is skipped and listed
    in :attr:`MacroAUROC.skipped` rather than silently averaged in.
    """
    y = _check_labels(y_true)
    probs = _check_probs(probs, y.size)
    per_class: dict[str, float] = {}
    skipped: list[str] = []
    for k, name in enumerate(CLASSES):
        positive = y == k
        if positive.all() or not positive.any():
            skipped.append(name)
            continue
        per_class[name] = float(binary_auroc(positive, probs[:, k]))
    if len(per_class) < 2:
        raise ValueError(f"macro AUROC needs at least two classes in y_true, found {sorted(per_class) or 'none'}")
    return MacroAUROC(float(np.mean(list(per_class.values()))), per_class, tuple(skipped))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """4×4 confusion matrix, rows = reference class, columns = predicted class."""
    y = _check_labels(y_true)
    p = _check_labels(y_pred, "y_pred")
    if p.shape != y.shape:
        raise ValueError(f"y_pred has shape {p.shape}, y_true {y.shape}")
    n = len(CLASSES)
    return np.bincount(y * n + p, minlength=n * n).reshape(n, n)


def f1_per_class(cm: np.ndarray) -> dict[str, float]:
    """F1 of each class from a confusion matrix: ``2 C_kk / (row_k + col_k)``.

    A class that is neither in the reference nor predicted has an undefined F1,
    returned as NaN.
    """
    cm = np.asarray(cm)
    denom = cm.sum(axis=1) + cm.sum(axis=0)
    out = {}
    for k, name in enumerate(CLASSES):
        out[name] = float(2 * cm[k, k] / denom[k]) if denom[k] > 0 else float("nan")
    return out


def challenge_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """PhysioNet/CinC 2017 score: mean of F1(N), F1(A), F1(O) (Clifford et al. 2017).

    Raises ``ValueError`` when one of the three F1s is undefined (the class is
    neither in the reference nor predicted), rather than averaging fewer terms.
    """
    f1 = f1_per_class(confusion_matrix(y_true, y_pred))
    terms = [f1[c] for c in CHALLENGE_F1_CLASSES]
    undefined = [c for c, v in zip(CHALLENGE_F1_CLASSES, terms, strict=True) if np.isnan(v)]
    if undefined:
        raise ValueError(f"challenge F1 undefined: class(es) {undefined} neither present nor predicted")
    return float(np.mean(terms))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of records whose argmax prediction equals the reference."""
    y = _check_labels(y_true)
    p = _check_labels(y_pred, "y_pred")
    if p.shape != y.shape:
        raise ValueError(f"y_pred has shape {p.shape}, y_true {y.shape}")
    return float(np.mean(y == p))


def roc_points(y_true: np.ndarray, probs: np.ndarray, cls: str = "A") -> dict[str, list[float]]:
    """ROC curve of ``cls``-vs-rest, as JSON-ready lists ``fpr``, ``tpr``."""
    y = _check_labels(y_true)
    probs = _check_probs(probs, y.size)
    k = CLASSES.index(cls)
    positive = y == k
    if positive.all() or not positive.any():
        raise ValueError(f"ROC of {cls!r}-vs-rest needs both {cls!r} and other records")
    fpr, tpr, _ = roc_curve(positive, probs[:, k], drop_intermediate=True)
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist()}


#: Record-level metrics reported by :func:`score_records`, name -> fn(y, probs).
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "auroc_af": auroc_af_vs_rest,
    "auroc_macro_ovr": lambda y, p: macro_ovr_auroc(y, p).value,
    "f1_challenge": lambda y, p: challenge_f1(y, p.argmax(axis=1)),
    "accuracy": lambda y, p: accuracy(y, p.argmax(axis=1)),
}


# ------------------------------------------------------------------- bootstrap


def bootstrap_indices(y_true: np.ndarray, n_boot: int, seed: int, max_redraws: int = 1000) -> Iterator[np.ndarray]:
    """Yield ``n_boot`` resamples (indices with replacement) of the records.

    Each resample contains every class present in ``y_true`` (a resample
    missing one is redrawn), so metrics stay defined and comparable to the
    point estimate. Deterministic for a given ``seed``.
    """
    y = np.asarray(y_true)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    present = np.unique(y)
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        for _attempt in range(max_redraws):
            idx = rng.integers(0, y.size, size=y.size)
            if np.unique(y[idx]).size == present.size:
                break
        else:
            raise ValueError(
                f"could not draw a bootstrap resample containing all {present.size} classes in "
                f"{max_redraws} tries: a class has too few records ({np.bincount(y).tolist()})"
            )
        yield idx


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``samples`` at confidence ``level``."""
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(np.asarray(samples, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)


def score_records(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
) -> dict[str, Estimate]:
    """Every metric of ``metrics`` (default :data:`METRICS`) with a bootstrap CI.

    All metrics share the same resamples (paired), drawn by
    :func:`bootstrap_indices` from ``seed``.
    """
    y = _check_labels(y_true)
    probs = _check_probs(probs, y.size)
    metrics = METRICS if metrics is None else metrics
    return _bootstrap(y, (probs,), lambda yb, pb: {n: fn(yb, pb) for n, fn in metrics.items()}, n_boot, seed, level)


def paired_difference(
    y_true: np.ndarray,
    probs_a: np.ndarray,
    probs_b: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
) -> dict[str, Estimate]:
    """``metric(a) - metric(b)`` on the same records, with a paired bootstrap CI.

    Both methods are scored on each resample of the records, so the interval is
    that of the *difference*: two overlapping per-method CIs do not say whether
    A beats B, an interval of A - B that excludes 0 does.
    """
    y = _check_labels(y_true)
    pa, pb = _check_probs(probs_a, y.size, "probs_a"), _check_probs(probs_b, y.size, "probs_b")
    metrics = METRICS if metrics is None else metrics
    return _bootstrap(
        y, (pa, pb), lambda yb, a, b: {n: fn(yb, a) - fn(yb, b) for n, fn in metrics.items()}, n_boot, seed, level
    )


def _bootstrap(
    y: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    statistic: Callable[..., dict[str, float]],
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, Estimate]:
    """``statistic(y, *arrays)`` on all records, with percentile CIs over the
    :func:`bootstrap_indices` resamples (every array resampled with ``y``)."""
    points = statistic(y, *arrays)
    samples: dict[str, list[float]] = {name: [] for name in points}
    for idx in bootstrap_indices(y, n_boot, seed):
        for name, value in statistic(y[idx], *(a[idx] for a in arrays)).items():
            samples[name].append(value)
    return {
        name: Estimate(points[name], *percentile_interval(np.array(samples[name]), level), level) for name in points
    }


def knn_accuracy(
    train_emb: np.ndarray,
    train_labels: np.ndarray,
    test_emb: np.ndarray,
    test_labels: np.ndarray,
    k: int = 5,
    standardise: bool = True,
) -> float:
    """Accuracy of a k-nearest-neighbour classifier fitted on train embeddings, scored on test.

    A probe with no trainable weights (as in the DiffAug/DMT-EV evaluations,
    Zang et al. 2024): it rewards embeddings whose neighbourhoods are label-pure.
    ``standardise`` z-scores every dimension with the train statistics first.
    Labels are any integers; unlabelled (``-1``) rows must be dropped by the caller.
    """
    from sklearn.neighbors import KNeighborsClassifier

    xtr, xte = np.asarray(train_emb, dtype=np.float64), np.asarray(test_emb, dtype=np.float64)
    ytr, yte = np.asarray(train_labels), np.asarray(test_labels)
    if xtr.ndim != 2 or xte.ndim != 2 or xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"embeddings must be (n, d) with equal d, got {xtr.shape} and {xte.shape}")
    if ytr.shape != (xtr.shape[0],) or yte.shape != (xte.shape[0],):
        raise ValueError(
            f"labels must be 1-D and match the embeddings: {ytr.shape} vs {xtr.shape}, {yte.shape} vs {xte.shape}"
        )
    if xte.shape[0] == 0:
        raise ValueError("test embeddings are empty")
    if not 1 <= k <= xtr.shape[0]:
        raise ValueError(f"k must be in [1, {xtr.shape[0]}] (number of train rows), got {k}")
    if not (np.isfinite(xtr).all() and np.isfinite(xte).all()):
        raise ValueError("embeddings contain NaN or inf")
    if standardise:
        mean, std = xtr.mean(axis=0), np.maximum(xtr.std(axis=0), 1e-12)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    clf = KNeighborsClassifier(n_neighbors=k).fit(xtr, ytr)
    return float((clf.predict(xte) == yte).mean())
