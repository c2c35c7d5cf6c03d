"""The split rules beyond single-label stratification: patient groups, folds, explicit tables, iterative
stratification of multi-label data; and the single-label split unchanged."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from dacl.cli import main as cli_main
from dacl.corpus.cinc2017 import CLASSES
from dacl.features.split import assign_splits, split_dataset
from dacl.features.store import read_split, write_records_csv
from dacl.features.stratify import groups_of, iterative_stratification, parse_folds
from dacl.io.atomic import write_json


def reference_assign_splits(names, labels, sha256, fractions, seed, eligible=None):
    """dacl's single-label split as it was before patient groups and folds (git 61f8ac8), verbatim but for the
    argument checks: the CinC 2017 split must stay exactly this."""
    n = len(names)
    ok = [True] * n if eligible is None else list(eligible)
    groups: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        if ok[i]:
            groups[sha256[i] or f"record:{names[i]}"].append(i)
    by_label: dict[str, list[list[int]]] = defaultdict(list)
    for members in groups.values():
        members.sort(key=lambda i: names[i])
        by_label[labels[members[0]]].append(members)
    rng = np.random.default_rng(seed)
    out = [""] * n
    strata = [c for c in CLASSES if c in by_label] + sorted(k for k in by_label if k not in CLASSES)
    for label in strata:
        members_list = sorted(by_label[label], key=lambda m: names[m[0]])
        order = rng.permutation(len(members_list))
        k = len(members_list)
        cut_train = int(round(fractions[0] * k))
        cut_val = int(round((fractions[0] + fractions[1]) * k))
        for rank, g in enumerate(order):
            side = "train" if rank < cut_train else "val" if rank < cut_val else "test"
            for i in members_list[g]:
                out[i] = side
    return out


def _records(n: int = 3000, seed: int = 0):
    """Names (shuffled order), CinC 2017-like labels (plus unlabelled and an unknown code), digests with
    duplicate pairs and triples, and some ineligible records."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["N", "A", "O", "~", "", "X"], size=n, p=[0.55, 0.1, 0.25, 0.04, 0.04, 0.02]).tolist()
    names = [f"A{i:05d}" for i in rng.permutation(n)]
    shas = [f"{rng.integers(1 << 62):016x}" for _ in range(n)]
    for i in rng.choice(n - 2, size=40, replace=False):
        shas[i + 1] = shas[i]
        if i % 3 == 0:
            shas[i + 2] = shas[i]
    eligible = (rng.random(n) > 0.02).tolist()
    return names, labels, shas, eligible


@pytest.mark.parametrize("fractions", [(0.7, 0.1, 0.2), (0.6, 0.2, 0.2), (0.8, 0.0, 0.2)])
def test_the_single_label_split_is_the_one_dacl_always_made(fractions):
    names, labels, shas, eligible = _records()
    for seed in range(12):
        assert assign_splits(names, labels, shas, fractions, seed, eligible) == reference_assign_splits(
            names, labels, shas, fractions, seed, eligible
        )


# ------------------------------------------------------------------ groups


def test_groups_join_duplicates_and_patients_transitively():
    names = ["r0", "r1", "r2", "r3", "r4", "r5"]
    shas = ["a", "b", "a", "c", "d", "e"]
    patients = ["p1", "p2", "", "p2", "", "p9"]
    eligible = [True, True, True, True, True, False]
    assert groups_of(names, shas, patients, eligible) == [[0, 2], [1, 3], [4]]
    patients[2] = "p2"  # r2 shares a signal with r0 and a patient with r1 and r3: one group of four
    assert groups_of(names, shas, patients, eligible) == [[0, 1, 2, 3], [4]]


def test_a_patient_is_never_on_two_sides():
    names, labels, shas, eligible = _records(800, seed=3)
    patients = [f"p{i // 3}" for i in range(len(names))]  # three records per patient
    for seed in range(5):
        sides = assign_splits(names, labels, shas, (0.6, 0.2, 0.2), seed, eligible, patients=patients)
        by_patient = defaultdict(set)
        for p, side, ok in zip(patients, sides, eligible, strict=True):
            if ok:
                by_patient[p].add(side)
        assert all(len(s) == 1 for s in by_patient.values())


