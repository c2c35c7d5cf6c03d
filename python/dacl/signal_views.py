"""Signal-space noisy views of a dataset's windows, featurised exactly as the dataset was.

A *view* of a recording is the diffusion forward process applied to the signal
itself rather than to a latent::

    x_view = sqrt(abar) x0 + sqrt(1 - abar) eps,    eps ~ N(0, I),

i.e. white noise at ``SNR = 10 log10(abar / (1 - abar))`` dB against the
signal's variance (then a rescaling, which the per-window z-score of the
featuriser removes). The view is then featurised by the dataset's own
featuriser (:func:`dacl.robustness.dataset_chunk_featurizer`: the Rust
segment + scattering path that made the dataset and that the robustness test
uses), so a view's windows are in the dataset's feature space and map 1:1 onto
the clean windows (same record, same starts; checked).

Where the noise goes (``placement``):

* ``"record"`` (default): ``x0`` is the raw recording, z-scored over the whole
  record; the noisy recording then goes through resampling, the 0.5–40 Hz
  band-pass, windowing and the per-window z-score. This is how the robustness
  test corrupts recordings, so training views and test noise share one SNR
  definition and one path through the band-pass. One noise level per record and view.
* ``"window"``: ``x0`` is each segmented, band-passed, z-scored window (the
  issue's wording); the noise is added after the band-pass, so it keeps its
  power above 40 Hz, which test noise does not. One noise level per window and view.

How the level is drawn (:class:`NoiseLevels`): ``"diffusion"``, ``t ~ U{1..t_max}``
on a :class:`dacl._native.NoiseSchedule` and ``abar = abar_t``; or ``"snr"``,
``SNR ~ U(low, high)`` dB and ``abar = 1 / (1 + 10**(-SNR/10))``.

Randomness comes from the Rust counter-based generator (Philox4x32-10,
:func:`dacl._native.standard_normal` with a seed and a stream offset): view
``v`` of the record in dataset row ``r`` uses the seed derived from
``(seed, v)`` and the offset ``r * 2**40`` (plus ``j * window`` for window
``j`` in window placement), so every view is a pure function of
``(seed, v, record)``, whatever the thread count, the chunking or the order in
which records are visited. The ``abar`` of the diffusion levels and the
formula are those of :meth:`dacl._native.NoiseSchedule.q_sample` (tested equal).

:class:`SignalViews` makes views; :class:`ViewBank` keeps ``B`` of them per
window (precomputed once per seed) so that training can draw ``K`` per epoch
instead of featurising fresh ones every epoch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dacl.dataset import FeatureSet

PLACEMENTS: tuple[str, ...] = ("record", "window")
LEVEL_KINDS: tuple[str, ...] = ("diffusion", "snr")
#: Stream positions reserved per record (records are far shorter than 2**40 samples).
RECORD_STRIDE = 1 << 40
_NOISE, _LEVEL = 0, 1  # sub-stream tags
#: Part of a cached bank's key: bump it when the way views are made changes.
BANK_FORMAT = 1


def _seed_for(seed: int, view: int, tag: int) -> int:
    """A 64-bit Philox key for ``(seed, view, tag)`` (numpy's SeedSequence hashing: no thread or order dependence)."""
    return int(np.random.SeedSequence([seed, view, tag, 0x5157]).generate_state(1, np.uint64)[0])


def uniforms(n: int, seed: int, offset: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) from the Rust Philox stream: ``Phi(z)`` of standard normals ``z``."""
    from dacl._native import standard_normal

    z = standard_normal(n, seed, offset)
    return np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in z], dtype=np.float64)


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
        if self.kind == "snr" and not (math.isfinite(self.snr_low) and math.isfinite(self.snr_high)
                                       and self.snr_low <= self.snr_high):
            raise ValueError(f"snr range must be finite with low <= high, got ({self.snr_low}, {self.snr_high})")

    def abar(self, u: np.ndarray) -> np.ndarray:
        """``abar`` for uniforms ``u`` in (0, 1)."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "snr":
            snr = self.snr_low + u * (self.snr_high - self.snr_low)
            return 1.0 / (1.0 + 10.0 ** (-snr / 10.0))
        t = self.timesteps_for(u)
        return self.alphas_cumprod()[t - 1]

    def timesteps_for(self, u: np.ndarray) -> np.ndarray:
        """``t ~ U{1..t_max}`` from uniforms (diffusion levels only)."""
        return np.clip(1 + np.floor(np.asarray(u) * self.t_max).astype(np.int64), 1, self.t_max)

    def alphas_cumprod(self) -> np.ndarray:
        from dacl._native import NoiseSchedule

        return np.asarray(NoiseSchedule(self.schedule, self.timesteps).alphas_cumprod)  # type: ignore[arg-type]

    def snr_db_range(self) -> tuple[float, float]:
        """The SNR (dB) of the cleanest and the noisiest level that can be drawn."""
        if self.kind == "snr":
            return self.snr_high, self.snr_low
        a = self.alphas_cumprod()[[0, self.t_max - 1]]
        return tuple(float(v) for v in 10 * np.log10(a / (1 - a)))  # type: ignore[return-value]


def forward_noise(x0: np.ndarray, abar: float | np.ndarray, eps: np.ndarray) -> np.ndarray:
    """``sqrt(abar) x0 + sqrt(1 - abar) eps`` in float64 (``NoiseSchedule.q_sample``'s formula)."""
    a = np.asarray(abar, dtype=np.float64)
    return np.sqrt(a) * np.asarray(x0, np.float64) + np.sqrt(1.0 - a) * np.asarray(eps, np.float64)


def zscore_record(x: np.ndarray) -> np.ndarray:
    """The record minus its mean over its std (a flat record stays zero)."""
    x = np.asarray(x, dtype=np.float64)
    std = x.std()
    return (x - x.mean()) / std if std > 0 else x - x.mean()


# ------------------------------------------------------------------ views


@dataclass
class ViewTiming:
    """Where the time of making views went (wall seconds)."""

    read: float = 0.0
    noise: float = 0.0
    featurise: float = 0.0
    reduce: float = 0.0
    windows: int = 0

    def total(self) -> float:
        return self.read + self.noise + self.featurise + self.reduce


class SignalViews:
    """Noisy featurised views of the windows of chosen records of a :class:`FeatureSet`.

    Args:
        features: the dataset (its manifest names the featurisation and the corpus).
        rows: dataset record rows to make views of (records without windows are skipped).
        levels: how noise levels are drawn.
        placement: ``"record"`` or ``"window"`` (module docstring).
        seed: the views' seed (a training run's ``train.seed``).
        read_signals: ``names -> (signals, fs)``; default: the corpus the manifest names (or ``corpus``),
            checked against the dataset's input checksums.
        num_threads: Rust threads of the featuriser (the views do not depend on it).
        chunk_records: records featurised per call (bounds memory).

    :attr:`windows` are the dataset windows covered, in dataset order; every view comes back
    as ``(len(windows), P, F)`` (or reduced) in that order.
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
        read_signals: Callable[[Sequence[str]], tuple[list[np.ndarray], float]] | None = None,
        num_threads: int | None = 1,
        chunk_records: int = 256,
    ) -> None:
        from dacl import robustness

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
        self._windows_by_time = self.windows[order]
        self._bounds = np.searchsorted(record_index[self._windows_by_time], self.rows, side="left")
        self._bounds = np.append(self._bounds, self._windows_by_time.size)
        if read_signals is None:
            path = corpus or robustness.manifest_corpus(features.manifest)
            read_signals = robustness.corpus_reader(path, features.manifest.get("inputs"))
        self._read = read_signals
        self._signals: list[np.ndarray] | None = None
        self.fs: float | None = None
        self.timing = ViewTiming()

    # ---- inputs
    def signals(self) -> list[np.ndarray]:
        """The raw recordings of :attr:`rows` (read once)."""
        if self._signals is None:
            t0 = time.perf_counter()
            names = [str(self.features.record_ids[r]) for r in self.rows]
            self._signals, self.fs = self._read(names)
            self.timing.read += time.perf_counter() - t0
        return self._signals

    def _featurizer(self) -> Callable[[list[np.ndarray]], Any]:
        from dacl.robustness import dataset_chunk_featurizer

        self.signals()
        assert self.fs is not None
        return dataset_chunk_featurizer(self.features.manifest, self.fs, self.num_threads)

    # ---- levels
    def record_abar(self, view: int) -> np.ndarray:
        """``(len(rows),)`` abar of each record in ``view`` (record placement)."""
        seed = _seed_for(self.seed, view, _LEVEL)
        u = np.array([uniforms(1, seed, int(r))[0] for r in self.rows])
        return self.levels.abar(u)

    # ---- views
    def view(self, view: int, reduce: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """View number ``view`` of every window in :attr:`windows`: ``(W, P, F)``, or ``reduce`` of it."""
        return self.views([view], reduce)[0]

    def views(self, views: Sequence[int], reduce: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """``(len(views), W, ...)``: several views, featurised chunk by chunk (records read once).

        ``reduce`` maps a chunk's ``(w, P, F)`` features to ``(w, d)`` rows (e.g. the
        contextualisation) so that only the reduced views are kept in memory.
        """
        signals = self.signals()
        featurize = self._featurizer()
        out: np.ndarray | None = None
        for lo in range(0, len(self.rows), self.chunk_records):
            chunk = range(lo, min(lo + self.chunk_records, len(self.rows)))
            for k, v in enumerate(views):
                feats, positions = self._chunk_view(signals, chunk, v, featurize)
                t0 = time.perf_counter()
                rows_out = reduce(feats) if reduce is not None else feats
                self.timing.reduce += time.perf_counter() - t0
                if out is None:
                    out = np.empty((len(views), len(self.windows), *rows_out.shape[1:]), dtype=np.float32)
                out[k, positions] = rows_out
        if out is None:
            raise ValueError("no windows to make views of (no record of the selection has windows)")
        return out

    def _chunk_view(
        self, signals: list[np.ndarray], chunk: range, view: int, featurize: Callable[[list[np.ndarray]], Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features of view ``view`` of the records ``chunk`` (positions into ``self.rows``) and where they go."""
        expected = np.concatenate([self._windows_by_time[self._bounds[i] : self._bounds[i + 1]] for i in chunk])
        if self.placement == "record":
            feats, local_index, starts = self._record_placement(signals, chunk, view, featurize)
        else:
            feats, local_index, starts = self._window_placement(signals, chunk, view)
        # The 1:1 map onto the clean windows: same records, same starts, same order.
        expected_index = np.repeat(np.arange(len(chunk)), np.diff(self._bounds[chunk.start : chunk.stop + 1]))
        expected_starts = np.asarray(self.features.starts)[expected]
        if not (np.array_equal(local_index, expected_index) and np.array_equal(starts, expected_starts)):
            bad = next((i for i in range(len(chunk)) if not np.array_equal(
                starts[local_index == i], expected_starts[expected_index == i])), 0)
            name = self.features.record_ids[self.rows[chunk.start + bad]]
            raise ValueError(f"record {name}: the noisy view's windows do not match the dataset's "
                             "(another corpus or featuriser than the dataset's?)")
        self.timing.windows += len(expected)
        return feats, np.searchsorted(self.windows, expected)

    def _record_placement(
        self, signals: list[np.ndarray], chunk: range, view: int, featurize: Callable[[list[np.ndarray]], Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from dacl._native import standard_normal

        t0 = time.perf_counter()
        abar = self.record_abar(view)[chunk.start : chunk.stop]
        seed = _seed_for(self.seed, view, _NOISE)
        noisy = []
        for a, i in zip(abar, chunk):
            x0 = zscore_record(signals[i])
            eps = standard_normal(x0.size, seed, int(self.rows[i]) * RECORD_STRIDE)
            noisy.append(forward_noise(x0, a, eps))
        t1 = time.perf_counter()
        result = featurize(noisy)
        self.timing.noise += t1 - t0
        self.timing.featurise += time.perf_counter() - t1
        if any(row["status"] != "ok" for row in result.rows):
            bad = next(row for row in result.rows if row["status"] != "ok")
            name = self.features.record_ids[self.rows[chunk.start + int(bad["row"])]]
            raise ValueError(f"record {name}: its noisy view could not be featurised ({bad['error']})")
        return result.features, result.record_index, result.starts

    def _window_placement(
        self, signals: list[np.ndarray], chunk: range, view: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from dataclasses import fields

        from dacl._native import standard_normal
        from dacl.corpus import Record
        from dacl.preprocess import PreprocessConfig, _segment, default_scatter, log_scale

        t0 = time.perf_counter()
        assert self.fs is not None  # set by signals()
        params = self.features.manifest["params"]
        config = PreprocessConfig(**{k: v for k, v in params.items() if k in {f.name for f in fields(PreprocessConfig)}})
        records = [Record(f"#{i}", np.asarray(signals[i], np.float64), self.fs, None, "") for i in chunk]
        windows, local_index, starts = _segment(records, config, self.num_threads)
        windows = windows.astype(np.float64)
        noise_seed, level_seed = _seed_for(self.seed, view, _NOISE), _seed_for(self.seed, view, _LEVEL)
        for k, i in enumerate(chunk):
            sel = np.flatnonzero(local_index == k)
            offset = int(self.rows[i]) * RECORD_STRIDE
            abar = self.levels.abar(uniforms(sel.size, level_seed, offset))
            eps = standard_normal((sel.size, windows.shape[1]), noise_seed, offset).reshape(sel.size, -1)
            windows[sel] = forward_noise(windows[sel], abar[:, None], eps)
        t1 = time.perf_counter()
        scatter = default_scatter(config, self.num_threads)
        feats = np.concatenate([scatter(np.ascontiguousarray(windows[j : j + 512], dtype=np.float32))
                                for j in range(0, len(windows), 512)]).astype(np.float32, copy=False)
        if config.log_scale:
            log_scale(feats, np.asarray(self.features.manifest["scattering"]["order"]), config.log_eps)
        order = np.lexsort((starts, local_index))
        self.timing.noise += t1 - t0
        self.timing.featurise += time.perf_counter() - t1
        return feats[order], local_index[order], starts[order]

    def describe(self) -> dict[str, Any]:
        """The parameters that decide the views (for provenance and cache keys)."""
        return {"levels": asdict(self.levels), "placement": self.placement, "seed": self.seed,
                "records_sha256": hashlib.sha256(",".join(str(self.features.record_ids[r]) for r in self.rows)
                                                 .encode()).hexdigest()}


# ------------------------------------------------------------------- bank


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
        *,
        first_view: int = 0,
        cache: str | os.PathLike[str] | None = None,
        cache_tag: str = "",
    ) -> ViewBank:
        """Views ``first_view .. first_view + size - 1``, reduced; read from / written to ``cache`` if given.

        ``cache_tag`` must name the ``reduce`` (it is part of the cache key).
        """
        if size < 1:
            raise ValueError(f"a view bank needs size >= 1, got {size}")
        path = None
        if cache:
            key = {"format": BANK_FORMAT, "views": views.describe(), "size": size, "first_view": first_view,
                   "reduce": cache_tag,
                   "dataset": {k: views.features.manifest.get(k) for k in ("params", "inputs")}}
            digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]
            path = Path(cache) / f"bank-{digest}.npy"
            if path.is_file():
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape[:2] == (size, len(views.windows)):
                    return cls(vectors, views.windows, 0.0, {"cached": 1.0})
        t0 = time.perf_counter()
        vectors = views.views(range(first_view, first_view + size), reduce)
        seconds = time.perf_counter() - t0
        if path is not None:
            from dacl.atomic import atomic_output

            with atomic_output(path) as f:
                np.save(f, vectors, allow_pickle=False)
        return cls(vectors, views.windows, seconds, asdict(views.timing))

    def draw(self, n_draw: int, epoch: int, seed: int, tag: int = 0) -> np.ndarray:
        """``(W, n_draw)`` bank indices for ``epoch``: distinct per window, uniform, seeded by ``(seed, epoch, tag)``."""
        if not 1 <= n_draw <= self.size:
            raise ValueError(f"cannot draw {n_draw} distinct views from a bank of {self.size}")
        rng = np.random.default_rng([seed, epoch, tag, 0xBA4C])
        return np.argsort(rng.random((len(self.windows), self.size)), axis=1)[:, :n_draw]


# ------------------------------------------------------ noise augmentation


def noise_augmentation(
    features: FeatureSet,
    levels: NoiseLevels,
    *,
    seed: int = 0,
    copies: int = 1,
    split: str = "train",
    placement: str = "record",
    corpus: str | None = None,
    read_signals: Callable[[Sequence[str]], tuple[list[np.ndarray], float]] | None = None,
    num_threads: int | None = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of every window of the ``split`` records, for a noise-augmented probe.

    Returns ``(features (copies * W, P, F), record_rows (copies * W,))``: views ``0 .. copies-1``
    of :class:`SignalViews` (so with the same levels, placement and seed a copy is the very view
    a ``dacl-robust`` run draws as bank view 0). The input of ``dacl.evaluate.evaluate(extra_train=...)``.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    rows = np.flatnonzero(np.asarray(features.record_split) == split)
    views = SignalViews(features, rows, levels, placement=placement, seed=seed, corpus=corpus,
                        read_signals=read_signals, num_threads=num_threads)
    feats = views.views(range(copies))
    record_rows = np.tile(np.asarray(features.record_index)[views.windows], copies)
    return feats.reshape(-1, *feats.shape[2:]), record_rows
