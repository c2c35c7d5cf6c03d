"""WFDB corpus -> scattering features dataset on disk: streaming, resumable.

Pipeline, one *chunk* of records at a time (``chunk_records``, default 256):
read the records in parallel threads (the next chunk is read while the
current one is computed), validate them (:mod:`dacl.corpus`), cut them into
windows with :func:`dacl._native.segment` (resample to ``fs`` → zero-phase
Butterworth band-pass → fixed windows → per-window z-score), scatter the
windows with :class:`dacl._native.Scattering1D`, log-scale, and write the
chunk as one shard. Memory holds at most two chunks, whatever the corpus size.

Log scaling (``log_scale=True``): scattering coefficients of orders ≥ 1 are
non-negative and span decades, so they become ``log(|S| + log_eps)``
(``log_eps=1e-6``, as in kymatio's classification examples); order 0 is the
low-passed signal itself, which is signed after z-scoring, so it is kept
linear. The transform is recorded in the manifest.

Dataset layout (a directory; nothing needs dacl to be read)::

    manifest.json          parameters, versions, input checksums, scattering
                           summary, timing, status
    records.csv            one row per corpus record: record, label, n_windows,
                           length, fs, sha256, status (ok/error), error
    split.json             the split, once made (:mod:`dacl.features.split`)
    shards/000000/         one directory per chunk:
        features.npy       (w, P, F) float32 windows × scattering paths × frames
        record_index.npy   (w,) int64 row of records.csv
        starts.npy         (w,) int64 first sample of the window (at ``fs``)
        records.csv        the chunk's rows of records.csv
        identity.json      what the shard was made with: format version,
                           parameters, input checksums, number of records

Why plain ``.npy``: any numpy opens it, ``np.load(..., mmap_mode="r")`` maps it
without reading it, and a shard per chunk is what makes the run resumable
without a database or HDF5 dependency. :func:`dacl.features.store.load_features`
gathers the shards into a :class:`dacl.features.store.FeatureSet`.

Format version 2 (this one) added ``identity.json`` and ``split.json``; format 1
kept the split in a ``split`` column of records.csv and a ``split`` entry of the
manifest, and is still read (not resumed: rebuild it with ``--overwrite``).

One writer at a time: a run holds the dataset's :class:`dacl.io.lock.WriterLock`
(``.NAME.dacl-lock`` beside ``out``, released by the kernel if the run dies);
a second writer stops at once with an error naming the holder's pid.

Checked before anything is written: every parameter (:class:`PreprocessConfig`,
the run options, the split fractions and seed), the native scattering transform
is built and the native segmentation run once on a silent probe, and the corpus
is opened (its record list and labels checked).

Atomic and resumable: a shard is written into ``shards/.tmp-*`` and renamed
into place (a directory rename is atomic on POSIX); ``manifest.json``,
``records.csv`` and ``split.json`` are written to a temp file and renamed. So an
interrupted run (Ctrl-C, kill, full disk) leaves complete shards only, and
rerunning the same command skips them — after checking that the manifest's
identity (format version, parameters, input checksums: the zip's SHA-256,
``RECORDS``, ``REFERENCE.csv`` and the record list; an extracted folder's record
files are hashed per record, into ``records.csv``, not up front) is the run's,
and that every shard recorded that same identity. A mismatch is an error naming
the differences (and the shards) that suggests a new ``--out`` or
``--overwrite``. Leftover temp directories are removed on the next run.

``--overwrite`` replaces only what is recognisably a dacl dataset (``manifest.json``
a JSON object with ``"format": "dacl-features"``), an empty folder or nothing;
anything else at ``out`` is refused and left alone. The new dataset is built beside
the old one, in ``.NAME.dacl-new`` (resumed by rerunning the same command), and
swapped in when complete, split included: ``out`` is renamed to ``.NAME.dacl-old``,
the new one to ``out``, and the old one removed. Until then ``out`` is untouched;
a crash between the two renames is repaired by the next writer (``dacl
preprocess`` or ``dacl split`` on ``out``).

Bad records are never dropped silently: each appears in ``records.csv`` with
``status=error`` and the reason, and in the summary; ``on_error="fail"`` stops
at the first one instead. A chunk whose records all fail is an ordinary shard
with no windows.
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from dacl.io.atomic import naming, write_bytes, write_json
from dacl.corpus import Corpus, Record, RecordError, open_corpus
from dacl.features.store import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    RECORDS_CSV,
    SHARD_ARRAYS,
    SHARD_IDENTITY,
    SHARDS_DIR,
    SPLIT_JSON,
    describe_mismatch,
    differences,
    finish_swap,
    identity_of,
    mismatched_shards,
    our_manifest,
    read_manifest,
    read_records_csv,
    read_split,
    records_csv_bytes,
    remove_ours,
    shard_dirs,
    staging_path,
    swap_in,
    write_records_csv,
)
from dacl.io.lock import WriterLock
LOG_TRANSFORM = "orders >= 1: log(abs(S) + log_eps); order 0 unchanged"


@dataclass(frozen=True)
class PreprocessConfig:
    """Everything that determines the dataset's contents (checked on resume).

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
        chunk_records: records per shard.
        partial_labels: accept a ``REFERENCE.csv`` that misses or adds records.
    """

    fs: float = 300.0
    band: tuple[float, float] | None = (0.5, 40.0)
    band_order: int = 2
    zscore: bool = True
    window: int = 3000
    hop: int = 1500
    tail: Literal["drop", "pad", "reflect"] = "pad"
    J: int = 8
    Q: int = 8
    T: int | None = None
    max_order: int = 2
    log_scale: bool = True
    log_eps: float = 1e-6
    min_seconds: float = 5.0
    chunk_records: int = 256
    partial_labels: bool = False

    def __post_init__(self) -> None:
        if self.band is not None:
            try:
                object.__setattr__(self, "band", tuple(float(b) for b in self.band))
            except (TypeError, ValueError):
                raise ValueError(f"invalid preprocessing parameters: band={self.band!r} must be (low, high)") from None
        problems = []
        for name in ("band_order", "window", "hop", "J", "Q", "max_order", "chunk_records"):
            if not _is_int(getattr(self, name)):
                problems.append(f"{name}={getattr(self, name)!r} must be an integer")
        if self.T is not None and not _is_int(self.T):
            problems.append(f"T={self.T!r} must be an integer or None")
        for name in ("fs", "log_eps", "min_seconds"):
            if not _is_real(getattr(self, name)):
                problems.append(f"{name}={getattr(self, name)!r} must be a number")
        for name in ("zscore", "log_scale", "partial_labels"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name}={getattr(self, name)!r} must be True or False")
        if problems:
            raise ValueError("invalid preprocessing parameters: " + "; ".join(problems))
        if not (self.fs > 0 and math.isfinite(self.fs)):
            problems.append(f"fs={self.fs} must be positive and finite")
        if self.band is not None and not (len(self.band) == 2 and 0 <= self.band[0] < self.band[1] <= self.fs / 2):
            problems.append(f"band={self.band} must be (low, high) with 0 <= low < high <= fs/2")
        if self.band_order < 1:
            problems.append(f"band_order={self.band_order} must be positive")
        if self.window < 1 or self.hop < 1:
            problems.append(f"window={self.window} and hop={self.hop} must be positive")
        if self.tail not in ("drop", "pad", "reflect"):
            problems.append(f"tail={self.tail!r} must be 'drop', 'pad' or 'reflect'")
        if not (self.log_eps > 0 and math.isfinite(self.log_eps)):
            problems.append(f"log_eps={self.log_eps} must be positive and finite")
        if self.chunk_records < 1:
            problems.append(f"chunk_records={self.chunk_records} must be positive")
        if not (self.min_seconds >= 0 and math.isfinite(self.min_seconds)):
            problems.append(f"min_seconds={self.min_seconds} must be non-negative and finite")
        if problems:
            raise ValueError("invalid preprocessing parameters: " + "; ".join(problems))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Scatter(Protocol):
    """What the pipeline needs of a scattering transform (``dacl._native.Scattering1D``)."""

    def __call__(self, x: np.ndarray) -> np.ndarray: ...
    def meta(self) -> dict[str, Any]: ...


def default_scatter(config: PreprocessConfig, num_threads: int | None = None) -> Scatter:
    """The Rust scattering transform for ``config`` (``num_threads=None``: rayon's pool)."""
    from dacl._native import Scattering1D

    S = Scattering1D(config.J, config.window, Q=config.Q, T=config.T, max_order=config.max_order)
    return S if num_threads is None else _WithThreads(S, num_threads)


def check_segmentation(config: PreprocessConfig, num_threads: int | None = None) -> None:
    """Run the native segmentation once on a silent probe at ``config.fs``, so that settings it
    refuses (band edges, filter order, thread count, ...) fail before anything is written."""
    from dacl._native import segment

    probe = np.zeros(max(config.window, 1024), np.float32)
    segment([probe], config.fs, config.window, config.hop, tail=config.tail, band=config.band,
            band_order=config.band_order, zscore=config.zscore, num_threads=num_threads)


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


# ------------------------------------------------------------------ one chunk


@dataclass
class ChunkResult:
    features: np.ndarray  # (w, P, F) float32
    record_index: np.ndarray  # (w,) int64, global row
    starts: np.ndarray  # (w,) int64
    rows: list[dict[str, Any]]  # records.csv rows of the chunk


def record_row(index: int, name: str, label: str | None = None) -> dict[str, Any]:
    """A fresh row of records.csv for the record ``name`` at row ``index`` (``row`` is not written)."""
    return {"row": index, "record": name, "label": label or "", "n_windows": 0, "length": "", "fs": "",
            "sha256": "", "status": "ok", "error": ""}


def _segment(records: Sequence[Record], config: PreprocessConfig, num_threads: int | None):
    """Segment records sharing one sampling rate; returns per-record (windows, starts)."""
    from dacl._native import segment

    fs = records[0].fs
    kwargs = dict(
        tail=config.tail, band=config.band, band_order=config.band_order, zscore=config.zscore,
        target_fs=None if fs == config.fs else config.fs, num_threads=num_threads,
    )
    windows, rec_idx, starts = segment([r.signal for r in records], fs, config.window, config.hop, **kwargs)
    return windows, rec_idx, starts


def process_chunk(
    rows: list[dict[str, Any]],
    results: Sequence[Record | RecordError],
    config: PreprocessConfig,
    scatter: Scatter,
    order: np.ndarray,
    num_threads: int | None = None,
    scatter_batch: int = 512,
) -> ChunkResult:
    """Segment, scatter and log-scale one chunk's records; bad ones are marked in ``rows``."""
    good: list[tuple[dict[str, Any], Record]] = []
    for row, res in zip(rows, results):
        if isinstance(res, RecordError):
            row.update(status="error", error=res.problem)
            continue
        row.update(length=res.signal.size, fs=res.fs, sha256=res.sha256)
        good.append((row, res))

    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # windows, row index, starts
    by_fs: dict[float, list[tuple[dict[str, Any], Record]]] = {}
    for item in good:
        by_fs.setdefault(item[1].fs, []).append(item)
    for group in by_fs.values():
        try:
            windows, idx, starts = _segment([r for _, r in group], config, num_threads)
            pieces.append((windows, np.array([group[i][0]["row"] for i in idx], np.int64), starts))
        except ValueError:
            # One bad record fails the whole call: redo them one by one to name it.
            for row, rec in group:
                try:
                    windows, _, starts = _segment([rec], config, num_threads)
                except ValueError as err:
                    row.update(status="error", error=f"segmentation failed: {err}")
                    continue
                pieces.append((windows, np.full(len(windows), row["row"], np.int64), starts))

    n_windows = sum(len(p[0]) for p in pieces)
    if n_windows == 0:
        features = np.empty((0, *_output_shape(scatter, config)), np.float32)
        record_index = np.empty(0, np.int64)
        starts = np.empty(0, np.int64)
    else:
        windows = np.concatenate([p[0] for p in pieces]).astype(np.float32, copy=False)
        record_index = np.concatenate([p[1] for p in pieces])
        starts = np.concatenate([p[2] for p in pieces]).astype(np.int64, copy=False)
        del pieces
        batches = [scatter(np.ascontiguousarray(windows[i : i + scatter_batch])) for i in range(0, len(windows), scatter_batch)]
        features = np.concatenate(batches).astype(np.float32, copy=False)
        del windows, batches
        if config.log_scale:
            log_scale(features, order, config.log_eps)
        # Sort by row so a record's windows are contiguous and in time order.
        order_w = np.lexsort((starts, record_index))
        features, record_index, starts = features[order_w], record_index[order_w], starts[order_w]

    finite = np.isfinite(features).all(axis=(1, 2))  # (w,), also for a chunk with no windows
    bad_rows = set(record_index[~finite].tolist())
    by_row = {row["row"]: row for row in rows}
    for r in bad_rows:
        by_row[r].update(status="error", error="scattering features are not finite")
    if bad_rows:
        keep = ~np.isin(record_index, list(bad_rows))
        features, record_index, starts = features[keep], record_index[keep], starts[keep]
    counts = np.bincount(record_index, minlength=max(by_row) + 1) if len(record_index) else None
    for row in rows:
        row["n_windows"] = int(counts[row["row"]]) if counts is not None else 0
        if row["status"] == "ok" and row["n_windows"] == 0:
            row.update(status="error", error="produced no windows")
    return ChunkResult(features, record_index, starts, rows)


def _output_shape(scatter: Scatter, config: PreprocessConfig) -> tuple[int, int]:
    out = scatter(np.zeros((1, config.window), np.float32))
    return int(out.shape[1]), int(out.shape[2])


def write_shard(shards_root: Path, index: int, chunk: ChunkResult, identity: dict[str, Any]) -> Path:
    """Write one shard, with the ``identity`` it was made with, to a temp directory and rename it into place."""
    final = shards_root / f"{index:06d}"
    tmp = shards_root / f".tmp-{index:06d}-{os.getpid()}"
    with naming(tmp):
        tmp.mkdir(parents=True)
    try:
        for name in SHARD_ARRAYS:
            with naming(tmp / f"{name}.npy"), open(tmp / f"{name}.npy", "wb") as f:
                np.save(f, getattr(chunk, name))
                f.flush()
                os.fsync(f.fileno())
        write_bytes(tmp / RECORDS_CSV, records_csv_bytes(chunk.rows))
        write_json(tmp / SHARD_IDENTITY, {**identity, "shard": index}, strict=True)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


# ------------------------------------------------------------------ the run


def _versions() -> dict[str, str]:
    from dacl import __version__

    try:
        from dacl._native import __version__ as native
    except ImportError:
        native = "unavailable"
    return {"dacl": __version__, "native": native, "numpy": np.__version__}


def _scattering_summary(scatter: Scatter, config: PreprocessConfig) -> dict[str, Any]:
    meta = scatter.meta()
    order = np.asarray(meta["order"]).astype(int)
    n_paths, n_frames = _output_shape(scatter, config)
    return {
        "backend": getattr(scatter, "backend", f"{type(scatter).__module__}.{type(scatter).__qualname__}"),
        "n_paths": n_paths,
        "n_frames": n_frames,
        "paths_per_order": {str(o): int((order == o).sum()) for o in np.unique(order)},
        "order": order.tolist(),
        "log_transform": LOG_TRANSFORM if config.log_scale else None,
    }


def _identity(config: PreprocessConfig, corpus: Corpus) -> dict[str, Any]:
    """What decides the dataset's contents (see :data:`dacl.features.store.IDENTITY_KEYS`), as JSON values."""
    return _jsonable({
        "format_version": FORMAT_VERSION,
        "params": asdict(config),
        "inputs": dict(corpus.fingerprint),
        "n_records": len(corpus.names),
    })


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj))


