"""The one-off analysis scripts of experiments/ still run, on the real sample shipped in the package.

Their figures on the 40-record sample mean nothing; the point is that each script still
imports only what the package offers and runs end to end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, load_script

from dacl.corpus import sample_path
from dacl.features import preprocess

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def sample_features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dacl preprocess --sample`: the shipped sample as a features dataset, split 0.7/0.1/0.2."""
    return preprocess(sample_path(), tmp_path_factory.mktemp("sample") / "features", progress=False)


def run_script(path: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a script's ``main()`` with ``argv`` as its command line; what it printed."""
    monkeypatch.setattr(sys, "argv", [path.name, *argv])
    load_script(path).main()
    return capsys.readouterr().out


def test_aggregation_check(sample_features: Path, monkeypatch, capsys) -> None:
    out = run_script(EXPERIMENTS / "probe-checks" / "aggregation_check.py", [str(sample_features)], monkeypatch, capsys)
    assert [line.split(" val ")[0].strip() for line in out.splitlines()] == ["mean", "max", "geometric mean", "q75"]


def test_frame_probe(sample_features: Path, monkeypatch, capsys) -> None:
    out = run_script(EXPERIMENTS / "probe-checks" / "frame_probe.py", [str(sample_features)], monkeypatch, capsys)
    lines = out.splitlines()
    assert len(lines) == 6 and all("val AUROC AF" in line for line in lines)
    assert lines[3].startswith("all frames flattened")


def test_leakage_check(sample_features: Path, monkeypatch, capsys) -> None:
    out = run_script(EXPERIMENTS / "probe-checks" / "leakage_check.py", [str(sample_features)], monkeypatch, capsys)
    assert out.startswith("record-level split:") and "window-level split (seed 0)" in out
    assert out.count("AF AUROC per window") == 2


def test_supervised_ceiling(sample_features: Path, monkeypatch, capsys) -> None:
    out = run_script(
        EXPERIMENTS / "supervised-ceiling" / "supervised_ceiling.py",
        [str(sample_features), "--seeds", "0"],
        monkeypatch,
        capsys,
    )
    names = [line.split("  val")[0].strip() for line in out.splitlines()]
    assert names == ["logistic regression", "MLP 256-128 seed 0"]


def test_knn_accuracy(sample_features: Path, monkeypatch, capsys) -> None:
    out = run_script(
        EXPERIMENTS / "dev-comparison" / "knn_accuracy.py",
        ["--features", str(sample_features), "--baseline-scattering"],
        monkeypatch,
        capsys,
    )
    assert out.splitlines()[:2] == ["| run | 5-NN accuracy (test records) |", "|---|---:|"]
    assert out.splitlines()[2].startswith("| scattering-pool | 0.")


def test_variants_table_of_the_committed_diffaug_splits(tmp_path: Path, monkeypatch, capsys) -> None:
    """The two DiffAug runs of experiments/robust-views over its five committed evaluations: the table's clean row
    is the mean of the stored clean points, and the count of splits where the second run is higher adds up."""
    import json
    import statistics

    folders = sorted((EXPERIMENTS / "robust-views" / "diffaug-splits").glob("split*"))
    assert len(folders) == 5
    first, second = "dacl+diffaug [diffaug_split*]", "dacl+diffaug [robust_diffaug_split*]"
    png = tmp_path / "r.png"
    script = EXPERIMENTS / "robust-views" / "variants.py"
    out = run_script(script, [first, second, *map(str, folders), "--png", str(png)], monkeypatch, capsys)
    clean = {}
    for run in ("diffaug", "robust_diffaug"):
        values = []
        for folder in folders:
            doc = json.loads((folder / "metrics.json").read_text())
            curve = next(c for c in doc["robustness"] if c["method"] == f"dacl+diffaug [{run}_{folder.name}]")
            values.append(next(p for p in curve["points"] if p["label"] == "clean")["metrics"]["auroc_af"]["value"])
        clean[run] = values
    higher = sum(b > a for a, b in zip(clean["diffaug"], clean["robust_diffaug"], strict=True))
    row = next(line for line in out.splitlines() if line.startswith("| clean |"))
    assert row.startswith(
        f"| clean | {statistics.fmean(clean['diffaug']):.4f} | {statistics.fmean(clean['robust_diffaug']):.4f} |"
    )
    assert row.endswith(f"| {higher} of 5 |")
    assert len([line for line in out.splitlines() if line.startswith("| ")]) == 1 + 31  # the header, 31 points
    assert png.read_bytes().startswith(b"\x89PNG")