# ------------------------------------------------------------------ iterative stratification


def _multilabel(n: int = 1200, seed: int = 0):
    rng = np.random.default_rng(seed)
    freq = {"NORM": 0.45, "MI": 0.25, "STTC": 0.24, "CD": 0.22, "HYP": 0.12, "AFIB": 0.07, "WPW": 0.02}
    label_sets = [[c for c, p in freq.items() if rng.random() < p] for _ in range(n)]
    return label_sets


def test_iterative_stratification_keeps_every_label_in_proportion():
    label_sets = _multilabel()
    groups = [[i] for i in range(len(label_sets))]
    fractions = (0.7, 0.1, 0.2)
    sides = iterative_stratification(groups, label_sets, fractions, seed=0)
    counts = defaultdict(Counter)
    for g, side in sides.items():
        for label in label_sets[g]:
            counts[label][side] += 1
    sizes = Counter(sides.values())
    for side, f in zip(("train", "val", "test"), fractions, strict=True):
        assert abs(sizes[side] - f * len(label_sets)) <= 0.01 * len(label_sets)
    for label, c in counts.items():
        total = sum(c.values())
        for side, f in zip(("train", "val", "test"), fractions, strict=True):
            assert abs(c[side] - f * total) <= 1.5, (label, dict(c))  # within a record or so of the fraction


def test_iterative_stratification_is_deterministic_per_seed_and_leaves_empty_sides_empty():
    label_sets = _multilabel(300, seed=1)
    groups = [[i, i + 1] for i in range(0, 300, 2)]  # groups of two records go to one side
    a = iterative_stratification(groups, label_sets, (0.8, 0.0, 0.2), seed=4)
    assert a == iterative_stratification(groups, label_sets, (0.8, 0.0, 0.2), seed=4)
    assert a != iterative_stratification(groups, label_sets, (0.8, 0.0, 0.2), seed=5)
    assert set(a.values()) == {"train", "test"} and len(a) == len(groups)


# ------------------------------------------------------------------ datasets on disk


