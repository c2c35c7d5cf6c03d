"""Noise robustness: the clean-trained probe scored on corrupted test recordings.

The probe fitted by :func:`dacl.evaluate.evaluate` (on clean train windows) is
kept fixed; only the *test* recordings change. Each raw test signal is
corrupted, featurised exactly as the dataset was (same scattering and
segmentation parameters), embedded, and the records are scored as in the clean
evaluation. The corruptions, each at increasing strength (models and level
definitions in :mod:`dacl.corruptions`):

* ``awgn``: additive white Gaussian noise at a set SNR, the SNR measured per
  record against that record's clean signal power (variance: the DC offset of
  a recording is not signal);
* ``wander``: baseline wander, a sum of low-frequency sinusoids (0.1–0.5 Hz,
  the band of respiration and electrode motion; cf. the MIT-BIH Noise Stress
  Test, Moody et al. 1984) with an RMS set relative to the record's std;
* artefacts that are not white noise, for testing on noise a model never saw
  in training: mains interference at 50 and 60 Hz with harmonics
  (``powerline50``/``powerline60``), EMG-like bursts (``emg``),
  electrode-motion transients (``motion``), abrupt baseline steps (``steps``)
  and coloured noise (``pink``, ``brown``).

:data:`FAMILIES` groups the kinds for ``dacl evaluate --corruptions``; the
default is white noise and wander. Each record's noise is drawn from a
generator seeded by ``(seed, record position, corruption)``, so every method
sees the very same corrupted recordings; :func:`robustness_curves` featurises
each corruption once and scores every method on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dacl import metrics
from dacl.corruptions import (  # noqa: F401  (snr_db, signal_power, baseline_wander: re-exported)
    WANDER_BAND_HZ,
    add_baseline_steps,
    add_baseline_wander,
    add_coloured_noise,
    add_emg,
    add_motion,
    add_powerline,
    add_white_noise,
    baseline_wander,
    check_signal,
    signal_power,
    snr_db,
)
from dacl.dataset import FeatureSet
from dacl.metrics import Estimate

#: ``featurize(signals) -> (features (W, P, F), record_index (W,))``, with
#: ``record_index`` pointing into ``signals``.
Featurize = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]

# ---------------------------------------------------------------- corruptions
# The corruption models live in dacl.corruptions; this module names and levels them.

#: Every corruption kind, in a fixed order: a kind's position seeds its noise (see
#: :meth:`Corruption.rng_for`), so new kinds are only ever appended.
KINDS: tuple[str, ...] = ("clean", "awgn", "wander", "powerline50", "powerline60", "emg", "motion", "steps", "pink",
                          "brown")
#: Kinds whose level is an SNR in dB (the others: an amplitude relative to the signal std).
SNR_KINDS: frozenset[str] = frozenset({"awgn", "powerline50", "powerline60", "emg", "motion", "pink", "brown"})
#: What ``level`` means for each kind, as written into metrics.json.
DEFINITIONS: dict[str, str] = {
    "awgn": "white Gaussian noise; level = SNR dB, 10 log10(var(clean) / mean(noise^2)) per record",
    "wander": "sum of 3 sinusoids, 0.1-0.5 Hz; level = wander RMS / signal std",
    "powerline50": "50 Hz mains + harmonics below Nyquist, +-0.2 Hz grid offset, slow frequency wobble and "
                   "amplitude modulation; level = SNR dB",
    "powerline60": "as powerline50 at 60 Hz; level = SNR dB",
    "emg": "20-150 Hz band-limited Gaussian noise x random on/off burst envelope (exp. on 0.5 s / off 1.5 s); "
           "level = SNR dB over the whole record",
    "motion": "electrode-motion transients: N(0,1) jumps at Poisson times (0.2/s) with exponential recovery, "
              "tau 0.1-0.6 s; level = SNR dB",
    "steps": "abrupt baseline steps at Poisson times (0.1/s), piecewise constant; level = RMS step height / signal std",
    "pink": "1/f noise; level = SNR dB",
    "brown": "1/f^2 noise; level = SNR dB",
}
#: Corruption families for ``dacl evaluate --corruptions`` and the kinds each one runs.
FAMILIES: dict[str, tuple[str, ...]] = {
    "awgn": ("awgn",), "wander": ("wander",), "powerline": ("powerline50", "powerline60"), "emg": ("emg",),
    "motion": ("motion",), "steps": ("steps",), "coloured": ("pink", "brown"),
}
DEFAULT_FAMILIES: tuple[str, ...] = ("awgn", "wander")

DEFAULT_SNRS_DB: tuple[float, ...] = (24.0, 18.0, 12.0, 6.0, 0.0)
DEFAULT_WANDER_AMPLITUDES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
#: Levels of the corruptions that training never sees: chosen (scattering + LR on the val records of the dev
#: corpus only, results/proto/README.md) so that each kind takes the baseline from mild to severe damage.
DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "awgn": DEFAULT_SNRS_DB,
    "wander": DEFAULT_WANDER_AMPLITUDES,
    "powerline50": (18.0, 6.0, -6.0),
    "powerline60": (18.0, 6.0, -6.0),
    "emg": (12.0, 6.0, 0.0),
    "motion": (0.0, -6.0, -12.0),
    "steps": (2.0, 4.0, 8.0),
    "pink": (12.0, 6.0, 0.0),
    "brown": (0.0, -6.0, -12.0),
}
_LABEL_PREFIX = {"powerline50": "mains 50 Hz", "powerline60": "mains 60 Hz", "emg": "EMG", "motion": "motion",
                 "pink": "pink", "brown": "brown"}


@dataclass(frozen=True)
class Corruption:
    """One point of a robustness curve: ``kind`` (one of :data:`KINDS`) at ``level``.

    ``level`` is an SNR in dB for the kinds in :data:`SNR_KINDS` and an amplitude
    relative to the signal std for ``"wander"`` and ``"steps"``; see :data:`DEFINITIONS`.
    """

    kind: str
    level: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown corruption kind {self.kind!r}; known: {', '.join(KINDS)}")

    @property
    def label(self) -> str:
        if self.kind == "clean":
            return "clean"
        if self.kind == "awgn":
            return f"{self.level:g} dB"
        if self.kind in ("wander", "steps"):
            return f"{self.kind} x{self.level:g}"
        return f"{_LABEL_PREFIX[self.kind]} {self.level:g} dB"

    def apply(self, signal: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        kind, level = self.kind, self.level
        if kind == "clean":
            return check_signal(signal)
        if kind == "awgn":
            return add_white_noise(signal, level, rng)
        if kind == "wander":
            return add_baseline_wander(signal, fs, level, rng)
        if kind in ("powerline50", "powerline60"):
            return add_powerline(signal, fs, level, rng, mains_hz=50.0 if kind == "powerline50" else 60.0)
        if kind == "emg":
            return add_emg(signal, fs, level, rng)
        if kind == "motion":
            return add_motion(signal, fs, level, rng)
        if kind == "steps":
            return add_baseline_steps(signal, fs, level, rng)
        return add_coloured_noise(signal, fs, level, rng, alpha=1.0 if kind == "pink" else 2.0)

    def rng_for(self, seed: int, position: int) -> np.random.Generator:
        """Generator for one record, independent of the order corruptions are run in."""
        kind_code = KINDS.index(self.kind)
        return np.random.default_rng([seed, position, kind_code, int(round(self.level * 1000)) + 10**6])


def default_corruptions(
    snrs_db: Sequence[float] = DEFAULT_SNRS_DB, wander: Sequence[float] = DEFAULT_WANDER_AMPLITUDES
) -> list[Corruption]:
    return [Corruption("clean")] + [Corruption("awgn", s) for s in snrs_db] + [Corruption("wander", a) for a in wander]


def corruptions_for(families: Sequence[str] = DEFAULT_FAMILIES) -> list[Corruption]:
    """``clean`` plus every kind of the named :data:`FAMILIES` at its :data:`DEFAULT_LEVELS`.

    ``"all"`` names every family. The default families give :func:`default_corruptions`.
    """
    names = list(FAMILIES) if "all" in families else list(dict.fromkeys(families))
    unknown = [f for f in names if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown corruption family {unknown[0]!r}; choose from {', '.join(FAMILIES)} or all")
    return [Corruption("clean")] + [Corruption(kind, level) for family in names for kind in FAMILIES[family]
                                    for level in DEFAULT_LEVELS[kind]]


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
            "wander_definition": DEFINITIONS["wander"],
            "definitions": {k: DEFINITIONS[k] for k in dict.fromkeys(p.corruption.kind for p in self.points)
                            if k in DEFINITIONS},
            "points": [p.to_dict() for p in self.points],
            "notes": self.notes,
        }
        if self.difference_to is not None:
            d["difference_to"] = self.difference_to
        return d


ROBUSTNESS_METRICS = {k: metrics.METRICS[k] for k in ("auroc_af", "auroc_macro_ovr")}


#: One method to score: ``(fitted probe, frozen embedder, method name)``.
Probe = tuple[Any, Any, str]


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
    log: Callable[[str], None] | None = None,
) -> list[RobustnessCurve]:
    """AUROC (with CIs) of fixed probes as the test recordings are corrupted, one curve per probe.

    Each corruption is applied and featurised once and then scored by every probe, so all
    methods see the very same corrupted features (and the featuriser, the slow part, runs
    once per corruption rather than once per method).

    Args:
        probes: ``(model, embedder, method)``: a fitted probe (``EvalResult.model``) predicting
            on the embeddings of the frozen ``embedder`` it was fitted on.
        signals: raw test recordings (1-D arrays at ``fs`` Hz).
        labels: ``(len(signals),)`` class index of each recording.
        featurize: turns recordings into windows' features exactly as the
            dataset was made (see :data:`Featurize`).
        log: called with one line per corruption (its wall time), if given.
    """
    from dacl.evaluate import embed_checked, predict_proba4

    labels = np.asarray(labels)
    if len(signals) != labels.shape[0]:
        raise ValueError(f"{len(signals)} signals but {labels.shape[0]} labels")
    if len(signals) == 0:
        raise ValueError("no test signals to corrupt")
    corruptions = default_corruptions() if corruptions is None else list(corruptions)
    curves = [RobustnessCurve(method or embedder.name, [], seed, n_boot, []) for _, embedder, method in probes]
    for c in corruptions:
        t0 = time.perf_counter()
        corrupted = [c.apply(x, fs, c.rng_for(seed, i)) for i, x in enumerate(signals)]
        feats, record_index = featurize(corrupted)
        feats = np.asarray(feats, dtype=np.float32)
        t_feat = time.perf_counter() - t0
        for curve, (model, embedder, _) in zip(curves, probes):
            z = embed_checked(embedder, feats)
            records, probs = metrics.aggregate_by_record(predict_proba4(model, z), np.asarray(record_index))
            if records.size < len(signals):
                curve.notes.append(f"{c.label}: {len(signals) - records.size} record(s) produced no window")
            est = metrics.score_records(labels[records], probs, n_boot=n_boot, seed=seed, metrics=ROBUSTNESS_METRICS)
            curve.points.append(RobustnessPoint(c, est, int(records.size), records, labels[records], probs))
        if log is not None:
            log(f"  {c.label}: corrupted + featurised {len(signals)} records in {t_feat:.1f} s, "
                f"scored {len(probes)} method(s) in {time.perf_counter() - t0 - t_feat:.1f} s")
    return curves


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
    """The curve of one probe (see :func:`robustness_curves`)."""
    return robustness_curves([(model, embedder, method or embedder.name)], signals, labels, featurize, fs=fs,
                             corruptions=corruptions, seed=seed, n_boot=n_boot)[0]


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


def dataset_chunk_featurizer(manifest: dict[str, Any], fs: float, num_threads: int | None = None) -> Callable[
        [list[np.ndarray]], Any]:
    """``featurize(signals) -> dacl.preprocess.ChunkResult``: the dataset's own featurisation.

    Rebuilds :class:`dacl.preprocess.PreprocessConfig` from the manifest's
    ``params`` and runs :func:`dacl.preprocess.process_chunk` — the very code
    that made the dataset (resampling, band-pass, windows, z-score, scattering,
    log scaling) — on recordings sampled at ``fs`` Hz. The result's
    ``record_index`` points into ``signals``; ``starts`` are the windows' first samples.
    """
    from dataclasses import fields

    from dacl.corpus import Record
    from dacl.preprocess import PreprocessConfig, default_scatter, process_chunk, record_row

    params = manifest.get("params")
    if not isinstance(params, dict):
        raise ValueError("the dataset manifest has no preprocessing 'params'; cannot featurise like the dataset")
    known = {f.name for f in fields(PreprocessConfig)}
    config = PreprocessConfig(**{k: v for k, v in params.items() if k in known})
    scatter = default_scatter(config, num_threads)
    order = np.asarray(manifest["scattering"]["order"])

    def featurize(signals: list[np.ndarray]) -> Any:
        rows = [record_row(i, f"#{i}") for i in range(len(signals))]
        records = [Record(f"#{i}", np.asarray(x, dtype=np.float64), fs, None, "") for i, x in enumerate(signals)]
        return process_chunk(rows, records, config, scatter, order, num_threads)

    return featurize


def dataset_featurizer(manifest: dict[str, Any], fs: float, num_threads: int | None = None) -> Featurize:
    """A :data:`Featurize` that reproduces the dataset's own featurisation (:func:`dataset_chunk_featurizer`)."""
    featurize_chunk = dataset_chunk_featurizer(manifest, fs, num_threads)

    def featurize(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        chunk = featurize_chunk(signals)
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


def curves_for_results(
    results: Sequence[Any],
    embedders: Sequence[Any],
    features: FeatureSet,
    *,
    seed: int = 0,
    n_boot: int = 200,
    corruptions: Sequence[Corruption] | None = None,
    featurize: Featurize | None = None,
    read_signals: Callable[[Sequence[str]], tuple[list[np.ndarray], float]] | None = None,
    corpus: str | None = None,
    log: Callable[[str], None] | None = None,
) -> list[RobustnessCurve]:
    """Robustness curves for :class:`~dacl.evaluate.EvalResult` s scored on the same test records.

    By default re-reads the raw test recordings (once) from the corpus recorded in
    the dataset manifest (or ``corpus``) and featurises them with
    :func:`dataset_featurizer`; both are injectable.
    """
    if not results:
        return []
    first = results[0]
    for r in results[1:]:
        if not np.array_equal(r.test_record_ids, first.test_record_ids):
            raise ValueError(f"{r.method} and {first.method} were not scored on the same test records")
    if read_signals is None:
        read_signals = corpus_reader(corpus or manifest_corpus(features.manifest), features.manifest.get("inputs"))
    signals, fs = read_signals([str(r) for r in first.test_record_ids])
    if featurize is None:
        featurize = dataset_featurizer(features.manifest, fs)
    probes = [(r.model, emb, r.method) for r, emb in zip(results, embedders)]
    return robustness_curves(probes, signals, first.test_labels, featurize, fs=fs, corruptions=corruptions,
                             seed=seed, n_boot=n_boot, log=log)


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
    corruptions: Sequence[Corruption] | None = None,
) -> RobustnessCurve:
    """The robustness curve of one result (see :func:`curves_for_results`)."""
    return curves_for_results([result], [embedder], features, seed=seed, n_boot=n_boot, corruptions=corruptions,
                              featurize=featurize, read_signals=read_signals, corpus=corpus)[0]


def corpus_reader(
    path: str, expected_inputs: dict[str, str] | None = None
) -> Callable[[Sequence[str]], tuple[list[np.ndarray], float]]:
    """``read(names) -> (signals, fs)`` from the corpus at ``path``, refused unless it is the dataset's."""
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
            raise ValueError(f"cannot re-read records from {path}: {bad[0]}")
        rates = {r.fs for r in records}
        if len(rates) != 1:
            raise ValueError(f"test records have mixed sampling rates {sorted(rates)}")
        return [r.signal for r in records], rates.pop()

    return read


_corpus_reader = corpus_reader  # the name the tests knew