@dataclass(frozen=True)
class _RunOptions:
    """How a run goes (not what it makes): none of these is part of the dataset's identity."""

    on_error: Literal["skip", "fail"]
    split: tuple[float, float, float] | None
    seed: int
    read_threads: int
    num_threads: int | None
    progress: bool
    max_chunks: int | None

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "fail"):
            raise ValueError(f"on_error={self.on_error!r} must be 'skip' or 'fail'")
        if not (_is_int(self.read_threads) and self.read_threads >= 1):
            raise ValueError(f"read_threads={self.read_threads!r} must be a positive integer")
        if self.max_chunks is not None and not (_is_int(self.max_chunks) and self.max_chunks >= 0):
            raise ValueError(f"max_chunks={self.max_chunks!r} must be a non-negative integer or None")


def _open_dataset(target: Path, identity: dict[str, Any], label: str = "--out") -> dict[str, Any] | None:
    """Check ``target`` before writing into it: ``None`` if it is new (missing or empty), its
    manifest if it is a dacl dataset made with ``identity`` (to resume), an error otherwise."""
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{label} {target} exists and is not a directory")
    if not target.is_dir() or not any(target.iterdir()):
        return None
    manifest = our_manifest(target)
    if manifest is None:
        raise FileExistsError(
            f"{label} {target} exists, is not empty and is not a dacl dataset (no manifest.json with "
            f'"format": "{FORMAT}"); dacl writes only into its own datasets: choose another --out'
        )
    diffs = differences(identity_of(manifest), identity)
    if diffs:
        shown = "; ".join(diffs[:5]) + ("; ..." if len(diffs) > 5 else "")
        raise ValueError(
            f"{label} {target} holds a dataset made with different parameters or inputs "
            f"({shown}); use a new --out, or --overwrite to replace it"
        )
    bad = mismatched_shards(target, identity)
    if bad:
        raise ValueError(
            f"{label} {target}: {describe_mismatch(bad)} were not made with this run's parameters and inputs; "
            "use a new --out, or --overwrite to rebuild the dataset"
        )
    return manifest


