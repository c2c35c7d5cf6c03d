"""Record-level split: stratified, duplicates together, deterministic, written atomically."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dacl.cli import main as cli_main
from dacl.corpus import sample_path
from dacl.features import load_features, preprocess
from dacl.features.split import assign_splits, split_dataset
from dacl.features.store import read_manifest, read_records_csv, read_split, write_records_csv
from dacl.io.atomic import write_json


def _synthetic(n_per_class=None, n_dup_pairs=6, seed=1):
    """Names, labels and sha256 with some byte-identical pairs (same digest)."""
    n_per_class = n_per_class or {"N": 120, "A": 30, "O": 50, "~": 10}
    rng = np.random.default_rng(seed)
    names, labels, shas = [], [], []
    for label, n in n_per_class.items():
        for _ in range(n):
            names.append(f"R{len(names):05d}")
            labels.append(label)
            shas.append(f"{rng.integers(1 << 62):016x}")
    # Duplicates: copy the digest (and label) of a record onto a later one.
    for i in rng.choice(len(names) // 2, size=n_dup_pairs, replace=False):
        j = len(names) - 1 - i
        shas[j], labels[j] = shas[i], labels[i]
    return names, labels, shas


def test_duplicates_land_on_the_same_side():
    names, labels, shas = _synthetic()
    by_sha: dict[str, set[str]] = {}
    for seed in range(5):
        sides = assign_splits(names, labels, shas, seed=seed)
        for sha, side in zip(shas, sides, strict=True):
            by_sha.setdefault(f"{seed}:{sha}", set()).add(side)
    assert all(len(s) == 1 for s in by_sha.values())
    assert sum(Counter(shas).values()) - len(set(shas)) == 6  # the pairs exist


def test_stratified_by_label():
    names, labels, shas = _synthetic(n_dup_pairs=0)
    sides = assign_splits(names, labels, shas, fractions=(0.7, 0.1, 0.2), seed=0)
    for label, n in Counter(labels).items():
        got = Counter(s for s, lab in zip(sides, labels, strict=True) if lab == label)
        for side, frac in zip(("train", "val", "test"), (0.7, 0.1, 0.2), strict=True):
            assert abs(got[side] - frac * n) <= 1, (label, side, got)


def test_deterministic_per_seed_and_seed_matters():
    names, labels, shas = _synthetic()
    a = assign_splits(names, labels, shas, seed=3)
    assert a == assign_splits(names, labels, shas, seed=3)
    assert a != assign_splits(names, labels, shas, seed=4)
    # Input order does not matter: a record's side depends on the names, not their order.
    perm = np.random.default_rng(0).permutation(len(names))
    b = assign_splits([names[i] for i in perm], [labels[i] for i in perm], [shas[i] for i in perm], seed=3)
    assert [b[list(perm).index(i)] for i in range(len(names))] == a


def test_ineligible_records_are_unassigned_and_every_other_gets_one_side():
    names, labels, shas = _synthetic(n_dup_pairs=0)
    eligible = [i % 7 != 0 for i in range(len(names))]
    sides = assign_splits(names, labels, shas, seed=0, eligible=eligible)
    assert all((s == "") == (not ok) for s, ok in zip(sides, eligible, strict=True))
    assert set(sides) == {"", "train", "val", "test"}


@pytest.mark.parametrize("fractions", [(0.7, 0.3), (0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5)])
def test_bad_fractions(fractions):
    names, labels, shas = _synthetic()
    with pytest.raises(ValueError, match="fractions"):
        assign_splits(names, labels, shas, fractions=fractions)


def _fake_dataset(path: Path, status="complete") -> list[dict]:
    names, labels, shas = _synthetic(n_per_class={"N": 20, "A": 10, "O": 10, "~": 4}, n_dup_pairs=2)
    rows = [
        {
            "record": n,
            "label": lab,
            "n_windows": 3,
            "length": 9000,
            "fs": 300.0,
            "sha256": s,
            "status": "ok",
            "error": "",
            "split": "",
        }
        for n, lab, s in zip(names, labels, shas, strict=True)
    ]
    rows[5].update(status="error", error="signal is empty", n_windows=0)
    path.mkdir()
    write_records_csv(path, rows)
    write_json(path / "manifest.json", {"format": "dacl-features", "status": status})
    return rows


def test_split_dataset_writes_split_json_only(tmp_path: Path):
    rows = _fake_dataset(tmp_path / "ds")
    before = {name: (tmp_path / "ds" / name).read_bytes() for name in ("records.csv", "manifest.json")}
    entry = split_dataset(tmp_path / "ds", (0.6, 0.2, 0.2), seed=7)
    doc = read_split(tmp_path / "ds")
    assert {k: v for k, v in doc.items() if k not in ("format", "assignment")} == json.loads(json.dumps(entry))
    assert entry["seed"] == 7 and entry["fractions"] == [0.6, 0.2, 0.2] and entry["unassigned"] == 1
    assert sum(sum(c.values()) for c in entry["records"].values()) == len(rows) - 1
    expected = assign_splits(
        [r["record"] for r in rows],
        [r["label"] for r in rows],
        [r["sha256"] for r in rows],
        (0.6, 0.2, 0.2),
        7,
        eligible=[i != 5 for i in range(len(rows))],
    )
    assert list(doc["assignment"]) == [r["record"] for r in rows]
    assert list(doc["assignment"].values()) == expected and expected[5] == ""  # the failed record
    # One file is the whole split: records.csv and the manifest are left as they were.
    assert {name: (tmp_path / "ds" / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temp file, no lock left
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["manifest.json", "records.csv", "split.json"]


def test_split_refuses_unfinished_dataset(tmp_path: Path):
    _fake_dataset(tmp_path / "ds", status="in_progress")
    with pytest.raises(ValueError, match="not complete"):
        split_dataset(tmp_path / "ds")


def test_split_cli(tmp_path: Path, capsys):
    _fake_dataset(tmp_path / "ds")
    assert cli_main(["split", str(tmp_path / "ds"), "--seed", "1", "--fractions", "0.5", "0.25", "0.25"]) == 0
    assert "train" in capsys.readouterr().out
    assert read_split(tmp_path / "ds")["fractions"] == [0.5, 0.25, 0.25]
    assert cli_main(["split", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_python_dash_m_dacl_is_the_cli(tmp_path: Path):
    """``python -m dacl`` (no console script, e.g. after ``pip install --target``): same command, same exit codes."""
    _fake_dataset(tmp_path / "ds")
    ok = subprocess.run(
        [sys.executable, "-m", "dacl", "split", str(tmp_path / "ds"), "--seed", "2"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "train" in ok.stdout
    assert read_split(tmp_path / "ds")["seed"] == 2
    bad = subprocess.run(
        [sys.executable, "-m", "dacl", "split", str(tmp_path / "missing")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "not found" in bad.stderr


# ------------------------------------------------------------------ on a real dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """The shipped sample, preprocessed small and split with seed 0."""
    return preprocess(
        sample_path(),
        tmp_path_factory.mktemp("ds") / "ds",
        window=512,
        hop=512,
        J=4,
        Q=2,
        chunk_records=40,
        num_threads=1,
    )


def _split_seed(path: Path) -> int:
    """The seed the loaded dataset says it was split with, after checking that its sides are that split's."""
    fs = load_features(path)
    rows = read_records_csv(path)
    info = fs.manifest["split"]
    expected = assign_splits(
        [r["record"] for r in rows],
        [r["label"] for r in rows],
        [r["sha256"] for r in rows],
        info["fractions"],
        info["seed"],
        eligible=[r["status"] == "ok" and int(r["n_windows"]) > 0 for r in rows],
    )
    assert list(fs.record_split) == expected
    return info["seed"]


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_a_split_stopped_at_any_write_leaves_data_and_provenance_agreeing(dataset, tmp_path, monkeypatch, fail_at):
    """A kill between two files of a split must not leave the data under another seed than the manifest's."""
    ds = tmp_path / "ds"
    shutil.copytree(dataset, ds)
    assert _split_seed(ds) == 0
    real_replace = os.replace
    replaced: list[str] = []

    def replace_until_it_fails(src, dst, *args, **kwargs):
        replaced.append(str(dst))
        if len(replaced) >= fail_at:  # the process dies here: this file and any later one keep their old content
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace_until_it_fails)
    try:
        split_dataset(ds, (0.5, 0.25, 0.25), seed=5)
        finished = True
    except OSError:
        finished = False
    monkeypatch.undo()
    assert _split_seed(ds) == (5 if finished else 0)
    assert not [p for p in ds.rglob("*") if "tmp" in p.name]


