"""Model selection on the val split: the view without test records, and `dacl evaluate --on val`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import MeanEmbedder, evaluate_against_baseline, four_class_featureset

from dacl.probe import metrics
from dacl.probe.linear import evaluate, make_probe, score_model
from dacl.probe.selection import scored_split, validation_view


class RecordingEmbedder(MeanEmbedder):
    """The mean embedder, remembering every window it was asked to embed."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def embed(self, features: np.ndarray) -> np.ndarray:
        self.seen.append(np.asarray(features).copy())
        return super().embed(features)


def test_view_drops_test_records_and_scores_val_ones_in_order() -> None:
    fs = four_class_featureset()
    view = validation_view(fs)
    val, test = fs.record_split == "val", fs.record_split == "test"
    assert list(view.record_ids) == list(fs.record_ids[~test])
    assert set(view.record_split) <= {"train", "test"}
    assert list(view.record_ids[view.record_split == "test"]) == list(fs.record_ids[val])
    keep = ~test[fs.record_index]
    np.testing.assert_array_equal(view.features, fs.features[keep])
    np.testing.assert_array_equal(view.starts, fs.starts[keep])
    np.testing.assert_array_equal(view.record_ids[view.record_index], fs.record_ids[fs.record_index[keep]])
    np.testing.assert_array_equal(view.labels, fs.labels[keep])
    assert scored_split(view.manifest) == "val" and scored_split(fs.manifest) == "test"
    assert view.manifest["split"] == fs.manifest["split"]  # provenance kept


def test_view_scores_equal_a_probe_fitted_on_train_and_scored_on_val() -> None:
    fs = four_class_featureset(200, separation=0.15)
    r = evaluate(validation_view(fs), MeanEmbedder(), n_boot=20)
    z = MeanEmbedder().embed(fs.features)
    train, val = fs.window_mask("train"), fs.window_mask("val")
    probe = make_probe("logreg", 0).fit(z[train].astype(np.float64), fs.labels[train])
    records, y, probs = score_model(probe, z[val], fs.record_index[val], fs.record_labels)
    assert 0.6 < r.metrics["auroc_af"].value < 0.99  # neither chance nor perfect: the equality below says something
    assert r.metrics["auroc_af"].value == pytest.approx(metrics.auroc_af_vs_rest(y, probs), abs=1e-12)
    assert r.metrics["auroc_macro_ovr"].value == pytest.approx(metrics.macro_ovr_auroc(y, probs).value, abs=1e-12)
    assert list(r.test_record_ids) == list(fs.record_ids[records])


def test_no_test_window_is_ever_embedded() -> None:
    fs = four_class_featureset()
    embedder = RecordingEmbedder()
    evaluate(validation_view(fs), embedder, n_boot=10)
    embedded = np.concatenate(embedder.seen)
    test_windows = fs.features[fs.window_mask("test")]
    assert len(embedded) == int((~fs.window_mask("test")).sum())
    seen = {w.tobytes() for w in embedded}
    assert not any(w.tobytes() in seen for w in test_windows)


def test_a_dataset_without_val_records_is_refused() -> None:
    fs = four_class_featureset()
    fs.record_split = np.where(fs.record_split == "val", "train", fs.record_split)
    with pytest.raises(ValueError, match="no val records"):
        validation_view(fs)


def test_cli_on_val_writes_val_scores_and_says_so(tmp_path, monkeypatch, capsys) -> None:
    fs = four_class_featureset(200, separation=0.15)
    out = evaluate_against_baseline(tmp_path, monkeypatch, "--on", "val", features=fs)
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["scored_split"] == "val" and "val-split records" in doc["protocol"]["scored_on"]
    assert doc["n_records"]["test"] == int((fs.record_split == "val").sum())
    expected = evaluate(validation_view(fs), MeanEmbedder(), n_boot=50)
    assert doc["methods"][1]["metrics"]["auroc_af"] == expected.metrics["auroc_af"].to_dict()
    assert "Scored on the val split" in (out / "report.md").read_text()
    test_doc = json.loads((evaluate_against_baseline(tmp_path / "t", monkeypatch)).joinpath("metrics.json").read_text())
    assert test_doc["scored_split"] == "test" and test_doc["protocol"]["scored_on"] == "test-split records"


def test_on_is_a_key_of_the_experiment_file(tmp_path) -> None:
    from dacl.cli.experiment import load_experiment

    path = tmp_path / "experiment.toml"
    path.write_text('[evaluate]\non = "val"\n')
    assert load_experiment(path).evaluate().on == "val"
    with pytest.raises(ValueError, match="evaluate.on"):
        load_experiment(path, ["evaluate.on=train"])
