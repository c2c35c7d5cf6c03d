"""Merging evaluations into one metrics.json, and `dacl report` redrawing the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import evaluate_against_baseline

from dacl import cli
from dacl.io.lock import WriterLock
from dacl.report.merge import merge_evaluations


def evaluation(tmp_path: Path, monkeypatch, name: str, *extra: str) -> Path:
    """A `dacl evaluate` folder (the baseline and a mean-pool run) named ``name``."""
    out = evaluate_against_baseline(tmp_path / name, monkeypatch, *extra)
    return out


def read(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def renamed(folder: Path, old: str, new: str) -> None:
    """Give method ``old`` of an evaluation another name (as if another run had been evaluated)."""
    doc = read(folder)
    for row in doc["methods"] + (doc.get("robustness") or []):
        if row["method"] == old:
            row["method"] = new
    (folder / "metrics.json").write_text(json.dumps(doc))


def test_methods_are_added_with_their_embeddings(tmp_path: Path, monkeypatch) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    renamed(other, "mean", "late run")
    merge_evaluations(target, methods_from=[other])
    methods = read(target)["methods"]
    assert [m["method"] for m in methods] == ["scattering-pool", "mean", "late run"]  # scattering-pool skipped
    added = methods[2]
    assert added["test_records_file"] == "embeddings_2.npz"
    assert (target / "embeddings_2.npz").read_bytes() == (other / "embeddings_1.npz").read_bytes()
    assert added["metrics"] == read(other)["methods"][1]["metrics"]


def test_robustness_curves_are_added(tmp_path: Path, monkeypatch) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    doc = read(other)
    doc["robustness"] = [{"method": "mean", "points": [{"label": "12 dB", "metrics": {}}]}]
    (other / "metrics.json").write_text(json.dumps(doc))
    merge_evaluations(target, robustness_from=[other])
    merged = read(target)
    assert merged["robustness"] == doc["robustness"]
    assert len(merged["methods"]) == 2  # the methods of a robustness source are not added


def test_merging_twice_changes_nothing_but_other_numbers_under_a_known_name_are_refused(
    tmp_path: Path, monkeypatch
) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    renamed(other, "mean", "late run")
    merge_evaluations(target, methods_from=[other])
    once = read(target)
    merge_evaluations(target, methods_from=[other])
    assert read(target) == once
    doc = read(other)
    doc["methods"][1]["metrics"]["auroc_af"]["value"] = 0.5
    (other / "metrics.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="'late run' is already in the evaluation with other numbers"):
        merge_evaluations(target, methods_from=[other])
    assert read(target) == once


@pytest.mark.parametrize("key, value", [("split", {"seed": 99}), ("n_records", {"test": 1}), ("scored_split", "val")])
def test_an_evaluation_of_another_split_is_refused(tmp_path: Path, monkeypatch, key: str, value: object) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    renamed(other, "mean", "late run")
    doc = read(other)
    doc[key] = value
    (other / "metrics.json").write_text(json.dumps(doc))
    before = read(target)
    with pytest.raises(ValueError, match=f"another split .*{key} differs"):
        merge_evaluations(target, methods_from=[other])
    assert read(target) == before


def test_an_evaluation_written_before_scored_split_counts_as_scored_on_test(tmp_path: Path, monkeypatch) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    renamed(other, "mean", "late run")
    doc = read(target)
    del doc["scored_split"]
    (target / "metrics.json").write_text(json.dumps(doc))
    merge_evaluations(target, methods_from=[other])
    assert len(read(target)["methods"]) == 3


def test_an_embeddings_file_outside_the_source_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    renamed(other, "mean", "late run")
    doc = read(other)
    doc["methods"][1]["test_records_file"] = "../a/report/embeddings_0.npz"
    (other / "metrics.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="must name a file beside it"):
        merge_evaluations(target, methods_from=[other])


def test_a_second_writer_is_refused(tmp_path: Path, monkeypatch) -> None:
    from dacl.io.lock import LockedError

    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    with WriterLock(target, "evaluation"), pytest.raises(LockedError):
        merge_evaluations(target, methods_from=[other])


def test_dacl_evaluate_is_one_writer_per_folder_and_a_failure_leaves_no_folder(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    target = evaluation(tmp_path, monkeypatch, "a")
    before = read(target)
    (target / "metrics.json").write_text("{}")  # what a second evaluation would overwrite
    capsys.readouterr()
    with WriterLock(target, "evaluation"):  # a merge or an evaluation still writing
        argv = ["evaluate", "--features", "DS", "--baseline-scattering", "--out", str(target), "--n-boot", "50"]
        assert cli.main(argv) == 2
    assert f"evaluation {target} is being written by another process" in capsys.readouterr().err
    assert read(target) == {}
    assert cli.main(argv) == 0  # the lock released: the same command runs
    assert read(target)["methods"][0] == before["methods"][0]
    fresh = tmp_path / "fresh"
    assert cli.main(["evaluate", "--features", "DS", "--out", str(fresh)]) == 2  # nothing to evaluate
    assert not fresh.exists()


def test_dacl_report_merges_and_redraws(tmp_path: Path, monkeypatch, capsys) -> None:
    target, other = evaluation(tmp_path, monkeypatch, "a"), evaluation(tmp_path, monkeypatch, "b")
    renamed(other, "mean", "late run")
    (target / "report.md").unlink()
    capsys.readouterr()
    assert cli.main(["report", str(target), "--methods-from", str(other)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {target / 'metrics.json'}", f"wrote {target / 'report.md'}"]
    report = (target / "report.md").read_text()
    assert "| late run |" in report
    (target / "report.md").unlink()
    assert cli.main(["report", str(target)]) == 0  # no merge: only the report is drawn again
    assert "| late run |" in (target / "report.md").read_text()
    assert cli.main(["report", str(tmp_path / "nowhere")]) == 2
    assert "metrics file not found" in capsys.readouterr().err