def _open_staging(staged: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """Resume a staged build made with ``identity``; a staged build of anything else is ours to drop."""
    try:
        return _open_dataset(staged, identity, "staged dataset")
    except FileExistsError:
        raise
    except ValueError:
        remove_ours(staged)
        return None


def _check_replaceable(out: Path) -> None:
    """``--overwrite`` replaces nothing, an empty folder or a dacl dataset; never anything else."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a directory; --overwrite replaces only a dataset")
    if out.is_dir() and any(out.iterdir()) and our_manifest(out) is None:
        raise FileExistsError(
            f"--out {out} exists, is not empty and is not a dacl dataset (no manifest.json with "
            f'"format": "{FORMAT}"); --overwrite replaces only dacl datasets: choose another --out'
        )


def preprocess(
    source: str | os.PathLike[str] | Corpus,
    out: str | os.PathLike[str],
    config: PreprocessConfig | None = None,
    *,
    on_error: Literal["skip", "fail"] = "skip",
    split: Sequence[float] | None = (0.7, 0.1, 0.2),
    seed: int = 0,
    overwrite: bool = False,
    read_threads: int = 4,
    num_threads: int | None = None,
    progress: bool = False,
    max_chunks: int | None = None,
    _scatter: Scatter | None = None,
    **params: Any,
) -> Path:
    """Preprocess a corpus into a features dataset at ``out``; returns ``out``.

    Every argument is checked, the native transforms are built and the corpus
    opened before anything is written; the run then holds the dataset's writer
    lock (see the module docstring).

    Args:
        source: a corpus zip or folder (see :func:`dacl.corpus.open_corpus`), or an open :class:`Corpus`.
        out: dataset directory (created; resumed if it holds an unfinished run with the same parameters).
        config: a :class:`PreprocessConfig`; or give its fields as keyword ``params``.
        on_error: ``"skip"`` reports bad records and goes on; ``"fail"`` raises at the first.
        split: ``(train, val, test)`` fractions to split the finished dataset (:mod:`dacl.features.split`), or ``None``.
        seed: split seed, a non-negative integer.
        overwrite: replace the dataset at ``out``: build the new one beside it and swap it in when
            complete (rerunning resumes the build; the old dataset stays until the swap).
        read_threads: threads reading records.
        num_threads: threads for segmentation and scattering (``None``: rayon's pool).
        progress: show a tqdm progress bar (records/s) on stderr.
        max_chunks: stop after writing this many new shards (the dataset stays
            resumable); for tests and for splitting a long run into sessions.
    """
    from dacl.features.split import check_fractions, check_seed

    if config is None:
        config = PreprocessConfig(**params)
    elif params:
        raise TypeError(f"give either config or keyword parameters, not both ({', '.join(params)})")
    options = _RunOptions(
        on_error=on_error, split=None if split is None else check_fractions(split), seed=check_seed(seed),
        read_threads=read_threads, num_threads=num_threads, progress=progress, max_chunks=max_chunks,
    )
    scatter = _scatter if _scatter is not None else default_scatter(config, num_threads)
    check_segmentation(config, num_threads)
    scattering = _scattering_summary(scatter, config)
    corpus = source if isinstance(source, Corpus) else open_corpus(source, partial_labels=config.partial_labels)
    identity = _identity(config, corpus)
    new_manifest = {
        "format": FORMAT,
        "status": "in_progress",
        **identity,
        "source": str(source) if not isinstance(source, Corpus) else repr(source),
        "versions": _versions(),
        "scattering": scattering,
        "runs": [],
    }
    target = Path(os.path.abspath(out))
    with WriterLock(target, "dataset"):
        finish_swap(target)
        if not overwrite:
            _build(target, _open_dataset(target, identity), new_manifest, corpus, config, scatter, options)
            return Path(out)
        _check_replaceable(target)
        staged = staging_path(target)
        if _build(staged, _open_staging(staged, identity), new_manifest, corpus, config, scatter, options):
            swap_in(staged, target)
    return Path(out)


def _build(
    target: Path, resumed: dict[str, Any] | None, new_manifest: dict[str, Any], corpus: Corpus,
    config: PreprocessConfig, scatter: Scatter, options: _RunOptions,
) -> bool:
    """Write the missing shards into ``target`` (resuming it when ``resumed`` is its manifest, else
    starting it with ``new_manifest``), then finish and split the dataset once every shard is
    there; returns whether it is complete."""
    manifest = new_manifest if resumed is None else resumed
    if resumed is None:
        _create(target, manifest)  # the manifest first, so `target` is recognisable as ours from now on
    identity = identity_of(manifest)
    shards_root = target / SHARDS_DIR
    with naming(shards_root):
        shards_root.mkdir(exist_ok=True)
    for stale in shards_root.glob(".tmp-*"):  # from an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    order = np.asarray(manifest["scattering"]["order"])

    names = corpus.names
    size = config.chunk_records
    n_chunks = math.ceil(len(names) / size)
    done = {int(p.name) for p in shard_dirs(target)}
    todo = [k for k in range(n_chunks) if k not in done]
    if options.max_chunks is not None:
        todo = todo[: options.max_chunks]

    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(names), initial=sum(len(names[k * size : (k + 1) * size]) for k in done),
        unit="rec", desc="preprocess", disable=not options.progress, file=sys.stderr,
    )
    written = 0
    run_t0 = time.perf_counter()

    def read(name: str) -> Record | RecordError:
        try:
            # Min length needs the record's fs, known only after reading: check afterwards.
            rec = corpus.read(name)
        except RecordError as err:
            return err
        need = int(math.ceil(config.min_seconds * rec.fs))
        if rec.signal.size < need:
            return RecordError(
                name, f"signal is too short: {rec.signal.size / rec.fs:.2f} s, need at least {config.min_seconds} s"
            )
        return rec

    with ThreadPoolExecutor(max_workers=options.read_threads) as pool:
        submit = lambda k: [pool.submit(read, n) for n in names[k * size : (k + 1) * size]]  # noqa: E731
        pending: list[Future] = submit(todo[0]) if todo else []
        try:
            for i, k in enumerate(todo):
                results = [f.result() for f in pending]
                # Read ahead: the next chunk loads while this one is computed (the native code releases the GIL).
                pending = submit(todo[i + 1]) if i + 1 < len(todo) else []
                if options.on_error == "fail":
                    bad = next((r for r in results if isinstance(r, RecordError)), None)
                    if bad is not None:
                        raise bad
                first = k * size
                rows = [record_row(first + j, n, corpus.label(n)) for j, n in enumerate(names[first : first + size])]
                chunk = process_chunk(rows, results, config, scatter, order, options.num_threads)
                if options.on_error == "fail":
                    bad_row = next((r for r in rows if r["status"] != "ok"), None)
                    if bad_row is not None:
                        raise RecordError(bad_row["record"], bad_row["error"])
                write_shard(shards_root, k, chunk, identity)
                written += 1
                bar.update(len(rows))
                del chunk, results
        finally:
            for f in pending:
                f.cancel()
            bar.close()

    run_seconds = time.perf_counter() - run_t0
    n_run_records = sum(len(names[k * size : (k + 1) * size]) for k in todo[:written])
    manifest.setdefault("runs", []).append({
        "shards_written": written,
        "records": n_run_records,
        "seconds": round(run_seconds, 3),
        "records_per_s": round(n_run_records / run_seconds, 2) if run_seconds > 0 else None,
        "read_threads": options.read_threads,
        "num_threads": options.num_threads,
    })
    if len(shard_dirs(target)) != n_chunks:
        write_json(target / MANIFEST, manifest)
        return False

    rows = [row for shard in shard_dirs(target) for row in read_records_csv(shard)]
    write_records_csv(target, rows)
    errors = [r for r in rows if r["status"] != "ok"]
    manifest.update(
        status="complete",
        n_shards=n_chunks,
        n_windows=sum(int(r["n_windows"]) for r in rows),
        n_records_ok=len(rows) - len(errors),
        errors={r["record"]: r["error"] for r in errors},
        seconds_total=round(sum(run["seconds"] for run in manifest["runs"]), 3),
    )
    write_json(target / MANIFEST, manifest)
    if options.split is not None:
        from dacl.features.split import write_split

        write_split(target, options.split, options.seed)
    else:
        (target / SPLIT_JSON).unlink(missing_ok=True)
    return True


def _create(target: Path, manifest: dict[str, Any]) -> None:
    """Create the dataset directory with its manifest; a failure leaves no empty directory behind."""
    created = not target.exists()
    with naming(target):
        target.mkdir(parents=True, exist_ok=True)
    try:
        write_json(target / MANIFEST, manifest)
    except BaseException:
        if created:
            try:
                target.rmdir()
            except OSError:
                pass
        raise


# ------------------------------------------------------------------ CLI


def _band(text: str) -> tuple[float, float] | None:
    if text.lower() == "none":
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--band expects LOW,HIGH in Hz or 'none', got {text!r}") from None
    return lo, hi


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dacl.features.split import parse_fractions_arg

    d = PreprocessConfig()
    parser.add_argument("source", nargs="?", help="corpus .zip or folder (PhysioNet 2017 layout)")
    parser.add_argument("--sample", action="store_true", help="use the 40-record sample shipped with dacl as SOURCE")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write (resumed if unfinished)")
    g = parser.add_argument_group("segmentation")
    g.add_argument("--fs", type=float, default=d.fs, help=f"segmentation rate in Hz (default {d.fs:g})")
    g.add_argument("--band", type=_band, default=d.band, help="band-pass LOW,HIGH Hz or 'none' (default 0.5,40)")
    g.add_argument("--band-order", type=int, default=d.band_order, help=f"Butterworth order (default {d.band_order})")
    g.add_argument("--no-zscore", dest="zscore", action="store_false", help="do not z-score each window")
    g.add_argument("--window", type=int, default=d.window, help=f"window length in samples (default {d.window})")
    g.add_argument("--hop", type=int, default=d.hop, help=f"hop in samples (default {d.hop})")
    g.add_argument("--tail", choices=["drop", "pad", "reflect"], default=d.tail, help=f"last partial window (default {d.tail})")
    g.add_argument("--min-seconds", type=float, default=d.min_seconds, help=f"shortest usable record (default {d.min_seconds:g})")
    g = parser.add_argument_group("scattering")
    g.add_argument("-J", type=int, default=d.J, help=f"log2 of the largest scale (default {d.J})")
    g.add_argument("-Q", type=int, default=d.Q, help=f"wavelets per octave, first order (default {d.Q})")
    g.add_argument("-T", type=int, default=d.T, help="averaging scale in samples (default 2**J)")
    g.add_argument("--max-order", type=int, default=d.max_order, choices=[1, 2], help="default 2")
    g.add_argument("--no-log", dest="log_scale", action="store_false", help="keep raw scattering coefficients")
    g.add_argument("--log-eps", type=float, default=d.log_eps, help=f"log(|S| + eps) offset (default {d.log_eps:g})")
    g = parser.add_argument_group("run")
    g.add_argument("--chunk-records", type=int, default=d.chunk_records, help=f"records per shard (default {d.chunk_records})")
    g.add_argument("--on-error", choices=["skip", "fail"], default="skip", help="bad records: report and skip (default), or stop")
    g.add_argument("--partial-labels", action="store_true", help="accept a REFERENCE.csv missing or adding records")
    g.add_argument("--split", type=parse_fractions_arg, default=(0.7, 0.1, 0.2), help="TRAIN,VAL,TEST fractions (default 0.7,0.1,0.2)")
    g.add_argument("--no-split", dest="split", action="store_const", const=None, help="leave the dataset unsplit")
    g.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing dataset at --out")
    g.add_argument("--read-threads", type=int, default=4, help="record reading threads (default 4)")
    g.add_argument("--threads", type=int, default=None, help="compute threads (default: all cores)")
    g.add_argument("--max-chunks", type=int, default=None, help="stop after this many new shards (resume later)")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.sample == (args.source is not None):
        raise ValueError("give exactly one of SOURCE or --sample")
    source: Any = args.source
    if args.sample:
        from dacl.corpus import sample_path

        source = sample_path()
    config_fields = {f.name for f in fields(PreprocessConfig)}
    config = PreprocessConfig(**{k: v for k, v in vars(args).items() if k in config_fields})
    out = preprocess(
        source, args.out, config, on_error=args.on_error, split=args.split, seed=args.seed,
        overwrite=args.overwrite, read_threads=args.read_threads, num_threads=args.threads,
        progress=args.progress, max_chunks=args.max_chunks,
    )
    staged = staging_path(out)
    building = args.overwrite and staged.is_dir()
    manifest = read_manifest(staged if building else out)
    if manifest["status"] != "complete":
        where = f" (the replacement is built in {staged}; {out} stays as it is until it is complete)" if building else ""
        print(f"wrote {sum(r['shards_written'] for r in manifest['runs'])} shards so far{where}; rerun to continue",
              file=sys.stderr)
        return 0
    errors = manifest["errors"]
    print(
        f"{out}: {manifest['n_records_ok']} records, {manifest['n_windows']} windows, "
        f"{len(errors)} bad records skipped"
    )
    for name, problem in errors.items():
        print(f"  skipped {name}: {problem}")
    split = read_split(out)
    if split is not None:
        print("  split: " + ", ".join(f"{s} {sum(c.values())}" for s, c in split["records"].items()))
    return 0