def test_datasets_of_format_1_are_still_read(dataset, tmp_path):
    """Format 1 kept the split in records.csv and the manifest, and had no shard identity records."""
    ds = tmp_path / "v1"
    shutil.copytree(dataset, ds)
    fs = load_features(ds)
    side = dict(zip(fs.record_ids, fs.record_split, strict=True))
    write_records_csv(ds, [{**row, "split": side[row["record"]]} for row in read_records_csv(ds)])
    manifest = read_manifest(ds)
    write_json(ds / "manifest.json", {**manifest, "format_version": 1, "split": fs.manifest["split"]})
    (ds / "split.json").unlink()
    for identity in ds.glob("shards/*/identity.json"):
        identity.unlink()
    old = load_features(ds)
    assert list(old.record_split) == list(fs.record_split) and old.manifest["split"] == fs.manifest["split"]
    # Splitting it again writes split.json, which rules from then on.
    split_dataset(ds, seed=9)
    assert _split_seed(ds) == 9
    # It is not resumed by this version (its shards do not say what made them).
    with pytest.raises(ValueError, match="format_version: 1 -> 3"):
        preprocess(sample_path(), ds, window=512, hop=512, J=4, Q=2, chunk_records=40)


def test_split_json_must_name_the_dataset_records(dataset, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(dataset, ds)
    doc = read_split(ds)
    doc["assignment"].pop(next(iter(doc["assignment"])))
    write_json(ds / "split.json", doc)
    with pytest.raises(ValueError, match="split.json does not list the records"):
        load_features(ds)
