"""Probe evaluation: leakage guards, the protocol, the baseline embedder and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import MeanEmbedder, evaluate_against_baseline, four_class_featureset

from dacl.embedding.baselines import ScatteringPoolEmbedder
from dacl.features import FeatureSet
from dacl.probe import linear as ev

P, F = 6, 8  # paths and frames of four_class_featureset's windows


def test_evaluate_separable_data_scores_high_with_consistent_cis() -> None:
    fs = four_class_featureset()
    r = ev.evaluate(fs, MeanEmbedder(), n_boot=100)
    assert r.metrics["auroc_af"].value > 0.9
    assert r.metrics["f1_challenge"].value > 0.7
    for est in r.metrics.values():
        assert est.low <= est.value <= est.high
    n_test = int((fs.record_split == "test").sum())
    assert r.n_records["test"] == n_test == r.test_labels.size
    assert r.n_windows["train"] == int(fs.window_mask("train").sum())
    assert np.asarray(r.confusion_matrix).sum() == n_test
    assert set(r.test_record_ids) == set(fs.record_ids[fs.record_split == "test"])


def test_knn_accuracy_is_on_record_mean_embeddings_train_to_test() -> None:
    from dacl.probe import metrics

    fs = four_class_featureset()
    r = ev.evaluate(fs, MeanEmbedder(), n_boot=20)
    emb = MeanEmbedder().embed(fs.features)
    train, test = fs.window_mask("train"), fs.window_mask("test")
    tr_rec, tr_emb = metrics.aggregate_by_record(emb[train], fs.record_index[train])
    te_rec, te_emb = metrics.aggregate_by_record(emb[test], fs.record_index[test])
    expected = metrics.knn_accuracy(tr_emb, fs.record_labels[tr_rec], te_emb, fs.record_labels[te_rec], k=5)
    assert r.knn_accuracy == expected > 0.7  # separable classes: well above the 0.25 of chance
    noise = ev.evaluate(four_class_featureset(200, informative=False, seed=1), MeanEmbedder(), n_boot=20)
    assert noise.knn_accuracy < 0.45
    assert r.to_dict()["knn_accuracy"] == r.knn_accuracy


def test_uninformative_features_score_chance() -> None:
    r = ev.evaluate(four_class_featureset(200, informative=False, seed=1), MeanEmbedder(), n_boot=200)
    auc = r.metrics["auroc_af"]
    assert auc.low < 0.5 < auc.high


def test_record_scores_are_mean_window_probabilities() -> None:
    fs = four_class_featureset()
    r = ev.evaluate(fs, MeanEmbedder(), n_boot=10)
    test = fs.window_mask("test")
    window_probs = ev.predict_proba4(r.model, MeanEmbedder().embed(fs.features[test]))
    rid = fs.record_index[test]
    for k, rec_id in enumerate(r.test_record_ids):
        row = int(np.flatnonzero(fs.record_ids == rec_id)[0])
        np.testing.assert_allclose(r.test_probs[k], window_probs[rid == row].mean(axis=0))
    np.testing.assert_allclose(r.test_probs.sum(axis=1), 1.0, rtol=1e-9)


def test_probe_never_sees_test_or_val_labels() -> None:
    fs = four_class_featureset()
    a = ev.evaluate(fs, MeanEmbedder(), n_boot=10)
    # Scramble every non-train label; the fitted probe must not change.
    labels = fs.record_labels.copy()
    not_train = fs.record_split != "train"
    labels[not_train] = np.random.default_rng(0).permutation(labels[not_train])
    fs2 = FeatureSet(fs.features, fs.record_index, fs.starts, fs.record_ids, labels, fs.record_split, fs.manifest)
    b = ev.evaluate(fs2, MeanEmbedder(), n_boot=10)
    lr_a, lr_b = a.model[-1], b.model[-1]
    np.testing.assert_array_equal(lr_a.coef_, lr_b.coef_)


def test_unlabelled_records_are_ignored() -> None:
    fs = four_class_featureset()
    labels = fs.record_labels.copy()
    test_rows = np.flatnonzero(fs.record_split == "test")
    labels[test_rows[:3]] = -1
    fs2 = FeatureSet(fs.features, fs.record_index, fs.starts, fs.record_ids, labels, fs.record_split, fs.manifest)
    r = ev.evaluate(fs2, MeanEmbedder(), n_boot=10)
    assert r.n_records["test"] == test_rows.size - 3
    assert not set(fs.record_ids[test_rows[:3]]) & set(r.test_record_ids)


def test_record_name_in_two_splits_is_leakage() -> None:
    fs = four_class_featureset()
    ids = fs.record_ids.copy()
    train_row = np.flatnonzero(fs.record_split == "train")[0]
    test_row = np.flatnonzero(fs.record_split == "test")[0]
    ids[test_row] = ids[train_row]
    fs2 = FeatureSet(fs.features, fs.record_index, fs.starts, ids, fs.record_labels, fs.record_split, fs.manifest)
    with pytest.raises(ValueError, match=f"leakage.*{ids[train_row]}"):
        ev.evaluate(fs2, MeanEmbedder(), n_boot=10)


def test_identical_records_in_two_splits_is_leakage() -> None:
    fs = four_class_featureset()
    train_row = np.flatnonzero(fs.record_split == "train")[0]
    test_row = np.flatnonzero(fs.record_split == "test")[0]
    # Make the test record a copy of the train record (like A00227 = A01176).
    feats = fs.features[fs.record_index != test_row]
    ri = fs.record_index[fs.record_index != test_row]
    copy = fs.features[fs.record_index == train_row]
    fs2 = FeatureSet(
        np.concatenate([feats, copy]),
        np.concatenate([ri, np.full(len(copy), test_row)]),
        np.zeros(len(ri) + len(copy), dtype=np.int64),
        fs.record_ids,
        fs.record_labels,
        fs.record_split,
        fs.manifest,
    )
    with pytest.raises(ValueError, match="identical records"):
        ev.check_splits(fs2)
    # On the same side of the split it is allowed.
    split = fs.record_split.copy()
    split[test_row] = "train"
    fs3 = FeatureSet(fs2.features, fs2.record_index, fs2.starts, fs.record_ids, fs.record_labels, split, fs.manifest)
    ev.check_splits(fs3)


def test_missing_splits_and_bad_embeddings_raise() -> None:
    fs = four_class_featureset()
    no_test = np.where(fs.record_split == "test", "val", fs.record_split)
    fs2 = FeatureSet(fs.features, fs.record_index, fs.starts, fs.record_ids, fs.record_labels, no_test, fs.manifest)
    with pytest.raises(ValueError, match="test split"):
        ev.evaluate(fs2, MeanEmbedder())

    class NaNEmbedder(MeanEmbedder):
        name = "nan"

        def embed(self, features: np.ndarray) -> np.ndarray:
            z = super().embed(features)
            z[0, 0] = np.nan
            return z

    with pytest.raises(ValueError, match="'nan'.*NaN"):
        ev.evaluate(fs, NaNEmbedder())
    with pytest.raises(ValueError, match="unknown probe"):
        ev.evaluate(fs, MeanEmbedder(), probe="knn")


def test_scattering_pool_embedder() -> None:
    x = np.abs(np.random.default_rng(0).normal(size=(5, P, F))).astype(np.float32)
    z = ScatteringPoolEmbedder().embed(x)
    assert z.shape == (5, 2 * P) and z.dtype == np.float32
    np.testing.assert_allclose(z[:, :P], x.mean(axis=2), rtol=1e-6)
    np.testing.assert_allclose(z[:, P:], x.std(axis=2), rtol=1e-5)
    zl = ScatteringPoolEmbedder(log=True).embed(x)
    np.testing.assert_allclose(zl[:, :P], np.log1p(x).mean(axis=2), rtol=1e-6)
    with pytest.raises(ValueError, match="non-negative"):
        ScatteringPoolEmbedder(log=True).embed(-x)


def test_svm_probe() -> None:
    r = ev.evaluate(four_class_featureset(), MeanEmbedder(), probe="svm", n_boot=20)
    assert r.probe == "svm" and r.method == "mean (svm)"
    assert r.metrics["auroc_af"].value > 0.9


def test_cli_writes_metrics_json_and_report(tmp_path, monkeypatch) -> None:
    from dacl import cli
    from dacl.features import featureset as dataset

    fs = four_class_featureset()
    monkeypatch.setattr(dataset, "load_features", lambda path: fs)
    out = tmp_path / "report"
    rc = cli.main(["evaluate", "--features", "DS", "--baseline-scattering", "--out", str(out), "--n-boot", "50"])
    assert rc == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["split"] == {"seed": 3, "fractions": [0.4, 0.2, 0.4]}
    assert doc["n_records"]["test"] == int((fs.record_split == "test").sum())
    (m,) = doc["methods"]
    assert m["method"] == "scattering-pool"
    for est in m["metrics"].values():
        assert est["low"] <= est["value"] <= est["high"]
    assert (out / "report.md").is_file()
    assert "scattering-pool" in (out / "report.md").read_text()
    assert not list(out.glob(".*tmp"))


def test_methods_are_compared_with_the_first_on_the_same_records() -> None:
    fs = four_class_featureset()
    base = ev.evaluate(fs, ScatteringPoolEmbedder(), n_boot=50)
    same = ev.evaluate(fs, ScatteringPoolEmbedder(), n_boot=50)
    diff = ev.compare_results(same, base, n_boot=50)
    assert all(e.value == e.low == e.high == 0.0 for e in diff.values())
    mean_only = ev.evaluate(fs, MeanEmbedder(), n_boot=50)
    diff = ev.compare_results(mean_only, base, n_boot=50)
    for key, est in diff.items():
        assert est.value == pytest.approx(mean_only.metrics[key].value - base.metrics[key].value)
        assert est.low <= est.value <= est.high
    other = ev.evaluate(four_class_featureset(seed=1), MeanEmbedder(), n_boot=50)
    with pytest.raises(ValueError, match="not scored on the same test records"):
        ev.compare_results(other, base)


def test_cli_without_methods_is_an_error(capsys, monkeypatch) -> None:
    from dacl import cli
    from dacl.features import featureset as dataset

    monkeypatch.setattr(dataset, "load_features", lambda path: four_class_featureset())
    assert cli.main(["evaluate", "--features", "DS"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err


def test_cli_reports_each_method_against_the_baseline(tmp_path, monkeypatch, capsys) -> None:
    out = evaluate_against_baseline(tmp_path, monkeypatch)
    base, other = json.loads((out / "metrics.json").read_text())["methods"]
    assert "difference_to" not in base
    d = other["difference_to"]
    assert d["method"] == "scattering-pool"
    expected = other["metrics"]["auroc_af"]["value"] - base["metrics"]["auroc_af"]["value"]
    assert d["auroc_af"]["value"] == pytest.approx(expected)
    assert "Difference to scattering-pool" in (out / "report.md").read_text()
    assert "difference to scattering-pool" in capsys.readouterr().out


@pytest.mark.slow
def test_noise_augmented_baseline_is_a_method_of_evaluate(tmp_path) -> None:
    """--baseline-scattering-noise: the probe also learns one noisy copy of each train window; test untouched."""
    from dacl.cli import main as cli_main
    from dacl.corpus import sample_path
    from dacl.features import preprocess

    ds = preprocess(sample_path(), tmp_path / "ds", num_threads=1, window=512, hop=384, J=5, Q=4)
    out = tmp_path / "report"
    assert (
        cli_main(
            [
                "evaluate",
                "--features",
                str(ds),
                "--baseline-scattering",
                "--baseline-scattering-noise",
                "--n-boot",
                "20",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads((out / "metrics.json").read_text())
    clean, noisy = doc["methods"]
    assert (clean["method"], noisy["method"]) == ("scattering-pool", "scattering-pool + noise-aug")
    assert noisy["n_windows"]["train"] == 2 * clean["n_windows"]["train"]
    assert noisy["n_windows"]["test"] == clean["n_windows"]["test"]
    assert noisy["noise_augmentation"]["snr_db"] == [0.0, 24.0] and noisy["noise_augmentation"]["copies"] == 1
    assert noisy["difference_to"]["method"] == "scattering-pool"
    assert noisy["metrics"]["auroc_macro_ovr"]["value"] != clean["metrics"]["auroc_macro_ovr"]["value"]
    assert "scattering-pool + noise-aug" in (out / "report.md").read_text()
    assert (
        cli_main(
            [
                "evaluate",
                "--features",
                str(ds),
                "--baseline-scattering-noise",
                "--noise-copies",
                "0",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
