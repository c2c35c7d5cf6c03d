"""Noise robustness: the clean-trained probe scored on corrupted test recordings.

The probe fitted by :func:`dacl.probe.protocol.evaluate` (on clean train windows) is
kept fixed; only the *test* recordings change. Each raw test signal is
corrupted (:mod:`dacl.probe.corruptions`; every lead on its own, with the
record's generator, lead after lead), featurised exactly as the dataset was
(:func:`dacl.features.featurizer.process_chunk`, the dataset's own parameters and
leads), embedded, and the records are scored as in the clean evaluation (AUROC
AF-vs-rest and macro one-vs-rest for single-label data, macro AUROC over labels
for multi-label data). Every method sees the very same corrupted recordings, so
two curves can be compared point by point with a paired bootstrap
(:func:`add_paired_differences`); :func:`robustness_curves` featurises each
corruption once and scores every method on it. Test records are re-read whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dacl.embedding.embedder import Embedder
from dacl.features import FeatureSet
from dacl.features.refeaturize import (  # noqa: F401  (dataset_config: part of this module's interface)
    Featurize,
    ReadSignals,
    corpus_reader,
    dataset_config,
    dataset_featurizer,
    manifest_corpus,
)
from dacl.probe import metrics
from dacl.probe.corruptions import DEFINITIONS, Corruption, default_corruptions
from dacl.probe.linear import EvalResult, embed_checked, predict_proba4
from dacl.probe.metrics import Estimate
from dacl.probe.multilabel import MACRO, LabelProbe, paired_macro_difference, score_labels

# --------------------------------------------------------------------- curves


@dataclass
class RobustnessPoint:
    corruption: Corruption
    metrics: dict[str, metrics.Estimate]
    n_records: int
    #: Record rows scored, their labels and probabilities (kept for paired comparisons; not serialised).
    records: np.ndarray | None = field(default=None, repr=False, compare=False)
    y_true: np.ndarray | None = field(default=None, repr=False, compare=False)
    probs: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: ``this - reference`` per metric, paired over the same corrupted records (see :func:`add_paired_differences`).
    difference: dict[str, Estimate] | None = None
    #: The same against every reference the point was paired with, by the reference's method (the first included).
    paired: dict[str, dict[str, Estimate]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "kind": self.corruption.kind,
            "level": self.corruption.level,
            "label": self.corruption.label,
            "n_records": self.n_records,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
        }
        if self.difference is not None:
            d["difference"] = {k: v.to_dict() for k, v in self.difference.items()}
        if self.paired:
            d["paired"] = {ref: {k: v.to_dict() for k, v in diff.items()} for ref, diff in self.paired.items()}
        return d


@dataclass
class RobustnessCurve:
    method: str
    points: list[RobustnessPoint]
    seed: int
    n_boot: int
    notes: list[str] = field(default_factory=list)
    #: The method the points' ``difference`` entries are taken against, if any.
    difference_to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "method": self.method,
            "seed": self.seed,
            "n_boot": self.n_boot,
            "snr_definition": "10 log10(var(clean) / mean(noise^2)) per record",
            "wander_definition": "sum of 3 sinusoids, 0.1-0.5 Hz; level = wander RMS / signal std",
            "definitions": {
                k: DEFINITIONS[k] for k in dict.fromkeys(p.corruption.kind for p in self.points) if k in DEFINITIONS
            },
            "points": [p.to_dict() for p in self.points],
            "notes": self.notes,
        }
        if self.difference_to is not None:
            d["difference_to"] = self.difference_to
        return d


ROBUSTNESS_METRICS = {k: metrics.METRICS[k] for k in ("auroc_af", "auroc_macro_ovr")}


def corrupt(c: Corruption, signal: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A recording corrupted by ``c``: each lead of an ``(L, n)`` signal in turn, with the one generator."""
    x = np.asarray(signal)
    if x.ndim == 1:
        return c.apply(x, fs, rng)
    return np.stack([c.apply(lead, fs, rng) for lead in x])


def _score(
    model: Any, z: np.ndarray, record_index: np.ndarray, labels: np.ndarray, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Estimate]]:
    """``(records, their scores, metrics)`` of the windows' embeddings ``z`` under a fitted probe."""
    if isinstance(model, LabelProbe):
        records, scores = metrics.aggregate_by_record(model.scores(z), record_index)
        macro, _ = score_labels(labels[records], scores, n_boot=n_boot, seed=seed)
        return records, scores, {MACRO: macro}
    records, probs = metrics.aggregate_by_record(predict_proba4(model, z), record_index)
    return (
        records,
        probs,
        metrics.score_records(labels[records], probs, n_boot=n_boot, seed=seed, metrics=ROBUSTNESS_METRICS),
    )


#: One method to score: ``(fitted probe, the frozen embedder it was fitted on, method name)``.
Probe = tuple[Any, Embedder, str]


