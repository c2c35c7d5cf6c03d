"""Multi-label evaluation: macro AUROC over labels with bootstrap CIs over records, and per-label AUROC.

What the literature reports on PTB-XL and CinC 2020/2021 (the PTB-XL benchmark
protocol, Strodthoff et al., "Deep Learning for ECG Analysis: Benchmarks and
Insights from PTB-XL", IEEE JBHI 2021): the term-wise (per-label) AUROC and its
unweighted mean over labels, with bootstrap confidence intervals.

1. The frozen embedder embeds every window; one probe per label,
   ``StandardScaler`` + ``LogisticRegression(class_weight="balanced")`` (a shared
   scaler, one-vs-rest), is fitted on the train-split windows, each window
   carrying its record's labels. A label without both positive and negative
   train windows gets no probe and is not scored (named in the notes).
2. A test record's score for a label is the mean of its windows' probabilities.
3. The scored labels are those with at least one positive and one negative test
   record (the others are listed as not scored); macro AUROC is their mean.
4. Bootstrap: test records are resampled with replacement (``n_boot`` times, one
   seed, every method on the same resamples, so differences are paired). In a
   resample, a label that lacks positives or negatives is left out of that
   resample's mean and of its own interval. (The PTB-XL benchmark instead redraws
   such resamples; on small test sets that can take unboundedly many draws, and on
   large ones both rules agree because every label is present in every resample.)

Single-label data with CinC 2017's classes keep the CinC 2017 protocol of
:mod:`dacl.probe.linear`; other single-label data are scored by this one, each
record's one label a one-hot row (macro one-vs-rest AUROC over the classes).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from dacl.embedding.embedder import Embedder
from dacl.features import FeatureSet
from dacl.probe import metrics
from dacl.probe.linear import EvalResult, check_splits, embed_checked, split_sizes
from dacl.probe.metrics import Estimate, binary_auroc, percentile_interval

#: The metric of a multi-label evaluation (the key in ``EvalResult.metrics`` and metrics.json).
MACRO = "auroc_macro"


class LabelProbe:
    """Per-label probabilities from a fitted one-vs-rest pipeline, for the labels it was fitted on."""

    def __init__(self, pipeline: Pipeline, columns: np.ndarray) -> None:
        self.pipeline, self.columns = pipeline, columns

    def scores(self, z: np.ndarray) -> np.ndarray:
        """``(W, len(columns))`` probability of each fitted label."""
        return np.asarray(self.pipeline.predict_proba(np.asarray(z, dtype=np.float64)), dtype=np.float64)


def fit_label_probe(
    z_train: np.ndarray, y_train: np.ndarray, seed: int, notes: list[str], names: Sequence[str]
) -> LabelProbe:
    """One logistic regression per label with positive and negative train windows (see the module docstring)."""
    y = np.asarray(y_train, dtype=bool)
    positives = y.sum(axis=0)
    columns = np.flatnonzero((positives > 0) & (positives < len(y)))
    left_out = [names[c] for c in range(y.shape[1]) if c not in set(columns.tolist())]
    if left_out:
        notes.append(f"labels without positive and negative train windows (no probe, not scored): {left_out}")
    if len(columns) == 0:
        raise ValueError("no label has both positive and negative windows in the train split")
    clf = LogisticRegression(class_weight="balanced", max_iter=10_000, random_state=seed)
    pipeline = make_pipeline(StandardScaler(), OneVsRestClassifier(clf))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipeline.fit(np.asarray(z_train, dtype=np.float64), y[:, columns].astype(np.int64))
    notes += [f"probe: {w.message}" for w in caught if issubclass(w.category, ConvergenceWarning)]
    return LabelProbe(pipeline, columns)


def label_aurocs(targets: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each column (NaN where the column lacks positives or negatives)."""
    out = np.full(targets.shape[1], np.nan)
    for c in range(targets.shape[1]):
        positive = targets[:, c]
        if 0 < positive.sum() < len(positive):
            out[c] = binary_auroc(positive, scores[:, c])
    return out


