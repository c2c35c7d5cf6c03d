"""WFDB corpus -> scattering features dataset on disk: streaming, resumable.

Pipeline, one *chunk* of records at a time (``chunk_records``, default 256):
read the records in parallel threads (the next chunk is read while the
current one is computed) through the corpus interface
(:class:`dacl.features.source.CorpusReader`), keep the dataset's leads
(:mod:`dacl.features.leads`), featurize them
(:func:`dacl.features.featurizer.process_chunk`: windows, scattering, log
scaling, every lead), and write the chunk as one shard as its windows come
(:class:`dacl.features.store.ShardWriter`). A record longer than
``chunk_seconds`` is only read in ranges, while its shard is written
(:mod:`dacl.features.ranges`). Memory holds at most two chunks of short records
and one range of a long one, whatever the corpus size or a record's length.

The dataset's layout is described in :mod:`dacl.features.store`, the
featurizer (windows, scattering, log scaling) in :mod:`dacl.features.featurizer`.

One writer at a time: a run holds the dataset's :class:`dacl.io.lock.WriterLock`
(``.NAME.dacl-lock`` beside ``out``, released by the kernel if the run dies);
a second writer stops at once with an error naming the holder's pid.

Checked before anything is written: every parameter (:class:`PreprocessConfig`,
the run options (:class:`BuildOptions`), the split fractions and seed), the native scattering transform
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

import contextlib
import functools
import json
import math
import os
import pickle
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from dacl._native import __version__
from dacl.corpus import Record, RecordError
from dacl.features.featurizer import (
    PreprocessConfig,
    Scatter,
    check_segmentation,
    default_scatter,
    process_chunk,
    record_row,
    scatter_windows,
    scattering_summary,
    segment_records,
)
from dacl.features.leads import lead_rows, resolve_leads, select_leads
from dacl.features.ranges import LongRecord, is_long
from dacl.features.source import CorpusReader, open_source, source_text
from dacl.features.split import check_folds, check_fractions, check_seed, parse_fractions, write_split
from dacl.features.store import (
    FORMAT,
    FORMAT_VERSION,
    LABEL_SEPARATOR,
    MANIFEST,
    SHARDS_DIR,
    SPLIT_JSON,
    ShardWriter,
    brief,
    describe_mismatch,
    differences,
    finish_swap,
    identity_of,
    mismatched_shards,
    our_manifest,
    read_records_csv,
    remove_ours,
    shard_dirs,
    staging_path,
    swap_in,
    write_records_csv,
)
from dacl.features.window_labels import window_labels
from dacl.io.atomic import naming, write_json
from dacl.io.lock import WriterLock
from dacl.settings import NON_NEGATIVE, at_least, check_fields, option


@dataclass(frozen=True)
class BuildOptions:
    """How a build goes (not what it makes): none of these is part of the dataset's identity.

    The run options of the ``[preprocess]`` section (beside :class:`PreprocessConfig`).
    """

    on_error: Literal["skip", "fail"] = option(
        "skip", "bad records: report and skip, or stop at the first", "--on-error", group="run"
    )
    split: tuple[float, float, float] | None = option(
        (0.7, 0.1, 0.2),
        "TRAIN,VAL,TEST fractions to split the finished dataset",
        "--split",
        group="run",
        parse=parse_fractions,
        metavar="TRAIN,VAL,TEST",
        off="--no-split",
        off_help="leave the dataset unsplit",
    )
    seed: int = option(0, "split seed", "--seed", group="run")
    folds: str = option(
        "auto",
        "split by the records' folds: TRAIN/VAL/TEST folds (e.g. 1-8/9/10), 'auto' (1-8/9/10 when every "
        "record has a fold, as PTB-XL's strat_fold) or 'none'",
        "--folds",
        group="run",
        metavar="SPEC",
    )
    overwrite: bool = option(False, "replace an existing dataset at --out", "--overwrite", group="run")
    read_threads: int = option(4, "record reading threads", "--read-threads", group="run")
    num_threads: int | None = option(
        None,
        "compute threads (with an executor: per task)",
        "--threads",
        "--threads-per-task",
        group="run",
        metavar="N",
        default_text="all cores; with an executor, the cores of a worker slot",
    )
    executor: Literal["local", "processes", "dask"] = option(
        "local",
        "where shards are computed: in this process, a pool of local processes, or Dask workers "
        "(pip install 'dacl[dask]')",
        "--executor",
        group="run",
    )
    scheduler: str | None = option(
        None,
        "dask: address of a running dask.distributed scheduler (else a local cluster of --workers processes)",
        "--scheduler",
        group="run",
        metavar="ADDRESS",
        default_text="a local cluster",
    )
    workers: int | None = option(
        None,
        "processes: pool size; dask: local cluster workers",
        "--workers",
        group="run",
        default_text="the number of cores",
    )
    max_chunks: int | None = option(
        None, "stop after this many new shards (resume later)", "--max-chunks", group="run", default_text="no limit"
    )
    progress: bool = option(
        True, "progress bar on stderr", off="--no-progress", off_help="no progress bar", group="run"
    )

    def __post_init__(self) -> None:
        if self.split is not None:
            object.__setattr__(self, "split", check_fractions(self.split))
        check_seed(self.seed)
        check_folds(self.folds)
        check_fields(
            self,
            "preprocess",
            {
                "read_threads": at_least(1),
                "num_threads": at_least(1),
                "max_chunks": NON_NEGATIVE,
                "workers": at_least(1),
            },
        )
        if self.scheduler is not None and self.executor != "dask":
            raise ValueError("preprocess.scheduler is an address of a Dask scheduler: it needs --executor dask")
        if self.workers is not None and (self.executor == "local" or self.scheduler is not None):
            raise ValueError(
                "preprocess.workers sizes a pool of local processes or a local Dask cluster: it needs "
                "--executor processes or dask, without --scheduler"
            )


def preprocess(
    source: str | os.PathLike[str] | CorpusReader,
    out: str | os.PathLike[str],
    config: PreprocessConfig | None = None,
    *,
    on_error: Literal["skip", "fail"] = "skip",
    split: Sequence[float] | None = (0.7, 0.1, 0.2),
    seed: int = 0,
    folds: str = "auto",
    overwrite: bool = False,
    read_threads: int = 4,
    num_threads: int | None = None,
    progress: bool = False,
    max_chunks: int | None = None,
    executor: Executor | None = None,
    _scatter: Scatter | None = None,
    **params: Any,
) -> Path:
    """Preprocess a corpus into a features dataset at ``out``; returns ``out``.

    Every argument is checked, the native transforms are built and the corpus
    opened before anything is written; the run then holds the dataset's writer
    lock (see the module docstring).

    Args:
        source: a corpus zip or folder (see :func:`dacl.corpus.open_corpus`), or an open corpus
            (:class:`dacl.features.source.CorpusReader`).
        out: dataset directory (created; resumed if it holds an unfinished run with the same parameters).
        config: a :class:`PreprocessConfig`; or give its fields as keyword ``params``.
        on_error: ``"skip"`` reports bad records and goes on; ``"fail"`` raises at the first.
        split: ``(train, val, test)`` fractions to split the finished dataset (:mod:`dacl.features.split`),
            or ``None``.
        seed: split seed, a non-negative integer.
        folds: split by the records' folds instead (:func:`dacl.features.split.write_split`): ``"auto"``
            (PTB-XL's 1-8/9/10 when every record has a fold), ``"none"``, or ``"TRAIN/VAL/TEST"`` folds.
        overwrite: replace the dataset at ``out``: build the new one beside it and swap it in when
            complete (rerunning resumes the build; the old dataset stays until the swap).
        read_threads: threads reading records (with an executor: per task).
        num_threads: threads for segmentation and scattering (``None``: rayon's pool); with an executor, the
            threads of each task (``None``: 1), which should be the cores a task owns.
        progress: show a tqdm progress bar (records/s) on stderr.
        max_chunks: stop after writing this many new shards (the dataset stays
            resumable); for tests and for splitting a long run into sessions.
        executor: compute the shards as tasks of this :class:`concurrent.futures.Executor` (a
            ``ProcessPoolExecutor``, Dask's ``Client.get_executor()``, ...), one task per shard; ``None``: in
            this process. Its workers must be able to read ``source`` (a path each worker opens once, or a
            corpus object that pickles) and write ``out`` (a shared file system); see :func:`build_shard`. The
            output is the same, bit for bit.
    """
    if config is None:
        config = PreprocessConfig(**params)
    elif params:
        raise TypeError(f"give either config or keyword parameters, not both ({', '.join(params)})")
    options = BuildOptions(
        on_error=on_error,
        split=None if split is None else tuple(split),  # type: ignore[arg-type]  # checked by BuildOptions
        seed=seed,
        folds=folds,
        overwrite=overwrite,
        read_threads=read_threads,
        num_threads=num_threads,
        progress=progress,
        max_chunks=max_chunks,
    )
    return build(source, out, config, options, executor=executor, _scatter=_scatter)


def build(
    source: str | os.PathLike[str] | CorpusReader,
    out: str | os.PathLike[str],
    config: PreprocessConfig,
    options: BuildOptions,
    *,
    executor: Executor | None = None,
    _scatter: Scatter | None = None,
) -> Path:
    """:func:`preprocess` with its settings as the two parts of the ``[preprocess]`` section (the
    ``executor`` option is the caller's to open: :func:`dacl.features.executors.open_executor`)."""
    if executor is not None:
        _check_sendable(source)
    scatter = _scatter if _scatter is not None else default_scatter(config, options.num_threads)
    check_segmentation(config, options.num_threads)
    scattering = scattering_summary(scatter, config)
    corpus = open_source(source, config)
    identity = _identity(config, corpus)
    new_manifest = {
        "format": FORMAT,
        "status": "in_progress",
        **identity,
        "source": source_text(source),
        "layout": corpus.layout,
        "layout_reason": getattr(corpus, "layout_reason", ""),
        "task": corpus.task,
        "leads": list(resolve_leads(config.leads, corpus)),
        "versions": _versions(),
        "scattering": scattering,
        "runs": [],
    }
    target = Path(os.path.abspath(out))
    job = _Job(
        corpus,
        config,
        scatter,
        options,
        executor=executor,
        source=os.path.abspath(source) if isinstance(source, (str, os.PathLike)) else source,
    )
    with WriterLock(target, "dataset"):
        finish_swap(target)
        if not options.overwrite:
            job.build(target, _open_dataset(target, identity), new_manifest)
            return Path(out)
        _check_replaceable(target)
        staged = staging_path(target)
        if job.build(staged, _open_staging(staged, identity), new_manifest):
            swap_in(staged, target)
    return Path(out)


# ------------------------------------------------------------------ the build


@dataclass
class _Loaded:
    """One record of a chunk as its reading thread left it: usable (its leads selected), long (to be read in
    ranges while the shard is written), or not usable."""

    name: str
    record: Record | None = None
    long: Any = None  # the header (RecordInfo) of a long record
    error: RecordError | None = None
    annotations: Sequence[Any] | None = None


@dataclass
class _Job:
    """One build: what it reads, how it featurizes, how it runs."""

    corpus: CorpusReader
    config: PreprocessConfig
    scatter: Scatter
    options: BuildOptions
    leads: tuple[str, ...] = ()
    order: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    window_shape: tuple[int, ...] = ()
    executor: Executor | None = None
    source: str | CorpusReader = ""  # what the executor's workers open: the corpus path, or the corpus itself
    task_results: list[dict[str, Any]] = field(default_factory=list)  # what the executor's tasks returned

    def chunk(self, k: int) -> list[str]:
        """The record names of chunk ``k``."""
        size = self.config.chunk_records
        return self.corpus.names[k * size : (k + 1) * size]

    def build(self, target: Path, resumed: dict[str, Any] | None, new_manifest: dict[str, Any]) -> bool:
        """Write the missing shards into ``target`` (resuming it when ``resumed`` is its manifest, else
        starting it with ``new_manifest``), then finish and split the dataset once every shard is
        there; returns whether it is complete."""
        manifest = new_manifest if resumed is None else resumed
        if resumed is None:
            _create(target, manifest)  # the manifest first, so `target` is recognisable as ours from now on
        self.leads = tuple(manifest["leads"])
        self.order = np.asarray(manifest["scattering"]["order"])
        self.window_shape = (len(self.leads), manifest["scattering"]["n_paths"], manifest["scattering"]["n_frames"])
        shards_root = target / SHARDS_DIR
        with naming(shards_root):
            shards_root.mkdir(exist_ok=True)
        for stale in shards_root.glob(".tmp-*"):  # from an interrupted run
            shutil.rmtree(stale, ignore_errors=True)
        n_chunks = math.ceil(len(self.corpus.names) / self.config.chunk_records)
        done = {int(p.name) for p in shard_dirs(target)}
        todo = [k for k in range(n_chunks) if k not in done]
        if self.options.max_chunks is not None:
            todo = todo[: self.options.max_chunks]
        t0 = time.perf_counter()
        if self.executor is None:
            written = self.write_shards(shards_root, todo, done, manifest)
        else:
            written = self.submit_shards(shards_root, todo, done, manifest)
        manifest.setdefault("runs", []).append(self.run_record(todo[:written], time.perf_counter() - t0))
        if len(shard_dirs(target)) != n_chunks:
            write_json(target / MANIFEST, manifest)
            return False
        self.finish(target, manifest, n_chunks)
        return True

    def _progress(self, done: set[int]) -> Any:
        """The records bar, started at the records of the shards already ``done``."""
        from tqdm.auto import tqdm

        return tqdm(
            total=len(self.corpus.names),
            initial=sum(len(self.chunk(k)) for k in done),
            unit="rec",
            desc="preprocess",
            disable=not self.options.progress,
            file=sys.stderr,
        )

    def write_shards(self, shards_root: Path, todo: list[int], done: set[int], manifest: dict[str, Any]) -> int:
        """Featurize and write the chunks ``todo``, reading each next chunk while this one is computed
        (the native code releases the GIL); returns how many shards were written."""
        identity = identity_of(manifest)
        bar = self._progress(done)
        written = 0
        with ThreadPoolExecutor(max_workers=self.options.read_threads) as pool:

            def submit(k: int) -> list[Future[_Loaded]]:
                return [pool.submit(self.read, name) for name in self.chunk(k)]

            pending = submit(todo[0]) if todo else []
            try:
                for i, k in enumerate(todo):
                    loaded = [f.result() for f in pending]
                    pending = submit(todo[i + 1]) if i + 1 < len(todo) else []
                    self.write_chunk(shards_root, k, loaded, identity)
                    written += 1
                    bar.update(len(loaded))
            finally:
                for f in pending:
                    f.cancel()
                bar.close()
        return written

    def submit_shards(self, shards_root: Path, todo: list[int], done: set[int], manifest: dict[str, Any]) -> int:
        """Compute the chunks ``todo`` as tasks of the executor (:func:`build_shard`, one per shard), each
        written by its worker; returns how many shards were written. The first failure cancels the rest
        (the shards already written stay, for the next run)."""
        assert self.executor is not None
        plan = ShardTask(
            self.source,
            self.config,
            self.options.on_error,
            self.options.read_threads,
            self.options.num_threads or 1,
            str(shards_root),
            identity_of(manifest),
            self.leads,
            tuple(int(i) for i in self.order),
            self.window_shape,
            k=-1,
        )
        bar = self._progress(done)
        futures = [self.executor.submit(build_shard, replace(plan, k=k)) for k in todo]
        try:
            for future in as_completed(futures):
                result = future.result()
                self.task_results.append(result)
                bar.update(result["records"])
        except Exception:
            for f in futures:
                f.cancel()
            wait(futures)  # tasks already running finish (their shards are complete) before the lock is released
            raise
        finally:
            bar.close()
        return len(futures)

    def read(self, name: str) -> _Loaded:
        """One record with the dataset's leads, a long record's header, or why the record cannot be used
        (also: shorter than ``min_seconds``, or missing a lead)."""
        try:
            info = self.corpus.info(name)
            lead_rows(name, info.leads, self.leads)  # a missing lead is known from the header alone
            annotations = self.corpus.annotations(name)
            if is_long(info.n_samples, info.fs, self.config):
                return _Loaded(name, long=info, annotations=annotations)
            rec = self.corpus.read(name)
            # Min length needs the record's fs, known only after reading: check afterwards.
            need = int(math.ceil(self.config.min_seconds * rec.fs))
            if rec.n_samples < need:
                raise RecordError(
                    name,
                    f"signal is too short: {rec.n_samples / rec.fs:.2f} s, need at least {self.config.min_seconds} s",
                )
            return _Loaded(name, record=select_leads(rec, self.leads), annotations=annotations)
        except RecordError as err:
            return _Loaded(name, error=err)

    def write_chunk(self, shards_root: Path, k: int, loaded: list[_Loaded], identity: dict[str, Any]) -> None:
        """Featurize chunk ``k`` and write it as one shard, record by record in order: runs of short records
        together, each long record in ranges."""
        fail = self.options.on_error == "fail"
        bad = next((item.error for item in loaded if item.error is not None), None)
        if fail and bad is not None:
            raise bad
        first = k * self.config.chunk_records
        rows = [record_row(first + j, item.name) for j, item in enumerate(loaded)]
        with ShardWriter(shards_root, k, self.window_shape) as writer:
            for run in _runs(list(zip(rows, loaded, strict=True))):
                if run[0][1].long is not None:
                    self.write_long(run[0][0], run[0][1], writer)
                else:
                    self.write_short(run, writer)
            bad_row = next((r for r in rows if r["status"] != "ok"), None)
            if fail and bad_row is not None:
                raise RecordError(bad_row["record"], bad_row["error"])
            writer.commit(rows, identity)

    def write_short(self, run: list[tuple[dict[str, Any], _Loaded]], writer: ShardWriter) -> None:
        """Records read whole: featurized together (:func:`process_chunk`) and appended to the shard."""
        rows = [row for row, _ in run]
        results: list[Record | RecordError] = []
        for row, item in run:
            if item.record is not None:
                _describe(row, item.record)
            results.append(item.record if item.record is not None else item.error)  # type: ignore[arg-type]
        chunk = process_chunk(
            rows, results, self.config, self.scatter, self.order, self.options.num_threads, n_leads=len(self.leads)
        )
        labels = np.full(len(chunk.starts), "", dtype=object)
        for row, item in run:
            if item.annotations is not None and item.record is not None:
                mine = chunk.record_index == row["row"]
                labels[mine] = window_labels(
                    chunk.starts[mine], self.config.window, self.config.fs, item.record.fs, item.annotations
                )
        writer.append(chunk.features, chunk.record_index, chunk.starts, labels.astype(str))

    def write_long(self, row: dict[str, Any], item: _Loaded, writer: ShardWriter) -> None:
        """A long record, range by range (:mod:`dacl.features.ranges`); if one range fails, the record's
        windows already in the shard are dropped and the record is marked."""
        info, mark = item.long, writer.count
        long = LongRecord(item.name, info.n_samples, info.fs, self.config)

        def read(sampfrom: int, sampto: int) -> Record:
            record = self.corpus.read(item.name, sampfrom=sampfrom, sampto=sampto)
            if sampfrom == 0:
                _describe(row, record)
            return record

        try:
            for features, starts in long.pieces(read, self.featurize_whole):
                labels = (
                    None
                    if item.annotations is None
                    else window_labels(starts, self.config.window, self.config.fs, info.fs, item.annotations)
                )
                writer.append(features, np.full(len(starts), row["row"], np.int64), starts, labels)
        except RecordError as err:
            writer.rollback(mark)
            row.update(status="error", error=err.problem, n_windows=0)
            return
        row.update(length=info.n_samples, fs=info.fs, sha256=long.digest.hexdigest(), n_windows=writer.count - mark)
        if row["n_windows"] == 0:
            row.update(status="error", error="produced no windows")

    def featurize_whole(self, record: Record) -> tuple[np.ndarray, np.ndarray]:
        """``(features (w, L, P, F), starts)`` of a record (a range of a long one) read as a whole."""
        record = select_leads(record, self.leads)
        try:
            windows, position, starts = segment_records([record], self.config, self.options.num_threads)
        except ValueError as err:
            raise RecordError(record.name, f"segmentation failed: {err}") from None
        features, _, starts = scatter_windows(
            [(windows, position, starts)], len(self.leads), self.config, self.scatter, self.order, 512
        )
        if not np.isfinite(features).all():
            raise RecordError(record.name, "scattering features are not finite")
        return features, starts

    def run_record(self, chunks: list[int], seconds: float) -> dict[str, Any]:
        """What the manifest records about this run."""
        n_records = sum(len(self.chunk(k)) for k in chunks)
        return {
            "shards_written": len(chunks),
            "records": n_records,
            "seconds": round(seconds, 3),
            "records_per_s": round(n_records / seconds, 2) if seconds > 0 else None,
            "read_threads": self.options.read_threads,
            "num_threads": self.options.num_threads,
            "executor": "local" if self.executor is None else type(self.executor).__name__,
            **self.task_summary(),
        }

    def task_summary(self) -> dict[str, Any]:
        """With an executor: how many worker processes ran the tasks, their summed seconds and threads per task."""
        if not self.task_results:
            return {}
        return {
            "worker_processes": len({r["pid"] for r in self.task_results}),
            "task_seconds": round(sum(r["seconds"] for r in self.task_results), 3),
            "threads_per_task": self.task_results[0]["num_threads"],
        }

    def finish(self, target: Path, manifest: dict[str, Any], n_chunks: int) -> None:
        """Every shard is there: gather records.csv, complete the manifest, split (or unsplit)."""
        shards = shard_dirs(target)
        rows = [row for shard in shards for row in read_records_csv(shard)]
        write_records_csv(target, rows)
        errors = [r for r in rows if r["status"] != "ok"]
        manifest.update(
            status="complete",
            n_shards=n_chunks,
            n_windows=sum(int(r["n_windows"]) for r in rows),
            n_records_ok=len(rows) - len(errors),
            errors={r["record"]: r["error"] for r in errors},
            vocabulary=_vocabulary(self.corpus.vocabulary, rows, shards),
            seconds_total=round(sum(run["seconds"] for run in manifest["runs"]), 3),
        )
        write_json(target / MANIFEST, manifest)
        if self.options.split is not None:
            write_split(target, self.options.split, self.options.seed, folds=self.options.folds)
        else:
            (target / SPLIT_JSON).unlink(missing_ok=True)


# ------------------------------------------------------------------ one shard as a task of an executor


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to compute and write shard ``k`` (small, picklable): the driver's plan."""

    source: str | CorpusReader  # the corpus path, as the worker sees it (a shared file system), or a corpus object
    config: PreprocessConfig
    on_error: Literal["skip", "fail"]
    read_threads: int
    num_threads: int  # the cores this task owns: every native call gets this many threads
    shards_root: str
    identity: dict[str, Any]
    leads: tuple[str, ...]
    order: tuple[int, ...]
    window_shape: tuple[int, ...]
    k: int


def build_shard(task: ShardTask) -> dict[str, Any]:
    """Compute shard ``task.k`` and write it atomically under ``task.shards_root`` (a task of an executor); return
    small metadata: the shard, its records and windows, seconds, the worker's pid and threads. A shard already
    there (an earlier attempt finished it) is kept, not computed again. The worker checks that the corpus it
    opens is the one the driver planned (same input checksums), so a worker reading another copy fails loudly."""
    t0 = time.perf_counter()
    final = Path(task.shards_root) / f"{task.k:06d}"
    job = _worker_job(task)
    names = job.chunk(task.k)
    if not final.is_dir():
        with ThreadPoolExecutor(max_workers=min(task.read_threads, max(1, len(names)))) as pool:
            loaded = list(pool.map(job.read, names))
        job.write_chunk(Path(task.shards_root), task.k, loaded, task.identity)
    return {
        "shard": task.k,
        "records": len(names),
        "windows": len(np.load(final / "record_index.npy")),
        "seconds": round(time.perf_counter() - t0, 3),
        "pid": os.getpid(),
        "num_threads": task.num_threads,
    }


def _worker_job(task: ShardTask) -> _Job:
    """The build job of a worker: the corpus opened once per process (:func:`_open_corpus`), checked against the
    plan; the native transform with the task's threads."""
    planned = {"inputs": task.identity["inputs"], "n_records": task.identity["n_records"]}
    corpus, inputs = _worker_corpus(task)
    if inputs != planned and isinstance(task.source, str):  # opened for an earlier run: the corpus may have changed
        _open_corpus.cache_clear()
        corpus, inputs = _worker_corpus(task)
    if inputs != planned:
        raise ValueError(
            f"shard {task.k}: the corpus {task.source} as this worker (pid {os.getpid()}) reads it is not "
            f"the one planned ({'; '.join(differences(planned, inputs)[:3])}); workers must share it"
        )
    options = BuildOptions(
        on_error=task.on_error, split=None, read_threads=task.read_threads, num_threads=task.num_threads, progress=False
    )
    return _Job(
        corpus,
        task.config,
        _scatter_for(task.config, task.num_threads),
        options,
        leads=task.leads,
        order=np.asarray(task.order),
        window_shape=task.window_shape,
    )


def _worker_corpus(task: ShardTask) -> tuple[CorpusReader, dict[str, Any]]:
    """The task's corpus and what identifies it (input checksums and record count), as JSON values."""
    corpus = _open_corpus(task.source, task.config) if isinstance(task.source, str) else task.source
    return corpus, json.loads(json.dumps({"inputs": dict(corpus.fingerprint), "n_records": len(corpus.names)}))


def _check_sendable(source: str | os.PathLike[str] | CorpusReader) -> None:
    """With an executor, the workers open a corpus path themselves; an open corpus is pickled to them."""
    if isinstance(source, (str, os.PathLike)):
        return
    try:
        pickle.dumps(source)
    except Exception as err:  # noqa: BLE001 (whatever pickling raises, the message is the same)
        raise TypeError(
            f"with an executor, the corpus must be a path its workers can read, or a corpus object that "
            f"can be pickled; {brief(repr(source), 60)} cannot ({type(err).__name__})"
        ) from None


@functools.lru_cache(maxsize=4)
def _open_corpus(source: str, config: PreprocessConfig) -> CorpusReader:
    """A worker opens a corpus (listing, checksums) once, not once per task."""
    return open_source(source, config)


@functools.lru_cache(maxsize=4)
def _scatter_for(config: PreprocessConfig, num_threads: int) -> Scatter:
    """A worker builds the scattering filters once, not once per task."""
    return default_scatter(config, num_threads)


def _runs(items: list[tuple[dict[str, Any], _Loaded]]) -> list[list[tuple[dict[str, Any], _Loaded]]]:
    """The chunk's records in order, as runs: consecutive records read whole together, each long one alone."""
    runs: list[list[tuple[dict[str, Any], _Loaded]]] = []
    for item in items:
        if item[1].long is not None or not runs or runs[-1][0][1].long is not None:
            runs.append([item])
        else:
            runs[-1].append(item)
    return runs


def _describe(row: dict[str, Any], record: Record) -> None:
    """What records.csv says about a record besides its windows: labels, patient and fold."""
    meta = record.meta or {}
    row.update(label=LABEL_SEPARATOR.join(record.labels), patient=meta.get("patient", ""), fold=meta.get("fold", ""))


def _vocabulary(known: Sequence[str] | None, rows: list[dict[str, str]], shards: list[Path]) -> list[str]:
    """The dataset's label codes: the corpus's vocabulary, then any other code its records or windows carry
    (sorted); without a corpus vocabulary, every code seen, sorted."""
    seen = {code for r in rows for code in r["label"].split(LABEL_SEPARATOR) if code}
    for shard in shards:
        path = shard / "window_labels.npy"
        if path.is_file():
            seen.update(str(v) for v in np.unique(np.load(path)) if v)
    base = list(known or ())
    return base + sorted(seen - set(base))


def _create(target: Path, manifest: dict[str, Any]) -> None:
    """Create the dataset directory with its manifest; a failure leaves no empty directory behind."""
    created = not target.exists()
    with naming(target):
        target.mkdir(parents=True, exist_ok=True)
    try:
        write_json(target / MANIFEST, manifest)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                target.rmdir()
        raise


def _versions() -> dict[str, str]:
    return {"dacl": __version__, "native": __version__, "numpy": np.__version__}


def _identity(config: PreprocessConfig, corpus: CorpusReader) -> dict[str, Any]:
    """What decides the dataset's contents (see :data:`dacl.features.store.IDENTITY_KEYS`), as JSON values."""
    return json.loads(
        json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "params": asdict(config),
                "inputs": dict(corpus.fingerprint),
                "n_records": len(corpus.names),
            }
        )
    )


# ------------------------------------------------------------------ where it is written


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
