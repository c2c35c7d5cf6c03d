"""End-to-end preprocessing of the shipped sample: layout, parity, resume, bad records.

Small settings keep it quick: short windows, a small scattering, few records per shard.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import FAST_ARGS

from dacl._native import Scattering1D, segment
from dacl.cli import main as cli_main
from dacl.corpus import open_corpus, sample_path
from dacl.corpus.cinc2017 import CLASSES
from dacl.features import PreprocessConfig, load_features, preprocess
from dacl.features.featurizer import log_scale
from dacl.features.store import read_manifest, read_records_csv

SMALL = dict(window=512, hop=384, J=5, Q=4, chunk_records=8)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """One uninterrupted run on the sample with SMALL settings."""
    out = tmp_path_factory.mktemp("ref") / "ds"
    return preprocess(sample_path(), out, **SMALL)


def _arrays(path: Path):
    fs = load_features(path, mmap=False)
    names = ("features", "record_index", "starts", "record_ids", "record_labels", "record_split")
    return fs, {k: getattr(fs, k) for k in names}


def _no_temp_files(path: Path) -> None:
    leftovers = [p for p in path.rglob("*") if "tmp" in p.name]
    assert leftovers == []


def test_layout_and_shapes_agree_with_records_csv(reference_run: Path):
    fs = load_features(reference_run)
    rows = read_records_csv(reference_run)
    manifest = read_manifest(reference_run)
    corpus = open_corpus(sample_path())
    assert [r["record"] for r in rows] == corpus.names
    assert manifest["status"] == "complete" and manifest["n_shards"] == 5  # 40 records / 8
    assert len(list((reference_run / "shards").iterdir())) == 5
    W, L, P, F = fs.features.shape
    assert fs.features.dtype == np.float32
    assert L == 1 and fs.leads == tuple(manifest["leads"]) == ("I",)  # CinC 2017: one lead, named I
    assert fs.vocabulary == CLASSES and fs.task == "single-label" and manifest["layout"] == "cinc2017"
    assert W == sum(int(r["n_windows"]) for r in rows) == manifest["n_windows"]
    assert (manifest["scattering"]["n_paths"], manifest["scattering"]["n_frames"]) == (P, F)
    assert len(manifest["scattering"]["order"]) == P
    assert np.array_equal(np.bincount(fs.record_index, minlength=len(rows)), [int(r["n_windows"]) for r in rows])
    assert list(fs.record_ids) == corpus.names
    assert [CLASSES[i] for i in fs.record_labels] == [corpus.label(n) for n in corpus.names]
    # Each record's windows are contiguous and in time order, with starts `hop` apart.
    for r in range(len(rows)):
        starts = fs.starts[fs.record_index == r]
        assert np.all(np.diff(starts) == SMALL["hop"])
    # Split made by default, every record on exactly one side; its provenance comes with the features.
    assert set(fs.record_split) == {"train", "val", "test"}
    assert fs.manifest["split"]["seed"] == 0 and fs.manifest["split"]["fractions"] == [0.7, 0.1, 0.2]
    assert (reference_run / "split.json").is_file() and "split" not in manifest
    # Provenance.
    assert manifest["params"]["window"] == 512 and manifest["params"]["log_scale"] is True
    assert set(manifest["inputs"]) >= {"zip_sha256", "reference_sha256"}
    assert all(len(r["sha256"]) == 64 for r in rows)
    assert manifest["versions"]["native"]
    _no_temp_files(reference_run)


def test_features_equal_direct_native_calls(reference_run: Path):
    fs = load_features(reference_run)
    corpus = open_corpus(sample_path())
    S = Scattering1D(SMALL["J"], SMALL["window"], Q=SMALL["Q"])
    order = np.asarray(S.meta()["order"])
    cfg = PreprocessConfig(**SMALL)
    for r in (0, 17, 39):
        rec = corpus.read(corpus.names[r])
        windows, _, starts = segment(
            [rec.signal[0]], rec.fs, cfg.window, cfg.hop, tail=cfg.tail, band=cfg.band, zscore=cfg.zscore
        )
        expected = log_scale(S(windows.astype(np.float32)), order, cfg.log_eps)
        mask = fs.record_index == r
        np.testing.assert_array_equal(fs.starts[mask], starts)
        np.testing.assert_array_equal(fs.features[mask][:, 0], expected)
    # Log scaling really happened on orders >= 1 only (order 0 of z-scored windows is signed).
    assert (fs.features[:, :, order >= 1] < 0).mean() > 0.5


def test_interrupted_run_resumes_to_identical_arrays(tmp_path: Path, reference_run: Path):
    out = tmp_path / "ds"
    preprocess(sample_path(), out, max_chunks=2, **SMALL)
    assert read_manifest(out)["status"] == "in_progress"
    assert len(list((out / "shards").iterdir())) == 2
    with pytest.raises(ValueError, match="did not finish"):
        load_features(out)
    preprocess(sample_path(), out, max_chunks=1, **SMALL)
    assert len(list((out / "shards").iterdir())) == 3
    preprocess(sample_path(), out, **SMALL)
    _, got = _arrays(out)
    _, want = _arrays(reference_run)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert [run["shards_written"] for run in read_manifest(out)["runs"]] == [2, 1, 2]
    _no_temp_files(out)


@pytest.mark.slow
def test_killed_subprocess_leaves_no_half_shard_and_resumes(tmp_path: Path, reference_run: Path):
    out = tmp_path / "ds"
    args = ["--window", "512", "--hop", "384", "-J", "5", "-Q", "4", "--chunk-records", "2", "--no-progress"]
    cmd = [sys.executable, "-m", "dacl.cli", "preprocess", str(sample_path()), "--out", str(out), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out / "shards" / "000000").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    manifest = read_manifest(out)
    done = sorted(p.name for p in (out / "shards").iterdir() if not p.name.startswith("."))
    assert manifest["status"] == "in_progress" and 1 <= len(done) < 20
    for shard in done:  # every visible shard is whole
        for name in ("features.npy", "record_index.npy", "starts.npy", "records.csv"):
            assert (out / "shards" / shard / name).is_file()
    assert cli_main(["preprocess", str(sample_path()), "--out", str(out), *args]) == 0
    _no_temp_files(out)
    fs = load_features(out)
    want, _ = _arrays(reference_run)
    np.testing.assert_array_equal(fs.features, want.features)  # chunking does not change features
    np.testing.assert_array_equal(fs.record_split, want.record_split)


def test_parameter_mismatch_on_resume(tmp_path: Path):
    out = tmp_path / "ds"
    preprocess(sample_path(), out, max_chunks=1, **SMALL)
    with pytest.raises(ValueError, match=r"params\.hop: 384 -> 256.*--overwrite"):
        preprocess(sample_path(), out, **{**SMALL, "hop": 256})
    # --overwrite builds beside the old dataset and swaps it in only once complete.
    preprocess(sample_path(), out, overwrite=True, max_chunks=1, **{**SMALL, "hop": 256})
    assert read_manifest(out)["params"]["hop"] == 384
    preprocess(sample_path(), out, overwrite=True, **{**SMALL, "hop": 256})
    assert read_manifest(out)["params"]["hop"] == 256


def test_refuses_foreign_directory(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a dacl dataset"):
        preprocess(sample_path(), tmp_path, overwrite=True, **SMALL)
    assert (tmp_path / "notes.txt").exists()


def _damaged_corpus(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The sample with a NaN record, a corrupt .mat, a too-short record, and a duplicate of one record."""
    with zipfile.ZipFile(sample_path()) as z:
        z.extractall(tmp_path / "c")
    root = tmp_path / "c" / "training2017"
    names = (root / "RECORDS").read_text().split()
    # NaN: an invalid-sample marker inside the signal data.
    mat = bytearray((root / f"{names[1]}.mat").read_bytes())
    mat[24 + 2 * 100 : 24 + 2 * 101] = (-32768).to_bytes(2, "little", signed=True)
    (root / f"{names[1]}.mat").write_bytes(bytes(mat))
    # Corrupt: truncated signal file.
    (root / f"{names[10]}.mat").write_bytes((root / f"{names[10]}.mat").read_bytes()[:500])
    # Too short: 2 s of signal.
    hea = (root / f"{names[20]}.hea").read_text().split("\n")
    first = hea[0].split()
    first[3] = "600"
    hea[0] = " ".join(first)
    (root / f"{names[20]}.hea").write_text("\n".join(hea))
    mat = (root / f"{names[20]}.mat").read_bytes()
    (root / f"{names[20]}.mat").write_bytes(mat[:8] + (600).to_bytes(4, "little") + mat[12 : 24 + 1200])
    # Duplicate: a byte-identical copy of names[3] under a new name.
    dup = "A99999"
    (root / f"{dup}.mat").write_bytes((root / f"{names[3]}.mat").read_bytes())
    (root / f"{dup}.hea").write_text((root / f"{names[3]}.hea").read_text().replace(names[3], dup))
    (root / "RECORDS").write_text("\n".join(names + [dup]) + "\n")
    label = dict(line.split(",") for line in (root / "REFERENCE.csv").read_text().split())[names[3]]
    (root / "REFERENCE.csv").write_text((root / "REFERENCE.csv").read_text() + f"{dup},{label}\n")
    bad = {names[1]: "non-finite", names[10]: "truncated", names[20]: "too short"}
    return root, {"dup": dup, "orig": names[3], **bad}