def resamples(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """``n_boot`` resamples of ``n`` records, with replacement (deterministic for ``seed``)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, size=n)


def score_labels(
    targets: np.ndarray, scores: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[Estimate, list[Estimate]]:
    """Macro AUROC over the columns with both classes, and each such column's AUROC, with bootstrap CIs."""
    targets, scores = _checked(targets, scores)
    point = label_aurocs(targets, scores)
    scored = np.flatnonzero(~np.isnan(point))
    if len(scored) == 0:
        raise ValueError("no label has both positive and negative test records; macro AUROC is undefined")
    per_label = np.array(
        [label_aurocs(targets[idx][:, scored], scores[idx][:, scored]) for idx in resamples(len(targets), n_boot, seed)]
    )
    macro = _estimate(float(np.mean(point[scored])), np.nanmean(_no_empty_rows(per_label), axis=1), level)
    return macro, [_estimate(float(point[c]), per_label[:, k], level) for k, c in enumerate(scored)]


def paired_macro_difference(
    targets: np.ndarray,
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """``macro AUROC(a) - macro AUROC(b)`` on the same records, with a paired bootstrap CI."""
    targets, scores_a = _checked(targets, scores_a)
    _, scores_b = _checked(targets, scores_b)

    def macro(idx: np.ndarray | slice) -> tuple[float, float]:
        a, b = label_aurocs(targets[idx], scores_a[idx]), label_aurocs(targets[idx], scores_b[idx])
        return (
            (float(np.mean(a[~np.isnan(a)])), float(np.mean(b[~np.isnan(b)])))
            if np.any(~np.isnan(a))
            else (np.nan, np.nan)
        )

    value = np.subtract(*macro(slice(None)))
    samples = np.array([np.subtract(*macro(idx)) for idx in resamples(len(targets), n_boot, seed)])
    return _estimate(float(value), samples, level)


def _checked(targets: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    targets, scores = np.asarray(targets, dtype=bool), np.asarray(scores, dtype=np.float64)
    if targets.ndim != 2 or scores.shape != targets.shape or len(targets) == 0:
        raise ValueError(
            f"targets and scores must be (records, labels) of one shape, got {targets.shape} and {scores.shape}"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or inf")
    return targets, scores


def _no_empty_rows(samples: np.ndarray) -> np.ndarray:
    """The resamples in which at least one label was scorable."""
    return samples[~np.all(np.isnan(samples), axis=1)]


def _estimate(value: float, samples: np.ndarray, level: float) -> Estimate:
    samples = samples[~np.isnan(samples)]
    if len(samples) == 0:
        return Estimate(value, np.nan, np.nan, level)
    return Estimate(value, *percentile_interval(samples, level), level)


# ------------------------------------------------------------------ the evaluation


def evaluate_multilabel(
    features: FeatureSet,
    embedder: Embedder,
    *,
    probe: str = "logreg",
    seed: int = 0,
    n_boot: int = 1000,
    method: str | None = None,
) -> EvalResult:
    """Fit the per-label probes on train-split windows, score test-split records (see the module docstring)."""
    check_splits(features)
    if probe != "logreg":
        raise ValueError(f"the {probe!r} probe is for single-label data; multi-label data use 'logreg'")
    fs = features
    if fs.window_labels is not None:
        raise ValueError(
            "the dataset labels windows (rhythm annotations of long records); dacl evaluate scores "
            "records, and a window-level evaluation is not implemented"
        )
    train, test = fs.window_mask("train"), fs.window_mask("test")
    if not train.any() or not test.any():
        raise ValueError(f"no windows in the {'train' if not train.any() else 'test'} split")
    notes: list[str] = []
    names = list(fs.vocabulary)
    z_train = embed_checked(embedder, fs.features, train)
    z_test = embed_checked(embedder, fs.features, test)
    model = fit_label_probe(z_train, fs.targets[train], seed, notes, names)
    records, scores = metrics.aggregate_by_record(model.scores(z_test), fs.record_index[test])
    assert fs.record_targets is not None
    targets = fs.record_targets[records][:, model.columns]
    columns = [names[c] for c in model.columns]
    macro, per_label = score_labels(targets, scores, n_boot=n_boot, seed=seed)
    scored = [c for c, p in zip(columns, label_aurocs(targets, scores), strict=True) if not np.isnan(p)]
    skipped = tuple(c for c in columns if c not in scored)
    if skipped:
        notes.append(f"labels without positive and negative test records (not scored): {list(skipped)}")
    _, rec_emb = metrics.aggregate_by_record(z_test, fs.record_index[test])
    n_records, n_windows = split_sizes(fs)
    return EvalResult(
        method=method or embedder.name,
        probe=probe,
        metrics={MACRO: macro},
        auroc_per_class={c: e.value for c, e in zip(scored, per_label, strict=True)},
        macro_skipped=skipped,
        f1_per_class={},
        confusion_matrix=[],
        roc_af={},
        n_records=n_records,
        n_windows=n_windows,
        seed=seed,
        n_boot=n_boot,
        test_record_ids=np.asarray(fs.record_ids)[records],
        test_labels=targets,
        test_probs=scores,
        test_embeddings=rec_emb.astype(np.float32),
        model=model,
        notes=notes,
        task=fs.task,
        protocol="per-label",
        labels=tuple(columns),
        label_estimates=dict(zip(scored, per_label, strict=True)),
        label_positives={c: int(targets[:, columns.index(c)].sum()) for c in scored},
    )
