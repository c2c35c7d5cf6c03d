"""Signal-space views: the diffusion forward process applied to the ECG itself, featurised as the dataset was.

A view of a window ``x0`` is ::

    x_t = sqrt(abar) x0 + sqrt(1 - abar) eps,    eps ~ N(0, I),

white noise at ``SNR = 10 log10(abar / (1 - abar))`` dB against the signal's
variance (plus a rescaling that the featuriser's per-window z-score removes).
The noisy signal then goes through the dataset's own featuriser
(:mod:`dacl.features.refeaturize`: the Rust segment + scattering path of
``dacl preprocess``; no second copy), so a view's windows are in the dataset's
feature space and map one to one onto the clean windows (same record, same
starts: checked).

Where the noise goes (``placement``):

* ``"record"``: ``x0`` is each lead of the raw record, z-scored over the record;
  the noisy record then goes through resampling, the band-pass, windowing and the
  per-window z-score — the path on which ``dacl evaluate --robustness`` adds its
  test noise, so training views and test noise share one SNR definition. One
  noise level per record and view.
* ``"window"``: ``x0`` is each segmented, band-passed, z-scored window; the noise
  is added after the band-pass, so it keeps power above the pass band, which test
  noise does not. One noise level per window and view.

How the level is drawn (:class:`NoiseLevels`): ``"diffusion"``, ``t ~ U{1..t_max}``
on a :class:`dacl._native.NoiseSchedule` and ``abar = abar_t``; or ``"snr"``,
``SNR ~ U(low, high)`` dB and ``abar = 1 / (1 + 10**(-SNR/10))``.

Randomness is counter-based, so a view is a pure function of ``(seed, view,
record or window)`` whatever the thread count, the chunking or the order records
are visited in: the Rust core noises the signal (:func:`dacl._native.forward_noise`,
:meth:`~dacl._native.NoiseSchedule.q_sample`'s formula and Philox noise at a level
per row) with the key of ``(seed, view)`` and a stream position fixed by the
record's dataset row (record placement) or the window's dataset index (window
placement); the levels are one draw per dataset row or window from a generator
keyed by ``(seed, view)``.

:class:`SignalViews` makes views of the windows of chosen records;
:class:`ViewBank` keeps ``B`` of them per window, made once per seed, so that
training draws ``K`` per epoch instead of featurising new ones every epoch;
:func:`noise_augmented` adds noisy copies of a split's windows to a
:class:`~dacl.features.FeatureSet` (the noise-augmented probe's training data).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dacl.corpus import Record
from dacl.features import FeatureSet
from dacl.features.featurizer import ChunkResult, default_scatter, scatter_windows, segment_records
from dacl.features.refeaturize import (
    ReadSignals,
    corpus_reader,
    dataset_chunk_featurizer,
    dataset_config,
    dataset_leads,
    manifest_corpus,
)
from dacl.io.atomic import atomic_output
from dacl.views.config import LEVEL_KINDS, PLACEMENTS

#: Philox stream positions reserved per record (records are far shorter than 2**40 samples).
RECORD_STRIDE = 1 << 40
_NOISE, _LEVEL = 0, 1  # sub-stream tags of a view's key
#: Part of a cached bank's key: bump it when the way views are made changes.
BANK_FORMAT = 1


def view_key(seed: int, view: int, tag: int) -> int:
    """The 64-bit key of one view's noise (``tag`` 0) or levels (``tag`` 1): no thread or order dependence."""
    return int(np.random.SeedSequence([seed, view, tag, 0x5157]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class NoiseLevels:
    """How a view's noise level ``abar`` is drawn (see the module docstring)."""

    kind: str = "diffusion"
    schedule: str = "linear"
    timesteps: int = 1000
    t_max: int = 259  # linear schedule: abar_259 ~ 0.5, i.e. 0 dB
    snr_low: float = 0.0
    snr_high: float = 24.0

    def __post_init__(self) -> None:
        if self.kind not in LEVEL_KINDS:
            raise ValueError(f"noise levels must be one of {LEVEL_KINDS}, got {self.kind!r}")
        if self.kind == "diffusion" and not 1 <= self.t_max <= self.timesteps:
            raise ValueError(f"t_max must be in [1, timesteps={self.timesteps}], got {self.t_max}")
        if self.kind == "snr" and not (
            math.isfinite(self.snr_low) and math.isfinite(self.snr_high) and self.snr_low <= self.snr_high
        ):
            raise ValueError(f"the SNR range must be finite with low <= high, got ({self.snr_low}, {self.snr_high})")

    def alphas_cumprod(self) -> np.ndarray:
        from dacl._native import NoiseSchedule

        return np.asarray(NoiseSchedule(self.schedule, self.timesteps).alphas_cumprod)  # type: ignore[arg-type]

    def draw(self, n: int, key: int) -> np.ndarray:
        """``(n,)`` levels ``abar``, entry ``i`` for the record or window of dataset index ``i``."""
        rng = np.random.default_rng(key)
        if self.kind == "snr":
            snr = rng.uniform(self.snr_low, self.snr_high, size=n)
            return 1.0 / (1.0 + 10.0 ** (-snr / 10.0))
        t = rng.integers(1, self.t_max + 1, size=n)
        return self.alphas_cumprod()[t - 1]

    def snr_db_range(self) -> tuple[float, float]:
        """The SNR (dB) of the cleanest and of the noisiest level that can be drawn."""
        if self.kind == "snr":
            return self.snr_high, self.snr_low
        a = self.alphas_cumprod()[[0, self.t_max - 1]]
        high, low = 10 * np.log10(a / (1 - a))
        return float(high), float(low)


def noised(x0: np.ndarray, abar: float, key: int, offset: int, num_threads: int | None = None) -> np.ndarray:
    """The ``(L, n)`` float64 leads ``x0`` forward-noised at level ``abar`` by the Rust core (q_sample's noise:
    Philox stream ``key`` from position ``offset``, one flat index per sample)."""
    from dacl._native import forward_noise

    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    return forward_noise(x0, np.full(len(x0), abar), key, offset, num_threads=num_threads)[0]


def zscore_leads(x: np.ndarray) -> np.ndarray:
    """Each lead (row) of ``x`` minus its mean over its std (a flat lead stays zero)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    centred = x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    return np.divide(centred, std, out=centred.copy(), where=std > 0)


@dataclass
class ViewTiming:
    """Where the time of making views went (wall seconds); ``featurise`` is the Rust segment + scattering."""

    read: float = 0.0
    noise: float = 0.0
    featurise: float = 0.0
    reduce: float = 0.0
    windows: int = 0


class SignalViews:
    """Noisy featurised views of the windows of chosen records of a :class:`FeatureSet`.

    Args:
        features: the dataset (its manifest names the featurisation and the corpus).
        rows: dataset record rows to make views of (records without windows are skipped).
        levels: how noise levels are drawn.
        placement: ``"record"`` or ``"window"`` (module docstring).
        seed: the views' seed (a training run's ``train.seed``).
        corpus: the raw corpus (default: the one the manifest names; checked against the dataset's inputs).
        read_signals: ``names -> (signals, fs)``, replacing the corpus reader.
        num_threads: Rust threads of the featuriser (the views do not depend on it).
        chunk_records: records featurised per call (bounds memory).

    :attr:`windows` are the dataset windows covered, in dataset order; every view comes back as
    ``(len(windows), L, P, F)`` (or reduced) in that order.
    """

    def __init__(
        self,
        features: FeatureSet,
        rows: Sequence[int] | np.ndarray,
        levels: NoiseLevels,
        *,
        placement: str = "record",
        seed: int = 0,
        corpus: str | None = None,
        read_signals: ReadSignals | None = None,
        num_threads: int | None = 1,
        chunk_records: int = 256,
    ) -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
        if chunk_records < 1:
            raise ValueError(f"chunk_records must be >= 1, got {chunk_records}")
        self.features, self.levels, self.placement, self.seed = features, levels, placement, int(seed)
        self.num_threads, self.chunk_records = num_threads, chunk_records
        record_index = np.asarray(features.record_index)
        has_windows = np.zeros(len(features.record_ids), dtype=bool)
        has_windows[record_index] = True
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if rows.size and (rows[0] < 0 or rows[-1] >= len(features.record_ids)):
            raise ValueError(f"record rows must lie in [0, {len(features.record_ids)})")
        self.rows = rows[has_windows[rows]]
        self.windows = np.flatnonzero(np.isin(record_index, self.rows))
        # Each record's windows in time order, as the featuriser emits them.
        order = np.lexsort((np.asarray(features.starts)[self.windows], record_index[self.windows]))
        self._by_time = self.windows[order]
        bounds = np.searchsorted(record_index[self._by_time], self.rows, side="left")
        self._bounds = np.append(bounds, self._by_time.size)
        if read_signals is None:
            read_signals = corpus_reader(
                corpus or manifest_corpus(features.manifest), features.manifest.get("inputs"), features.manifest
            )
        self._read = read_signals
        self._signals: list[np.ndarray] | None = None
        self.fs: float | None = None
        self.timing = ViewTiming()

    def signals(self) -> list[np.ndarray]:
        """The raw recordings of :attr:`rows`, ``(L, n)`` each (read once)."""
        if self._signals is None:
            t0 = time.perf_counter()
            signals, self.fs = self._read([str(self.features.record_ids[r]) for r in self.rows])
            self._signals = [np.atleast_2d(np.asarray(x, dtype=np.float64)) for x in signals]
            self.timing.read += time.perf_counter() - t0
        return self._signals

    def views(self, views: Sequence[int], reduce: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """``(len(views), W, ...)``: views number ``views`` of every window, featurised chunk by chunk.

        ``reduce`` maps a chunk's ``(w, L, P, F)`` features to ``(w, d)`` rows (e.g. the contextualisation)
        so that only the reduced views are kept in memory.
        """
        signals = self.signals()
        assert self.fs is not None  # set by signals()
        featurize = dataset_chunk_featurizer(self.features.manifest, self.fs, self.num_threads)
        out: np.ndarray | None = None
        for lo in range(0, len(self.rows), self.chunk_records):
            chunk = range(lo, min(lo + self.chunk_records, len(self.rows)))
            for k, v in enumerate(views):
                if self.placement == "record":
                    result = self._record_placement(signals, chunk, v, featurize)
                else:
                    result = self._window_placement(signals, chunk, v)
                positions = self._check_windows(result, chunk)
                t0 = time.perf_counter()
                reduced = reduce(result.features) if reduce is not None else result.features
                self.timing.reduce += time.perf_counter() - t0
                if out is None:
                    out = np.empty((len(views), len(self.windows), *reduced.shape[1:]), dtype=np.float32)
                out[k, positions] = reduced
        if out is None:
            raise ValueError("no windows to make views of (no record of the selection has windows)")
        return out

    def _check_windows(self, result: ChunkResult, chunk: range) -> np.ndarray:
        """Where the chunk's view windows go in :attr:`windows`, after checking they are the clean windows 1:1."""
        bad = next((row for row in result.rows if row["status"] != "ok"), None)
        if bad is not None:
            name = self.features.record_ids[self.rows[chunk.start + int(bad["row"])]]
            raise ValueError(f"record {name}: its noisy view could not be featurised ({bad['error']})")
        expected = self._by_time[self._bounds[chunk.start] : self._bounds[chunk.stop]]
        expected_index = np.repeat(np.arange(len(chunk)), np.diff(self._bounds[chunk.start : chunk.stop + 1]))
        expected_starts = np.asarray(self.features.starts)[expected]
        if not (np.array_equal(result.record_index, expected_index) and np.array_equal(result.starts, expected_starts)):
            first = next(
                (
                    i
                    for i in range(len(chunk))
                    if not np.array_equal(result.starts[result.record_index == i], expected_starts[expected_index == i])
                ),
                0,
            )
            name = self.features.record_ids[self.rows[chunk.start + first]]
            raise ValueError(
                f"record {name}: the noisy view's windows do not match the dataset's "
                "(another corpus or featuriser than the dataset's?)"
            )
        self.timing.windows += len(expected)
        return np.searchsorted(self.windows, expected)

    def _record_placement(
        self, signals: list[np.ndarray], chunk: range, view: int, featurize: Callable[[list[np.ndarray]], ChunkResult]
    ) -> ChunkResult:
        t0 = time.perf_counter()
        abar = self.levels.draw(len(self.features.record_ids), view_key(self.seed, view, _LEVEL))
        key = view_key(self.seed, view, _NOISE)
        noisy = []
        for i in chunk:
            x0 = zscore_leads(signals[i])
            row = int(self.rows[i])
            noisy.append(noised(x0, abar[row], key, row * RECORD_STRIDE, self.num_threads))
        t1 = time.perf_counter()
        result = featurize(noisy)
        self.timing.noise += t1 - t0
        self.timing.featurise += time.perf_counter() - t1
        return result

    def _window_placement(self, signals: list[np.ndarray], chunk: range, view: int) -> ChunkResult:
        from dacl.features.featurizer import record_row

        t0 = time.perf_counter()
        assert self.fs is not None
        manifest = self.features.manifest
        config, leads = dataset_config(manifest), dataset_leads(manifest)
        records = [Record(f"#{k}", signals[i], leads, self.fs, (), "") for k, i in enumerate(chunk)]
        windows, local_index, starts = segment_records(records, config, self.num_threads)
        n_leads, width = len(leads), windows.shape[1]
        # Each window's dataset index (the one 1:1 check follows in views()); unknown windows keep -1.
        lookup = {
            (int(r), int(s)): int(w)
            for w, r, s in zip(
                self.windows,
                np.asarray(self.features.record_index)[self.windows],
                np.asarray(self.features.starts)[self.windows],
                strict=True,
            )
        }
        global_index = np.array(
            [
                lookup.get((int(self.rows[chunk.start + k]), int(s)), -1)
                for k, s in zip(local_index, starts, strict=True)
            ],
            dtype=np.int64,
        )
        abar = self.levels.draw(len(self.features.record_index), view_key(self.seed, view, _LEVEL))
        key = view_key(self.seed, view, _NOISE)
        noisy = windows.astype(np.float64).reshape(len(starts), n_leads, width)
        for j, g in enumerate(global_index):
            if g >= 0:
                noisy[j] = noised(noisy[j], abar[g], key, g * n_leads * width, self.num_threads)
        t1 = time.perf_counter()
        scatter = default_scatter(config, self.num_threads)
        order = np.asarray(manifest["scattering"]["order"])
        rows = np.asarray([chunk.start + k for k in range(len(chunk))], dtype=np.int64)
        pieces = [(noisy.reshape(-1, width).astype(np.float32), rows[local_index] - chunk.start, starts)]
        feats, index, out_starts = scatter_windows(pieces, n_leads, config, scatter, order, 512)
        self.timing.noise += t1 - t0
        self.timing.featurise += time.perf_counter() - t1
        return ChunkResult(feats, index, out_starts, [record_row(k, f"#{k}") for k in range(len(chunk))])

    def describe(self) -> dict[str, Any]:
        """The parameters that decide the views (for provenance)."""
        return {"levels": dataclasses.asdict(self.levels), "placement": self.placement, "seed": self.seed}


@dataclass
class ViewBank:
    """``B`` reduced views of every window of a :class:`SignalViews` selection, made once.

    ``vectors[b, i]`` is view ``b`` of window ``windows[i]`` (a dataset window index).
    """

    vectors: np.ndarray  # (B, W, d) float32
    windows: np.ndarray  # (W,) int64
    build_seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

    @classmethod
    def build(
        cls,
        views: SignalViews,
        size: int,
        reduce: Callable[[np.ndarray], np.ndarray],
        first_view: int = 0,
        cache: str | os.PathLike[str] | None = None,
        reduce_tag: str = "",
    ) -> ViewBank:
        """Views ``first_view .. first_view + size - 1`` of every window, reduced.

        With ``cache`` (a folder) the bank is read from, or written to, a file named by a hash of everything
        that decides it: the views' parameters, the windows, the dataset's featurisation and inputs, and
        ``reduce_tag``, which must name ``reduce`` (e.g. a hash of the contextualisation and standardiser).
        """
        if size < 1:
            raise ValueError(f"a view bank needs size >= 1, got {size}")
        path = None
        if cache:
            key = {
                "format": BANK_FORMAT,
                "views": views.describe(),
                "size": size,
                "first_view": first_view,
                "reduce": reduce_tag,
                "windows": hashlib.sha256(views.windows.tobytes()).hexdigest(),
                "dataset": {k: views.features.manifest.get(k) for k in ("params", "inputs", "leads")},
            }
            digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
            path = Path(cache) / f"bank-{digest}.npy"
            if path.is_file():
                vectors = np.load(path, allow_pickle=False)  # a cache file is data only: never unpickled
                if vectors.shape[:2] == (size, len(views.windows)) and vectors.dtype == np.float32:
                    return cls(vectors, views.windows, 0.0, {"cached": 1.0})
        t0 = time.perf_counter()
        vectors = views.views(range(first_view, first_view + size), reduce)
        if path is not None:
            with atomic_output(path) as f:
                np.save(f, vectors, allow_pickle=False)
        return cls(vectors, views.windows, time.perf_counter() - t0, dataclasses.asdict(views.timing))

    def draw(self, n_draw: int, epoch: int, seed: int, tag: int = 0) -> np.ndarray:
        """``(W, n_draw)`` bank indices for ``epoch``: distinct per window, uniform, seeded by (seed, epoch, tag)."""
        if not 1 <= n_draw <= self.size:
            raise ValueError(f"cannot draw {n_draw} distinct views from a bank of {self.size}")
        rng = np.random.default_rng([seed, epoch, tag, 0xBA4C])
        return np.argsort(rng.random((len(self.windows), self.size)), axis=1)[:, :n_draw]


def noise_augmented(
    features: FeatureSet,
    levels: NoiseLevels,
    *,
    seed: int = 0,
    copies: int = 1,
    split: str = "train",
    placement: str = "record",
    corpus: str | None = None,
    read_signals: ReadSignals | None = None,
    num_threads: int | None = 1,
) -> FeatureSet:
    """``features`` plus ``copies`` noisy copies of every window of the ``split`` records.

    A copy is a :class:`SignalViews` view (views ``0 .. copies-1``) and belongs to the record of its clean
    window: same record row, start and window labels, so a probe that groups windows by record keeps a
    record's copies together. Other splits are left as they are.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    rows = np.flatnonzero(np.asarray(features.record_split) == split)
    views = SignalViews(
        features,
        rows,
        levels,
        placement=placement,
        seed=seed,
        corpus=corpus,
        read_signals=read_signals,
        num_threads=num_threads,
    )
    noisy = views.views(range(copies))  # (copies, W, L, P, F)
    source = np.tile(views.windows, copies)
    extra: dict[str, Any] = {
        "features": np.concatenate([np.asarray(features.features), noisy.reshape(-1, *noisy.shape[2:])]),
        "record_index": np.concatenate([features.record_index, np.asarray(features.record_index)[source]]),
        "starts": np.concatenate([features.starts, np.asarray(features.starts)[source]]),
    }
    if features.window_labels is not None:
        extra["window_labels"] = np.concatenate([features.window_labels, np.asarray(features.window_labels)[source]])
    return dataclasses.replace(features, **extra)
