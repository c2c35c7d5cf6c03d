"""Shards computed by an executor (local processes, a Dask cluster): the same dataset, bit for bit, resumable,
each task's native code on the threads it owns."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dacl.cli import main as cli_main
from dacl.corpus import RecordError, sample_path
from dacl.features import PreprocessConfig, load_features, preprocess
from dacl.features.build import ShardTask, build_shard
from dacl.features.executors import available_cores
from dacl.features.store import identity_of, read_manifest

SMALL = dict(window=512, hop=384, J=5, Q=4, chunk_records=8)
SMALL_ARGS = ["--window", "512", "--hop", "384", "-J", "5", "-Q", "4", "--chunk-records", "8", "--no-progress"]


def _files(path: Path) -> dict[str, bytes]:
    """Every data file of a dataset (the manifest aside: it records timings) by its path inside it."""
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != "manifest.json" and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "A"
    assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS]) == 0
    return out


@pytest.mark.slow
def test_dask_workers_write_the_local_dataset_bit_for_bit(tmp_path: Path, local_run: Path):
    out = tmp_path / "B"
    # A local cluster of 2 worker processes, one thread each (dask.distributed itself raises no warning here;
    # pytest turns any into an error, so a new one would show).
    assert (
        cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, "--executor", "dask", "--workers", "2"])
        == 0
    )
    want, got = _files(local_run), _files(out)
    assert sorted(got) == sorted(want) and len([k for k in want if k.endswith("features.npy")]) == 5
    assert [k for k in want if got[k] != want[k]] == []  # arrays, records.csv, split.json: identical bytes
    run = read_manifest(out)["runs"][-1]
    assert run["executor"] == "ClientExecutor" and run["shards_written"] == 5
    assert run["threads_per_task"] == max(1, available_cores() // 2)  # a worker slot's cores, not the node's


@pytest.mark.slow
def test_a_running_scheduler_gets_the_tasks_each_on_its_slot_of_cores(tmp_path: Path, local_run: Path):
    """``--scheduler ADDRESS``: the tasks go to that cluster's workers; one worker running 2 tasks at a time
    gives each task half the node's cores."""
    from distributed import LocalCluster

    out = tmp_path / "S"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster:
        args = ["--executor", "dask", "--scheduler", cluster.scheduler_address]
        assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, *args]) == 0
    assert _files(out) == _files(local_run)
    run = read_manifest(out)["runs"][-1]
    assert run["threads_per_task"] == max(1, available_cores() // 2) and run["worker_processes"] == 1


@pytest.mark.slow
def test_local_processes_write_the_local_dataset_bit_for_bit(tmp_path: Path, local_run: Path):
    out = tmp_path / "C"
    assert (
        cli_main(
            [
                "preprocess",
                "--sample",
                "--out",
                str(out),
                *SMALL_ARGS,
                "--executor",
                "processes",
                "--workers",
                "2",
                "--threads-per-task",
                "1",
            ]
        )
        == 0
    )
    assert _files(out) == _files(local_run)
    run = read_manifest(out)["runs"][-1]
    assert run["executor"] == "ProcessPoolExecutor" and run["threads_per_task"] == 1


@pytest.mark.slow
def test_an_interrupted_run_is_finished_by_an_executor_keeping_its_shards(tmp_path: Path, local_run: Path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out = tmp_path / "D"
    preprocess(sample_path(), out, max_chunks=2, **SMALL)
    kept = {p.name: p.stat().st_ino for p in (out / "shards").iterdir()}
    # Spawned, not forked: a fork of this process (torch's and the reading pools' threads) can deadlock.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        preprocess(sample_path(), out, executor=pool, num_threads=1, **SMALL)
    assert {p.name: p.stat().st_ino for p in (out / "shards").iterdir() if p.name in kept} == kept  # not redone
    assert [r["shards_written"] for r in read_manifest(out)["runs"]] == [2, 3]
    assert _files(out) == _files(local_run)


@pytest.mark.slow
def test_a_killed_driver_is_resumed_by_rerunning_the_command(tmp_path: Path):
    """The driver of a 2-process run is killed once a shard is there; rerunning the command (here with Dask)
    keeps the finished shards and gives the dataset of an uninterrupted local run."""
    args = [*SMALL_ARGS[:-3], "--chunk-records", "2", "--no-progress"]
    reference = tmp_path / "reference"
    assert cli_main(["preprocess", "--sample", "--out", str(reference), *args]) == 0
    out = tmp_path / "K"
    cmd = [
        sys.executable,
        "-m",
        "dacl.cli",
        "preprocess",
        "--sample",
        "--out",
        str(out),
        *args,
        "--executor",
        "processes",
        "--workers",
        "2",
        "--threads-per-task",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "shards").is_dir() or not any(p.name.isdigit() for p in (out / "shards").iterdir()):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()
    assert read_manifest(out)["status"] == "in_progress"
    kept = {p.name: p.stat().st_ino for p in (out / "shards").iterdir() if p.name.isdigit()}
    assert cli_main(["preprocess", "--sample", "--out", str(out), *args, "--executor", "dask", "--workers", "2"]) == 0
    now = {p.name: p.stat().st_ino for p in (out / "shards").iterdir()}
    assert {name: now[name] for name in kept} == kept  # finished shards were kept, not computed again
    assert _files(out) == _files(reference)  # and no temp directory is left (it would be listed)


def _task(
    out: Path, k: int = 0, num_threads: int = 1, read_threads: int = 1, source: Path | None = None, **params: object
) -> ShardTask:
    """The plan of shard ``k`` of the sample (or ``source``), as the driver makes it (the dataset started by a run
    of 0 shards)."""
    source = source or sample_path()
    config = PreprocessConfig(**{**SMALL, **params})  # type: ignore[arg-type]
    preprocess(source, out, config, max_chunks=0)
    manifest = read_manifest(out)
    scattering = manifest["scattering"]
    return ShardTask(
        str(source),
        config,
        "skip",
        read_threads,
        num_threads,
        str(out / "shards"),
        identity_of(manifest),
        tuple(manifest["leads"]),
        tuple(scattering["order"]),
        (len(manifest["leads"]), scattering["n_paths"], scattering["n_frames"]),
        k,
    )


def test_a_task_keeps_a_shard_an_earlier_attempt_finished(tmp_path: Path, local_run: Path):
    task = _task(tmp_path / "E", k=3)
    first = build_shard(task)
    shard = tmp_path / "E" / "shards" / "000003"
    inode = shard.stat().st_ino
    again = build_shard(task)
    assert first["windows"] == again["windows"] > 0 and first["records"] == 8
    assert shard.stat().st_ino == inode and _files(shard) == _files(local_run / "shards" / "000003")
    assert [p.name for p in (tmp_path / "E" / "shards").iterdir()] == ["000003"]  # no temp dir left


def test_a_worker_that_reads_another_corpus_fails_by_name(tmp_path: Path):
    task = _task(tmp_path / "F")
    other = replace(task, identity={**task.identity, "inputs": {**task.identity["inputs"], "zip_sha256": "0" * 64}})
    with pytest.raises(ValueError, match="shard 0: the corpus .* is not the one planned.*zip_sha256"):
        build_shard(other)
    assert not any((tmp_path / "F" / "shards").iterdir())


def test_a_worker_reopens_a_corpus_that_changed_since_an_earlier_run(tmp_path: Path):
    """A long-lived worker opened the corpus for an earlier run; the corpus changed since (a file added to the
    zip): the next run's task reopens it instead of failing on the stale checksums."""
    import shutil
    import zipfile

    corpus = tmp_path / "corpus.zip"
    shutil.copy(sample_path(), corpus)
    build_shard(_task(tmp_path / "before", source=corpus))
    with zipfile.ZipFile(corpus, "a") as z:
        z.writestr("NOTES.txt", "added after the first run")
    after = _task(tmp_path / "after", source=corpus)
    assert after.identity["inputs"] != read_manifest(tmp_path / "before")["inputs"]
    assert build_shard(after)["records"] == 8


def test_a_record_error_crosses_a_process_boundary_intact():
    err = pickle.loads(pickle.dumps(RecordError("A00001", "signal is too short")))
    assert isinstance(err, RecordError) and (err.name, err.problem) == ("A00001", "signal is too short")
    assert str(err) == "record A00001: signal is too short"


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux)")
@pytest.mark.parametrize("num_threads", [1, 4])
def test_a_task_runs_its_native_code_on_the_threads_it_owns(tmp_path: Path, num_threads: int):
    """Counts this process's threads while a task computes one shard of 40 records (one reading thread): a task
    given one thread adds at most its reading thread and one compute thread (plus one of a pool that is
    ending); the 4-thread run shows that the count does see the native pool."""
    task = _task(tmp_path / "G", num_threads=num_threads, chunk_records=40)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _threads())
            time.sleep(0.0002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    time.sleep(0.05)
    baseline = peak  # this process, the sampler included
    try:
        build_shard(task)
    finally:
        done.set()
        sampler.join()
    extra = peak - baseline
    if num_threads == 1:
        assert extra <= 3, f"{extra} threads more during a 1-thread task"
    else:
        assert extra >= num_threads, f"the count saw only {extra} more threads during a {num_threads}-thread task"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--scheduler", "tcp://127.0.0.1:1"], "needs --executor dask"),
        (["--workers", "2"], "needs --executor processes or dask"),
        (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "without --scheduler"),
        (["--executor", "processes", "--workers", "0"], "workers"),
    ],
)
def test_executor_options_are_checked_before_anything_is_written(tmp_path: Path, capsys, args, match):
    out = tmp_path / "H"
    assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, *args]) == 2
    assert match in capsys.readouterr().err and not out.exists()


