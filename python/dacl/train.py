"""``dacl train``: DACL and its trained baselines.

Methods (``--method``):

- ``dacl`` (Zewail 2025, arXiv 2509.20048): contextualised scattering vectors
  -> MLP VAE (trained first, then frozen; μ is the clean latent z0) ->
  U-Net style encoder trained with SupCon over K forward-diffusion views of
  z0 (optionally plus z0 itself, and optionally extra views from a plug-in).
- ``gauss-contrastive``: the same VAE, encoder and loss, views
  ``z0 + sigma * N(0, I)`` (the paper's "Contrastive+GaussianAug" baseline).
- ``vae``: the VAE alone; the embedding is μ.
- ``dae``: a denoising autoencoder on the standardised contextualised vectors;
  the embedding is its bottleneck (the paper's "DenoisingAutoencoder").
- ``diffaug`` and ``dacl+diffaug`` are plugged in by ``dacl.train_diffaug``
  through :data:`EXTERNAL_TRAINERS` and :data:`EXTRA_VIEW_FACTORIES`.

Every stage trains on the train split only; the val split (when present) picks
the best epoch and drives optional early stopping. Test labels are never read.
A checkpoint is written atomically after every epoch; ``--resume`` restores
models, optimiser, RNG states and epoch and continues to the same result as an
uninterrupted run.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from dacl.atomic import torch_save, write_text
from dacl.config import METHODS, Config, config_from_dict, load_config, parse_override, to_toml
from dacl.context import Standardiser, contextualise
from dacl.dataset import FeatureSet
from dacl.devices import resolve_device
from dacl.diffusion import alphas_cumprod, diffusion_views, gaussian_views, latent_standardiser
from dacl.lock import WriterLock
from dacl.losses import supcon_loss
from dacl.models import VAE, DenoisingAutoencoder, UNet1DEncoder, vae_loss
from dacl.precision import Precision
from dacl.rundir import (
    CHECKPOINT,
    CONFIG_TOML,
    EMBEDDER_JSON,
    HISTORY,
    MODEL,
    check_resumable,
    check_same_dataset,
    dataset_identity,
    load_torch,
    read_json_object,
    reading,
)

#: ``extra_views(z0 (B, D), labels (B,)) -> (B, K2, D)`` more views for the SupCon encoder.
ExtraViews = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: ``window_views(split, index (B,), epoch) -> (B, K, D)``: views of the windows at positions ``index`` of the
#: ``"train"`` or ``"val"`` arrays, already in the space the hook's stage trains on (signal-space views:
#: dacl.train_signal_views). ``epoch`` lets a hook draw new views per epoch; val views must not depend on it.
WindowViews = Callable[[str, torch.Tensor, int], torch.Tensor]
#: method -> ``factory(config, z0_train (N, D), y_train (N,), device, out_dir, dataset) -> ExtraViews``;
#: ``dataset`` is the run's :func:`dacl.rundir.dataset_identity`.
EXTRA_VIEW_FACTORIES: dict[str, Callable[..., ExtraViews]] = {}
#: method -> ``trainer(config, features, out_dir, *, device, resume, progress) -> None`` that
#: writes a complete run directory (including embedder.json) itself.
EXTERNAL_TRAINERS: dict[str, Callable[..., None]] = {}
#: Modules imported on demand to register the plug-in methods above.
PLUGIN_MODULES: dict[str, str] = {"diffaug": "dacl.train_diffaug", "dacl+diffaug": "dacl.train_diffaug"}


# ----------------------------------------------------------------- utilities

def _batches(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """Shuffled index batches; a trailing batch of one sample is dropped (nothing to contrast)."""
    perm = torch.randperm(n, generator=generator, device=device)
    for lo in range(0, n, batch_size):
        idx = perm[lo : lo + batch_size]
        if len(idx) >= 2:
            yield idx


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    # RNG states are CPU byte tensors, whatever map_location moved them to.
    torch.set_rng_state(state["torch"].cpu())
    generator.set_state(state["generator"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ------------------------------------------------------------------- inputs

@dataclasses.dataclass
class Inputs:
    """Standardised contextualised vectors and labels of the train and val splits, on device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    standardiser: Standardiser
    feature_shape: tuple[int, int]  # (P, F) of a window


