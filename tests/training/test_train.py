"""End-to-end DACL training on synthetic FeatureSets (CPU, tiny sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY, write_dataset, xor_featureset
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from dacl.cli import main as cli_main
from dacl.embedding.embedder import load_embedder
from dacl.features import FeatureSet
from dacl.features.context import contextualise
from dacl.training import train
from dacl.training.config import Config, load_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def probe_auroc(emb: np.ndarray, fs: FeatureSet) -> float:
    """Logistic-regression probe: fit on train windows, AUROC on test windows."""
    tr, te = fs.window_mask("train"), fs.window_mask("test")
    scaler = StandardScaler().fit(emb[tr])
    clf = LogisticRegression(max_iter=2000).fit(scaler.transform(emb[tr]), fs.labels[tr])
    return float(roc_auc_score(fs.labels[te], clf.predict_proba(scaler.transform(emb[te]))[:, 1]))


def small_config(method: str = "dacl", epochs: int = 3, **sections: dict) -> Config:
    cfg = load_config(TINY).replace(
        train={"method": method, "device": "cpu"},
        vae={"epochs": epochs},
        encoder={"epochs": epochs},
        dae={"epochs": epochs},
    )
    return cfg.replace(**sections) if sections else cfg


@pytest.mark.slow
def test_dacl_learns_a_class_structure_that_raw_features_hide(tmp_path: Path) -> None:
    """The class is an XOR of two latent factors (see xor_featureset): a linear probe on the
    pooled raw features is at chance, so a high probe AUROC on DACL embeddings shows that the
    supervised contrastive encoder learned the nonlinear class structure from noisy latent views."""
    fs = xor_featureset(n_records=160, seed=0)
    raw = probe_auroc(contextualise(fs.features), fs)
    assert raw < 0.65

    cfg = small_config("dacl", epochs=25).replace(
        vae={"latent_dim": 8, "hidden": [64, 32], "batch_size": 64, "beta": 0.1},
        encoder={"channels": [16, 32], "embed_dim": 32, "proj_dim": 16, "batch_size": 64},
    )
    run = train(cfg, fs, tmp_path / "run", progress=False)
    history = json.loads((run / "history.json").read_text())
    enc_losses = [row["train_loss"] for row in history["stages"]["encoder"]]
    assert np.mean(enc_losses[-3:]) < np.mean(enc_losses[:3])
    assert all(row["time_s"] > 0 for row in history["stages"]["vae"])
    assert history["device"] == "cpu" and history["torch"] == torch.__version__

    emb = load_embedder(run).embed(fs.features)
    assert emb.shape == (len(fs.features), 32) and emb.dtype == np.float32
    assert probe_auroc(emb, fs) > 0.8


def _weights(run: Path) -> dict[str, torch.Tensor]:
    bundle = torch.load(run / "model.pt", weights_only=True)
    return {f"{part}.{k}": v for part in ("vae", "encoder") for k, v in bundle[part].items()}


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path: Path) -> None:
    fs = xor_featureset(n_records=40, seed=1)
    cfg = small_config("dacl", epochs=3)
    train(cfg, fs, tmp_path / "full", progress=False)

    def interrupt_at(stage: str, epoch: int):
        def hook(s: str, e: int, _loss: float) -> None:
            if (s, e) == (stage, epoch):
                raise KeyboardInterrupt

        return hook

    part = tmp_path / "part"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, fs, part, progress=False, on_epoch_end=interrupt_at("vae", 2))
    assert (part / "checkpoint.pt").is_file() and not (part / "model.pt").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, fs, part, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, fs, part, resume=True, progress=False, on_epoch_end=interrupt_at("encoder", 1))
    with pytest.raises(ValueError, match="vae.latent_dim"):
        train(cfg.replace(vae={"latent_dim": 4}), fs, part, resume=True, progress=False)
    train(cfg, fs, part, resume=True, progress=False)

    full, resumed = _weights(tmp_path / "full"), _weights(part)
    assert full.keys() == resumed.keys()
    for k in full:
        torch.testing.assert_close(resumed[k], full[k], rtol=0, atol=0, msg=k)
    hist = json.loads((part / "history.json").read_text())
    assert [r["epoch"] for r in hist["stages"]["encoder"]] == [1, 2, 3]
    assert not list(part.glob(".*tmp*"))  # no temp files left behind


@pytest.mark.parametrize("method", ["vae", "dae", "gauss-contrastive"])
def test_baselines_train_and_embed(tmp_path: Path, method: str) -> None:
    fs = xor_featureset(n_records=30, seed=2)
    run = train(small_config(method, epochs=2), fs, tmp_path / method, progress=False)
    meta = json.loads((run / "embedder.json").read_text())
    assert meta["method"] == method
    emb = load_embedder(run).embed(fs.features[:5])
    expected_dim = {"vae": 8, "dae": 8, "gauss-contrastive": 16}[method]
    assert emb.shape == (5, expected_dim) and np.isfinite(emb).all()


def test_extra_views_hook_feeds_the_encoder(tmp_path: Path) -> None:
    fs = xor_featureset(n_records=30, seed=3)
    calls: list[tuple[int, ...]] = []

    def extra(z0: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(z0.shape))
        assert labels.shape == (z0.shape[0],)
        return z0[:, None, :].repeat(1, 3, 1)

    train(small_config("dacl", epochs=1), fs, tmp_path / "ok", progress=False, extra_views=extra)
    assert calls and all(c[1] == 8 for c in calls)
    with pytest.raises(ValueError, match="extra_views returned shape"):
        train(small_config("dacl", epochs=1), fs, tmp_path / "bad", progress=False, extra_views=lambda z0, y: z0)


def test_cli_train_writes_a_run_that_load_embedder_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fs = xor_featureset(n_records=30, seed=4)
    write_dataset(fs, tmp_path / "features")
    out = tmp_path / "run"
    args = [
        "train",
        "--config",
        str(TINY),
        "--features",
        str(tmp_path / "features"),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--epochs",
        "2",
        "--set",
        "diffusion.t_max=50",
        "--no-progress",
    ]
    assert cli_main(args) == 0
    for name in ("config.toml", "checkpoint.pt", "model.pt", "history.json", "embedder.json"):
        assert (out / name).is_file(), name
    assert load_config(out / "config.toml").diffusion.t_max == 50
    emb = load_embedder(out, device="cpu").embed(fs.features[:4])
    assert emb.shape == (4, 16)
    # A second run into the same directory must not clobber it; --resume finds it finished.
    assert cli_main(args) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli_main([*args, "--resume"]) == 0
    assert cli_main(["train", "--config", str(TINY), "--out", str(out), "--set", "vae.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err


def test_embedder_reproduces_the_trained_pipeline(tmp_path: Path) -> None:
    """load_embedder = context pooling -> train-split z-score -> VAE μ -> latent z-score -> U-Net embedding."""
    from dacl.embedding.nn.unet import UNet1DEncoder
    from dacl.latent.scalers import Standardiser
    from dacl.latent.vae import VAE

    fs = xor_featureset(n_records=30, seed=5)
    cfg = small_config("dacl", epochs=2)
    run = train(cfg, fs, tmp_path / "run", progress=False)
    bundle = torch.load(run / "model.pt", weights_only=True)
    train_vectors = contextualise(fs.features[fs.window_mask("train")], cfg.context)
    x = torch.from_numpy(Standardiser.fit(train_vectors).transform(contextualise(fs.features[:6], cfg.context)))
    vae, enc = VAE.from_section(cfg.vae, x.shape[1]), UNet1DEncoder.from_section(cfg.encoder, cfg.vae.latent_dim)
    vae.load_state_dict(bundle["vae"])
    enc.load_state_dict(bundle["encoder"])
    with torch.no_grad():
        z = (vae.encode(x)[0] - bundle["latent_norm"]["mean"]) / bundle["latent_norm"]["std"]
        expected = enc.eval().embed(z).numpy()
    np.testing.assert_allclose(load_embedder(run).embed(fs.features[:6]), expected, rtol=1e-5, atol=1e-6)


def test_same_seed_same_weights_whatever_the_ambient_thread_count(tmp_path: Path) -> None:
    """[train] threads pins torch's CPU threads while training, so the caller's setting does not matter."""
    fs = xor_featureset(n_records=30, seed=6)
    cfg = small_config("dacl", epochs=2).replace(train={"threads": 1})
    torch.set_num_threads(2)
    train(cfg, fs, tmp_path / "a", progress=False)
    assert torch.get_num_threads() == 2  # restored afterwards
    torch.set_num_threads(1)
    train(cfg, fs, tmp_path / "b", progress=False)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
