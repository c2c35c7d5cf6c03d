"""Writing a dataset safely: one writer, shards that know their parameters, an overwrite that
cannot lose the old dataset, options checked before the first write, disk errors in one line."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dacl.cli import main as cli_main
from dacl.corpus import sample_path
from dacl.features import load_features, preprocess
from dacl.features.store import read_manifest

SMALL = dict(window=512, hop=384, J=5, Q=4, chunk_records=8)
SMALL_ARGS = ["--window", "512", "--hop", "384", "-J", "5", "-Q", "4", "--no-progress"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return preprocess(sample_path(), tmp_path_factory.mktemp("ref") / "ds", **SMALL)


def _same_data(a: Path, b: Path) -> None:
    fa, fb = load_features(a, mmap=False), load_features(b, mmap=False)
    for key in ("features", "record_index", "starts", "record_ids", "record_labels", "record_split"):
        np.testing.assert_array_equal(getattr(fa, key), getattr(fb, key), err_msg=key)


def _snapshot(path: Path) -> dict[str, str]:
    """Every file under ``path`` with its SHA-256 (to show that nothing changed)."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------ one writer at a time


def _cli(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dacl.cli",
        "preprocess",
        str(sample_path()),
        "--out",
        str(out),
        *SMALL_ARGS,
        "--chunk-records",
        "1",
        *extra,
    ]


