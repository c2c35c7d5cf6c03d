"""Records -> windows -> scattering features: the one featurizer.

:func:`process_chunk` is what a dataset is made of (``dacl preprocess``, see
:mod:`dacl.features.build`) and what the robustness curves re-run on corrupted
recordings (:mod:`dacl.probe.robustness`), so both see the very same numbers.
For a group of records it cuts windows with :func:`dacl._native.segment`
(resample to ``fs`` → zero-phase Butterworth band-pass → fixed windows →
per-window z-score), scatters them with :class:`dacl._native.Scattering1D` and
log-scales the result.

Log scaling (``log_scale=True``): scattering coefficients of orders ≥ 1 are
non-negative and span decades, so they become ``log(|S| + log_eps)``
(``log_eps=1e-6``, as in kymatio's classification examples); order 0 is the
low-passed signal itself, which is signed after z-scoring, so it is kept
linear. The transform is recorded in the manifest.

Leads: every kept lead of a record is segmented and scattered on its own (its
windows are z-scored on their own too), and a window's features are the
``(L, P, F)`` stack of its leads' scattering, ``L`` in the dataset's lead order
(:mod:`dacl.features.leads`). One lead gives exactly the numbers of the
single-lead pipeline, with a lead axis of length 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from dacl._native import Scattering1D, segment
from dacl.corpus.records import Record, RecordError
from dacl.features.leads import parse_leads
from dacl.settings import NON_NEGATIVE, POSITIVE, at_least, check_fields, option, within

LOG_TRANSFORM = "orders >= 1: log(abs(S) + log_eps); order 0 unchanged"
#: The corpus layouts ``--layout`` names (``auto``: detected from marker files).
Layout = Literal["auto", "cinc2017", "cinc2021", "ptbxl", "mimic-iv-ecg", "wfdb"]
#: PTB-XL's aggregation levels of SCP statements (Strodthoff et al. 2021).
ScpLevel = Literal["all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm"]


def parse_band(text: str) -> tuple[float, float] | None:
    """``"0.5,40"`` -> ``(0.5, 40.0)``; ``"none"`` -> ``None`` (no band-pass)."""
    if text.strip().lower() == "none":
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--band expects LOW,HIGH in Hz or 'none', got {text!r}") from None
    return lo, hi


@dataclass(frozen=True)
class PreprocessConfig:
    """Everything that determines the dataset's contents (checked on resume); the ``[preprocess]`` section.

    Attributes:
        fs: segmentation rate in Hz; records at another rate are resampled.
        band: ``(low, high)`` Hz zero-phase Butterworth band-pass, or ``None``.
        band_order: Butterworth order (applied forward and backward).
        zscore: z-score each window.
        window, hop: window length and hop in samples at ``fs``.
        tail: the last partial window: ``"drop"``, ``"pad"`` (zeros) or ``"reflect"``.
        J, Q, T, max_order: :class:`dacl._native.Scattering1D` parameters
            (``shape`` is ``window``).
        log_scale, log_eps: the log transform of the module docstring.
        min_seconds: records shorter than this are reported as too short.
        leads: the leads kept, in order; ``None`` (``--leads all``): the first record's
            (:mod:`dacl.features.leads`).
        chunk_seconds, chunk_margin: records longer than ``chunk_seconds`` are read and
            segmented in ranges of that length, each with ``chunk_margin`` seconds of
            context on both sides (:mod:`dacl.features.ranges`).
        chunk_records: records per shard.
        partial_labels: accept a ``REFERENCE.csv`` that misses or adds records.
        layout, label_map, scp_level, scp_threshold, labels: how the corpus is opened
            and labelled (:func:`dacl.corpus.open_corpus`).
    """

    fs: float = option(300.0, "segmentation rate in Hz", "--fs", group="segmentation")
    band: tuple[float, float] | None = option(
        (0.5, 40.0),
        "band-pass LOW,HIGH Hz or 'none'",
        "--band",
        group="segmentation",
        parse=parse_band,
        metavar="LOW,HIGH",
    )
    band_order: int = option(2, "Butterworth order", "--band-order", group="segmentation")
    zscore: bool = option(
        True, "z-score each window", off="--no-zscore", off_help="do not z-score each window", group="segmentation"
    )
    window: int = option(3000, "window length in samples", "--window", group="segmentation")
    hop: int = option(1500, "hop in samples", "--hop", group="segmentation")
    tail: Literal["drop", "pad", "reflect"] = option("pad", "last partial window", "--tail", group="segmentation")
    J: int = option(8, "log2 of the largest scale", "-J", group="scattering")
    Q: int = option(8, "wavelets per octave, first order", "-Q", group="scattering")
    T: int | None = option(None, "averaging scale in samples", "-T", group="scattering", default_text="2**J")
    max_order: int = option(2, "largest scattering order, 1 or 2", "--max-order", group="scattering")
    log_scale: bool = option(
        True, "log-scale orders >= 1", off="--no-log", off_help="keep raw scattering coefficients", group="scattering"
    )
    log_eps: float = option(1e-6, "log(|S| + eps) offset", "--log-eps", group="scattering")
    min_seconds: float = option(5.0, "shortest usable record in seconds", "--min-seconds", group="segmentation")
    leads: tuple[str, ...] | None = option(
        None,
        "leads to keep: all (those of the first record) or names I,II,V1,...",
        "--leads",
        group="segmentation",
        parse=parse_leads,
        metavar="all|I,II,...",
        default_text="all",
    )
    chunk_seconds: float = option(
        300.0,
        "records longer than this are segmented in ranges of this many seconds",
        "--chunk-seconds",
        group="segmentation",
    )
    chunk_margin: float = option(
        30.0, "seconds of context read on each side of a range", "--chunk-margin", group="segmentation"
    )
    chunk_records: int = option(256, "records per shard", "--chunk-records", group="run")
    partial_labels: bool = option(
        False, "accept a REFERENCE.csv missing or adding records", "--partial-labels", group="run"
    )
    layout: Layout = option("auto", "corpus layout", "--layout", group="corpus")
    label_map: str | None = option(
        None,
        "map the corpus's labels (cinc2021: cinc-scored)",
        "--label-map",
        group="corpus",
        metavar="MAP",
        default_text="none",
    )
    scp_level: ScpLevel = option(
        "all", "PTB-XL: SCP statements kept, by aggregation level", "--scp-level", group="corpus"
    )
    scp_threshold: float = option(
        0.0, "PTB-XL: least SCP likelihood (0-100) that makes a label", "--scp-threshold", group="corpus"
    )
    labels: str = option(
        "",
        "labels CSV (record,labels; labels separated by ';') for a plain WFDB folder",
        "--labels",
        group="corpus",
        metavar="FILE",
        default_text="none",
    )

    def __post_init__(self) -> None:
        if isinstance(self.band, (list, tuple)):
            try:
                object.__setattr__(self, "band", tuple(float(b) for b in self.band))
            except (TypeError, ValueError):
                raise ValueError(f"preprocess.band must be (low, high) in Hz, got {self.band!r}") from None
        if isinstance(self.leads, (list, tuple)):
            object.__setattr__(self, "leads", parse_leads(",".join(str(lead) for lead in self.leads)))
        check_fields(
            self,
            "preprocess",
            {
                "fs": POSITIVE,
                "band_order": at_least(1),
                "window": at_least(1),
                "hop": at_least(1),
                "max_order": within(1, 2),
                "log_eps": POSITIVE,
                "min_seconds": NON_NEGATIVE,
                "chunk_records": at_least(1),
                "chunk_seconds": POSITIVE,
                "chunk_margin": NON_NEGATIVE,
                "scp_threshold": NON_NEGATIVE,
            },
        )
        if self.band is not None and not 0 <= self.band[0] < self.band[1] <= self.fs / 2:
            raise ValueError(f"preprocess.band must be (low, high) with 0 <= low < high <= fs/2, got {self.band}")


class Scatter(Protocol):
    """What the pipeline needs of a scattering transform (``dacl._native.Scattering1D``)."""

    def __call__(self, x: np.ndarray) -> np.ndarray: ...
    def meta(self) -> dict[str, Any]: ...


def default_scatter(config: PreprocessConfig, num_threads: int | None = None) -> Scatter:
    """The Rust scattering transform for ``config`` (``num_threads=None``: rayon's pool)."""
    S = Scattering1D(config.J, config.window, Q=config.Q, T=config.T, max_order=config.max_order)
    return S if num_threads is None else _WithThreads(S, num_threads)


def check_segmentation(config: PreprocessConfig, num_threads: int | None = None) -> None:
    """Run the native segmentation once on a silent probe at ``config.fs``, so that settings it
    refuses (band edges, filter order, thread count, ...) fail before anything is written."""
    probe = np.zeros(max(config.window, 1024), np.float32)
    _segment([probe], config.fs, config, num_threads)


def _segment(
    signals: Sequence[np.ndarray], fs: float, config: PreprocessConfig, num_threads: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The native ``segment`` of 1-D ``signals`` at ``fs`` Hz with ``config``'s windows, band and z-scoring,
    resampled to ``config.fs`` when ``fs`` differs."""
    return segment(
        signals,
        fs,
        config.window,
        config.hop,
        tail=config.tail,
        band=config.band,
        band_order=config.band_order,
        zscore=config.zscore,
        target_fs=None if fs == config.fs else config.fs,
        num_threads=num_threads,
    )


class _WithThreads:
    """A native ``Scattering1D`` called with a fixed ``num_threads``."""

    def __init__(self, S: Any, num_threads: int) -> None:
        self.S, self.num_threads = S, num_threads
        self.backend = f"{type(S).__module__}.{type(S).__qualname__}"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.S(x, num_threads=self.num_threads)

    def meta(self) -> dict[str, Any]:
        return self.S.meta()


def log_scale(S: np.ndarray, order: np.ndarray, eps: float) -> np.ndarray:
    """``log(|S| + eps)`` on the paths of order ≥ 1, in place; order 0 kept."""
    higher = np.flatnonzero(order >= 1)
    S[:, higher] = np.log(np.abs(S[:, higher]) + eps)
    return S


def output_shape(scatter: Scatter, config: PreprocessConfig) -> tuple[int, int]:
    """``(paths, frames)`` of one window's scattering."""
    out = scatter(np.zeros((1, config.window), np.float32))
    return int(out.shape[1]), int(out.shape[2])


def scattering_summary(scatter: Scatter, config: PreprocessConfig) -> dict[str, Any]:
    """What the manifest records about the transform: backend, shape, orders, log transform."""
    meta = scatter.meta()
    order = np.asarray(meta["order"]).astype(int)
    n_paths, n_frames = output_shape(scatter, config)
    return {
        "backend": getattr(scatter, "backend", f"{type(scatter).__module__}.{type(scatter).__qualname__}"),
        "n_paths": n_paths,
        "n_frames": n_frames,
        "paths_per_order": {str(o): int((order == o).sum()) for o in np.unique(order)},
        "order": order.tolist(),
        "log_transform": LOG_TRANSFORM if config.log_scale else None,
    }


# ------------------------------------------------------------------ one chunk


@dataclass
class ChunkResult:
    features: np.ndarray  # (w, L, P, F) float32
    record_index: np.ndarray  # (w,) int64, global row
    starts: np.ndarray  # (w,) int64
    rows: list[dict[str, Any]]  # records.csv rows of the chunk


def record_row(index: int, name: str, label: str | None = None) -> dict[str, Any]:
    """A fresh row of records.csv for the record ``name`` at row ``index`` (``row`` is not written)."""
    return {
        "row": index,
        "record": name,
        "label": label or "",
        "n_windows": 0,
        "length": "",
        "fs": "",
        "sha256": "",
        "status": "ok",
        "error": "",
        "patient": "",
        "fold": "",
    }


#: Windows of some records: ``(windows (w·L, window), row of each window (w,), starts (w,))``; the windows of
#: one time step are consecutive, one per lead.
Pieces = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def segment_records(
    records: Sequence[Record], config: PreprocessConfig, num_threads: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment records of one sampling rate and one lead count, every lead on its own.

    Returns ``(windows (w·L, window), position of each window's record in records (w,), starts (w,))``,
    the L lead windows of one time step consecutive (window-major, lead-minor).
    """
    fs, n_leads = records[0].fs, records[0].signal.shape[0]
    signals = [np.ascontiguousarray(r.signal[lead]) for r in records for lead in range(n_leads)]
    windows, signal_index, starts = _segment(signals, fs, config, num_threads)
    if n_leads == 1:
        return windows, signal_index, starts
    # The native call returns each signal's windows in turn; put the leads of one time step together.
    record, lead = np.divmod(signal_index, n_leads)
    first = lead == 0
    per_record = np.bincount(record[first], minlength=len(records))
    offset = np.concatenate([[0], np.cumsum(per_record)[:-1]])
    step = starts // config.hop  # a window's position within its signal
    grouped = np.empty_like(windows)
    grouped[(offset[record] + step) * n_leads + lead] = windows
    return grouped, record[first], starts[first]


def _readable(
    rows: list[dict[str, Any]], results: Sequence[Record | RecordError]
) -> list[tuple[dict[str, Any], Record]]:
    """The records that were read, with their rows; the rows of the others are marked as errors."""
    good = []
    for row, res in zip(rows, results, strict=True):
        if isinstance(res, RecordError):
            row.update(status="error", error=res.problem)
            continue
        row.update(length=res.n_samples, fs=res.fs, sha256=res.sha256)
        good.append((row, res))
    return good


def _segment_by_rate(
    good: list[tuple[dict[str, Any], Record]], config: PreprocessConfig, num_threads: int | None
) -> Pieces:
    """Windows of every record, one native call per sampling rate; a record it refuses is marked."""
    pieces: Pieces = []
    by_fs: dict[float, list[tuple[dict[str, Any], Record]]] = {}
    for item in good:
        by_fs.setdefault(item[1].fs, []).append(item)
    for group in by_fs.values():
        try:
            windows, idx, starts = segment_records([r for _, r in group], config, num_threads)
            pieces.append((windows, np.array([group[i][0]["row"] for i in idx], np.int64), starts))
        except ValueError:
            # One bad record fails the whole call: redo them one by one to name it.
            for row, rec in group:
                try:
                    windows, _, starts = segment_records([rec], config, num_threads)
                except ValueError as err:
                    row.update(status="error", error=f"segmentation failed: {err}")
                    continue
                pieces.append((windows, np.full(len(starts), row["row"], np.int64), starts))
    return pieces


def scatter_windows(
    pieces: Pieces, n_leads: int, config: PreprocessConfig, scatter: Scatter, order: np.ndarray, scatter_batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features (w, L, P, F), record_index, starts)`` of the windows, sorted by row and then time."""
    if sum(len(p[1]) for p in pieces) == 0:
        shape = (0, n_leads, *output_shape(scatter, config))
        return np.empty(shape, np.float32), np.empty(0, np.int64), np.empty(0, np.int64)
    windows = np.concatenate([p[0] for p in pieces]).astype(np.float32, copy=False)
    record_index = np.concatenate([p[1] for p in pieces])
    starts = np.concatenate([p[2] for p in pieces]).astype(np.int64, copy=False)
    pieces.clear()  # the windows are copied: free the pieces before scattering
    batches = [
        scatter(np.ascontiguousarray(windows[i : i + scatter_batch])) for i in range(0, len(windows), scatter_batch)
    ]
    features = np.concatenate(batches).astype(np.float32, copy=False)
    del windows, batches
    if config.log_scale:
        log_scale(features, order, config.log_eps)
    features = features.reshape(len(record_index), n_leads, *features.shape[1:])
    # Sort by row so a record's windows are contiguous and in time order.
    order_w = np.lexsort((starts, record_index))
    return features[order_w], record_index[order_w], starts[order_w]


def _drop_non_finite(
    by_row: dict[int, dict[str, Any]], features: np.ndarray, record_index: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop every window of a record that has a non-finite feature, and mark its row."""
    finite = np.isfinite(features).all(axis=tuple(range(1, features.ndim)))  # (w,), also for a chunk with no windows
    bad_rows = set(record_index[~finite].tolist())
    for r in bad_rows:
        by_row[r].update(status="error", error="scattering features are not finite")
    if not bad_rows:
        return features, record_index, starts
    keep = ~np.isin(record_index, list(bad_rows))
    return features[keep], record_index[keep], starts[keep]


def process_chunk(
    rows: list[dict[str, Any]],
    results: Sequence[Record | RecordError],
    config: PreprocessConfig,
    scatter: Scatter,
    order: np.ndarray,
    num_threads: int | None = None,
    scatter_batch: int = 512,
    n_leads: int = 1,
) -> ChunkResult:
    """Segment, scatter and log-scale one chunk's records (each with the ``n_leads`` leads the dataset keeps);
    bad ones are marked in ``rows``."""
    pieces = _segment_by_rate(_readable(rows, results), config, num_threads)
    features, record_index, starts = scatter_windows(pieces, n_leads, config, scatter, order, scatter_batch)
    by_row = {row["row"]: row for row in rows}
    features, record_index, starts = _drop_non_finite(by_row, features, record_index, starts)
    counts = np.bincount(record_index, minlength=max(by_row) + 1) if len(record_index) else None
    for row in rows:
        row["n_windows"] = int(counts[row["row"]]) if counts is not None else 0
        if row["status"] == "ok" and row["n_windows"] == 0:
            row.update(status="error", error="produced no windows")
    return ChunkResult(features, record_index, starts, rows)