def prepare_inputs(config: Config, features: FeatureSet, device: torch.device) -> Inputs:
    """Contextualise every train/val window and z-score with train-split statistics."""
    train_mask = features.window_mask(config.data.train_split)
    val_mask = features.window_mask(config.data.val_split)
    if train_mask.sum() < 2:
        raise ValueError(
            f"the features have {int(train_mask.sum())} windows in split {config.data.train_split!r}; "
            "need at least 2 (did you run `dacl split`?)"
        )
    labels = features.labels
    x_train = contextualise(np.asarray(features.features[train_mask]), config.context)
    x_val = contextualise(np.asarray(features.features[val_mask]), config.context) if val_mask.any() else None
    standardiser = Standardiser.fit(x_train)

    def to_dev(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype).to(device)

    d = x_train.shape[1]
    return Inputs(
        x_train=to_dev(standardiser.transform(x_train), torch.float32),
        y_train=to_dev(labels[train_mask], torch.long),
        x_val=to_dev(standardiser.transform(x_val) if x_val is not None else np.empty((0, d), np.float32), torch.float32),
        y_val=to_dev(labels[val_mask], torch.long),
        standardiser=standardiser,
        feature_shape=(int(features.features.shape[1]), int(features.features.shape[2])),
    )


# -------------------------------------------------------------- model build

def build_vae(config: Config, in_dim: int) -> VAE:
    return VAE(in_dim, config.vae.latent_dim, config.vae.hidden)


def build_encoder(config: Config) -> UNet1DEncoder:
    e = config.encoder
    return UNet1DEncoder(
        config.vae.latent_dim, e.channels, e.embed_dim, e.proj_dim, e.time_conditioning, e.readout  # type: ignore[arg-type]
    )


def build_dae(config: Config, in_dim: int) -> DenoisingAutoencoder:
    return DenoisingAutoencoder(in_dim, config.dae.bottleneck, config.dae.hidden)


#: Methods trained here, and their stages in order.
BUILTIN_METHODS: dict[str, tuple[str, ...]] = {
    "dacl": ("vae", "encoder"),
    "gauss-contrastive": ("vae", "encoder"),
    "dacl+diffaug": ("vae", "encoder"),
    "vae": ("vae",),
    "dae": ("dae",),
}


def stages_of(method: str) -> tuple[str, ...]:
    """Training stages run in order for ``method``."""
    return BUILTIN_METHODS[method]


# ------------------------------------------------------------------ trainer