@pytest.mark.slow
def test_a_second_writer_is_refused_and_a_killed_run_resumes_with_its_own_parameters(tmp_path: Path, reference):
    out = tmp_path / "ds"
    first = subprocess.Popen(_cli(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (out / "shards" / "000000").exists():
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.002)
        first.send_signal(signal.SIGSTOP)  # a writer in the middle of its run
        for extra in (["--band", "1,30"], []):  # other parameters, and the same ones
            second = subprocess.run(_cli(out, *extra), capture_output=True, text=True, timeout=120)
            assert second.returncode == 2
            assert f"pid {first.pid} " in _one_line(second.stderr), second.stderr
    finally:
        first.kill()
        first.wait()
        first.stderr.close()
    # The killed run's parameters hold the dataset; the other run is refused, by name of the difference.
    other = subprocess.run(_cli(out, "--band", "1,30"), capture_output=True, text=True, timeout=120)
    assert other.returncode == 2 and "params.band" in _one_line(other.stderr)
    again = subprocess.run(_cli(out), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    _same_data(out, reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no lock file left behind


def _partial(out: Path, max_chunks: int, **params) -> Path:
    return preprocess(sample_path(), out, max_chunks=max_chunks, **{**SMALL, **params})


def test_resume_refuses_shards_made_with_other_parameters(tmp_path: Path):
    other = _partial(tmp_path / "other", 2, band=(1.0, 30.0))
    ours = _partial(tmp_path / "ours", 1)
    shutil.copytree(other / "shards" / "000001", ours / "shards" / "000001")  # a shard from a 1-30 Hz run
    with pytest.raises(ValueError, match=r"000001.*params\.band") as info:
        preprocess(sample_path(), ours, **SMALL)
    assert "000000" not in str(info.value)
    assert read_manifest(ours)["status"] == "in_progress"


def test_resume_refuses_shards_that_record_no_parameters(tmp_path: Path):
    ours = _partial(tmp_path / "ours", 2)
    for f in (ours / "shards" / "000001").iterdir():
        if f.suffix == ".json":
            f.unlink()
    with pytest.raises(ValueError, match="000001"):
        preprocess(sample_path(), ours, **SMALL)


def test_load_refuses_a_dataset_with_a_foreign_shard(tmp_path: Path, reference: Path):
    other = _partial(tmp_path / "other", 1, band=(1.0, 30.0))
    mixed = tmp_path / "mixed"
    shutil.copytree(reference, mixed)
    shutil.rmtree(mixed / "shards" / "000000")
    shutil.copytree(other / "shards" / "000000", mixed / "shards" / "000000")
    with pytest.raises(ValueError, match=r"000000"):
        load_features(mixed)


# ------------------------------------------------------------------ --overwrite


def test_overwrite_with_a_bad_parameter_leaves_the_dataset_untouched(tmp_path: Path, reference: Path, capsys):
    out = tmp_path / "ow"
    shutil.copytree(reference, out)
    before = _snapshot(out)
    assert cli_main(["preprocess", "--sample", "--out", str(out), "--overwrite", "-J", "30", "--no-progress"]) == 2
    assert "T" in _one_line(capsys.readouterr().err)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ow"]


@pytest.mark.parametrize(
    "manifest", [{"name": "my-web-app"}, ["a", "list"], "not json {"], ids=["foreign-object", "json-list", "not-json"]
)
def test_overwrite_never_removes_what_is_not_a_dacl_dataset(tmp_path: Path, capsys, manifest):
    out = tmp_path / "app"
    (out / "shards").mkdir(parents=True)
    (out / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    (out / "records.csv").write_text("id,name\n1,alice\n")
    (out / "shards" / "db-shard-1.bin").write_bytes(b"\1\2\3")
    before = _snapshot(out)
    for extra in (["--overwrite"], []):
        assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, *extra]) == 2
        assert "not a dacl dataset" in _one_line(capsys.readouterr().err)
        assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]


def test_an_interrupted_overwrite_keeps_the_old_dataset_and_resumes(tmp_path: Path, reference: Path, monkeypatch):
    import dacl.features.build

    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    before = _snapshot(out)
    preprocess(sample_path(), out, overwrite=True, max_chunks=2, **{**SMALL, "hop": 256})  # stops half-way
    assert _snapshot(out) == before
    _same_data(out, reference)
    real_commit = dacl.features.build.ShardWriter.commit
    written = []

    def interrupted_after_one_shard(*args, **kwargs):
        if written:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the staged build
        written.append(real_commit(*args, **kwargs))
        return written[-1]

    monkeypatch.setattr(dacl.features.build.ShardWriter, "commit", interrupted_after_one_shard)
    with pytest.raises(KeyboardInterrupt):
        preprocess(sample_path(), out, overwrite=True, **{**SMALL, "hop": 256})
    monkeypatch.undo()
    assert written and _snapshot(out) == before
    done = preprocess(sample_path(), out, overwrite=True, **{**SMALL, "hop": 256})
    manifest = read_manifest(done)
    assert done == out and manifest["params"]["hop"] == 256 and manifest["status"] == "complete"
    assert [run["shards_written"] for run in manifest["runs"]] == [2, 2]  # 2 + 1 (interrupted) + 2: resumed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    fresh = preprocess(sample_path(), tmp_path / "fresh", **{**SMALL, "hop": 256})
    _same_data(out, fresh)


def test_a_crash_between_the_swap_renames_is_repaired_by_the_next_run(tmp_path: Path, reference: Path, monkeypatch):
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    real_rename = os.rename
    moved = []

    def crash_after_moving_the_old_dataset(src, dst, *args, **kwargs):
        if moved:
            raise KeyboardInterrupt  # killed between the two renames of the swap
        real_rename(src, dst, *args, **kwargs)
        if Path(src) == out:
            moved.append(dst)

    monkeypatch.setattr(os, "rename", crash_after_moving_the_old_dataset)
    with pytest.raises(KeyboardInterrupt):
        preprocess(sample_path(), out, overwrite=True, **{**SMALL, "hop": 256})
    monkeypatch.setattr(os, "rename", real_rename)
    assert moved, "the swap never moved the old dataset aside"
    # Whatever the next writer is, it finishes the swap first.
    assert cli_main(["split", str(out), "--seed", "3"]) == 0
    assert read_manifest(out)["params"]["hop"] == 256
    assert load_features(out).manifest["split"]["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_overwrite_into_a_missing_directory(tmp_path: Path, reference: Path):
    out = tmp_path / "new" / "ds"
    preprocess(sample_path(), out, overwrite=True, **SMALL)
    _same_data(out, reference)
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds"]


# ------------------------------------------------------------------ a chunk with no windows


def _extracted(tmp_path: Path) -> Path:
    with zipfile.ZipFile(sample_path()) as z:
        z.extractall(tmp_path / "c")
    return tmp_path / "c" / "training2017"


def _add_truncated_record(root: Path, name: str = "A99999") -> str:
    """One more record whose signal file is truncated, listed last."""
    first = (root / "RECORDS").read_text().split()[0]
    (root / f"{name}.hea").write_text((root / f"{first}.hea").read_text().replace(first, name))
    (root / f"{name}.mat").write_bytes((root / f"{first}.mat").read_bytes()[:400])
    (root / "RECORDS").write_text((root / "RECORDS").read_text().rstrip("\n") + f"\n{name}\n")
    (root / "REFERENCE.csv").write_text((root / "REFERENCE.csv").read_text() + f"{name},N\n")
    return name


@pytest.mark.parametrize("chunk", ["8", "1"])
def test_a_chunk_whose_records_all_fail_is_a_recorded_outcome(tmp_path: Path, capsys, chunk: str):
    root = _extracted(tmp_path)
    bad = _add_truncated_record(root)  # record 41: alone in the last chunk of 8, and in its own chunk of 1
    out = tmp_path / "ds"
    args = ["preprocess", str(root), "--out", str(out), *SMALL_ARGS, "--chunk-records", chunk]
    assert cli_main(args) == 0, capsys.readouterr().err
    assert f"skipped {bad}: signal file {bad}.mat is truncated" in capsys.readouterr().out
    fs = load_features(out)
    assert fs.record_ids[-1] == bad and not (fs.record_index == len(fs.record_ids) - 1).any()
    assert read_manifest(out)["errors"] == {bad: read_manifest(out)["errors"][bad]}
    assert cli_main(args) == 0  # rerunning a finished dataset is fine too


# ------------------------------------------------------------------ options checked up front


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (["--min-seconds", "inf"], "min_seconds"),
        (["--min-seconds", "nan"], "min_seconds"),
        (["--log-eps", "nan"], "log_eps"),
        (["--log-eps", "inf"], "log_eps"),
        (["--seed", "-1"], "seed"),
        (["--band", "0,40"], "band"),
        (["--band-order", "50"], "band_order"),
        (["-J", "30"], "T"),
        (["-Q", "0"], "Q"),
        (["--threads", "0"], "thread"),
        (["--read-threads", "0"], "read_threads"),
        (["--max-chunks", "-1"], "max_chunks"),
        (["--chunk-records", "0"], "chunk_records"),
        (["--split", "0.5,0.5,0"], None),  # valid: a control case
    ],
)
def test_options_are_checked_before_anything_is_written(tmp_path: Path, capsys, options, match):
    out = tmp_path / "ds"
    rc = cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, *options])
    if match is None:
        assert rc == 0
        return
    assert rc == 2
    assert match in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_split_checks_its_seed_before_writing(tmp_path: Path, reference: Path, capsys):
    out = tmp_path / "ds"
    shutil.copytree(reference, out)
    before = _snapshot(out)
    assert cli_main(["split", str(out), "--seed", "-1"]) == 2
    assert "seed" in _one_line(capsys.readouterr().err)
    assert _snapshot(out) == before