def test_bad_records_reported_by_name_then_skipped(tmp_path: Path, capsys):
    root, info = _damaged_corpus(tmp_path)
    bad = {k: v for k, v in info.items() if k not in ("dup", "orig")}
    out = tmp_path / "ds"
    assert (
        cli_main(
            [
                "preprocess",
                str(root),
                "--out",
                str(out),
                "--window",
                "512",
                "--hop",
                "384",
                "-J",
                "5",
                "-Q",
                "4",
                "--chunk-records",
                "8",
                "--no-progress",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    rows = {r["record"]: r for r in read_records_csv(out)}
    manifest = read_manifest(out)
    assert set(manifest["errors"]) == set(bad)
    fs = load_features(out)
    side = dict(zip(fs.record_ids, fs.record_split, strict=True))
    for name, problem in bad.items():
        assert rows[name]["status"] == "error" and problem in rows[name]["error"]
        assert rows[name]["n_windows"] == "0" and side[name] == ""
        assert f"skipped {name}" in printed
    assert not np.isin(fs.record_ids[fs.record_index], list(bad)).any()
    # The byte-identical copy: same digest, same side of the split.
    assert rows[info["dup"]]["sha256"] == rows[info["orig"]]["sha256"]
    assert side[info["dup"]] == side[info["orig"]] != ""


def test_on_error_fail_names_the_record(tmp_path: Path):
    root, info = _damaged_corpus(tmp_path)
    first_bad = min((k for k in info if k not in ("dup", "orig")), key=lambda n: open_corpus(root).names.index(n))
    with pytest.raises(ValueError, match=f"record {first_bad}"):
        preprocess(root, tmp_path / "ds", on_error="fail", **SMALL)


def test_cli_sample_flag(tmp_path: Path, capsys):
    assert (
        cli_main(
            [
                "preprocess",
                "--sample",
                "--out",
                str(tmp_path / "ds"),
                *FAST_ARGS,
            ]
        )
        == 0
    )
    assert "40 records" in capsys.readouterr().out
    fs = load_features(tmp_path / "ds")
    assert set(fs.record_split) == {""}
    assert cli_main(["preprocess", str(sample_path()), "--sample", "--out", str(tmp_path / "x")]) == 2
    assert "exactly one of SOURCE or --sample" in capsys.readouterr().err


def test_invalid_parameters():
    with pytest.raises(ValueError, match="band"):
        PreprocessConfig(band=(40, 0.5))
    with pytest.raises(ValueError, match="tail"):
        PreprocessConfig(tail="wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_error"):
        preprocess(sample_path(), "/nonexistent/out", on_error="ignore")  # type: ignore[arg-type]
