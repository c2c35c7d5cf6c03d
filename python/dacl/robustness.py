"""Noise robustness: the clean-trained probe scored on corrupted test recordings.

The probe fitted by :func:`dacl.evaluate.evaluate` (on clean train windows) is
kept fixed; only the *test* recordings change. Each raw test signal is
corrupted, featurised exactly as the dataset was (same scattering and
segmentation parameters), embedded, and the records are scored as in the clean
evaluation. Two corruptions, each at increasing strength:

* additive white Gaussian noise at a set SNR, the SNR measured per record
  against that record's clean signal power (variance: the DC offset of a
  recording is not signal);
* baseline wander: a sum of low-frequency sinusoids (0.1–0.5 Hz, the band of
  respiration and electrode motion; cf. the MIT-BIH Noise Stress Test, Moody
  et al. 1984) with an RMS set relative to the record's standard deviation.

Corruptions are pure functions of ``(signal, level, rng)``; each record's noise
is drawn from a generator seeded by ``(seed, record position, corruption)``, so
every method sees the very same corrupted recordings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dacl import metrics
from dacl.features import FeatureSet
from dacl.metrics import Estimate

#: ``featurize(signals) -> (features (W, P, F), record_index (W,))``, with
#: ``record_index`` pointing into ``signals``.
Featurize = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]

DEFAULT_SNRS_DB: tuple[float, ...] = (24.0, 18.0, 12.0, 6.0, 0.0)
DEFAULT_WANDER_AMPLITUDES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
WANDER_BAND_HZ: tuple[float, float] = (0.1, 0.5)


# ---------------------------------------------------------------- corruptions


def _check_signal(signal: np.ndarray) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"signal must be 1-D with at least 2 samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal contains NaN or inf")
    return x


def signal_power(signal: np.ndarray) -> float:
    """Power of a signal about its mean (its variance)."""
    return float(np.var(signal))


def snr_db(clean: np.ndarray, corrupted: np.ndarray) -> float:
    """Measured SNR of ``corrupted`` against ``clean``: ``10 log10(P_signal / P_noise)``."""
    noise = np.asarray(corrupted, dtype=np.float64) - np.asarray(clean, dtype=np.float64)
    return float(10 * np.log10(signal_power(clean) / np.mean(noise**2)))


def add_white_noise(signal: np.ndarray, snr: float, rng: np.random.Generator) -> np.ndarray:
    """``signal`` plus white Gaussian noise of power ``P_signal / 10**(snr/10)``.

    The noise is rescaled to exactly that power, so the realised SNR equals
    ``snr`` rather than scattering around it for short records.
    """
    x = _check_signal(signal)
    power = signal_power(x)
    if power == 0:
        raise ValueError("cannot set an SNR for a constant signal")
    noise = rng.standard_normal(x.size)
    noise *= np.sqrt(power / 10 ** (snr / 10) / np.mean(noise**2))
    return x + noise


def baseline_wander(
    n: int,
    fs: float,
    rms: float,
    rng: np.random.Generator,
    n_components: int = 3,
    band: tuple[float, float] = WANDER_BAND_HZ,
) -> np.ndarray:
    """A sum of ``n_components`` sinusoids with random frequencies in ``band`` (Hz),
    random phases and random relative amplitudes, scaled to RMS ``rms``."""
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs}")
    if not 0 < band[0] <= band[1] < fs / 2:
        raise ValueError(f"band {band} Hz must lie in (0, fs/2)")
    t = np.arange(n) / fs
    freqs = rng.uniform(*band, size=n_components)
    phases = rng.uniform(0, 2 * np.pi, size=n_components)
    amps = rng.uniform(0.5, 1.0, size=n_components)
    wave = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    wave_rms = np.sqrt(np.mean(wave**2))
    return wave * (rms / wave_rms) if wave_rms > 0 else wave


def add_baseline_wander(
    signal: np.ndarray, fs: float, amplitude: float, rng: np.random.Generator, n_components: int = 3
) -> np.ndarray:
    """``signal`` plus baseline wander whose RMS is ``amplitude`` × the signal's std."""
    x = _check_signal(signal)
    return x + baseline_wander(x.size, fs, amplitude * np.std(x), rng, n_components)