def test_a_json_list_as_manifest_is_one_line(tmp_path: Path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "manifest.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="manifest.json"):
        load_features(out)
    assert cli_main(["split", str(out)]) == 2
    assert "manifest.json" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------------------ a failing disk


def test_disk_full_while_writing_a_shard(tmp_path: Path, reference: Path, monkeypatch, capsys):
    out = tmp_path / "ds"
    real_save = np.save
    calls = []

    def save_until_the_disk_is_full(file, arr, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # in the middle of the second shard
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(file, arr, *args, **kwargs)

    monkeypatch.setattr(np, "save", save_until_the_disk_is_full)
    assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, "--chunk-records", "8"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "No space left on device" in line and str(out / "shards") in line, line
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]  # no lock left
    assert not [p for p in out.rglob("*") if "tmp" in p.name]
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["000000"]
    monkeypatch.setattr(np, "save", real_save)
    assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, "--chunk-records", "8"]) == 0
    _same_data(out, reference)


def test_read_only_out(tmp_path: Path, reference: Path, monkeypatch, capsys):
    import dacl.io.atomic

    out = tmp_path / "ds"

    def read_only(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(dacl.io.atomic, "_create_temp", read_only)
    assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, "--chunk-records", "8"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "Read-only file system" in line and "manifest.json" in line
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert cli_main(["preprocess", "--sample", "--out", str(out), *SMALL_ARGS, "--chunk-records", "8"]) == 0
    _same_data(out, reference)
