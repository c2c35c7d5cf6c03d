"""Multi-label evaluation: macro AUROC over labels with bootstrap CIs over records, per-label AUROC, paired
differences, the CLI and report, robustness; and the dispatch on the dataset's task."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import MeanEmbedder, four_class_featureset, multilabel_featureset
from sklearn.metrics import roc_auc_score

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.probe import linear, multilabel
from dacl.probe import robustness as rb
from dacl.probe.corruptions import Corruption
from dacl.probe.protocol import check_leads, compare, evaluate


def test_macro_auroc_is_the_mean_over_labels_with_both_classes():
    rng = np.random.default_rng(0)
    targets = rng.random((60, 4)) < 0.4
    targets[:, 3] = False  # no positive: not scored
    scores = rng.random((60, 4)) + targets * 0.5
    macro, per_label = multilabel.score_labels(targets, scores, n_boot=200, seed=1)
    expected = [roc_auc_score(targets[:, c], scores[:, c]) for c in range(3)]
    assert [e.value for e in per_label] == pytest.approx(expected)
    assert macro.value == pytest.approx(np.mean(expected))
    for e in (macro, *per_label):
        assert e.low <= e.value <= e.high
    # Seeded: the same seed, the same intervals.
    again, _ = multilabel.score_labels(targets, scores, n_boot=200, seed=1)
    assert again == macro
    with pytest.raises(ValueError, match="no label has both"):
        multilabel.score_labels(targets[:, 3:], scores[:, 3:], n_boot=10)


def test_a_rare_label_absent_from_some_resamples_is_left_out_of_those_only():
    targets = np.zeros((10, 2), dtype=bool)
    targets[:5, 0] = True
    targets[9, 1] = True  # one positive: missing from about a third of the resamples
    scores = np.column_stack([targets[:, 0] + 0.1, np.linspace(0, 1, 10)])
    macro, (first, rare) = multilabel.score_labels(targets, scores, n_boot=300, seed=0)
    assert first.value == first.low == first.high == 1.0
    assert rare.value == 1.0 and macro.value == 1.0
    assert np.isfinite(macro.low) and macro.low <= macro.high


def test_separable_labels_score_high_and_noise_scores_chance():
    good = evaluate(multilabel_featureset(), MeanEmbedder(), n_boot=100)
    assert good.task == "multi-label" and good.metrics["auroc_macro"].value > 0.85
    assert set(good.label_estimates) <= set(multilabel_featureset().vocabulary)
    noise = evaluate(multilabel_featureset(300, informative=False, seed=2), MeanEmbedder(), n_boot=100)
    macro = noise.metrics["auroc_macro"]
    assert macro.low < 0.5 < macro.high
    doc = good.to_dict()
    assert doc["task"] == "multi-label" and set(doc["auroc_per_label"]) == set(good.label_estimates)
    assert all(v["n_positive"] >= 1 for v in doc["auroc_per_label"].values())


def test_record_scores_are_mean_window_probabilities_per_label():
    fs = multilabel_featureset(seed=3)
    r = evaluate(fs, MeanEmbedder(), n_boot=10)
    test = fs.window_mask("test")
    window = r.model.scores(MeanEmbedder().embed(fs.features[test]))
    for k, rec_id in enumerate(r.test_record_ids):
        row = int(np.flatnonzero(fs.record_ids == rec_id)[0])
        np.testing.assert_allclose(r.test_probs[k], window[fs.record_index[test] == row].mean(axis=0))
        np.testing.assert_array_equal(r.test_labels[k], fs.record_targets[row][r.model.columns])


def test_paired_differences_of_multilabel_results():
    fs = multilabel_featureset(seed=4)
    base = evaluate(fs, ScatteringPoolEmbedder(), n_boot=50)
    same = evaluate(fs, ScatteringPoolEmbedder(), n_boot=50)
    (diff,) = compare(same, base, n_boot=50).values()
    assert diff.value == diff.low == diff.high == 0.0
    mean = evaluate(fs, MeanEmbedder(), n_boot=50)
    diff = compare(mean, base, n_boot=50)["auroc_macro"]
    assert diff.value == pytest.approx(mean.metrics["auroc_macro"].value - base.metrics["auroc_macro"].value)
    assert diff.low <= diff.value <= diff.high


def test_the_task_decides_the_protocol():
    single = evaluate(four_class_featureset(), MeanEmbedder(), n_boot=20)
    assert single.task == "single-label" and "auroc_af" in single.metrics
    fs = multilabel_featureset()
    with pytest.raises(ValueError, match="multi-label"):
        linear.evaluate(fs, MeanEmbedder())
    with pytest.raises(ValueError, match="'svm' probe is for single-label"):
        evaluate(fs, MeanEmbedder(), probe="svm")
    fs.manifest["task"] = "none"
    with pytest.raises(ValueError, match="carry no labels"):
        evaluate(fs, MeanEmbedder())


def test_a_run_is_probed_only_on_its_own_leads():
    fs = multilabel_featureset(n_leads=3)
    emb = MeanEmbedder()
    emb.leads = ("I", "II", "V1")
    check_leads(emb, fs)
    emb.leads = ("II", "I", "V1")
    with pytest.raises(ValueError, match="trained on leads II,I,V1, the dataset has I,II,V1"):
        evaluate(fs, emb)


def test_cli_evaluate_writes_multilabel_metrics_and_report(tmp_path, monkeypatch):
    from dacl import cli
    from dacl.embedding import embedder
    from dacl.features import featureset as dataset

    fs = multilabel_featureset()
    monkeypatch.setattr(dataset, "load_features", lambda path: fs)
    monkeypatch.setattr(embedder, "load_embedder", lambda run_dir, device="cpu": MeanEmbedder())
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    out = tmp_path / "report"
    assert (
        cli.main(
            ["evaluate", str(run_dir), "--features", "DS", "--baseline-scattering", "--out", str(out), "--n-boot", "50"]
        )
        == 0
    )
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["task"] == "multi-label" and doc["leads"] == ["I", "II", "V1"]
    assert "auroc_macro" in doc["protocol"]
    base, other = doc["methods"]
    assert other["difference_to"]["auroc_macro"]["value"] == pytest.approx(
        other["metrics"]["auroc_macro"]["value"] - base["metrics"]["auroc_macro"]["value"]
    )
    report = (out / "report.md").read_text()
    assert "| method | probe | macro AUROC | labels scored | test records |" in report
    for code in other["auroc_per_label"]:
        assert f"| {code} |" in report
    assert "AF-vs-rest" not in report and "paper's reported numbers" not in report
    assert (out / "auroc_per_label.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "embedding_map.png").is_file() and not (out / "roc_af.png").exists()


def test_robustness_of_multilabel_results_uses_macro_auroc():
    rng = np.random.default_rng(5)
    n = 40
    targets = np.column_stack([np.arange(n) % 2 == 0, np.arange(n) % 3 == 0])
    signals = [
        np.stack(
            [
                np.sin(np.linspace(0, 30 * (1 + t[0]), 600)) + 0.1 * rng.standard_normal(600),
                np.sin(np.linspace(0, 20 * (1 + t[1]), 600)) + 0.1 * rng.standard_normal(600),
            ]
        )
        for t in targets
    ]

    def featurize(sigs):
        feats = np.stack(
            [[[[np.abs(np.fft.rfft(lead))[k * 10 : (k + 1) * 10].sum()] for k in range(6)] for lead in x] for x in sigs]
        ).astype(np.float32)
        return np.log(feats), np.arange(len(sigs))

    feats, _ = featurize(signals)
    split = np.where(np.arange(n) < 24, "train", "test")
    from dacl.features import FeatureSet

    fs = FeatureSet(
        feats,
        np.arange(n),
        np.zeros(n, np.int64),
        np.array([f"R{i}" for i in range(n)]),
        np.full(n, -1),
        split,
        {"task": "multi-label"},
        leads=("I", "II"),
        vocabulary=("a", "b"),
        record_targets=targets,
    )
    result = evaluate(fs, MeanEmbedder(), n_boot=30)
    test = [signals[int(r[1:])] for r in result.test_record_ids]
    corruptions = [Corruption("clean"), Corruption("awgn", -10)]
    curve = rb.robustness_curve(
        result.model,
        MeanEmbedder(),
        test,
        result.test_labels,
        featurize,
        fs=300.0,
        corruptions=corruptions,
        seed=0,
        n_boot=30,
    )
    clean, noisy = curve.points
    assert clean.metrics["auroc_macro"] == result.metrics["auroc_macro"]
    assert noisy.metrics["auroc_macro"].value < clean.metrics["auroc_macro"].value
    rb.add_paired_differences(curve, curve)
    assert all(p.difference["auroc_macro"].value == 0.0 for p in curve.points)


def test_single_labels_other_than_cinc2017s_are_scored_per_label():
    """Any other vocabulary would be misread by the CinC 2017 probe (AF is its column 1): one-hot rows instead."""
    fs = four_class_featureset()
    fs.vocabulary = ("SR", "AFIB", "PVC", "NOISE")
    fs.record_targets = np.eye(4, dtype=bool)[fs.record_labels]
    with pytest.raises(ValueError, match="scores CinC 2017's four classes"):
        linear.evaluate(fs, MeanEmbedder())
    r = evaluate(fs, MeanEmbedder(), n_boot=50)
    assert r.protocol == "per-label" and r.task == "single-label" and r.to_dict()["task"] == "single-label"
    assert set(r.label_estimates) == {"SR", "AFIB", "PVC", "NOISE"} and r.metrics["auroc_macro"].value > 0.9


def test_window_labelled_datasets_are_not_scored_by_records():
    fs = four_class_featureset()
    fs.window_labels = np.where(np.arange(len(fs.record_index)) % 2 == 0, 1, -1)
    with pytest.raises(ValueError, match="window-level evaluation is not implemented"):
        evaluate(fs, MeanEmbedder())
