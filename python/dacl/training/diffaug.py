"""DiffAug training: alternating E (encoder) and M (generator) phases, unsupervised.

Schedule (Zang et al. 2024, Fig. 2; docs/diffaug.md §3):

    E (warm-up, neighbour-mixup positives)  ->  [ M (generator)  ->  E (with generated positives) ] × cycles

* **E phase**: Enc + Vis minimise the soft contrastive loss on ``[x; x⁺]``.
  ``x⁺ = α x + (1 − α) x_nb`` with ``α ~ U(0, 1)`` and ``x_nb`` drawn from the
  k nearest train-split neighbours of ``x``. In an E phase that follows an M
  phase, the generated buffer is **regenerated** at the phase start (EMA
  generator, condition ``Enc(x)``, fast sampler) and each positive is replaced
  by its generated counterpart with probability ``gen_fraction`` (``rand < p``;
  the released code's ``randn > 0.9`` gave ≈ 0.18 and its buffer was never
  filled).
* **M phase**: the conditional denoiser minimises ``diff_weight · L_diff``
  (ε-MSE) with the condition ``sg[Enc(x)]``, Enc in eval mode; the EMA copy
  is updated every step.

No labels are read. Everything is seeded per epoch, so a resumed run repeats
the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from tqdm.auto import tqdm

from dacl.devices import make_generator, resolve_device
from dacl.embedding.config import DiffAugSection
from dacl.embedding.embedder import input_vectors
from dacl.embedding.losses import soft_contrastive_loss
from dacl.embedding.nn.diffaug import ConditionalDenoiser, ProjectionHead, SemanticEncoder
from dacl.features import FeatureSet
from dacl.io.atomic import write_text
from dacl.io.lock import WriterLock
from dacl.io.torchfiles import load_torch, reading, torch_save
from dacl.latent.scalers import Standardiser
from dacl.training.checkpoint import (
    CHECKPOINT,
    CONFIG_TOML,
    EMBEDDER_JSON,
    HISTORY,
    MODEL,
    dataset_identity,
    refuse_existing_run,
    resume_state,
)
from dacl.training.config import Config, config_from_dict, to_toml
from dacl.training.distributed import SINGLE, Distributed, gather_rows
from dacl.training.ema import EMA
from dacl.training.inputs import contextualised_blocks
from dacl.training.loop import batches
from dacl.training.methods import METHODS, Method
from dacl.training.precision import Precision
from dacl.views.diffusion import Denoiser, GaussianDiffusion
from dacl.views.generated import ViewGenerator, make_view_generator

METHOD = METHODS["diffaug"]


# ------------------------------------------------------------------- helpers


def phase_plan(cfg: DiffAugSection) -> list[tuple[str, int]]:
    """``[("E", warmup), ("M", m), ("E", e), ...]``; zero-length phases dropped."""
    cycles = [p for _ in range(cfg.cycles) for p in (("M", cfg.m_epochs), ("E", cfg.e_epochs))]
    return [p for p in [("E", cfg.warmup_epochs), *cycles] if p[1] > 0]


def _phase_of_epoch(plan: list[tuple[str, int]], epoch: int) -> tuple[int, str, bool]:
    """``(phase index, kind, is first epoch of the phase)`` of a global epoch index."""
    start = 0
    for i, (kind, n) in enumerate(plan):
        if epoch < start + n:
            return i, kind, epoch == start
        start += n
    raise IndexError(f"epoch {epoch} is past the plan")


def neighbour_table(x: np.ndarray, k: int) -> np.ndarray:
    """``(N, k')`` indices of each row's k nearest other rows (sklearn, exact), ``k' = min(k, N - 1)``."""
    from sklearn.neighbors import NearestNeighbors

    n = x.shape[0]
    k = min(k, n - 1)
    if k < 1:
        raise ValueError(f"need at least 2 train windows for neighbour positives, got {n}")
    idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)
    # Drop self; with duplicate rows self may not be column 0, so remove it explicitly.
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        row = idx[i][idx[i] != i]
        out[i] = row[:k]
    return out


# -------------------------------------------------------------------- models