def robustness_curves(
    probes: Sequence[Probe],
    signals: Sequence[np.ndarray],
    labels: np.ndarray,
    featurize: Featurize,
    *,
    fs: float,
    corruptions: Sequence[Corruption] | None = None,
    seed: int = 0,
    n_boot: int = 200,
) -> list[RobustnessCurve]:
    """AUROC (with CIs) of fixed probes as the test recordings are corrupted: one curve per probe.

    Each corruption is applied and featurised once (the featuriser is the slow part) and then
    scored by every probe, so all methods see the very same corrupted features.

    Args:
        probes: ``(model, embedder, method)``: a fitted probe (``EvalResult.model``) predicting on
            the embeddings of the frozen ``embedder`` it was fitted on.
        signals: raw test recordings at ``fs`` Hz, ``(L, n)`` (or ``(n,)`` for one lead).
        labels: ``(len(signals),)`` class index of each recording, or ``(len(signals), C)`` multi-hot rows
            (multi-label probes).
        featurize: turns recordings into windows' features exactly as the
            dataset was made (see :data:`Featurize`).
    """
    labels = np.asarray(labels)
    if len(signals) != labels.shape[0]:
        raise ValueError(f"{len(signals)} signals but {labels.shape[0]} labels")
    if len(signals) == 0:
        raise ValueError("no test signals to corrupt")
    corruptions = default_corruptions() if corruptions is None else list(corruptions)
    curves = [RobustnessCurve(method or embedder.name, [], seed, n_boot) for _, embedder, method in probes]
    for c in corruptions:
        corrupted = [corrupt(c, x, fs, c.rng_for(seed, i)) for i, x in enumerate(signals)]
        feats, record_index = featurize(corrupted)
        feats = np.asarray(feats, dtype=np.float32)
        for curve, (model, embedder, _) in zip(curves, probes, strict=True):
            z = embed_checked(embedder, feats)
            records, probs, est = _score(model, z, np.asarray(record_index), labels, n_boot, seed)
            if records.size < len(signals):
                curve.notes.append(f"{c.label}: {len(signals) - records.size} record(s) produced no window")
            curve.points.append(RobustnessPoint(c, est, int(records.size), records, labels[records], probs))
    return curves


def robustness_curve(
    model: Any,
    embedder: Embedder,
    signals: Sequence[np.ndarray],
    labels: np.ndarray,
    featurize: Featurize,
    *,
    fs: float,
    corruptions: Sequence[Corruption] | None = None,
    seed: int = 0,
    n_boot: int = 200,
    method: str | None = None,
) -> RobustnessCurve:
    """The curve of one probe (see :func:`robustness_curves`)."""
    return robustness_curves(
        [(model, embedder, method or embedder.name)],
        signals,
        labels,
        featurize,
        fs=fs,
        corruptions=corruptions,
        seed=seed,
        n_boot=n_boot,
    )[0]


def add_paired_differences(curve: RobustnessCurve, reference: RobustnessCurve, primary: bool = True) -> None:
    """Set each point's ``curve - reference`` with a paired bootstrap CI, under ``paired[reference.method]``.

    The corruptions are seeded per record (:meth:`Corruption.rng_for`), so two methods
    scored on the same test records see the same corrupted signals; the bootstrap then
    resamples those records once for both, as :func:`dacl.probe.metrics.paired_difference` does
    for the clean scores. A point left without the same records on both sides is skipped.
    The ``primary`` reference (the one the report's difference table is taken against) also
    fills ``difference`` and the curve's ``difference_to``; a curve can be paired with others too.
    """
    ref_points = {p.corruption.label: p for p in reference.points}
    for p in curve.points:
        q = ref_points.get(p.corruption.label)
        if q is None or p.records is None or q.records is None or p.y_true is None or p.probs is None:
            continue
        if q.probs is None or not np.array_equal(p.records, q.records):
            continue
        if p.y_true.ndim == 2:
            diff = {MACRO: paired_macro_difference(p.y_true, p.probs, q.probs, n_boot=curve.n_boot, seed=curve.seed)}
        else:
            diff = metrics.paired_difference(
                p.y_true, p.probs, q.probs, n_boot=curve.n_boot, seed=curve.seed, metrics=ROBUSTNESS_METRICS
            )
        p.paired[reference.method] = diff
        if primary:
            p.difference = diff
    if primary:
        curve.difference_to = reference.method


def curves_for_results(
    results: Sequence[EvalResult],
    embedders: Sequence[Embedder],
    features: FeatureSet,
    *,
    seed: int = 0,
    n_boot: int = 200,
    corruptions: Sequence[Corruption] | None = None,
    featurize: Featurize | None = None,
    read_signals: ReadSignals | None = None,
    corpus: str | None = None,
) -> list[RobustnessCurve]:
    """Robustness curves of :class:`~dacl.probe.linear.EvalResult` s scored on the same test records.

    By default re-reads the raw test recordings (once) from the corpus recorded in the dataset
    manifest (or ``corpus``) and featurises them with :func:`dataset_featurizer`; both are injectable.
    """
    if not results:
        return []
    first = results[0]
    for r in results[1:]:
        if list(r.test_record_ids) != list(first.test_record_ids):
            raise ValueError(f"{r.method} and {first.method} were not scored on the same test records")
    if read_signals is None:
        read_signals = corpus_reader(
            corpus or manifest_corpus(features.manifest), features.manifest.get("inputs"), features.manifest
        )
    signals, fs = read_signals([str(r) for r in first.test_record_ids])
    if featurize is None:
        featurize = dataset_featurizer(features.manifest, fs)
    probes = [(r.model, emb, r.method) for r, emb in zip(results, embedders, strict=True)]
    return robustness_curves(
        probes, signals, first.test_labels, featurize, fs=fs, corruptions=corruptions, seed=seed, n_boot=n_boot
    )


def curve_for_result(
    result: EvalResult,
    embedder: Embedder,
    features: FeatureSet,
    *,
    seed: int = 0,
    n_boot: int = 200,
    corruptions: Sequence[Corruption] | None = None,
    featurize: Featurize | None = None,
    read_signals: ReadSignals | None = None,
    corpus: str | None = None,
) -> RobustnessCurve:
    """The robustness curve of one result (see :func:`curves_for_results`)."""
    return curves_for_results(
        [result],
        [embedder],
        features,
        seed=seed,
        n_boot=n_boot,
        corruptions=corruptions,
        featurize=featurize,
        read_signals=read_signals,
        corpus=corpus,
    )[0]