@dataclass(frozen=True)
class Corruption:
    """One point of a robustness curve: ``kind`` at ``level``.

    ``kind`` is ``"clean"``, ``"awgn"`` (``level`` = SNR in dB) or ``"wander"``
    (``level`` = wander RMS relative to the signal std).
    """

    kind: str
    level: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("clean", "awgn", "wander"):
            raise ValueError(f"unknown corruption kind {self.kind!r}")

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return "clean"
        return f"{self.level:g} dB" if self.kind == "awgn" else f"wander x{self.level:g}"

    def apply(self, signal: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "clean":
            return _check_signal(signal)
        if self.kind == "awgn":
            return add_white_noise(signal, self.level, rng)
        return add_baseline_wander(signal, fs, self.level, rng)

    def rng_for(self, seed: int, position: int) -> np.random.Generator:
        """Generator for one record, independent of the order corruptions are run in."""
        kind_code = ("clean", "awgn", "wander").index(self.kind)
        return np.random.default_rng([seed, position, kind_code, int(round(self.level * 1000)) + 10**6])


def default_corruptions(
    snrs_db: Sequence[float] = DEFAULT_SNRS_DB, wander: Sequence[float] = DEFAULT_WANDER_AMPLITUDES
) -> list[Corruption]:
    return [Corruption("clean")] + [Corruption("awgn", s) for s in snrs_db] + [Corruption("wander", a) for a in wander]


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


def robustness_curve(
    model: Any,
    embedder: Any,
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
        signals: raw test recordings (1-D arrays at ``fs`` Hz).
        labels: ``(len(signals),)`` class index of each recording.
        featurize: turns recordings into windows' features exactly as the
            dataset was made (see :data:`Featurize`).
    """
    from dacl.evaluate import embed_checked, predict_proba4

    labels = np.asarray(labels)
    if len(signals) != labels.shape[0]:
        raise ValueError(f"{len(signals)} signals but {labels.shape[0]} labels")
    if len(signals) == 0:
        raise ValueError("no test signals to corrupt")
    corruptions = default_corruptions() if corruptions is None else list(corruptions)
    points, notes = [], []
    for c in corruptions:
        corrupted = [c.apply(x, fs, c.rng_for(seed, i)) for i, x in enumerate(signals)]
        feats, record_index = featurize(corrupted)
        z = embed_checked(embedder, np.asarray(feats, dtype=np.float32))
        records, probs = metrics.aggregate_by_record(predict_proba4(model, z), np.asarray(record_index))
        if records.size < len(signals):
            notes.append(f"{c.label}: {len(signals) - records.size} record(s) produced no window")
        est = metrics.score_records(labels[records], probs, n_boot=n_boot, seed=seed, metrics=ROBUSTNESS_METRICS)
        points.append(RobustnessPoint(c, est, int(records.size), records, labels[records], probs))
    return RobustnessCurve(method or embedder.name, points, seed, n_boot, notes)


def add_paired_differences(curve: RobustnessCurve, reference: RobustnessCurve) -> None:
    """Set each point's ``difference``: ``curve - reference`` with a paired bootstrap CI.

    The corruptions are seeded per record (:meth:`Corruption.rng_for`), so two methods
    scored on the same test records see the same corrupted signals; the bootstrap then
    resamples those records once for both, as :func:`dacl.metrics.paired_difference` does
    for the clean scores. A point left without the same records on both sides is skipped.
    """
    ref_points = {p.corruption.label: p for p in reference.points}
    for p in curve.points:
        q = ref_points.get(p.corruption.label)
        if q is None or p.records is None or q.records is None or p.y_true is None or p.probs is None:
            continue
        if q.probs is None or not np.array_equal(p.records, q.records):
            continue
        p.difference = metrics.paired_difference(p.y_true, p.probs, q.probs, n_boot=curve.n_boot, seed=curve.seed,
                                                 metrics=ROBUSTNESS_METRICS)
    curve.difference_to = reference.method


# -------------------------------------------------------------- CLI wiring


def dataset_featurizer(manifest: dict[str, Any], fs: float, num_threads: int | None = None) -> Featurize:
    """A :data:`Featurize` that reproduces the dataset's own featurisation.

    Rebuilds :class:`dacl.features.featurizer.PreprocessConfig` from the manifest's
    ``params`` and runs :func:`dacl.features.featurizer.process_chunk` — the very code
    that made the dataset (resampling, band-pass, windows, z-score, scattering,
    log scaling) — on recordings sampled at ``fs`` Hz.
    """
    from dataclasses import fields

    from dacl.corpus import Record
    from dacl.features.featurizer import PreprocessConfig, default_scatter, process_chunk, record_row

    params = manifest.get("params")
    if not isinstance(params, dict):
        raise ValueError("the dataset manifest has no preprocessing 'params'; cannot featurise like the dataset")
    known = {f.name for f in fields(PreprocessConfig)}
    config = PreprocessConfig(**{k: v for k, v in params.items() if k in known})
    scatter = default_scatter(config, num_threads)
    order = np.asarray(manifest["scattering"]["order"])

    def featurize(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        rows = [record_row(i, f"#{i}") for i in range(len(signals))]
        records = [Record(f"#{i}", np.asarray(x, dtype=np.float64), fs, None, "") for i, x in enumerate(signals)]
        chunk = process_chunk(rows, records, config, scatter, order, num_threads)
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
    result: Any,
    embedder: Any,
    features: FeatureSet,
    *,
    seed: int = 0,
    n_boot: int = 200,
    featurize: Featurize | None = None,
    read_signals: Callable[[Sequence[str]], tuple[list[np.ndarray], float]] | None = None,
    corpus: str | None = None,
) -> RobustnessCurve:
    """Robustness curve for an :class:`~dacl.evaluate.EvalResult` on its test records.

    By default re-reads the raw test recordings from the corpus recorded in
    the dataset manifest (or ``corpus``) and featurises them with
    :func:`dataset_featurizer`; both are injectable.
    """
    if read_signals is None:
        read_signals = _corpus_reader(corpus or manifest_corpus(features.manifest), features.manifest.get("inputs"))
    signals, fs = read_signals([str(r) for r in result.test_record_ids])
    if featurize is None:
        featurize = dataset_featurizer(features.manifest, fs)
    return robustness_curve(
        result.model, embedder, signals, result.test_labels, featurize,
        fs=fs, seed=seed, n_boot=n_boot, method=result.method,
    )


def _corpus_reader(
    path: str, expected_inputs: dict[str, str] | None = None
) -> Callable[[Sequence[str]], tuple[list[np.ndarray], float]]:
    def read(names: Sequence[str]) -> tuple[list[np.ndarray], float]:
        from dacl.corpus import open_corpus

        corpus = open_corpus(path, partial_labels=True)
        # The labels and record list must be the dataset's (a zip and its extracted
        # folder share these checksums; the zip's own checksum is not compared).
        if expected_inputs:
            differ = [k for k in ("reference_sha256", "records_sha256", "names_sha256")
                      if k in expected_inputs and k in corpus.fingerprint
                      and expected_inputs[k] != corpus.fingerprint[k]]
            if differ:
                raise ValueError(f"corpus {path} is not the one the dataset was made from ({', '.join(differ)} differ)")
        records = corpus.read_many(list(names), threads=2)
        bad = [r for r in records if isinstance(r, Exception)]
        if bad:
            raise ValueError(f"cannot re-read test records from {path}: {bad[0]}")
        rates = {r.fs for r in records}
        if len(rates) != 1:
            raise ValueError(f"test records have mixed sampling rates {sorted(rates)}")
        return [r.signal for r in records], rates.pop()

    return read