@dataclass
class DiffAugModels:
    """Everything a trained DiffAug run consists of."""

    encoder: SemanticEncoder
    head: ProjectionHead
    denoiser: ConditionalDenoiser
    ema: EMA
    diffusion: GaussianDiffusion
    scaler: Standardiser
    config: Config

    @classmethod
    def build(cls, config: Config, scaler: Standardiser) -> DiffAugModels:
        d = config.diffaug
        dim = len(scaler.mean)
        encoder = SemanticEncoder.from_section(d, dim)
        head = ProjectionHead.from_section(d)
        denoiser = ConditionalDenoiser.from_section(d, dim)
        diffusion = GaussianDiffusion.from_native(
            d.schedule,  # type: ignore[arg-type]  # a str checked against the choices when loaded
            d.timesteps,
            d.variance,  # type: ignore[arg-type]
            **d.schedule_params,
        )
        return cls(encoder, head, denoiser, EMA(denoiser, d.ema_decay, warmup=d.ema_warmup), diffusion, scaler, config)

    def to(self, device: torch.device) -> DiffAugModels:
        for m in (self.encoder, self.head, self.denoiser, self.ema.model, self.diffusion):
            m.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    @property
    def views(self) -> int:
        """Generated views per sample for ``--method dacl+diffaug``."""
        return self.config.diffaug.views

    def state_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.state_dict(),
            "head": self.head.state_dict(),
            "denoiser": self.denoiser.state_dict(),
            "ema": self.ema.state_dict(),
            "scaler": self.scaler.to_dict(),
            "config": self.config.to_dict(),
        }

    def load_networks(self, state: dict[str, Any]) -> None:
        """The weights of the encoder, head, denoiser and EMA copy (a model.pt or a checkpoint's ``models``)."""
        self.encoder.load_state_dict(state["encoder"])
        self.head.load_state_dict(state["head"])
        self.denoiser.load_state_dict(state["denoiser"])
        self.ema.load_state_dict(state["ema"])

    @classmethod
    def load(cls, run_dir: str | Path, device: str | torch.device = "cpu") -> DiffAugModels:
        path = Path(run_dir) / MODEL
        if not path.is_file():
            raise FileNotFoundError(f"no DiffAug model at {path} (train with `dacl train --method diffaug`)")
        state = load_torch(path)
        with reading(path):
            models = cls.build(config_from_dict(state["config"]), Standardiser.from_dict(state["scaler"]))
            models.load_networks(state)
        return models.to(resolve_device(str(device)))

    @torch.no_grad()
    def encode(self, x_scaled: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Enc codes (eval mode, batched) of scaled inputs."""
        return self.encoder.encode(x_scaled, batch_size)

    @torch.no_grad()
    def generate(self, cond: torch.Tensor, generator: torch.Generator, batch_size: int = 4096) -> torch.Tensor:
        """Scaled samples from the EMA generator, one per condition row, with the configured sampler."""
        d = self.config.diffaug
        clip = d.clip_x0 if d.clip_x0 > 0 else None
        denoiser = cast(Denoiser, self.ema.model)  # the EMA copy of the ConditionalDenoiser
        out = []
        for i in range(0, cond.shape[0], batch_size):
            c = cond[i : i + batch_size]
            if d.sampler == "ddpm":
                out.append(self.diffusion.sample_ddpm(denoiser, c, clip=clip, generator=generator))
            else:
                out.append(self.diffusion.sample_ddim(denoiser, c, d.sample_steps, d.eta, clip, generator))
        return torch.cat(out)


# ------------------------------------------------------------------ training


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


class _Fit:
    """The state of one E/M/E run: models, data, optimisers, loss scales, generated positives.

    Under torchrun (``dist`` active) every rank draws a global batch's randomness and trains on
    its part of it (:mod:`dacl.training.distributed`); the soft contrastive loss sees the codes
    and head outputs of the whole global batch. Every rank regenerates the whole positives buffer.
    """

    def __init__(
        self, config: Config, models: DiffAugModels, x: torch.Tensor, neighbours: np.ndarray, dist: Distributed = SINGLE
    ) -> None:
        d = config.diffaug
        self.config, self.models, self.x, self.neighbours, self.dist = config, models, x, neighbours, dist
        self.device = x.device
        # What a training step runs: under DDP, wrappers that average the gradients over the ranks.
        self.encoder, self.head, self.denoiser = (dist.wrap(m) for m in (models.encoder, models.head, models.denoiser))
        self.plan = phase_plan(d)
        self.n_epochs = sum(n for _, n in self.plan)
        enc_params = [*models.encoder.parameters(), *models.head.parameters()]
        self.opt_e = torch.optim.AdamW(enc_params, lr=d.lr, weight_decay=d.weight_decay)
        self.opt_g = torch.optim.AdamW(models.denoiser.parameters(), lr=d.gen_lr, weight_decay=d.weight_decay)
        self.lr_step = max(1, self.n_epochs // 10)  # StepLR over the global epoch, as released
        # One mixed-precision helper (and loss scale) per optimiser: E phases step opt_e, M phases opt_g.
        self.precision = {"E": Precision(self.device, config.train.amp), "M": Precision(self.device, config.train.amp)}
        self.history: list[dict[str, Any]] = []
        self.generated: torch.Tensor | None = None
        self.start = 0

    def restore(self, ck: dict[str, Any], path: Path) -> None:
        """Continue from the checkpoint ``ck`` (read from ``path``)."""
        with reading(path):
            self.models.load_networks(ck["models"])
            self.opt_e.load_state_dict(ck["opt_e"])
            self.opt_g.load_state_dict(ck["opt_g"])
            for kind, p in self.precision.items():
                p.load_state_dict(ck["precision"][kind])
            self.history, self.start = list(ck["history"]), int(ck["epoch"]) + 1
            self.generated = ck["generated"].to(self.device) if ck["generated"] is not None else None

    def epoch(self, epoch: int) -> dict[str, Any]:
        """Train one epoch (seeded by itself, so a resume repeats it); its history record."""
        d = self.config.diffaug
        t0 = time.perf_counter()
        phase, kind, first = _phase_of_epoch(self.plan, epoch)
        es = _epoch_seed(self.config.train.seed, epoch)
        rng, gen = np.random.default_rng(es), make_generator(self.device, es)
        record: dict[str, Any] = {"epoch": epoch, "phase": phase, "kind": kind}
        decay = d.lr_gamma ** (epoch // self.lr_step)
        for opt, base in ((self.opt_e, d.lr), (self.opt_g, d.gen_lr)):
            for group in opt.param_groups:
                group["lr"] = base * decay
        if kind == "E" and first and phase > 0:
            # Fresh positives from the generator that the M phase just trained.
            self.generated = self.models.generate(self.models.encode(self.x), gen)
            record["regenerated"] = int(self.generated.shape[0])
        losses = []
        size = d.batch_size * self.dist.world_size  # the global batch
        for idx_np in batches(rng.permutation(self.x.shape[0]), size, min_last=size):
            loss = self.e_step(idx_np, rng) if kind == "E" else self.m_step(idx_np, gen)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"diffaug: non-finite {kind}-phase loss at epoch {epoch}")
            if kind == "E":
                self.precision["E"].step(loss, self.opt_e)
            else:
                self.precision["M"].step(loss, self.opt_g)
                self.models.ema.update(self.models.denoiser)
            losses.append(loss.detach())
        record["loss"] = self.dist.mean(float(torch.stack(losses).mean()))
        self.dist.average_buffers(self.models.encoder, self.models.head, self.models.denoiser, self.models.ema.model)
        record["seconds"] = time.perf_counter() - t0
        record["device"] = str(self.device)
        return record

    def e_step(self, idx_np: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """Soft contrastive loss of a batch and its positives (neighbour mixup, some swapped for generated ones)."""
        d, m, x, mine = self.config.diffaug, self.models, self.x, self.dist.local
        m.encoder.train()
        m.head.train()
        n = len(idx_np)  # the global batch: its draws are the same on every rank
        alpha_np = rng.random((n, 1), dtype=np.float32)
        nb_np = self.neighbours[idx_np, rng.integers(0, self.neighbours.shape[1], n)]
        idx = torch.from_numpy(mine(idx_np)).to(self.device)
        xb = x[idx]
        alpha = torch.from_numpy(mine(alpha_np)).to(self.device)
        pos = alpha * xb + (1.0 - alpha) * x[torch.from_numpy(mine(nb_np)).to(self.device)]
        if self.generated is not None and d.gen_fraction > 0:
            swap = torch.from_numpy(mine(rng.random(n) < d.gen_fraction)).to(self.device)
            pos = torch.where(swap[:, None], self.generated[idx], pos)
        with self.precision["E"].autocast():
            code = self.encoder(torch.cat([xb, pos]))
            h = self.head(code)
        b = len(idx)
        code, h, h_pos = (gather_rows(part, n, self.dist) for part in (code[:b], h[:b], h[b:]))
        return soft_contrastive_loss(code, h, h_pos, d.nu_p, d.nu_q, detach_p=d.detach_p)

    def m_step(self, idx_np: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        """The denoiser's ε-prediction loss, conditioned on the (frozen) encoder's codes."""
        m, mine = self.models, self.dist.local
        m.encoder.eval()
        m.denoiser.train()
        xb = self.x[torch.from_numpy(mine(idx_np)).to(self.device)]
        t, noise = m.diffusion.draw(len(idx_np), self.x, gen)  # the global batch's draws, on every rank
        with torch.no_grad():
            cond = m.encoder(xb)
        with self.precision["M"].autocast():
            loss = m.diffusion.loss(self.denoiser, xb, cond, draws=(mine(t), mine(noise)))
        return self.dist.share(self.config.diffaug.diff_weight * loss, len(idx_np))

    def checkpoint(self, epoch: int, dataset: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "dataset": dataset,
            "epoch": epoch,
            "models": {
                k: v for k, v in self.models.state_dict().items() if k in ("encoder", "head", "denoiser", "ema")
            },
            "opt_e": self.opt_e.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "precision": {kind: p.state_dict() for kind, p in self.precision.items()},
            "history": self.history,
            "generated": self.generated,
        }


def fit_diffaug(
    raw: np.ndarray,
    config: Config,
    run_dir: str | Path,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: bool = True,
    dataset: dict[str, Any] | None = None,
    leads: Sequence[str] | None = None,
    dist: Distributed = SINGLE,
) -> DiffAugModels:
    """The DiffAug E/M/E loop on ``(N, D)`` unscaled input vectors (no labels); see :func:`train_diffaug`.

    ``dataset`` (:func:`dacl.training.checkpoint.dataset_identity` of the data behind ``raw``) is
    recorded in the checkpoint and model.pt; a resume on other data is refused. ``leads``, the
    leads behind ``raw`` when it comes from a dataset, go into model.pt. The caller holds
    ``run_dir``'s writer lock; under torchrun (``dist``) rank 0 writes and every rank trains.
    """
    run_dir = Path(run_dir)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(str(device))
    if sum(n for _, n in phase_plan(config.diffaug)) == 0:
        raise ValueError("diffaug: warmup_epochs, m_epochs, e_epochs and cycles give zero epochs")
    ckpt_path = run_dir / CHECKPOINT
    ck = _resume_checkpoint(ckpt_path, config, dataset, dev) if resume else None
    if ck is None:
        refuse_existing_run(run_dir)
    fit = _start(np.asarray(raw, dtype=np.float32), config, dev, dist)
    if ck is not None:
        fit.restore(ck, ckpt_path)
    if dist.is_main:  # only now: a refused resume leaves the run as it was
        write_text(run_dir / CONFIG_TOML, to_toml(config))
    # str(): a TorchVersion in a checkpoint would not load weights-only.
    meta = {
        "method": METHOD.name,
        "device": str(dev),
        "torch": str(torch.__version__),
        "amp": fit.precision["E"].label,
        "dataset": dataset,
        "world_size": dist.world_size,
        "global_batch_size": config.diffaug.batch_size * dist.world_size,
    }
    bar = tqdm(
        range(fit.start, fit.n_epochs),
        desc="diffaug",
        unit="epoch",
        disable=not (progress and dist.is_main),
        leave=False,
    )
    for epoch in bar:
        fit.history.append(fit.epoch(epoch))
        bar.set_postfix(phase=fit.history[-1]["kind"], loss=f"{fit.history[-1]['loss']:.4g}")
        if dist.is_main and ((epoch + 1) % config.diffaug.checkpoint_every == 0 or epoch + 1 == fit.n_epochs):
            torch_save(fit.checkpoint(epoch, dataset), ckpt_path)
            write_text(run_dir / HISTORY, json.dumps({**meta, "epochs": fit.history}, indent=1))
    bar.close()
    if dist.is_main:
        extra = {} if leads is None else {"leads": list(leads)}
        torch_save({**fit.models.state_dict(), "dataset": dataset, **extra}, run_dir / MODEL)
        write_text(run_dir / HISTORY, json.dumps({**meta, "epochs": fit.history}, indent=1))
    return fit.models


def _start(raw: np.ndarray, config: Config, device: torch.device, dist: Distributed = SINGLE) -> _Fit:
    """Seed, scale the inputs into [-1, 1], find their neighbours, build the models."""
    d = config.diffaug
    torch.manual_seed(config.train.seed)
    scaler = Standardiser.fit(raw, clip=d.clip_sigma)
    x_np = scaler.transform(raw)
    neighbours = neighbour_table(x_np, d.knn_k)
    x = torch.from_numpy(x_np).to(device)
    return _Fit(config, DiffAugModels.build(config, scaler).to(device), x, neighbours, dist)


def _resume_checkpoint(
    path: Path, config: Config, dataset: dict[str, Any] | None, device: torch.device
) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    return resume_state(path, config, dataset, device)


def train_diffaug(
    featureset: FeatureSet,
    config: Config,
    run_dir: str | Path,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Train DiffAug on the train-split windows of ``featureset``; returns ``run_dir``.

    Writes ``config.toml``, ``checkpoint.pt`` (atomically, every
    ``checkpoint_every`` epochs), ``history.json``, ``model.pt`` and
    ``embedder.json``. ``resume=True`` continues from ``checkpoint.pt``.
    Holds the run directory's writer lock throughout (:class:`dacl.io.lock.LockedError`
    if another process writes it).
    """
    with WriterLock(run_dir, "run directory"):
        return _train(featureset, config, Path(run_dir), resolve_device(str(device)), resume, progress)


def train_run(
    config: Config,
    features: FeatureSet,
    out: Path,
    *,
    method: Method,
    resume: bool = False,
    progress: bool = True,
    dist: Distributed = SINGLE,
    **_: Any,
) -> Path:
    """The ``diffaug`` method for :func:`dacl.training.train` (which holds the run directory's lock)."""
    return _train(features, config, out, resolve_device(config.train.device), resume, progress, dist)


def _train(
    featureset: FeatureSet,
    config: Config,
    run_dir: Path,
    device: torch.device,
    resume: bool,
    progress: bool,
    dist: Distributed = SINGLE,
) -> Path:
    """:func:`train_diffaug` for a caller that holds the run directory's lock."""
    mask = featureset.window_mask(config.data.train_split)
    if not mask.any():
        raise ValueError(f"featureset has no windows in split {config.data.train_split!r}")
    if config.diffaug.input == "context":  # the windows' features read a block at a time, only the vectors kept
        raw = np.concatenate(list(contextualised_blocks(featureset, mask, config.context)))
    else:
        raw = input_vectors(featureset.features[mask], config.diffaug, config.context, device=str(device))
    fit_diffaug(
        raw,
        config,
        run_dir,
        device,
        resume=resume,
        progress=progress,
        dataset=dataset_identity(featureset, config),
        leads=featureset.leads,
        dist=dist,
    )
    if not dist.is_main:
        return run_dir
    d = config.diffaug
    meta = {"method": METHOD.name, "embedder": METHOD.embedder, "model": MODEL, "input": d.input, "dim": d.code_dim}
    write_text(run_dir / EMBEDDER_JSON, json.dumps(meta, indent=1))
    return run_dir


def diffaug_view_generator(
    config: Config,
    z0_train: torch.Tensor,
    device: torch.device,
    out_dir: Path,
    dataset: dict[str, Any] | None = None,
    dist: Distributed = SINGLE,
    progress: bool = True,
) -> ViewGenerator:
    """``dacl+diffaug``: train DiffAug on DACL's frozen train latents z0 (labels unused), in ``out_dir/diffaug``,
    and return its view generator (``progress``: DiffAug's progress bar, as the run's own).

    The views are generated in the same latent space as DACL's forward-diffusion
    views, conditioned on each sample's DiffAug code. A finished sub-run is reused.
    """
    sub = Path(out_dir) / "diffaug"
    dist.barrier()  # every rank looks before rank 0 can write the sub-run
    if (sub / MODEL).is_file():
        models = DiffAugModels.load(sub, device)
    else:
        with WriterLock(sub, "run directory") if dist.is_main else contextlib.nullcontext():
            models = fit_diffaug(
                z0_train.detach().float().cpu().numpy(),
                config,
                sub,
                device,
                resume=(sub / CHECKPOINT).is_file(),
                progress=progress,
                dataset=dataset,
                dist=dist,
            )
    return make_view_generator(models, seed=config.train.seed)
