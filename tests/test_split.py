"""Record-level split: stratified, duplicates together, deterministic, written atomically."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dacl.cli import main as cli_main
from dacl.atomic import write_json
from dacl.dataset import read_manifest, read_records_csv, write_records_csv
from dacl.split import assign_splits, split_dataset


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
        for sha, side in zip(shas, sides):
            by_sha.setdefault(f"{seed}:{sha}", set()).add(side)
    assert all(len(s) == 1 for s in by_sha.values())
    assert sum(Counter(shas).values()) - len(set(shas)) == 6  # the pairs exist


def test_stratified_by_label():
    names, labels, shas = _synthetic(n_dup_pairs=0)
    sides = assign_splits(names, labels, shas, fractions=(0.7, 0.1, 0.2), seed=0)
    for label, n in Counter(labels).items():
        got = Counter(s for s, lab in zip(sides, labels) if lab == label)
        for side, frac in zip(("train", "val", "test"), (0.7, 0.1, 0.2)):
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
    assert all((s == "") == (not ok) for s, ok in zip(sides, eligible))
    assert set(sides) == {"", "train", "val", "test"}


@pytest.mark.parametrize("fractions", [(0.7, 0.3), (0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5)])
def test_bad_fractions(fractions):
    names, labels, shas = _synthetic()
    with pytest.raises(ValueError, match="fractions"):
        assign_splits(names, labels, shas, fractions=fractions)


def _fake_dataset(path: Path, status="complete") -> list[dict]:
    names, labels, shas = _synthetic(n_per_class={"N": 20, "A": 10, "O": 10, "~": 4}, n_dup_pairs=2)
    rows = [
        {"record": n, "label": lab, "n_windows": 3, "length": 9000, "fs": 300.0, "sha256": s,
         "status": "ok", "error": "", "split": ""}
        for n, lab, s in zip(names, labels, shas)
    ]
    rows[5].update(status="error", error="signal is empty", n_windows=0)
    path.mkdir()
    write_records_csv(path, rows)
    write_json(path / "manifest.json", {"format": "dacl-features", "status": status})
    return rows


def test_split_dataset_writes_records_and_manifest(tmp_path: Path):
    rows = _fake_dataset(tmp_path / "ds")
    entry = split_dataset(tmp_path / "ds", (0.6, 0.2, 0.2), seed=7)
    written = read_records_csv(tmp_path / "ds")
    assert [r["record"] for r in written] == [r["record"] for r in rows]
    assert written[5]["split"] == ""  # the failed record
    assert all(r["split"] in ("train", "val", "test") for i, r in enumerate(written) if i != 5)
    manifest = read_manifest(tmp_path / "ds")
    assert manifest["split"] == json.loads(json.dumps(entry))
    assert manifest["split"]["seed"] == 7 and entry["unassigned"] == 1
    assert sum(sum(c.values()) for c in entry["records"].values()) == len(rows) - 1
    assert not [p.name for p in (tmp_path / "ds").iterdir() if "tmp" in p.name]
    expected = assign_splits([r["record"] for r in rows], [r["label"] for r in rows], [r["sha256"] for r in rows],
                             (0.6, 0.2, 0.2), 7, eligible=[i != 5 for i in range(len(rows))])
    assert [r["split"] for r in written] == expected


def test_split_refuses_unfinished_dataset(tmp_path: Path):
    _fake_dataset(tmp_path / "ds", status="in_progress")
    with pytest.raises(ValueError, match="not complete"):
        split_dataset(tmp_path / "ds")


def test_split_cli(tmp_path: Path, capsys):
    _fake_dataset(tmp_path / "ds")
    assert cli_main(["split", str(tmp_path / "ds"), "--seed", "1", "--fractions", "0.5", "0.25", "0.25"]) == 0
    assert "train" in capsys.readouterr().out
    assert read_manifest(tmp_path / "ds")["split"]["fractions"] == [0.5, 0.25, 0.25]
    assert cli_main(["split", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_python_dash_m_dacl_is_the_cli(tmp_path: Path):
    """``python -m dacl`` (no console script, e.g. after ``pip install --target``): same command, same exit codes."""
    _fake_dataset(tmp_path / "ds")
    ok = subprocess.run([sys.executable, "-m", "dacl", "split", str(tmp_path / "ds"), "--seed", "2"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "train" in ok.stdout
    assert read_manifest(tmp_path / "ds")["split"]["seed"] == 2
    bad = subprocess.run([sys.executable, "-m", "dacl", "split", str(tmp_path / "missing")], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "not found" in bad.stderr
