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
(:func:`add_paired_differences`). Test records are re-read whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dacl.corpus import Record
from dacl.embedding.embedder import Embedder
from dacl.features import FeatureSet
from dacl.features.featurizer import PreprocessConfig, default_scatter, process_chunk, record_row
from dacl.features.leads import select_leads
from dacl.features.source import open_source
from dacl.probe import metrics
from dacl.probe.corruptions import Corruption, default_corruptions
from dacl.probe.linear import EvalResult, embed_checked, predict_proba4
from dacl.probe.metrics import Estimate
from dacl.probe.multilabel import MACRO, LabelProbe, paired_macro_difference, score_labels

#: ``featurize(signals) -> (features (W, L, P, F), record_index (W,))``, with
#: ``record_index`` pointing into ``signals`` (each ``(L, n)``, or ``(n,)`` for one lead).
Featurize = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]

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


def _score(model: Any, z: np.ndarray, record_index: np.ndarray, labels: np.ndarray, n_boot: int, seed: int
           ) -> tuple[np.ndarray, np.ndarray, dict[str, Estimate]]:
    """``(records, their scores, metrics)`` of the windows' embeddings ``z`` under a fitted probe."""
    if isinstance(model, LabelProbe):
        records, scores = metrics.aggregate_by_record(model.scores(z), record_index)
        macro, _ = score_labels(labels[records], scores, n_boot=n_boot, seed=seed)
        return records, scores, {MACRO: macro}
    records, probs = metrics.aggregate_by_record(predict_proba4(model, z), record_index)
    return records, probs, metrics.score_records(labels[records], probs, n_boot=n_boot, seed=seed,
                                                 metrics=ROBUSTNESS_METRICS)


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
    """AUROC (with CIs) of a fixed probe as the test recordings are corrupted.

    Args:
        model: fitted probe (``EvalResult.model``), predicting on embeddings.
        embedder: the frozen embedder the probe was fitted on.
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
    points, notes = [], []
    for c in corruptions:
        corrupted = [corrupt(c, x, fs, c.rng_for(seed, i)) for i, x in enumerate(signals)]
        feats, record_index = featurize(corrupted)
        z = embed_checked(embedder, np.asarray(feats, dtype=np.float32))
        records, probs, est = _score(model, z, np.asarray(record_index), labels, n_boot, seed)
        if records.size < len(signals):
            notes.append(f"{c.label}: {len(signals) - records.size} record(s) produced no window")
        points.append(RobustnessPoint(c, est, int(records.size), records, labels[records], probs))
    return RobustnessCurve(method or embedder.name, points, seed, n_boot, notes)


def add_paired_differences(curve: RobustnessCurve, reference: RobustnessCurve) -> None:
    """Set each point's ``difference``: ``curve - reference`` with a paired bootstrap CI.

    The corruptions are seeded per record (:meth:`Corruption.rng_for`), so two methods
    scored on the same test records see the same corrupted signals; the bootstrap then
    resamples those records once for both, as :func:`dacl.probe.metrics.paired_difference` does
    for the clean scores. A point left without the same records on both sides is skipped.
    """
    ref_points = {p.corruption.label: p for p in reference.points}
    for p in curve.points:
        q = ref_points.get(p.corruption.label)
        if q is None or p.records is None or q.records is None or p.y_true is None or p.probs is None:
            continue
        if q.probs is None or not np.array_equal(p.records, q.records):
            continue
        if p.y_true.ndim == 2:
            p.difference = {MACRO: paired_macro_difference(p.y_true, p.probs, q.probs, n_boot=curve.n_boot,
                                                           seed=curve.seed)}
        else:
            p.difference = metrics.paired_difference(p.y_true, p.probs, q.probs, n_boot=curve.n_boot,
                                                     seed=curve.seed, metrics=ROBUSTNESS_METRICS)
    curve.difference_to = reference.method


# -------------------------------------------------------------- the dataset's own featurisation


def dataset_config(manifest: dict[str, Any]) -> PreprocessConfig:
    """The :class:`~dacl.features.featurizer.PreprocessConfig` a dataset was made with, from its manifest."""
    from dataclasses import fields

    params = manifest.get("params")
    if not isinstance(params, dict):
        raise ValueError("the dataset manifest has no preprocessing 'params'; cannot featurise like the dataset")
    known = {f.name for f in fields(PreprocessConfig)}
    return PreprocessConfig(**{k: v for k, v in params.items() if k in known})


def dataset_featurizer(manifest: dict[str, Any], fs: float, num_threads: int | None = None) -> Featurize:
    """A :data:`Featurize` that reproduces the dataset's own featurisation.

    Rebuilds :class:`dacl.features.featurizer.PreprocessConfig` from the manifest's
    ``params`` and runs :func:`dacl.features.featurizer.process_chunk` — the very code
    that made the dataset (resampling, band-pass, windows, z-score, scattering,
    log scaling, lead by lead) — on recordings of the dataset's leads sampled at ``fs`` Hz.
    """
    config = dataset_config(manifest)
    scatter = default_scatter(config, num_threads)
    order = np.asarray(manifest["scattering"]["order"])
    leads = tuple(manifest.get("leads") or ("I",))

    def featurize(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        rows = [record_row(i, f"#{i}") for i in range(len(signals))]
        records = [Record(f"#{i}", np.atleast_2d(np.asarray(x, dtype=np.float64)), leads, fs, (), "")
                   for i, x in enumerate(signals)]
        chunk = process_chunk(rows, records, config, scatter, order, num_threads, n_leads=len(leads))
        return chunk.features, chunk.record_index

    return featurize


def manifest_corpus(manifest: dict[str, Any]) -> str:
    for key in ("corpus", "corpus_path", "source"):
        value = manifest.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and isinstance(value.get("path"), str):
            return value["path"]
    raise ValueError("the dataset manifest records no corpus path")


def curve_for_result(
    result: EvalResult,
    embedder: Embedder,
    features: FeatureSet,
    *,
    seed: int = 0,
    n_boot: int = 200,
    featurize: Featurize | None = None,
    read_signals: Callable[[Sequence[str]], tuple[list[np.ndarray], float]] | None = None,
    corpus: str | None = None,
) -> RobustnessCurve:
    """Robustness curve for an :class:`~dacl.probe.linear.EvalResult` on its test records.

    By default re-reads the raw test recordings from the corpus recorded in
    the dataset manifest (or ``corpus``) and featurises them with
    :func:`dataset_featurizer`; both are injectable.
    """
    if read_signals is None:
        read_signals = _corpus_reader(corpus or manifest_corpus(features.manifest), features.manifest.get("inputs"),
                                      features.manifest)
    signals, fs = read_signals([str(r) for r in result.test_record_ids])
    if featurize is None:
        featurize = dataset_featurizer(features.manifest, fs)
    return robustness_curve(
        result.model, embedder, signals, result.test_labels, featurize,
        fs=fs, seed=seed, n_boot=n_boot, method=result.method,
    )


def _corpus_reader(
    path: str, expected_inputs: dict[str, str] | None = None, manifest: dict[str, Any] | None = None
) -> Callable[[Sequence[str]], tuple[list[np.ndarray], float]]:
    """Reads test records (the dataset's leads, ``(L, n)``) from the corpus the dataset was made from, opened
    with the dataset's layout and label options."""
    def read(names: Sequence[str]) -> tuple[list[np.ndarray], float]:
        made_with = manifest or {}
        config = dataset_config(made_with) if isinstance(made_with.get("params"), dict) else PreprocessConfig()
        corpus = open_source(path, dataclasses.replace(config, partial_labels=True))
        # The labels and record list must be the dataset's (a zip and its extracted
        # folder share these checksums; the zip's own checksum is not compared).
        if expected_inputs:
            differ = [k for k in ("reference_sha256", "records_sha256", "names_sha256")
                      if k in expected_inputs and k in corpus.fingerprint
                      and expected_inputs[k] != corpus.fingerprint[k]]
            if differ:
                raise ValueError(f"corpus {path} is not the one the dataset was made from ({', '.join(differ)} differ)")
        leads = tuple((manifest or {}).get("leads") or ("I",))
        records = []
        for name in names:
            try:
                records.append(select_leads(corpus.read(name), leads))
            except ValueError as err:
                raise ValueError(f"cannot re-read test records from {path}: {err}") from None
        rates = {r.fs for r in records}
        if len(rates) != 1:
            raise ValueError(f"test records have mixed sampling rates {sorted(rates)}")
        return [r.signal for r in records], rates.pop()

    return read
