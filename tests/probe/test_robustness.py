"""Corruptions (white noise at an SNR, baseline wander) and the robustness curve."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ecg_like, featureset

from dacl.corpus import sample_path
from dacl.features import FeatureSet
from dacl.probe import corruptions as cr
from dacl.probe import robustness as rb
from dacl.probe.linear import evaluate

FS = 300.0


@pytest.mark.parametrize("snr", [24.0, 12.0, 6.0, 0.0, -3.0])
def test_white_noise_hits_requested_snr(snr: float) -> None:
    x = ecg_like(offset=0.5)
    y = cr.add_white_noise(x, snr, np.random.default_rng(1))
    assert cr.snr_db(x, y) == pytest.approx(snr, abs=1e-6)
    noise = y - x
    # White: flat spectrum, no lag-1 correlation; zero mean.
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.05
    assert abs(noise.mean()) < 0.05 * noise.std()


def test_corruptions_are_seeded_and_pure() -> None:
    x = ecg_like(offset=0.5)
    before = x.copy()
    a = cr.add_white_noise(x, 6, np.random.default_rng(3))
    b = cr.add_white_noise(x, 6, np.random.default_rng(3))
    c = cr.add_white_noise(x, 6, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(x, before)
    c1, c2 = cr.Corruption("wander", 1.0), cr.Corruption("awgn", 6.0)
    np.testing.assert_array_equal(c1.apply(x, FS, c1.rng_for(0, 5)), c1.apply(x, FS, c1.rng_for(0, 5)))
    # Different records and different corruptions draw different noise.
    assert not np.array_equal(c1.rng_for(0, 5).random(3), c1.rng_for(0, 6).random(3))
    assert not np.array_equal(c1.rng_for(0, 5).random(3), c2.rng_for(0, 5).random(3))


@pytest.mark.parametrize("amplitude", [0.25, 1.0, 2.0])
def test_baseline_wander_amplitude_and_band(amplitude: float) -> None:
    x = ecg_like(60.0, offset=0.5)
    y = cr.add_baseline_wander(x, FS, amplitude, np.random.default_rng(2))
    wander = y - x
    assert np.sqrt(np.mean(wander**2)) == pytest.approx(amplitude * x.std(), rel=1e-9)
    power = np.abs(np.fft.rfft(wander)) ** 2
    freqs = np.fft.rfftfreq(wander.size, 1 / FS)
    # Nearly all power in the wander band (a little leaks: the sinusoids are not
    # whole periods of the record); none of it at ECG frequencies.
    in_band = (freqs >= 0.05) & (freqs <= 0.6)
    assert power[in_band].sum() / power.sum() > 0.95
    assert power[freqs > 1.0].sum() / power.sum() < 0.01
    peak = freqs[np.argmax(power)]
    assert 0.1 - 1 / 60 <= peak <= 0.5 + 1 / 60


def test_corruption_input_validation() -> None:
    with pytest.raises(ValueError, match="NaN"):
        cr.add_white_noise(np.array([0.0, np.nan, 1.0]), 6, np.random.default_rng(0))
    with pytest.raises(ValueError, match="constant"):
        cr.add_white_noise(np.ones(100), 6, np.random.default_rng(0))
    with pytest.raises(ValueError, match="1-D"):
        cr.add_baseline_wander(np.ones((2, 100)), FS, 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="kind"):
        cr.Corruption("hum")


# ------------------------------------------------------------------ the curve


class BandPowerEmbedder:
    """Stand-in frozen model: the features are already the embedding."""

    name = "bands"

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        return x.mean(axis=-1).reshape(len(x), -1)


def band_featurize(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Toy featuriser: 2-s windows, log power in a few frequency bands, 1 frame."""
    win = int(2 * FS)
    edges = [0.0, 0.7, 3.0, 8.0, 15.0, 40.0, 150.0]
    feats, index = [], []
    for i, x in enumerate(signals):
        for s in range(0, x.size - win + 1, win):
            w = x[s : s + win] - x[s : s + win].mean()
            p = np.abs(np.fft.rfft(w)) ** 2
            f = np.fft.rfftfreq(win, 1 / FS)
            bands = zip(edges[:-1], edges[1:], strict=True)
            feats.append([[np.log(p[(f >= lo) & (f < hi)].sum() + 1e-9)] for lo, hi in bands])
            index.append(i)
    return np.asarray(feats, dtype=np.float32), np.asarray(index)


