"""Record-level metrics: agreement with scikit-learn, the challenge F1, bootstrap CIs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from dacl.corpus.cinc2017 import CLASSES
from dacl.probe import metrics
from dacl.probe.metrics import knn_accuracy


def _synthetic(n: int, seed: int, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels covering all four classes and noisy probabilities that favour the truth."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(4), rng.integers(0, 4, size=n - 4)])
    logits = rng.normal(size=(n, 4))
    logits[np.arange(n), y] += signal
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, probs


def test_aggregate_by_record_means_each_records_windows() -> None:
    window_probs = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0.2, 0.2, 0.2, 0.4], [0, 0, 0, 1.0]])
    record_index = np.array([5, 5, 2, 2, 2])
    records, probs = metrics.aggregate_by_record(window_probs, record_index)
    np.testing.assert_array_equal(records, [2, 5])
    np.testing.assert_allclose(probs[0], [0.2 / 3, 0.2 / 3, 1.2 / 3, 1.4 / 3])
    np.testing.assert_allclose(probs[1], [0.5, 0.5, 0, 0])


def test_aggregate_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="record_index"):
        metrics.aggregate_by_record(np.zeros((3, 4)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="no windows"):
        metrics.aggregate_by_record(np.zeros((0, 4)), np.zeros(0, dtype=int))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aurocs_and_accuracy_match_sklearn(seed: int) -> None:
    y, probs = _synthetic(200, seed)
    # Ties: quantise scores so the Mann-Whitney tie handling is exercised.
    probs = np.round(probs, 1)
    assert metrics.auroc_af_vs_rest(y, probs) == pytest.approx(roc_auc_score(y == 1, probs[:, 1]))
    macro = metrics.macro_ovr_auroc(y, probs)
    expected = np.mean([roc_auc_score(y == k, probs[:, k]) for k in range(4)])
    assert macro.value == pytest.approx(expected)
    assert macro.skipped == ()
    pred = probs.argmax(axis=1)
    assert metrics.accuracy(y, pred) == pytest.approx(accuracy_score(y, pred))
    # Challenge F1 = mean of sklearn's per-class F1 over N, A, O.
    per_class = f1_score(y, pred, labels=[0, 1, 2, 3], average=None)
    assert metrics.challenge_f1(y, pred) == pytest.approx(per_class[:3].mean())


def test_macro_auroc_skips_an_absent_class_and_names_it() -> None:
    y, probs = _synthetic(100, 3)
    keep = y != CLASSES.index("~")
    macro = metrics.macro_ovr_auroc(y[keep], probs[keep])
    assert macro.skipped == ("~",)
    assert set(macro.per_class) == {"N", "A", "O"}
    assert macro.value == pytest.approx(np.mean(list(macro.per_class.values())))


def test_af_auroc_needs_af_records() -> None:
    y = np.array([0, 2, 3, 0])
    with pytest.raises(ValueError, match="AF"):
        metrics.auroc_af_vs_rest(y, np.full((4, 4), 0.25))


def test_challenge_f1_hand_computed() -> None:
    # Reference \ predicted      N  A  O  ~
    cm = np.array(
        [
            [5, 0, 1, 0],  # N: 6 records
            [1, 2, 0, 0],  # A: 3
            [1, 1, 3, 1],  # O: 6
            [0, 0, 1, 1],
        ]
    )  # ~: 2
    y_true = np.repeat(np.arange(4), cm.sum(axis=1))
    y_pred = np.concatenate([np.repeat(np.arange(4), row) for row in cm])
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred), cm)
    # F1_N = 2*5/(6+7), F1_A = 2*2/(3+3), F1_O = 2*3/(6+5); ~ excluded.
    expected = (10 / 13 + 4 / 6 + 6 / 11) / 3
    assert metrics.challenge_f1(y_true, y_pred) == pytest.approx(expected)
    assert metrics.f1_per_class(cm)["~"] == pytest.approx(2 * 1 / (2 + 2))


def test_challenge_f1_undefined_class_raises() -> None:
    with pytest.raises(ValueError, match="undefined"):
        metrics.challenge_f1(np.array([0, 0, 2]), np.array([0, 2, 2]))


def test_labels_are_validated() -> None:
    with pytest.raises(ValueError, match="unlabelled"):
        metrics.auroc_af_vs_rest(np.array([0, 1, -1]), np.full((3, 4), 0.25))
    with pytest.raises(TypeError, match="integer"):
        metrics.auroc_af_vs_rest(np.array([0.0, 1.0]), np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="NaN"):
        metrics.auroc_af_vs_rest(np.array([0, 1]), np.full((2, 4), np.nan))


def test_bootstrap_ci_contains_point_and_is_deterministic() -> None:
    y, probs = _synthetic(150, 4)
    a = metrics.score_records(y, probs, n_boot=200, seed=7)
    b = metrics.score_records(y, probs, n_boot=200, seed=7)
    c = metrics.score_records(y, probs, n_boot=200, seed=8)
    assert a == b
    assert a != c
    for est in a.values():
        assert est.low <= est.value <= est.high
        assert est.low < est.high


def test_bootstrap_ci_narrows_with_more_records() -> None:
    widths = []
    for n in (60, 600):
        y, probs = _synthetic(n, 5)
        est = metrics.score_records(y, probs, n_boot=200, seed=0)["auroc_af"]
        widths.append(est.high - est.low)
    # Width shrinks ~ 1/sqrt(n): a 10x larger sample should at least halve it.
    assert widths[1] < 0.5 * widths[0]


def test_bootstrap_resamples_keep_every_class() -> None:
    # One AF record among 30: plain resampling would often drop it.
    y = np.zeros(30, dtype=np.int64)
    y[0] = 1
    for idx in metrics.bootstrap_indices(y, 50, seed=0):
        assert (y[idx] == 1).any()


def test_roc_points_span_unit_square() -> None:
    y, probs = _synthetic(80, 6)
    pts = metrics.roc_points(y, probs)
    assert pts["fpr"][0] == 0.0 and pts["tpr"][0] == 0.0
    assert pts["fpr"][-1] == 1.0 and pts["tpr"][-1] == 1.0
    # Trapezoidal area under the returned points is the AUROC.
    assert np.trapezoid(pts["tpr"], pts["fpr"]) == pytest.approx(metrics.auroc_af_vs_rest(y, probs))


def test_paired_difference_of_a_method_with_itself_is_exactly_zero() -> None:
    y, probs = _synthetic(200, 11)
    diff = metrics.paired_difference(y, probs, probs, n_boot=100, seed=0)
    for est in diff.values():
        assert est.value == est.low == est.high == 0.0


def test_paired_difference_detects_a_small_real_gain_that_unpaired_cis_miss() -> None:
    # B = A plus a little extra evidence for the true class on every record: a small,
    # consistent gain. Per-method CIs overlap; the paired CI of A - B excludes 0.
    y, probs_b = _synthetic(400, 12)
    boost = np.zeros_like(probs_b)
    boost[np.arange(len(y)), y] = 0.03
    probs_a = (probs_b + boost) / (probs_b + boost).sum(axis=1, keepdims=True)
    diff = metrics.paired_difference(y, probs_a, probs_b, n_boot=300, seed=0)["auroc_af"]
    a = metrics.score_records(y, probs_a, n_boot=300, seed=0)["auroc_af"]
    b = metrics.score_records(y, probs_b, n_boot=300, seed=0)["auroc_af"]
    assert a.low < b.high  # the per-method intervals overlap ...
    assert 0.0 < diff.low <= diff.value <= diff.high  # ... the paired one does not include 0
    assert diff.value == pytest.approx(a.value - b.value)
    swapped = metrics.paired_difference(y, probs_b, probs_a, n_boot=300, seed=0)["auroc_af"]
    assert swapped.value == pytest.approx(-diff.value) and swapped.high < 0.0


def test_paired_difference_checks_shapes() -> None:
    y, probs = _synthetic(50, 13)
    with pytest.raises(ValueError, match="probs_b"):
        metrics.paired_difference(y, probs, probs[:-1], n_boot=10)


def test_format_interval_is_the_one_interval_format() -> None:
    from dacl.probe.linear import format_estimate
    from dacl.report.markdown import format_ci

    assert metrics.format_interval(0.95771, 0.94351, 0.97012) == "0.9577 [0.9435, 0.9701]"
    assert metrics.format_interval(-0.0034, -0.0167, 0.0086, signed=True) == "-0.0034 [-0.0167, +0.0086]"
    e = metrics.Estimate(-0.0034, -0.0167, 0.0086)
    assert format_estimate(e, signed=True) == format_ci(e.to_dict(), signed=True) == "-0.0034 [-0.0167, +0.0086]"


def test_knn_accuracy_separable_vs_shuffled() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    good = knn_accuracy(x[:200], y[:200], x[200:], y[200:], k=5)
    bad = knn_accuracy(x[:200], rng.permutation(y[:200]), x[200:], y[200:], k=5)
    assert good > 0.85 and bad < 0.7
    with pytest.raises(ValueError, match="k must"):
        knn_accuracy(x[:3], y[:3], x[3:], y[3:], k=10)