class _PathCorpus:
    """A corpus object that pickles (it reopens the sample in each process), as a user's own reader might."""

    def __init__(self) -> None:
        self.path = str(sample_path())

    def __getstate__(self) -> dict[str, str]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.path = state["path"]

    def __getattr__(self, name: str) -> object:
        if name == "path":
            raise AttributeError(name)
        return getattr(_open(self.path), name)


def _open(path: str):
    from dacl.corpus import open_corpus

    return open_corpus(path)


def test_an_executor_takes_a_corpus_object_that_pickles(tmp_path: Path, local_run: Path):
    from concurrent.futures import ThreadPoolExecutor

    from dacl.corpus import open_corpus

    with ThreadPoolExecutor(2) as pool:
        with pytest.raises(TypeError, match="a corpus object that can be pickled; .* cannot"):
            preprocess(open_corpus(sample_path()), tmp_path / "I", executor=pool, **SMALL)
        assert not (tmp_path / "I").exists()
        preprocess(_PathCorpus(), tmp_path / "J", executor=pool, num_threads=1, **SMALL)
    assert _files(tmp_path / "J") == _files(local_run)


def test_a_run_records_its_executor(local_run: Path):
    run = read_manifest(local_run)["runs"][-1]
    assert run["executor"] == "local" and "threads_per_task" not in run
    assert json.loads((local_run / "split.json").read_text())["format"] == "dacl-split"
    assert load_features(local_run).features.shape[0] == read_manifest(local_run)["n_windows"]