class Trainer:
    """Runs the stages of one method, checkpointing after every epoch.

    Use :func:`train`; the class exists to share state between stages.
    """

    def __init__(
        self,
        config: Config,
        features: FeatureSet,
        out_dir: Path,
        *,
        resume: bool = False,
        progress: bool = True,
        extra_views: ExtraViews | None = None,
        on_epoch_end: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.config = config
        self.out_dir = out_dir
        self.progress = progress
        self.extra_views = extra_views
        #: Per-window views for the encoder (latent space) and for the VAE (its input space); see WindowViews.
        self.window_views: WindowViews | None = None
        self.vae_views: WindowViews | None = None
        self.on_epoch_end = on_epoch_end
        self.device = resolve_device(config.train.device)
        self.precision = Precision(self.device, config.train.amp)
        if self.device.type == "cuda":
            # cuDNN may pick nondeterministic or run-dependent kernels otherwise.
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        torch.manual_seed(config.train.seed)
        self.inputs = prepare_inputs(config, features, self.device)
        self.dataset = dataset_identity(features, config)
        self.done: dict[str, dict[str, torch.Tensor]] = {}  # finished stage -> best weights
        self.history: dict[str, Any] = {
            "method": config.train.method,
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "torch": str(torch.__version__),  # a TorchVersion would not load weights-only
            "amp": self.precision.label,
            "n_train": int(len(self.inputs.x_train)),
            "n_val": int(len(self.inputs.x_val)),
            "dataset": self.dataset,
            "stages": {},
        }
        self.resume_state: dict[str, Any] | None = None
        self.checkpoint_path = out_dir / CHECKPOINT
        if resume and self.checkpoint_path.is_file():
            self.resume_state = self._load_checkpoint()
        elif self.checkpoint_path.is_file() and not resume:
            raise FileExistsError(f"{out_dir} already holds a run ({CHECKPOINT}); pass --resume or another --out")

    def _load_checkpoint(self) -> dict[str, Any]:
        """The checkpoint to resume, after checking that it is this run's (config and dataset)."""
        path = self.checkpoint_path
        state = load_torch(path, self.device)
        with reading(path):
            saved_config = config_from_dict(state["config"])
            done, saved = dict(state["done"]), dict(state["history"])
        check_resumable(self.config, saved_config, path)
        check_same_dataset(state.get("dataset"), self.dataset, path)
        self.done = done
        self.history.update({k: saved[k] for k in ("stages", "best_epoch") if k in saved})
        return state

    def _stage_seed(self, stage: str) -> int:
        return self.config.train.seed * 1009 + list(stages_of(self.config.train.method)).index(stage)

    def _begin_stage(self, stage: str) -> None:
        """Seed torch before a stage builds its model: its init does not depend on earlier stages."""
        torch.manual_seed(self._stage_seed(stage))

    # ---- one generic stage loop
    def _fit(
        self,
        stage: str,
        model: nn.Module,
        lr: float,
        weight_decay: float,
        epochs: int,
        patience: int,
        train_step: Callable[[torch.Tensor, int, torch.Generator], torch.Tensor],
        val_loss: Callable[[], float | None],
        n_train: int,
        batch_size: int,
    ) -> None:
        generator = torch.Generator(device=self.device).manual_seed(self._stage_seed(stage))
        optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        rows: list[dict[str, Any]] = []
        best: dict[str, Any] = {"val": float("inf"), "epoch": 0, "state": None}
        start, bad = 0, 0
        rs = self.resume_state
        if rs is not None and rs.get("stage") == stage:
            with reading(self.checkpoint_path):
                model.load_state_dict(rs["model"])
                optimiser.load_state_dict(rs["optimiser"])
                self.precision.load_state_dict(rs["scaler"])
                _set_rng_state(rs["rng"], generator)
                start, bad, best = int(rs["epoch"]), int(rs["bad_epochs"]), dict(rs["best"])
                rows = list(self.history["stages"].get(stage, []))
        self.history["stages"][stage] = rows

        bar = tqdm(range(start, epochs), desc=stage, unit="epoch", disable=not self.progress, leave=False)
        for epoch in bar:
            model.train()
            t0 = time.perf_counter()
            total, count = 0.0, 0
            for idx in _batches(n_train, batch_size, generator, self.device):
                loss = train_step(idx, epoch, generator)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"{stage}: loss is {loss.item()} at epoch {epoch + 1}")
                self.precision.step(loss, optimiser)
                total += loss.item() * len(idx)
                count += len(idx)
            train_loss = total / max(count, 1)
            model.eval()
            with torch.no_grad():
                vl = val_loss()
            wall = time.perf_counter() - t0
            rows.append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": vl, "time_s": wall})
            improved = vl is not None and vl < best["val"]
            if improved:
                best = {"val": vl, "epoch": epoch + 1, "state": copy.deepcopy(model.state_dict())}
                bad = 0
            elif vl is not None:
                bad += 1
            bar.set_postfix(loss=f"{train_loss:.4f}", val=f"{vl:.4f}" if vl is not None else "-",
                            it_s=f"{count / max(wall, 1e-9):.0f}")
            self._save_checkpoint(stage, epoch + 1, model, optimiser, generator, best, bad)
            if self.on_epoch_end is not None:
                self.on_epoch_end(stage, epoch + 1, train_loss)
            if patience and bad >= patience:
                break
        bar.close()
        if best["state"] is not None:  # model selection on val loss
            model.load_state_dict(best["state"])
        self.done[stage] = copy.deepcopy(model.state_dict())
        self.history.setdefault("best_epoch", {})[stage] = best["epoch"] if best["state"] is not None else len(rows)
        self.resume_state = None
        # Stage finished (also by early stopping): a resume must not train it further.
        torch_save({**self._provenance(), "stage": None, "done": self.done, "history": self.history},
                   self.checkpoint_path)

    def _provenance(self) -> dict[str, Any]:
        """What every checkpoint and model.pt records about the run: its config and its data."""
        return {"config": self.config.to_dict(), "dataset": self.dataset}

    def _save_checkpoint(
        self, stage: str, epoch: int, model: nn.Module, optimiser: torch.optim.Optimizer,
        generator: torch.Generator, best: dict[str, Any], bad: int,
    ) -> None:
        state = {
            **self._provenance(),
            "stage": stage,
            "epoch": epoch,
            "bad_epochs": bad,
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "scaler": self.precision.state_dict(),
            "rng": _rng_state(generator),
            "best": best,
            "done": self.done,
            "history": self.history,
        }
        torch_save(state, self.checkpoint_path)
        write_text(self.out_dir / HISTORY, json.dumps(self.history, indent=2) + "\n")

    # ---- stages
    def train_vae(self) -> VAE:
        cfg = self.config.vae
        x, x_val = self.inputs.x_train, self.inputs.x_val
        self._begin_stage("vae")
        vae = build_vae(self.config, x.shape[1]).to(self.device)
        if "vae" not in self.done:
            def beta_at(epoch: int) -> float:
                if cfg.beta_warmup_epochs <= 0:
                    return cfg.beta
                return cfg.beta * min(1.0, (epoch + 1) / cfg.beta_warmup_epochs)

            def inputs(split: str, rows: torch.Tensor, index: torch.Tensor, epoch: int) -> torch.Tensor:
                """The batch, plus its windows' noisy views when the VAE also learns those."""
                if self.vae_views is None:
                    return rows
                return torch.cat([rows, self.vae_views(split, index, epoch).reshape(-1, rows.shape[1])])

            def step(idx: torch.Tensor, epoch: int, _: torch.Generator) -> torch.Tensor:
                xb = inputs("train", x[idx], idx, epoch)
                with self.precision.autocast():
                    out = vae(xb)
                return vae_loss(xb, out, beta_at(epoch))[0]

            def val() -> float | None:
                if not len(x_val):
                    return None
                # Deterministic: decode μ (no sampling), full β.
                xb = inputs("val", x_val, torch.arange(len(x_val), device=x_val.device), 0)
                return vae_loss(xb, vae(xb, sample=False), cfg.beta)[0].item()

            self._fit("vae", vae, cfg.lr, cfg.weight_decay, cfg.epochs, cfg.patience, step, val, len(x), cfg.batch_size)
        vae.load_state_dict(self.done["vae"])
        vae.eval().requires_grad_(False)
        return vae

    def _views(
        self, z0: torch.Tensor, y: torch.Tensor, generator: torch.Generator, abar: torch.Tensor | None,
        split: str = "train", index: torch.Tensor | None = None, epoch: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(views (B, V, D), t (B, V))`` for the contrastive encoder; t = 0 marks a clean/extra view.

        ``index`` (positions of the batch in the ``split`` arrays) and ``epoch`` are for :attr:`window_views`.
        """
        d = self.config.diffusion
        parts, ts = [], []
        if self.config.train.method == "gauss-contrastive":
            views = gaussian_views(z0, d.n_views, self.config.gauss.sigma, generator)
            parts, ts = [views], [torch.zeros(views.shape[:2], dtype=torch.long, device=z0.device)]
        elif d.n_views > 0:
            assert abar is not None
            views, t = diffusion_views(z0, d.n_views, d.t_max, abar, generator)
            parts, ts = [views], [t]
        if d.include_clean:
            parts.insert(0, z0[:, None, :])
            ts.insert(0, torch.zeros((len(z0), 1), dtype=torch.long, device=z0.device))
        if self.window_views is not None:
            if index is None:
                raise ValueError("window views need the batch's window positions")
            signal = self.window_views(split, index, epoch)
            if signal.ndim != 3 or signal.shape[0] != z0.shape[0] or signal.shape[2] != z0.shape[1]:
                raise ValueError(f"window_views returned shape {tuple(signal.shape)}, "
                                 f"expected ({len(z0)}, K, {z0.shape[1]})")
            parts.append(signal.to(z0.dtype))
            ts.append(torch.zeros(signal.shape[:2], dtype=torch.long, device=z0.device))
        if self.extra_views is not None:
            extra = self.extra_views(z0, y)
            if extra.ndim != 3 or extra.shape[0] != z0.shape[0] or extra.shape[2] != z0.shape[1]:
                raise ValueError(f"extra_views returned shape {tuple(extra.shape)}, expected ({len(z0)}, K2, {z0.shape[1]})")
            parts.append(extra.to(z0.dtype))
            ts.append(torch.zeros(extra.shape[:2], dtype=torch.long, device=z0.device))
        return torch.cat(parts, dim=1), torch.cat(ts, dim=1)

    def _contrastive_loss(self, encoder: UNet1DEncoder, views: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        b, v, dim = views.shape
        with self.precision.autocast():
            out = encoder(views.reshape(b * v, dim), t.reshape(b * v) if encoder.time_conditioning else None)
        labels = y if self.config.encoder.supervised else None
        return supcon_loss(out.projection.reshape(b, v, -1), labels, self.config.encoder.temperature)

    def clean_latents(self, vae: VAE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z_train, z_val, mean, std)``: the frozen VAE's μ, standardised with train
        statistics as ``diffusion.normalise_latents`` says."""
        with torch.no_grad():
            z_train = vae.encode(self.inputs.x_train)[0]
            z_val = vae.encode(self.inputs.x_val)[0] if len(self.inputs.x_val) else z_train[:0]
        mean, std = latent_standardiser(z_train, self.config.diffusion.normalise_latents)
        return (z_train - mean) / std, (z_val - mean) / std, mean, std

    def train_encoder(self, vae: VAE) -> UNet1DEncoder:
        cfg, d = self.config.encoder, self.config.diffusion
        z_train, z_val, _, _ = self.clean_latents(vae)
        y_train, y_val = self.inputs.y_train, self.inputs.y_val
        abar = None
        if self.config.train.method != "gauss-contrastive":
            abar = alphas_cumprod(d.schedule, d.timesteps, self.device, **d.schedule_params)
        self._begin_stage("encoder")
        encoder = build_encoder(self.config).to(self.device)
        if "encoder" not in self.done:
            def step(idx: torch.Tensor, epoch: int, generator: torch.Generator) -> torch.Tensor:
                views, t = self._views(z_train[idx], y_train[idx], generator, abar, "train", idx, epoch)
                return self._contrastive_loss(encoder, views, t, y_train[idx])

            def val() -> float | None:
                if len(z_val) < 2:
                    return None
                # The same views every epoch, from a generator of their own, so epochs compare.
                g = torch.Generator(device=self.device).manual_seed(self.config.train.seed + 7919)
                total = 0.0
                for lo in range(0, len(z_val), cfg.batch_size):
                    zb, yb = z_val[lo : lo + cfg.batch_size], y_val[lo : lo + cfg.batch_size]
                    if len(zb) < 2:
                        continue
                    index = torch.arange(lo, lo + len(zb), device=zb.device)
                    views, t = self._views(zb, yb, g, abar, "val", index, 0)
                    total += self._contrastive_loss(encoder, views, t, yb).item() * len(zb)
                return total / len(z_val)

            self._fit("encoder", encoder, cfg.lr, cfg.weight_decay, cfg.epochs, cfg.patience, step, val,
                      len(z_train), cfg.batch_size)
        encoder.load_state_dict(self.done["encoder"])
        return encoder.eval()

    def train_dae(self) -> DenoisingAutoencoder:
        cfg = self.config.dae
        x, x_val = self.inputs.x_train, self.inputs.x_val
        self._begin_stage("dae")
        dae = build_dae(self.config, x.shape[1]).to(self.device)
        if "dae" not in self.done:
            def step(idx: torch.Tensor, _: int, generator: torch.Generator) -> torch.Tensor:
                clean = x[idx]
                noisy = clean + cfg.noise_sigma * torch.randn(clean.shape, generator=generator, device=self.device)
                with self.precision.autocast():
                    recon = dae(noisy)
                return F.mse_loss(recon.float(), clean)

            def val() -> float | None:
                if not len(x_val):
                    return None
                g = torch.Generator(device=self.device).manual_seed(self.config.train.seed + 7919)
                noisy = x_val + cfg.noise_sigma * torch.randn(x_val.shape, generator=g, device=self.device)
                return F.mse_loss(dae(noisy), x_val).item()

            self._fit("dae", dae, cfg.lr, cfg.weight_decay, cfg.epochs, cfg.patience, step, val, len(x), cfg.batch_size)
        dae.load_state_dict(self.done["dae"])
        return dae.eval()

    def run(self) -> Path:
        method = self.config.train.method
        bundle: dict[str, Any] = {
            "method": method,
            **self._provenance(),
            "standardiser": {k: torch.from_numpy(v) for k, v in dataclasses.asdict(self.inputs.standardiser).items()},
            "feature_shape": list(self.inputs.feature_shape),
            "in_dim": int(self.inputs.x_train.shape[1]),
        }
        if "vae" in stages_of(method):
            vae = self.train_vae()
            bundle["vae"] = {k: v.cpu() for k, v in vae.state_dict().items()}
            if "encoder" in stages_of(method):
                encoder = self.train_encoder(vae)
                bundle["encoder"] = {k: v.cpu() for k, v in encoder.state_dict().items()}
                _, _, mean, std = self.clean_latents(vae)
                bundle["latent_norm"] = {"mean": mean.cpu(), "std": std.cpu()}
        if "dae" in stages_of(method):
            bundle["dae"] = {k: v.cpu() for k, v in self.train_dae().state_dict().items()}
        torch_save(bundle, self.out_dir / MODEL)
        write_text(self.out_dir / HISTORY, json.dumps(self.history, indent=2) + "\n")
        write_text(
            self.out_dir / EMBEDDER_JSON,
            json.dumps({"method": method, "model": MODEL, "config": CONFIG_TOML}, indent=2) + "\n",
        )
        return self.out_dir


def train(
    config: Config,
    features: FeatureSet,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    extra_views: ExtraViews | None = None,
    on_epoch_end: Callable[[str, int, float], None] | None = None,
) -> Path:
    """Train ``config.train.method`` on ``features``; write the run directory ``out_dir``.

    Args:
        extra_views: more SupCon views per sample (the ``dacl+diffaug`` hook);
            if ``None`` and the method is plugged in, its registered factory is used.
        on_epoch_end: called as ``(stage, epoch, train_loss)`` after each
            epoch's checkpoint is written (raise ``KeyboardInterrupt`` there to
            simulate an interruption).

    Returns:
        The run directory.

    Raises:
        dacl.lock.LockedError: another process is writing ``out_dir``.
    """
    threads_before = torch.get_num_threads()
    # One writer per run directory, for the whole run (both trainers, sub-runs included).
    with WriterLock(out_dir, "run directory"):
        if config.train.threads > 0:
            torch.set_num_threads(config.train.threads)
        try:
            return _train(config, features, Path(out_dir), resume=resume, progress=progress,
                          extra_views=extra_views, on_epoch_end=on_epoch_end)
        finally:
            torch.set_num_threads(threads_before)


def _train(
    config: Config,
    features: FeatureSet,
    out: Path,
    *,
    resume: bool,
    progress: bool,
    extra_views: ExtraViews | None,
    on_epoch_end: Callable[[str, int, float], None] | None,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    method = config.train.method
    if method in PLUGIN_MODULES and method not in EXTERNAL_TRAINERS and method not in EXTRA_VIEW_FACTORIES:
        try:
            importlib.import_module(PLUGIN_MODULES[method])
        except ModuleNotFoundError as err:
            raise ValueError(f"method {method!r} needs {PLUGIN_MODULES[method]}, which is not available: {err}") from err
    if method in EXTERNAL_TRAINERS:  # it writes config.toml itself, once its own checks passed
        EXTERNAL_TRAINERS[method](config, features, out, device=resolve_device(config.train.device),
                                  resume=resume, progress=progress)
        return out
    if method not in BUILTIN_METHODS:
        raise ValueError(f"method {method!r} has no trainer registered (is {PLUGIN_MODULES.get(method)} complete?)")
    if method == "dacl+diffaug" and extra_views is None and method not in EXTRA_VIEW_FACTORIES:
        raise ValueError("method 'dacl+diffaug' needs DiffAug views: dacl.train_diffaug registered no view factory")
    trainer = Trainer(config, features, out, resume=resume, progress=progress, extra_views=extra_views,
                      on_epoch_end=on_epoch_end)
    write_text(out / CONFIG_TOML, to_toml(config))  # only now: a refused resume leaves the run as it was
    if config.signal_views.n_views > 0 and "encoder" in stages_of(method):
        from dacl.train_signal_views import attach_signal_views

        attach_signal_views(trainer, features)  # trains the VAE first: the views are encoded by it
    if method in EXTRA_VIEW_FACTORIES and extra_views is None:
        # The factory sees the frozen VAE latents of the train split; train the VAE first.
        z_train = trainer.clean_latents(trainer.train_vae())[0]  # the space the encoder's views live in
        trainer.extra_views = EXTRA_VIEW_FACTORIES[method](config, z_train, trainer.inputs.y_train, trainer.device, out,
                                                           trainer.dataset)
    return trainer.run()


# ---------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, help="TOML config (default: built-in defaults)")
    parser.add_argument("--method", choices=METHODS, default=None, help="overrides [train] method")
    parser.add_argument("--features", type=Path, default=None, help="dataset directory from `dacl preprocess`")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default runs/<method>)")
    parser.add_argument("--device", default=None, help="auto | cpu | cuda (overrides [train] device)")
    parser.add_argument("--seed", type=int, default=None, help="overrides [train] seed")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every stage of the method")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override any config value, e.g. --set diffusion.t_max=50 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def config_with_overrides(args: argparse.Namespace) -> Config:
    """The config file with every command-line override applied."""
    config = load_config(args.config)
    changes: dict[str, dict[str, Any]] = {}
    for text in args.overrides:
        section, key, value = parse_override(text)
        changes.setdefault(section, {})[key] = value
    train_sec = changes.setdefault("train", {})
    if args.method is not None:
        train_sec["method"] = args.method
    if args.device is not None:
        train_sec["device"] = args.device
    if args.seed is not None:
        train_sec["seed"] = args.seed
    if args.features is not None:
        changes.setdefault("data", {})["features"] = str(args.features)
    if args.epochs is not None:
        if args.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
        for section in ("vae", "encoder", "dae"):
            changes.setdefault(section, {})["epochs"] = args.epochs
    return config.replace(**changes)


def run(args: argparse.Namespace) -> int:
    from dacl.dataset import load_features

    config = config_with_overrides(args)
    if not config.data.features:
        raise ValueError("no features dataset: pass --features DIR or set [data] features")
    features = load_features(config.data.features)
    out = args.out if args.out is not None else Path("runs") / config.train.method.replace("+", "_")
    train(config, features, out, resume=args.resume, progress=not args.no_progress)
    history = read_json_object(out / HISTORY) if (out / HISTORY).is_file() else {}
    for stage, rows in history.get("stages", {}).items():
        best = history.get("best_epoch", {}).get(stage)
        last = rows[-1] if rows else {}
        print(f"dacl train: {stage}: {len(rows)} epochs, last train loss {last.get('train_loss', float('nan')):.4f}, "
              f"best epoch {best}")
    print(f"dacl train: {config.train.method} run written to {out}")
    return 0
