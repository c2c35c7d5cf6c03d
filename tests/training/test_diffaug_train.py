"""DiffAug E -> M -> E training end to end on CPU (tiny config), resume, embedder, view generator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import ScaledOnCPU, three_profile_featureset

from dacl.embedding.embedder import load_diffaug_embedder
from dacl.training.config import Config
from dacl.training.diffaug import DiffAugModels, phase_plan, train_diffaug
from dacl.views.generated import make_view_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_phase_plan(tiny: Config) -> None:
    assert phase_plan(tiny.diffaug) == [("E", 2), ("M", 3), ("E", 2)]
    two = tiny.replace(diffaug={"cycles": 2, "warmup_epochs": 0})
    assert phase_plan(two.diffaug) == [("M", 3), ("E", 2), ("M", 3), ("E", 2)]


def test_train_end_to_end_and_embed(tiny: Config, tmp_path: Path) -> None:
    fs = three_profile_featureset()
    run = train_diffaug(fs, tiny, tmp_path / "run", device="cpu", progress=False)
    for name in ("config.toml", "checkpoint.pt", "model.pt", "history.json", "embedder.json"):
        assert (run / name).is_file(), name
    assert not list(run.glob("*.tmp"))
    history = json.loads((run / "history.json").read_text())["epochs"]
    assert [h["kind"] for h in history] == ["E", "E", "M", "M", "M", "E", "E"]
    assert all(np.isfinite(h["loss"]) for h in history)
    # The buffer is regenerated exactly once, at the start of the E phase after the M phase.
    n_train = int(fs.window_mask("train").sum())
    assert [h.get("regenerated") for h in history] == [None] * 5 + [n_train, None]
    assert json.loads((run / "embedder.json").read_text())["method"] == "diffaug"

    emb = load_diffaug_embedder(run, device="cpu").embed(fs.features)
    assert emb.shape == (len(fs.features), tiny.diffaug.code_dim) and emb.dtype == np.float32
    assert np.isfinite(emb).all()
    # Eval mode, no randomness: embedding twice gives the same numbers.
    np.testing.assert_array_equal(emb, load_diffaug_embedder(run).embed(fs.features))


def test_resume_repeats_the_uninterrupted_run(tiny: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fs = three_profile_featureset()
    full = train_diffaug(fs, tiny, tmp_path / "full", device="cpu", progress=False)

    # Interrupt the second run when it regenerates the buffer (first epoch of the last E phase).
    real_generate = DiffAugModels.generate

    def interrupt(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise KeyboardInterrupt

    monkeypatch.setattr(DiffAugModels, "generate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train_diffaug(fs, tiny, tmp_path / "cut", device="cpu", progress=False)
    assert not (tmp_path / "cut" / "model.pt").exists()
    monkeypatch.setattr(DiffAugModels, "generate", real_generate)
    resumed = train_diffaug(fs, tiny, tmp_path / "cut", device="cpu", resume=True, progress=False)

    a = torch.load(full / "model.pt", weights_only=True)
    b = torch.load(resumed / "model.pt", weights_only=True)
    for part in ("encoder", "head", "denoiser"):
        for key in a[part]:
            torch.testing.assert_close(a[part][key], b[part][key], rtol=0, atol=0, msg=f"{part}.{key}")
    ha = json.loads((full / "history.json").read_text())["epochs"]
    hb = json.loads((resumed / "history.json").read_text())["epochs"]
    assert [h["loss"] for h in ha] == [h["loss"] for h in hb]


def test_view_generator(tiny: Config, tmp_path: Path) -> None:
    fs = three_profile_featureset()
    run = train_diffaug(
        fs, tiny.replace(diffaug={"cycles": 1, "e_epochs": 0}), tmp_path / "run", device="cpu", progress=False
    )
    from dacl.features.context import contextualise

    z0 = torch.from_numpy(contextualise(fs.features[:5], tiny.context))
    views = make_view_generator(DiffAugModels.load(run), n_views=3, seed=1)(z0, None)
    assert views.shape == (5, 3, z0.shape[1]) and torch.isfinite(views).all()
    again = make_view_generator(DiffAugModels.load(run), n_views=3, seed=1)(z0, None)
    assert torch.equal(views, again)
    with pytest.raises(ValueError, match="input space"):
        make_view_generator(DiffAugModels.load(run), n_views=2)(z0[:, :3], None)


def test_rejects_missing_train_split(tiny: Config, tmp_path: Path) -> None:
    fs = three_profile_featureset()
    fs.record_split[:] = "test"
    with pytest.raises(ValueError, match="no windows in split 'train'"):
        train_diffaug(fs, tiny, tmp_path / "run", device="cpu", progress=False)


def test_dacl_train_cli_paths(tiny: Config, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """`dacl train --method diffaug` and `--method dacl+diffaug` go through the plug-in hooks, without a progress
    bar when asked for none (DiffAug's sub-run included)."""
    from dacl.embedding.embedder import load_embedder
    from dacl.training import train

    fs = three_profile_featureset()
    run = train(tiny, fs, tmp_path / "da", progress=False)
    emb = load_embedder(run).embed(fs.features[:7])
    assert emb.shape == (7, tiny.diffaug.code_dim) and np.isfinite(emb).all()

    combo = tiny.replace(
        train={"method": "dacl+diffaug"},
        vae={"epochs": 2, "latent_dim": 8, "hidden": [16], "batch_size": 64},
        encoder={"epochs": 1, "channels": [4], "embed_dim": 8, "proj_dim": 4, "batch_size": 64},
        diffusion={"timesteps": 100, "schedule": "cosine", "t_max": 10},
    )
    capfd.readouterr()
    run2 = train(combo, fs, tmp_path / "combo", progress=False)
    assert "epoch/s" not in capfd.readouterr().err
    assert (run2 / "diffaug" / "model.pt").is_file()
    assert np.isfinite(load_embedder(run2).embed(fs.features[:7])).all()


def test_both_optimisers_use_the_mixed_precision_helper_and_resume_its_loss_scale(
    tiny: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a GPU without bf16, DiffAug's E and M steps need fp16 loss scaling (DACL's Precision); the
    scales are part of the checkpoint, so a resumed run repeats the uninterrupted one exactly."""
    import dacl.training.diffaug as td

    made: list[ScaledOnCPU] = []

    def precision(device: torch.device, enabled: bool) -> ScaledOnCPU:
        made.append(ScaledOnCPU(device, enabled))
        return made[-1]

    monkeypatch.setattr(td, "Precision", precision)
    fs = three_profile_featureset()
    full = train_diffaug(fs, tiny, tmp_path / "full", device="cpu", progress=False)
    scales = {kind: p.scaler.get_scale() for kind, p in zip("EM", made, strict=True)}
    # 16 train records x 8 windows in batches of 64: 2 steps per epoch, in 2 + 2 E epochs and 3 M epochs;
    # the scale doubles after each step (no gradient overflowed).
    assert scales == {"E": 2.0 ** (20 + 8), "M": 2.0 ** (20 + 6)}
    saved = torch.load(full / "checkpoint.pt", weights_only=True)["precision"]
    assert {kind: state["scale"] for kind, state in saved.items()} == scales

    real_generate = DiffAugModels.generate
    monkeypatch.setattr(DiffAugModels, "generate", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        train_diffaug(fs, tiny, tmp_path / "cut", device="cpu", progress=False)
    monkeypatch.setattr(DiffAugModels, "generate", real_generate)
    resumed = train_diffaug(fs, tiny, tmp_path / "cut", device="cpu", resume=True, progress=False)
    assert {kind: p.scaler.get_scale() for kind, p in zip("EM", made[-2:], strict=True)} == scales
    a, b = (torch.load(r / "model.pt", weights_only=True) for r in (full, resumed))
    for part in ("encoder", "head", "denoiser"):
        for key in a[part]:
            torch.testing.assert_close(a[part][key], b[part][key], rtol=0, atol=0, msg=f"{part}.{key}")