def toy_corpus(n: int = 60, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Classes differ by heart rate; label 1 (AF) irregular."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    t = np.arange(int(10 * FS)) / FS
    rate = {0: 1.0, 1: 2.0, 2: 1.5, 3: 0.0}
    signals = []
    for y in labels:
        x = 0.1 * rng.standard_normal(t.size)
        if rate[y] > 0:
            jitter = 0.3 * np.cumsum(rng.standard_normal(t.size)) / np.sqrt(FS) if y == 1 else 0
            x += np.sin(2 * np.pi * rate[y] * t + jitter) ** 21
        signals.append(x)
    return signals, labels


def toy_featureset(n: int = 80) -> tuple[list[np.ndarray], FeatureSet]:
    """The toy corpus featurised, records alternating in blocks of four between train and test."""
    signals, labels = toy_corpus(n)
    feats, index = band_featurize(signals)
    split = np.where((np.arange(len(signals)) // 4) % 2 == 0, "train", "test")
    fs = featureset(feats, index, labels, split, ids=[f"R{i}" for i in range(len(signals))])
    return signals, fs


def test_robustness_curve_clean_point_matches_evaluation_and_degrades() -> None:
    signals, fs = toy_featureset()
    result = evaluate(fs, BandPowerEmbedder(), n_boot=50, seed=0)
    test = [signals[int(r[1:])] for r in result.test_record_ids]
    corruptions = [
        cr.Corruption("clean"),
        cr.Corruption("awgn", 12),
        cr.Corruption("awgn", -6),
        cr.Corruption("wander", 2.0),
    ]

    def curve_of() -> rb.RobustnessCurve:
        return rb.robustness_curve(
            result.model,
            BandPowerEmbedder(),
            test,
            result.test_labels,
            band_featurize,
            fs=FS,
            corruptions=corruptions,
            seed=0,
            n_boot=50,
        )

    curve = curve_of()
    by = {p.corruption.label: p for p in curve.points}
    # Clean featurisation is the dataset's: same AUROC, same bootstrap CI.
    assert by["clean"].metrics["auroc_af"] == result.metrics["auroc_af"]
    assert by["clean"].n_records == len(test)
    # Heavy white noise hurts the probe; the CI bounds the value.
    assert by["-6 dB"].metrics["auroc_macro_ovr"].value < by["clean"].metrics["auroc_macro_ovr"].value
    for p in curve.points:
        for e in p.metrics.values():
            assert e.low <= e.value <= e.high
    d = curve.to_dict()
    assert [p["label"] for p in d["points"]] == ["clean", "12 dB", "-6 dB", "wander x2"]
    # Seeded: the same call gives the same curve.
    assert curve_of().to_dict() == d


class TwoBandEmbedder(BandPowerEmbedder):
    """A weaker stand-in: only the two lowest bands."""

    name = "two-bands"

    def embed(self, features: np.ndarray) -> np.ndarray:
        return super().embed(features)[:, :2]


def test_paired_robustness_differences() -> None:
    """Each point's difference is this curve minus the reference on the same corrupted records, with a CI."""
    signals, fs = toy_featureset()
    corruptions = [cr.Corruption("clean"), cr.Corruption("awgn", 6), cr.Corruption("wander", 1.0)]
    curves = []
    for emb in (BandPowerEmbedder(), TwoBandEmbedder()):
        result = evaluate(fs, emb, n_boot=50, seed=0)
        test = [signals[int(r[1:])] for r in result.test_record_ids]
        curves.append(
            rb.robustness_curve(
                result.model,
                emb,
                test,
                result.test_labels,
                band_featurize,
                fs=FS,
                corruptions=corruptions,
                seed=0,
                n_boot=50,
            )
        )
    reference, other = curves
    rb.add_paired_differences(other, reference)
    assert other.difference_to == "bands"
    moved = 0
    for p, q in zip(other.points, reference.points, strict=True):
        for k in ("auroc_af", "auroc_macro_ovr"):
            d = p.difference[k]
            assert d.value == pytest.approx(p.metrics[k].value - q.metrics[k].value)
            assert d.low <= d.value <= d.high
            moved += d.value != 0
    assert moved > 0  # the two embedders really differ
    doc = other.to_dict()
    assert doc["difference_to"] == "bands" and all("difference" in p for p in doc["points"])
    assert "difference" not in reference.to_dict()["points"][0]
    # Against itself every difference is exactly zero.
    rb.add_paired_differences(reference, reference)
    assert all(p.difference["auroc_af"].value == 0 == p.difference["auroc_af"].high for p in reference.points)


def test_curves_featurise_each_corruption_once_for_all_methods() -> None:
    """Several methods: one featurisation per corruption, and each curve equals the one scored alone."""
    signals, fs = toy_featureset()
    corruptions = cr.corruptions_for(["awgn", "emg", "steps"])[:6]
    results = [evaluate(fs, emb, n_boot=20, seed=0) for emb in (BandPowerEmbedder(), TwoBandEmbedder())]
    test = [signals[int(r[1:])] for r in results[0].test_record_ids]
    calls = []

    def counting(batch: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(batch))
        return band_featurize(batch)

    curves = rb.robustness_curves(
        [(r.model, emb, r.method) for r, emb in zip(results, (BandPowerEmbedder(), TwoBandEmbedder()), strict=True)],
        test,
        results[0].test_labels,
        counting,
        fs=FS,
        corruptions=corruptions,
        n_boot=20,
    )
    assert calls == [len(test)] * len(corruptions)
    for r, emb, curve in zip(results, (BandPowerEmbedder(), TwoBandEmbedder()), curves, strict=True):
        alone = rb.robustness_curve(
            r.model,
            emb,
            test,
            r.test_labels,
            band_featurize,
            fs=FS,
            corruptions=corruptions,
            n_boot=20,
            method=r.method,
        )
        assert curve.to_dict() == alone.to_dict()
    assert set(curves[0].to_dict()["definitions"]) == {"awgn", "emg"} & {c.kind for c in corruptions}


@pytest.mark.parametrize("kind,level", [("awgn", 6.0), ("powerline50", 0.0), ("emg", 6.0), ("brown", 0.0)])
def test_every_lead_of_a_multilead_record_is_corrupted(kind: str, level: float) -> None:
    """Each lead gets its own draw at the requested level; the record's generator makes it repeatable."""
    leads = np.stack([ecg_like(seed=k, offset=0.1 * k) * (k + 1) for k in range(3)])
    c = cr.Corruption(kind, level)
    noisy = rb.corrupt(c, leads, FS, c.rng_for(0, 5))
    assert noisy.shape == leads.shape
    for k in range(3):
        assert cr.snr_db(leads[k], noisy[k]) == pytest.approx(level, abs=1e-9)
    added = noisy - leads
    assert not np.allclose(added[0] / added[0].std(), added[1] / added[1].std())
    np.testing.assert_array_equal(noisy, rb.corrupt(c, leads, FS, c.rng_for(0, 5)))


def test_curve_for_result_with_injected_reader() -> None:
    signals, labels = toy_corpus(40, seed=1)
    feats, index = band_featurize(signals)
    split = np.where((np.arange(len(signals)) // 4) % 2 == 0, "train", "test")
    ids = np.array([f"R{i}" for i in range(len(signals))])
    fs = featureset(feats, index, labels, split, ids=ids)
    result = evaluate(fs, BandPowerEmbedder(), n_boot=20)
    asked = []

    def read(names):
        asked.extend(names)
        return [signals[int(n[1:])] for n in names], FS

    curve = rb.curve_for_result(result, BandPowerEmbedder(), fs, n_boot=20, featurize=band_featurize, read_signals=read)
    assert asked == list(result.test_record_ids)
    assert len(curve.points) == len(cr.default_corruptions())


def test_missing_featurisation_parameters_are_reported() -> None:
    with pytest.raises(ValueError, match="params"):
        rb.dataset_featurizer({}, FS)
    with pytest.raises(ValueError, match="corpus"):
        rb.manifest_corpus({})


@pytest.mark.slow
def test_dataset_featurizer_reproduces_the_dataset_and_cli_robustness(tmp_path, monkeypatch) -> None:
    """On the shipped 40-record sample: re-read + re-featurise == the dataset's own features."""
    import json

    from dacl import cli
    from dacl.corpus import open_corpus
    from dacl.features import load_features, preprocess

    sample = str(sample_path())
    ds = preprocess(sample, tmp_path / "ds", num_threads=1)
    features = load_features(ds)
    test_rows = np.flatnonzero(features.record_split == "test")
    corpus = open_corpus(sample)
    records = [corpus.read(str(features.record_ids[r])) for r in test_rows]
    featurize = rb.dataset_featurizer(features.manifest, records[0].fs)
    feats, index = featurize([r.signal[0] for r in records])
    for k, row in enumerate(test_rows):
        np.testing.assert_array_equal(feats[index == k], features.features[features.record_index == row])

    from dacl.embedding import embedder

    # A second "run": the time mean of each path, so the CLI pairs two robustness curves.
    monkeypatch.setattr(embedder, "load_embedder", lambda run_dir, device="cpu": BandPowerEmbedder())
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.toml").write_text("")
    out = tmp_path / "out"
    argv = [
        "evaluate",
        str(run_dir),
        "--features",
        str(ds),
        "--baseline-scattering",
        "--baseline-scattering-noise",
        "--robustness",
        "--n-boot",
        "20",
        "--out",
        str(out),
        "--corpus",
        sample,
    ]
    assert cli.main(argv) == 0
    doc = json.loads((out / "metrics.json").read_text())
    curve, noisy, other = doc["robustness"]
    clean = next(p for p in curve["points"] if p["kind"] == "clean")
    assert clean["metrics"]["auroc_af"] == doc["methods"][0]["metrics"]["auroc_af"]
    assert clean["n_records"] == test_rows.size
    assert other["difference_to"] == "scattering-pool" and "difference_to" not in curve
    for p, q in zip(other["points"], curve["points"], strict=True):
        d = p["difference"]["auroc_macro_ovr"]
        this, ref = p["metrics"]["auroc_macro_ovr"]["value"], q["metrics"]["auroc_macro_ovr"]["value"]
        assert d["value"] == pytest.approx(this - ref)
        assert p["paired"]["scattering-pool"] == p["difference"]
    # The run is also paired with the noise-augmented baseline (the bar of every table), which is not the reference.
    assert "difference_to" not in noisy or noisy["difference_to"] == "scattering-pool"
    for p, q in zip(other["points"], noisy["points"], strict=True):
        d = p["paired"]["scattering-pool + noise-aug"]["auroc_macro_ovr"]
        assert d["value"] == pytest.approx(
            p["metrics"]["auroc_macro_ovr"]["value"] - q["metrics"]["auroc_macro_ovr"]["value"]
        )
    assert all(set(p["paired"]) == {"scattering-pool"} for p in noisy["points"])
    run = doc["methods"][2]
    assert set(run["paired"]) == {"scattering-pool", "scattering-pool + noise-aug"}
    assert run["difference_to"] == run["paired"]["scattering-pool"]
    assert (out / "robustness.png").is_file()
    report = (out / "report.md").read_text()
    assert "Difference in AUROC AF-vs-rest to scattering-pool under each corruption" in report
    assert "Difference in AUROC AF-vs-rest to scattering-pool + noise-aug under each corruption" in report
    assert "Difference to scattering-pool + noise-aug (method" in report
    from dacl.report import summaries

    seed, diffs = summaries.robustness_differences(out, "bands", "scattering-pool + noise-aug")
    assert diffs == {p["label"]: p["paired"]["scattering-pool + noise-aug"]["auroc_af"] for p in other["points"]}


def test_wrong_corpus_is_refused() -> None:
    sample = str(sample_path())
    reader = rb.corpus_reader(sample, {"reference_sha256": "0" * 64})
    with pytest.raises(ValueError, match="not the one"):
        reader(["A00001"])
