"""report.md and its figures, from one or several metrics.json files."""

from __future__ import annotations

import pytest
from helpers import MeanEmbedder, four_class_featureset

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import FeatureSet
from dacl.probe import linear as ev
from dacl.probe.results import write_results


@pytest.mark.slow
def test_report_from_several_metrics_files(tmp_path) -> None:
    from matplotlib.image import imread

    from dacl.report import markdown as report

    fs = four_class_featureset(160, separation=0.5)
    a = ev.evaluate(fs, MeanEmbedder(), n_boot=30, method="run-a")
    b = ev.evaluate(fs, ScatteringPoolEmbedder(), n_boot=30, method="run-b")
    a.extra["t_max"], b.extra["t_max"] = 10, 100
    curve = {
        "method": "run-a",
        "points": [
            {
                "kind": k,
                "level": lv,
                "label": lab,
                "n_records": 10,
                "metrics": {"auroc_af": {"value": v, "low": v - 0.1, "high": min(v + 0.05, 1.0), "level": 0.95}},
            }
            for k, lv, lab, v in [
                ("clean", 0, "clean", 0.9),
                ("awgn", 12, "12 dB", 0.8),
                ("awgn", 0, "0 dB", 0.6),
                ("wander", 1.0, "wander x1", 0.85),
            ]
        ],
    }
    write_results(tmp_path / "a", [a], fs, "DS", robustness=[curve])
    fs_b = FeatureSet(
        fs.features,
        fs.record_index,
        fs.starts,
        fs.record_ids,
        fs.record_labels,
        fs.record_split,
        {"split": {"seed": 4}},
    )
    write_results(tmp_path / "b", [b], fs_b, "DS")
    out = tmp_path / "report"
    path = report.write_report(out, [tmp_path / "a", tmp_path / "b" / "metrics.json"])
    text = path.read_text()
    for name in ("run-a", "run-b", "0.7815", "0.9741", "different splits", "wander x1"):
        assert name in text
    # The paper's numbers sit in their own, labelled section, not in our results table.
    ours, paper = text.split("## The paper's reported numbers")
    assert "0.7815" not in ours and "0.7815" in paper
    for png in ("roc_af.png", "embedding_map.png", "robustness.png", "auroc_vs_tmax.png"):
        img = imread(out / png)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
        assert f"]({png})" in text


def test_report_needs_metrics(tmp_path) -> None:
    from dacl.report import markdown as report

    with pytest.raises(FileNotFoundError, match="metrics"):
        report.write_report(tmp_path)