def _dataset(path: Path, task: str = "multi-label", folds: bool = True) -> list[dict]:
    rng = np.random.default_rng(2)
    codes = ["NORM", "MI", "STTC", "CD"]
    rows = []
    for i in range(120):
        labels = ";".join(c for c in codes if rng.random() < 0.35) if task == "multi-label" else codes[i % 4]
        rows.append(
            {
                "record": f"{i + 1:05d}_lr",
                "label": labels,
                "n_windows": 1,
                "length": 1000,
                "fs": 100.0,
                "sha256": f"{i:064x}",
                "status": "ok",
                "error": "",
                "patient": f"p{i // 2}",
                "fold": (i // 2) % 10 + 1 if folds else "",
            }
        )
    rows[7].update(status="error", error="missing leads: V3", n_windows=0)
    path.mkdir()
    write_records_csv(path, rows)
    write_json(
        path / "manifest.json", {"format": "dacl-features", "status": "complete", "task": task, "vocabulary": codes}
    )
    return rows


def test_given_folds_make_the_split(tmp_path: Path):
    rows = _dataset(tmp_path / "ds")
    entry = split_dataset(tmp_path / "ds", seed=3)  # "auto": every usable record has a fold
    doc = read_split(tmp_path / "ds")
    assert entry["folds"] == {"train": [1, 2, 3, 4, 5, 6, 7, 8], "val": [9], "test": [10]}
    assert entry["seed"] is None and "by the given folds" in entry["method"] and "patient" in entry["method"]
    for row in rows:
        want = "" if row["status"] != "ok" else {9: "val", 10: "test"}.get(row["fold"], "train")
        assert doc["assignment"][row["record"]] == want
    split_dataset(tmp_path / "ds", folds="1-6/7,8/9-10")
    doc = read_split(tmp_path / "ds")
    assert {doc["assignment"][r["record"]] for r in rows if r["fold"] in (7, 8) and r["status"] == "ok"} == {"val"}
    entry = split_dataset(tmp_path / "ds", folds="none", seed=1)
    assert "iterative stratification" in entry["method"] and entry["seed"] == 1


def test_folds_that_split_a_patient_or_miss_a_record_are_refused(tmp_path: Path):
    rows = _dataset(tmp_path / "ds")
    rows[10]["fold"] = 9  # patient p5 now has records in folds 9 (val) and 6 (train)
    write_records_csv(tmp_path / "ds", rows)
    with pytest.raises(ValueError, match="00011_lr, 00012_lr .*two sides"):
        split_dataset(tmp_path / "ds")
    rows[10]["fold"] = ""
    write_records_csv(tmp_path / "ds", rows)
    with pytest.raises(ValueError, match="fold missing"):
        split_dataset(tmp_path / "ds", folds="1-8/9/10")
    assert "iterative stratification" in split_dataset(tmp_path / "ds")["method"]  # auto: not every record has one
    with pytest.raises(ValueError, match="on two sides"):
        parse_folds("1-8/8,9/10")
    with pytest.raises(ValueError, match="TRAIN/VAL/TEST"):
        parse_folds("1-8/9")


def test_multilabel_fractions_stratify_every_label(tmp_path: Path):
    rows = _dataset(tmp_path / "ds", folds=False)
    entry = split_dataset(tmp_path / "ds", (0.5, 0.25, 0.25), seed=0)
    assert entry["sizes"]["train"] + entry["sizes"]["val"] + entry["sizes"]["test"] == len(rows) - 1
    doc = read_split(tmp_path / "ds")
    for code in ("NORM", "MI", "STTC", "CD"):
        total = sum(entry["records"][s].get(code, 0) for s in ("train", "val", "test"))
        assert abs(entry["records"]["test"].get(code, 0) - total / 4) <= 2, code
    by_patient = defaultdict(set)
    for row in rows:
        if row["status"] == "ok":
            by_patient[row["patient"]].add(doc["assignment"][row["record"]])
    assert all(len(s) == 1 for s in by_patient.values())


def test_an_assignment_table_is_the_split(tmp_path: Path, capsys):
    rows = _dataset(tmp_path / "ds")
    table = tmp_path / "official.csv"
    ok = [r for r in rows if r["status"] == "ok"]
    side = {r["record"]: ("test" if int(r["patient"][1:]) % 5 == 0 else "train") for r in ok}
    table.write_text("record,split\n" + "".join(f"{n},{s}\n" for n, s in side.items()))
    assert cli_main(["split", str(tmp_path / "ds"), "--assign", str(table)]) == 0
    assert "from the table official.csv" in capsys.readouterr().out
    doc = read_split(tmp_path / "ds")
    assert {n: s for n, s in doc["assignment"].items() if s} == side and doc["assigned_by"] == str(table)
    assert doc["assignment"][rows[7]["record"]] == ""  # the failed record, left out of the table


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("record,split\nnope,train\n", "does not have: nope"),
        ("00001_lr,train\n", "does not assign 118 usable records"),
        ("00001_lr,training\n", "expected record,split rows"),
        ("00001_lr,train\n00001_lr,test\n", "more than once"),
    ],
)
def test_a_bad_assignment_table_is_one_clear_error(tmp_path: Path, content: str, match: str, capsys):
    _dataset(tmp_path / "ds")
    table = tmp_path / "t.csv"
    table.write_text(content)
    with pytest.raises(ValueError, match=match):
        split_dataset(tmp_path / "ds", assign=str(table))
    assert cli_main(["split", str(tmp_path / "ds"), "--assign", str(table)]) == 2
    assert match.split(":")[0] in capsys.readouterr().err


def test_an_assignment_that_splits_a_patient_is_refused(tmp_path: Path):
    rows = _dataset(tmp_path / "ds")
    table = tmp_path / "t.csv"
    table.write_text("".join(f"{r['record']},{'test' if i == 0 else 'train'}\n" for i, r in enumerate(rows)))
    with pytest.raises(ValueError, match="00001_lr, 00002_lr"):
        split_dataset(tmp_path / "ds", assign=str(table))
    with pytest.raises(FileNotFoundError, match="--assign"):
        split_dataset(tmp_path / "ds", assign=str(tmp_path / "missing.csv"))
