"""End to end on 12-lead multi-label corpora: `dacl preprocess` + `dacl train` (dacl, diffaug) + `dacl evaluate`.

Two ways in:

* through the corpus interface, with the corpus assembled in the test (the real CinC 2021 sample read with
  ``wfdb.rdrecord``; PTB-XL-like records with patients and folds): these run whatever ``open_corpus`` reads;
* from the files, as a user runs it (``dacl preprocess FOLDER``): the real CinC 2021 sample, and a corpus in
  PTB-XL's published layout written with ``wfdb.wrsamp``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from corpus_layouts import write_ptbxl
from helpers import (
    CINC2021_SAMPLE,
    FakeCorpus,
    cinc2021_records,
    ptbxl_like_records,
)

from dacl.cli import main as cli_main
from dacl.features import load_features, preprocess
from dacl.features.leads import STANDARD_LEADS
from dacl.features.store import read_manifest, read_records_csv, read_split

pytestmark = pytest.mark.slow

needs_cinc2021 = pytest.mark.skipif(not CINC2021_SAMPLE.is_dir(), reason=f"{CINC2021_SAMPLE} absent")
#: Small scattering settings that keep these runs to seconds on two cores.
SMALL = ["--window", "1024", "--hop", "512", "-J", "5", "-Q", "4", "--no-progress"]
SMALL_KW = dict(window=1024, hop=512, J=5, Q=4)


def train_and_evaluate(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    """`dacl train` DACL and DiffAug (tiny configs) on ``dataset``, then `dacl evaluate` both beside the
    scattering baseline; returns metrics.json."""
    runs = []
    for config, method in (("tiny", "dacl"), ("diffaug-tiny", "diffaug")):
        out = tmp_path / method
        assert (
            cli_main(
                [
                    "train",
                    "--config",
                    config,
                    "--method",
                    method,
                    "--features",
                    str(dataset),
                    "--out",
                    str(out),
                    "--device",
                    "cpu",
                    "--no-progress",
                ]
            )
            == 0
        ), capsys.readouterr().err
        runs.append(str(out))
    report = tmp_path / "report"
    assert (
        cli_main(
            [
                "evaluate",
                *runs,
                "--features",
                str(dataset),
                "--baseline-scattering",
                "--n-boot",
                "100",
                "--out",
                str(report),
            ]
        )
        == 0
    ), capsys.readouterr().err
    printed = capsys.readouterr().out
    doc = json.loads((report / "metrics.json").read_text())
    assert doc["task"] == "multi-label" and [m["method"] for m in doc["methods"]] == [
        "scattering-pool",
        "dacl",
        "diffaug",
    ]
    for m in doc["methods"]:
        macro = m["metrics"]["auroc_macro"]
        assert 0 <= macro["low"] <= macro["value"] <= macro["high"] <= 1
        assert m["auroc_per_label"] and all(v["n_positive"] >= 1 for v in m["auroc_per_label"].values())
    assert "macro AUROC over" in printed and "difference to scattering-pool" in printed
    assert "| label | positives | scattering-pool | dacl | diffaug |" in (report / "report.md").read_text()
    return doc


# ------------------------------------------------------------------ through the corpus interface


@needs_cinc2021
def test_cinc2021_sample_through_the_corpus_interface(tmp_path: Path, capsys):
    records = cinc2021_records()
    dataset = preprocess(FakeCorpus(records, layout="cinc2021"), tmp_path / "ds", **SMALL_KW)
    fs = load_features(dataset)
    assert fs.leads == STANDARD_LEADS and fs.features.shape[1] == 12 and len(fs.record_ids) == 40
    assert set(fs.vocabulary) == {c for r in records for c in r.labels}
    assert "iterative stratification" in fs.manifest["split"]["method"]
    doc = train_and_evaluate(dataset, tmp_path, capsys)
    assert doc["leads"] == list(STANDARD_LEADS)


def test_ptbxl_like_records_with_patients_and_folds(tmp_path: Path, capsys):
    records = ptbxl_like_records(60)
    dataset = preprocess(FakeCorpus(records, layout="ptbxl"), tmp_path / "ds", **SMALL_KW)
    split = read_split(dataset)
    assert split["folds"] == {"train": list(range(1, 9)), "val": [9], "test": [10]}
    fold = {r.name: r.meta["fold"] for r in records}
    for name, side in split["assignment"].items():
        assert side == {9: "val", 10: "test"}.get(fold[name], "train")
    rows = read_records_csv(dataset)
    assert [r["patient"] for r in rows] == [r.meta["patient"] for r in records]
    train_and_evaluate(dataset, tmp_path, capsys)


# ------------------------------------------------------------------ from the files


@needs_cinc2021
def test_dacl_preprocess_reads_the_real_cinc2021_sample(tmp_path: Path, capsys):
    out = tmp_path / "ds"
    assert cli_main(["preprocess", str(CINC2021_SAMPLE), "--out", str(out), *SMALL]) == 0, capsys.readouterr().err
    manifest = read_manifest(out)
    assert manifest["layout"] == "cinc2021" and manifest["task"] == "multi-label"
    assert manifest["leads"] == list(STANDARD_LEADS) and manifest["n_records_ok"] == 40
    records = cinc2021_records()
    assert set(manifest["vocabulary"]) == {c for r in records for c in r.labels}
    # The same features as the records read with wfdb (the readers agree to 1e-9 on every sample).
    fs = load_features(out)
    reference = load_features(preprocess(FakeCorpus(records), tmp_path / "reference", **SMALL_KW))
    order = [list(reference.record_ids).index(Path(name).name) for name in fs.record_ids]
    for r, ref in enumerate(order):
        np.testing.assert_allclose(
            np.exp(fs.features[fs.record_index == r]),
            np.exp(reference.features[reference.record_index == ref]),
            rtol=1e-4,
            atol=1e-8,
        )
    train_and_evaluate(out, tmp_path, capsys)
    # The challenge's scored classes, equivalent classes merged: fewer codes, every record still read.
    mapped = tmp_path / "scored"
    assert (
        cli_main(["preprocess", str(CINC2021_SAMPLE), "--out", str(mapped), "--label-map", "cinc-scored", *SMALL]) == 0
    ), capsys.readouterr().err
    scored = read_manifest(mapped)
    assert scored["params"]["label_map"] == "cinc-scored" and scored["n_records_ok"] == 40
    carried = {c for r in read_records_csv(mapped) for c in r["label"].split(";") if c}
    assert carried <= set(scored["vocabulary"])  # the vocabulary: the scored classes, carried or not
    assert len(carried) < len(manifest["vocabulary"])


def test_dacl_preprocess_reads_a_ptbxl_layout_and_splits_by_its_folds(tmp_path: Path, capsys):
    root = write_ptbxl(tmp_path / "ptb-xl", n_records=40).root
    out = tmp_path / "ds"
    assert cli_main(["preprocess", str(root), "--out", str(out), "--scp-level", "superdiagnostic", *SMALL]) == 0, (
        capsys.readouterr().err
    )
    manifest = read_manifest(out)
    assert manifest["layout"] == "ptbxl" and manifest["task"] == "multi-label" and manifest["n_records_ok"] == 40
    assert manifest["params"]["scp_level"] == "superdiagnostic"
    assert set(manifest["vocabulary"]) <= {"NORM", "MI", "STTC", "CD", "HYP"}  # PVC is a form, not diagnostic
    split = read_split(out)
    assert "by the given folds" in split["method"] and split["folds"]["test"] == [10]
    rows = read_records_csv(out)
    assert all(r["patient"] and r["fold"] for r in rows)
    by_patient: dict[str, set[str]] = {}
    for r in rows:
        by_patient.setdefault(r["patient"], set()).add(split["assignment"][r["record"]])
    assert all(len(sides) == 1 for sides in by_patient.values())
    train_and_evaluate(out, tmp_path, capsys)
