"""Signal-space views: Rust-seeded, thread- and order-independent, 1:1 with the dataset's windows;
the noise-augmented probe; DACL training with signal views (on the shipped sample, small scattering)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dacl import signal_views as sv
from dacl.data import sample_path
from dacl.dataset import FeatureSet, load_features
from dacl.evaluate import ScatteringPoolEmbedder, evaluate
from dacl.preprocess import preprocess

SMALL = dict(window=512, hop=384, J=5, Q=4, chunk_records=8)


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return preprocess(sample_path(), tmp_path_factory.mktemp("sv") / "ds", num_threads=1, **SMALL)


@pytest.fixture(scope="module")
def features(dataset: Path) -> FeatureSet:
    return load_features(dataset, mmap=False)


def rows_of(fs: FeatureSet, split: str) -> np.ndarray:
    return np.flatnonzero(fs.record_split == split)


# --------------------------------------------------------------- the noise


def test_forward_noise_is_q_sample_of_the_rust_schedule() -> None:
    """Same ε (Philox stream at seed/offset) and ᾱ_t: the signal view is NoiseSchedule.q_sample."""
    from dacl._native import NoiseSchedule, standard_normal

    x0 = np.random.default_rng(0).standard_normal((1, 700))
    sched = NoiseSchedule("linear", 1000)
    z_t, eps = sched.q_sample(x0, np.array([[57]], dtype=np.int64), seed=11, offset=5 * sv.RECORD_STRIDE)
    levels = sv.NoiseLevels("diffusion", "linear", 1000, t_max=259)
    ours = sv.forward_noise(x0[0], levels.alphas_cumprod()[57], standard_normal(700, 11, 5 * sv.RECORD_STRIDE))
    np.testing.assert_array_equal(eps[0, 0], standard_normal(700, 11, 5 * sv.RECORD_STRIDE))
    np.testing.assert_allclose(ours, z_t[0, 0], rtol=0, atol=1e-15)


def test_levels_map_uniforms_to_the_schedule_and_snr_ranges() -> None:
    u = np.linspace(1e-9, 1 - 1e-9, 10_001)
    levels = sv.NoiseLevels("diffusion", t_max=259)
    t = levels.timesteps_for(u)
    assert t.min() == 1 and t.max() == 259 and np.unique(t).size == 259
    a = levels.abar(u)
    snr = 10 * np.log10(a / (1 - a))
    assert snr.max() == pytest.approx(40.0, abs=0.01) and snr.min() == pytest.approx(0.0, abs=0.1)
    flat = sv.NoiseLevels("snr", snr_low=0.0, snr_high=24.0).abar(u)
    snr = 10 * np.log10(flat / (1 - flat))
    assert snr.min() == pytest.approx(0.0, abs=1e-6) and snr.max() == pytest.approx(24.0, abs=1e-6)
    assert abs(np.median(snr) - 12.0) < 0.01
    # Uniforms from the Rust stream: uniform on (0, 1) and reproducible.
    v = sv.uniforms(20_000, 3, 0)
    assert 0 < v.min() and v.max() < 1 and abs(v.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(v, sv.uniforms(20_000, 3, 0))
    with pytest.raises(ValueError, match="t_max"):
        sv.NoiseLevels("diffusion", t_max=0)
    with pytest.raises(ValueError, match="noise levels"):
        sv.NoiseLevels("uniform")


def test_record_views_have_the_drawn_snr(features: FeatureSet) -> None:
    """The noise added to a z-scored record has power (1 - ᾱ)/ᾱ relative to the record (after the ᾱ scaling)."""
    rows = rows_of(features, "train")[:6]
    captured = []
    views = sv.SignalViews(features, rows, sv.NoiseLevels(), seed=4, num_threads=1)

    def featurize_spy(signals):
        captured.extend(signals)
        raise StopIteration

    views._featurizer = lambda: featurize_spy  # type: ignore[method-assign]
    with pytest.raises(StopIteration):
        views.view(0)
    abar = views.record_abar(0)
    for x, noisy, a in zip(views.signals(), captured, abar):
        x0 = sv.zscore_record(x)
        noise = noisy / np.sqrt(a) - x0
        measured = 10 * np.log10(np.var(x0) / np.mean(noise**2))
        assert measured == pytest.approx(10 * np.log10(a / (1 - a)), abs=0.25)


# ------------------------------------------------------- views and windows


@pytest.mark.parametrize("placement", ["record", "window"])
def test_views_map_one_to_one_onto_the_dataset_windows(features: FeatureSet, placement: str) -> None:
    rows = rows_of(features, "train")
    views = sv.SignalViews(features, rows, sv.NoiseLevels(), placement=placement, seed=0, num_threads=1)
    assert np.array_equal(views.windows, np.flatnonzero(features.window_mask("train")))
    v = views.view(0)
    assert v.shape == (len(views.windows), *features.features.shape[1:])
    assert np.isfinite(v).all()
    # Nearly noise-free levels give back the dataset's own features, window by window.
    quiet = sv.SignalViews(features, rows, sv.NoiseLevels("snr", snr_low=300, snr_high=300), placement=placement,
                           seed=0, num_threads=1).view(0)
    np.testing.assert_allclose(quiet, features.features[views.windows], atol=2e-3, rtol=0)
    # Noisy views are not the clean features.
    assert np.abs(v - features.features[views.windows]).mean() > 0.05


def test_a_view_whose_windows_do_not_match_is_refused(features: FeatureSet) -> None:
    rows = rows_of(features, "train")[:5]
    real = sv.SignalViews(features, rows, sv.NoiseLevels(), num_threads=1)
    signals, fs = real.signals(), real.fs

    def shortened(names):
        return [x[: x.size // 2] if i == 2 else x for i, x in enumerate(signals)], fs

    views = sv.SignalViews(features, rows, sv.NoiseLevels(), read_signals=shortened, num_threads=1)
    with pytest.raises(ValueError, match=f"record {features.record_ids[rows[2]]}: .*do not match"):
        views.view(0)


@pytest.mark.parametrize("placement", ["record", "window"])
def test_views_do_not_depend_on_threads_chunking_or_which_records_come_along(features: FeatureSet,
                                                                            placement: str) -> None:
    rows = rows_of(features, "train")
    kwargs = dict(placement=placement, seed=7)
    one = sv.SignalViews(features, rows, sv.NoiseLevels(), num_threads=1, **kwargs).views([0, 3])
    two = sv.SignalViews(features, rows, sv.NoiseLevels(), num_threads=2, chunk_records=3, **kwargs).views([0, 3])
    np.testing.assert_array_equal(one, two)
    # A record's view is a function of (seed, view, record) alone: the same from a subset of the records.
    sub_rows = rows[[1, 4, 9]]
    sub = sv.SignalViews(features, sub_rows, sv.NoiseLevels(), num_threads=1, **kwargs)
    np.testing.assert_array_equal(sub.views([3])[0], one[1][np.isin(features.record_index[
        np.flatnonzero(features.window_mask("train"))], sub_rows)])
    # Another seed or view number draws other noise.
    other = sv.SignalViews(features, rows, sv.NoiseLevels(), num_threads=1, placement=placement, seed=8).view(0)
    assert not np.array_equal(other, one[0]) and not np.array_equal(one[0], one[1])


def test_bank_is_cached_and_draws_distinct_views_per_epoch(features: FeatureSet, tmp_path: Path) -> None:
    rows = rows_of(features, "val")
    views = sv.SignalViews(features, rows, sv.NoiseLevels(), seed=1, num_threads=1)
    reduce = ScatteringPoolEmbedder().embed
    bank = sv.ViewBank.build(views, 4, reduce, cache=tmp_path, cache_tag="pool")
    assert bank.vectors.shape == (4, len(views.windows), 2 * features.features.shape[1])
    np.testing.assert_array_equal(bank.vectors[2], reduce(views.view(2)))
    again = sv.ViewBank.build(views, 4, reduce, cache=tmp_path, cache_tag="pool")
    assert again.timing == {"cached": 1.0}
    np.testing.assert_array_equal(again.vectors, bank.vectors)
    assert len(list(tmp_path.glob("bank-*.npy"))) == 1
    d = bank.draw(3, epoch=5, seed=0)
    assert d.shape == (len(views.windows), 3)
    assert all(len(set(r)) == 3 for r in d.tolist()) and d.min() >= 0 and d.max() < 4
    np.testing.assert_array_equal(d, bank.draw(3, epoch=5, seed=0))
    assert not np.array_equal(d, bank.draw(3, epoch=6, seed=0))
    with pytest.raises(ValueError, match="distinct"):
        bank.draw(5, epoch=0, seed=0)


# ------------------------------------------------------- noise-augmented probe


def test_noise_augmented_probe_uses_clean_and_noisy_train_windows_only(features: FeatureSet, monkeypatch) -> None:
    from dacl import evaluate as ev

    levels = sv.NoiseLevels("snr", snr_low=0.0, snr_high=24.0)
    noisy, rows = sv.noise_augmentation(features, levels, seed=0)
    train = features.window_mask("train")
    assert set(features.record_split[rows]) == {"train"}
    np.testing.assert_array_equal(rows, features.record_index[train])
    fitted = []
    make_probe = ev.make_probe

    def spy(*args, **kwargs):
        model = make_probe(*args, **kwargs)
        fit = model.fit

        def fit_spy(x, y):
            fitted.append((x, y))
            return fit(x, y)

        model.fit = fit_spy
        return model

    monkeypatch.setattr(ev, "make_probe", spy)
    emb = ScatteringPoolEmbedder()
    r = evaluate(features, emb, n_boot=10, extra_train=(noisy, rows))
    (x, y), = fitted
    expected = np.concatenate([emb.embed(features.features[train]), emb.embed(noisy)])
    np.testing.assert_array_equal(x, expected.astype(np.float64))
    np.testing.assert_array_equal(y, np.concatenate([features.labels[train], features.record_labels[rows]]))
    assert r.extra["probe_train_windows"] == {"clean": int(train.sum()), "added": len(noisy)}
    # Windows of val or test records are refused.
    test_rows = np.flatnonzero(features.window_mask("test"))[:3]
    with pytest.raises(ValueError, match="labelled train records"):
        evaluate(features, emb, n_boot=10,
                 extra_train=(features.features[test_rows], features.record_index[test_rows]))


def test_cli_noise_augmented_baseline_comes_first(dataset: Path, tmp_path: Path) -> None:
    from dacl import cli

    out = tmp_path / "eval"
    assert cli.main(["evaluate", "--features", str(dataset), "--baseline-scattering", "--baseline-scattering-noise",
                     "--n-boot", "10", "--no-report", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    first, second = doc["methods"]
    assert first["method"] == "scattering-pool + noise-aug (snr:0:24)"
    assert first["probe_train_windows"]["added"] == first["probe_train_windows"]["clean"]
    assert second["difference_to"]["method"] == first["method"]
    assert cli.main(["evaluate", "--features", str(dataset), "--baseline-scattering-noise", "snr:9",
                     "--out", str(tmp_path / "x")]) == 2
    assert cli.main(["evaluate", "--features", str(dataset), "--baseline-scattering", "--robustness",
                     "--corruptions", "awgn,hum", "--out", str(tmp_path / "y")]) == 2


# ------------------------------------------------------------ training


def robust_config(**signal_views):
    from dacl.config import load_config

    cfg = load_config("tiny").replace(train={"device": "cpu"}, vae={"epochs": 2}, encoder={"epochs": 2})
    return cfg.replace(signal_views={"n_views": 2, "bank_size": 3, **signal_views}, diffusion={"n_views": 0})


def weights(run: Path) -> dict[str, torch.Tensor]:
    bundle = torch.load(run / "model.pt", weights_only=True)
    return {f"{part}.{k}": v for part in ("vae", "encoder") for k, v in bundle[part].items()}


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0, msg=k)


def test_training_with_signal_views_is_reproducible_whatever_the_featuriser_threads(
        features: FeatureSet, tmp_path: Path) -> None:
    from dacl.train import train

    train(robust_config(), features, tmp_path / "a", progress=False)
    train(robust_config(threads=2, cache=str(tmp_path / "cache")), features, tmp_path / "b", progress=False)
    assert_same_weights(tmp_path / "a", tmp_path / "b")
    hist = json.loads((tmp_path / "a" / "history.json").read_text())
    assert hist["signal_views"]["mode"] == "bank" and hist["signal_views"]["snr_db_range"][1] < 0.1
    # The views reach the encoder: without them (latent views instead) the weights differ.
    train(robust_config().replace(signal_views={"n_views": 0}, diffusion={"n_views": 2}), features,
          tmp_path / "latent", progress=False)
    w_signal, w_latent = weights(tmp_path / "a"), weights(tmp_path / "latent")
    vae_keys = [k for k in w_signal if k.startswith("vae.")]
    for k in vae_keys:  # the same clean-only VAE
        torch.testing.assert_close(w_signal[k], w_latent[k], rtol=0, atol=0)
    assert any(not torch.equal(w_signal[k], w_latent[k]) for k in w_signal if k.startswith("encoder."))


def test_vae_on_noisy_views_and_fresh_views_per_epoch(features: FeatureSet, tmp_path: Path) -> None:
    from dacl.train import train

    train(robust_config(), features, tmp_path / "clean_vae", progress=False)
    train(robust_config(vae_views=1), features, tmp_path / "noisy_vae", progress=False)
    w_clean, w_noisy = weights(tmp_path / "clean_vae"), weights(tmp_path / "noisy_vae")
    vae_keys = [k for k in w_clean if k.startswith("vae.")]
    assert any(not torch.equal(w_clean[k], w_noisy[k]) for k in vae_keys)  # the VAE saw other inputs
    train(robust_config(bank_size=0), features, tmp_path / "fresh", progress=False)
    hist = json.loads((tmp_path / "fresh" / "history.json").read_text())
    assert hist["signal_views"]["mode"] == "on the fly" and len(hist["signal_views"]["epoch_view_s"]) == 2
    # Same VAE (clean only, same seed) as the bank run; the encoders saw other views.
    for k in vae_keys:
        torch.testing.assert_close(weights(tmp_path / "fresh")[k], w_clean[k], rtol=0, atol=0)
    enc = [k for k in w_clean if k.startswith("encoder.")]
    assert any(not torch.equal(weights(tmp_path / "fresh")[k], w_clean[k]) for k in enc)
