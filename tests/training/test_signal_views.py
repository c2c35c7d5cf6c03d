"""DACL training with signal-space views (the [signal_views] section, configs/dacl-robust.toml), and the
noise-augmented baseline and new corruptions end to end through the CLI (shipped sample, small scattering)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import TINY

from dacl.cli import main as cli_main
from dacl.corpus import sample_path
from dacl.features import FeatureSet, load_features, preprocess
from dacl.training import train
from dacl.training.config import Config, load_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SMALL = dict(window=512, hop=384, J=5, Q=4, chunk_records=8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return preprocess(sample_path(), tmp_path_factory.mktemp("svt") / "ds", num_threads=1, **SMALL)


@pytest.fixture(scope="module")
def features(dataset: Path) -> FeatureSet:
    return load_features(dataset, mmap=False)


def latent_config() -> Config:
    """The tiny config with the clean latent and 2 latent diffusion views (no signal-space views)."""
    return load_config(TINY).replace(
        train={"device": "cpu"}, vae={"epochs": 2}, encoder={"epochs": 2}, diffusion={"include_clean": True}
    )


def robust_config(**signal_views: object) -> Config:
    return latent_config().replace(
        signal_views={"n_views": 2, "bank_size": 3, **signal_views}, diffusion={"n_views": 0}
    )


def weights(run: Path) -> dict[str, torch.Tensor]:
    bundle = torch.load(run / "model.pt", weights_only=True)
    return {f"{part}.{k}": v for part in ("vae", "encoder") for k, v in bundle[part].items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], prefix: str) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a if k.startswith(prefix))


def test_signal_view_config_is_checked() -> None:
    with pytest.raises(ValueError, match="diffusion.n_views = 0 needs signal-space views"):
        Config().replace(diffusion={"n_views": 0})
    with pytest.raises(ValueError, match="signal_views.placement"):
        Config().replace(signal_views={"placement": "lead"})
    with pytest.raises(ValueError, match="needs a view bank"):
        Config().replace(signal_views={"n_views": 1, "bank_size": 0, "vae_views": 1})
    with pytest.raises(ValueError, match="cannot draw 4 distinct views"):
        Config().replace(signal_views={"n_views": 4, "bank_size": 3})
    with pytest.raises(ValueError, match="method 'vae' has none"):
        Config().replace(signal_views={"n_views": 2}, train={"method": "vae"})
    with pytest.raises(ValueError, match="method 'diffaug' has none"):
        Config().replace(signal_views={"n_views": 2}, train={"method": "diffaug"})
    assert Config().replace(signal_views={"n_views": 2}, train={"method": "dacl+diffaug"}).signal_views.n_views == 2
    robust = load_config("dacl-robust")
    assert (robust.signal_views.n_views, robust.signal_views.vae_views, robust.diffusion.n_views) == (2, 1, 0)


def test_training_with_signal_views_is_reproducible_whatever_the_featuriser_threads(
    features: FeatureSet, tmp_path: Path
) -> None:
    train(robust_config(), features, tmp_path / "a", progress=False)
    train(robust_config(threads=2, cache=str(tmp_path / "banks")), features, tmp_path / "b", progress=False)
    train(robust_config(cache=str(tmp_path / "banks")), features, tmp_path / "c", progress=False)  # cached banks
    assert json.loads((tmp_path / "c" / "history.json").read_text())["signal_views"]["train_timing_s"] == {
        "cached": 1.0
    }
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert same(wa, wb, "") and same(wa, weights(tmp_path / "c"), "")
    hist = json.loads((tmp_path / "a" / "history.json").read_text())
    assert hist["signal_views"]["mode"] == "bank" and hist["signal_views"]["snr_db_range"][1] < 0.1
    # The views reach the encoder: with latent views instead, the same (clean-only) VAE but another encoder.
    train(latent_config(), features, tmp_path / "latent", progress=False)
    w_latent = weights(tmp_path / "latent")
    assert same(wa, w_latent, "vae.") and not same(wa, w_latent, "encoder.")


def test_vae_on_noisy_views_and_fresh_views_per_epoch(features: FeatureSet, tmp_path: Path) -> None:
    train(robust_config(), features, tmp_path / "clean_vae", progress=False)
    train(robust_config(vae_views=1), features, tmp_path / "noisy_vae", progress=False)
    w_clean, w_noisy = weights(tmp_path / "clean_vae"), weights(tmp_path / "noisy_vae")
    assert not same(w_clean, w_noisy, "vae.")  # the VAE saw other inputs
    train(robust_config(bank_size=0), features, tmp_path / "fresh", progress=False)
    hist = json.loads((tmp_path / "fresh" / "history.json").read_text())
    assert hist["signal_views"]["mode"] == "on the fly" and len(hist["signal_views"]["epoch_view_s"]) == 2
    w_fresh = weights(tmp_path / "fresh")
    assert same(w_fresh, w_clean, "vae.") and not same(w_fresh, w_clean, "encoder.")


@pytest.mark.slow
def test_dacl_robust_trains_and_evaluates_with_the_new_baseline_and_corruptions(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dacl train --config dacl-robust` (tiny sizes), then evaluate beside both scattering baselines under
    corruptions that training never used; every table and the report carry the noise-augmented baseline."""
    run = tmp_path / "robust"
    tiny = [
        "--set",
        "vae.epochs=1",
        "--set",
        "encoder.epochs=1",
        "--set",
        "vae.hidden=[32, 16]",
        "--set",
        "vae.latent_dim=8",
        "--set",
        "encoder.channels=[8, 16]",
        "--set",
        "encoder.embed_dim=16",
        "--set",
        "encoder.proj_dim=8",
        "--set",
        "signal_views.bank_size=2",
        "--set",
        'train.device="cpu"',
    ]
    assert (
        cli_main(
            ["train", "--config", "dacl-robust", "--features", str(dataset), "--out", str(run), "--no-progress", *tiny]
        )
        == 0
    )
    out = tmp_path / "report"
    assert (
        cli_main(
            [
                "evaluate",
                str(run),
                "--features",
                str(dataset),
                "--baseline-scattering",
                "--baseline-scattering-noise",
                "--robustness",
                "--corruptions",
                "powerline,emg",
                "--n-boot",
                "20",
                "--out",
                str(out),
                "--corpus",
                str(sample_path()),
            ]
        )
        == 0
    )
    doc = json.loads((out / "metrics.json").read_text())
    names = [m["method"] for m in doc["methods"]]
    assert names == ["scattering-pool", "scattering-pool + noise-aug", "dacl"]
    noisy = doc["methods"][1]
    assert noisy["n_windows"]["train"] == 2 * doc["methods"][0]["n_windows"]["train"]  # clean + one noisy copy
    assert noisy["n_windows"]["test"] == doc["methods"][0]["n_windows"]["test"]
    assert [c["method"] for c in doc["robustness"]] == names
    kinds = {p["kind"] for p in doc["robustness"][0]["points"]}
    assert kinds == {"clean", "powerline50", "powerline60", "emg"}
    assert set(doc["robustness"][0]["definitions"]) == kinds - {"clean"}
    assert all("difference" in p for c in doc["robustness"][1:] for p in c["points"])
    report = (out / "report.md").read_text()
    assert "scattering-pool + noise-aug" in report and "mains 50 Hz" in report and "EMG" in report


def test_an_interrupted_run_with_signal_views_resumes_to_the_same_weights(features: FeatureSet, tmp_path: Path) -> None:
    """The bank is rebuilt (the same views) and each epoch draws the same views, so a resumed run is the run."""
    cfg = robust_config(vae_views=1).replace(vae={"epochs": 3}, encoder={"epochs": 3})
    train(cfg, features, tmp_path / "full", progress=False)

    def interrupt(stage: str, epoch: int, _loss: float) -> None:
        if (stage, epoch) == ("encoder", 2):
            raise KeyboardInterrupt

    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, features, part, progress=False, on_epoch_end=interrupt)
    train(cfg, features, part, resume=True, progress=False)
    assert same(weights(tmp_path / "full"), weights(part), "")
    hist = json.loads((part / "history.json").read_text())
    assert [r["epoch"] for r in hist["stages"]["encoder"]] == [1, 2, 3] and hist["signal_views"]["mode"] == "bank"
