"""DiffAug training: alternating E (encoder) and M (generator) phases, unsupervised.

Schedule (Zang et al. 2024, Fig. 2; docs/diffaug-method.md §3):

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

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from dacl.io.atomic import write_text
from dacl.io.torchfiles import torch_save
from dacl.config import Config, DiffAugSection, config_from_dict, to_toml
from dacl.features.context import contextualise
from dacl.features import FeatureSet
from dacl.embedding.nn.diffaug import (
    EMA,
    ConditionalDenoiser,
    Diffusion,
    ProjectionHead,
    SemanticEncoder,
    VectorScaler,
    make_generator,
)
from dacl.devices import resolve_device
from dacl.io.lock import WriterLock
from dacl.embedding.losses import soft_contrastive_loss
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
    reading,
)

METHOD = "diffaug"


# ------------------------------------------------------------------- helpers


def phase_plan(cfg: DiffAugSection) -> list[tuple[str, int]]:
    """``[("E", warmup), ("M", m), ("E", e), ...]``; zero-length phases dropped."""
    plan = [("E", cfg.warmup_epochs)] + [p for _ in range(cfg.cycles) for p in (("M", cfg.m_epochs), ("E", cfg.e_epochs))]
    return [p for p in plan if p[1] > 0]


def _phase_of_epoch(plan: list[tuple[str, int]], epoch: int) -> tuple[int, str, bool]:
    """``(phase index, kind, is first epoch of the phase)`` of a global epoch index."""
    start = 0
    for i, (kind, n) in enumerate(plan):
        if epoch < start + n:
            return i, kind, epoch == start
        start += n
    raise IndexError(f"epoch {epoch} is past the plan")


def input_vectors(features: np.ndarray, config: Config, device: str = "cpu") -> np.ndarray:
    """``(W, P, F)`` scattering features -> ``(W, D)`` vectors DiffAug works on (before scaling).

    ``input = "context"``: the parameter-free contextualisation + pooling of
    ``[context]``; ``"vae"``: the VAE posterior mean of the run ``vae_run``.
    """
    d = config.diffaug
    if d.input == "context":
        return contextualise(features, config.context)
    if not d.vae_run:
        raise ValueError("diffaug.input = 'vae' needs diffaug.vae_run (a trained `--method vae` run directory)")
    from dacl.embedding.embedder import load_embedder

    return np.asarray(load_embedder(d.vae_run, device=device).embed(features), dtype=np.float32)


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
    diffusion: Diffusion
    scaler: VectorScaler
    config: Config

    @classmethod
    def build(cls, config: Config, scaler: VectorScaler) -> DiffAugModels:
        d = config.diffaug
        dim = scaler.mean.shape[0]
        encoder = SemanticEncoder(dim, d.enc_hidden, d.code_dim)
        head = ProjectionHead(d.code_dim, d.head_hidden, d.head_dim)
        denoiser = ConditionalDenoiser(
            dim, d.code_dim, d.timesteps, d.den_hidden, d.den_blocks, d.cond_hidden, d.time_embedding  # type: ignore[arg-type]
        )
        diffusion = Diffusion.from_native(d.schedule, d.timesteps, d.variance, **d.schedule_params)  # type: ignore[arg-type]
        return cls(encoder, head, denoiser, EMA(denoiser, d.ema_decay, warmup=d.ema_warmup), diffusion, scaler, config)

    def to(self, device: torch.device) -> DiffAugModels:
        for m in (self.encoder, self.head, self.denoiser, self.ema.model, self.diffusion):
            m.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def state_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.state_dict(),
            "head": self.head.state_dict(),
            "denoiser": self.denoiser.state_dict(),
            "ema": self.ema.state_dict(),
            "scaler": self.scaler.to_dict(),
            "config": self.config.to_dict(),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> DiffAugModels:
        models = cls.build(config_from_dict(state["config"]), VectorScaler.from_dict(state["scaler"]))
        models.encoder.load_state_dict(state["encoder"])
        models.head.load_state_dict(state["head"])
        models.denoiser.load_state_dict(state["denoiser"])
        models.ema.load_state_dict(state["ema"])
        return models

    @classmethod
    def load(cls, run_dir: str | Path, device: str | torch.device = "cpu") -> DiffAugModels:
        path = Path(run_dir) / MODEL
        if not path.is_file():
            raise FileNotFoundError(f"no DiffAug model at {path} (train with `dacl train --method diffaug`)")
        state = load_torch(path)
        with reading(path):
            models = cls.from_state_dict(state)
        return models.to(resolve_device(str(device)))

    @torch.no_grad()
    def encode(self, x_scaled: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Enc codes (eval mode, batched) of scaled inputs."""
        self.encoder.eval()
        return torch.cat([self.encoder(x_scaled[i : i + batch_size]) for i in range(0, x_scaled.shape[0], batch_size)])

    @torch.no_grad()
    def generate(self, cond: torch.Tensor, generator: torch.Generator, batch_size: int = 4096) -> torch.Tensor:
        """Scaled samples from the EMA generator, one per condition row, with the configured sampler."""
        d = self.config.diffaug
        clip = d.clip_x0 if d.clip_x0 > 0 else None
        out = []
        for i in range(0, cond.shape[0], batch_size):
            c = cond[i : i + batch_size]
            if d.sampler == "ddpm":
                out.append(self.diffusion.sample_ddpm(self.ema.model, c, clip=clip, generator=generator))
            else:
                out.append(self.diffusion.sample_ddim(self.ema.model, c, d.sample_steps, d.eta, clip, generator))
        return torch.cat(out)


# ------------------------------------------------------------------ training


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches; drop the ragged last one (BatchNorm), unless it is the only one."""
    perm = rng.permutation(n)
    if n <= batch_size:
        return [perm]
    return [perm[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


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
        return _train_diffaug(featureset, config, Path(run_dir), resolve_device(str(device)), resume, progress)


def _train_diffaug(featureset: FeatureSet, config: Config, run_dir: Path, device: torch.device, resume: bool,
                   progress: bool) -> Path:
    """:func:`train_diffaug` for a caller that holds the run directory's lock."""
    mask = featureset.window_mask(config.data.train_split)
    if not mask.any():
        raise ValueError(f"featureset has no windows in split {config.data.train_split!r}")
    raw = input_vectors(featureset.features[mask], config, device=str(device))
    fit_diffaug(raw, config, run_dir, device, resume=resume, progress=progress,
                dataset=dataset_identity(featureset, config))
    d = config.diffaug
    write_text(
        run_dir / EMBEDDER_JSON,
        json.dumps({"method": METHOD, "model": MODEL, "input": d.input, "dim": d.code_dim}, indent=1),
    )
    return run_dir


def fit_diffaug(
    raw: np.ndarray,
    config: Config,
    run_dir: str | Path,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: bool = True,
    dataset: dict[str, Any] | None = None,
) -> DiffAugModels:
    """The DiffAug E/M/E loop on ``(N, D)`` unscaled input vectors (no labels); see :func:`train_diffaug`.

    ``dataset`` (:func:`dacl.rundir.dataset_identity` of the data behind ``raw``) is
    recorded in the checkpoint and model.pt; a resume on other data is refused. The
    caller holds ``run_dir``'s writer lock.
    """
    d = config.diffaug
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(str(device))
    seed = config.train.seed
    plan = phase_plan(d)
    n_epochs = sum(n for _, n in plan)
    if n_epochs == 0:
        raise ValueError("diffaug: warmup_epochs, m_epochs, e_epochs and cycles give zero epochs")
    ckpt_path = run_dir / CHECKPOINT
    ck = _resume_state(ckpt_path, config, dataset, dev) if resume else None
    if ck is None and ckpt_path.is_file():
        raise FileExistsError(f"{run_dir} already holds a run ({CHECKPOINT}); pass --resume or another --out")
    torch.manual_seed(seed)
    raw = np.asarray(raw, dtype=np.float32)
    scaler = VectorScaler.fit(raw, d.clip_sigma)
    x_np = scaler.transform(raw)
    neighbours = neighbour_table(x_np, d.knn_k)
    x = torch.from_numpy(x_np).to(dev)
    n = x.shape[0]

    models = DiffAugModels.build(config, scaler).to(dev)
    enc_params = [*models.encoder.parameters(), *models.head.parameters()]
    opt_e = torch.optim.AdamW(enc_params, lr=d.lr, weight_decay=d.weight_decay)
    opt_g = torch.optim.AdamW(models.denoiser.parameters(), lr=d.gen_lr, weight_decay=d.weight_decay)
    lr_step = max(1, n_epochs // 10)  # StepLR over the global epoch, as released
    # One mixed-precision helper (and loss scale) per optimiser: E phases step opt_e, M phases opt_g.
    precision = {"E": Precision(dev, config.train.amp), "M": Precision(dev, config.train.amp)}

    history: list[dict[str, Any]] = []
    generated: torch.Tensor | None = None
    start_epoch = 0
    if ck is not None:
        with reading(ckpt_path):
            models.encoder.load_state_dict(ck["models"]["encoder"])
            models.head.load_state_dict(ck["models"]["head"])
            models.denoiser.load_state_dict(ck["models"]["denoiser"])
            models.ema.load_state_dict(ck["models"]["ema"])
            opt_e.load_state_dict(ck["opt_e"])
            opt_g.load_state_dict(ck["opt_g"])
            for kind, p in precision.items():
                p.load_state_dict(ck["precision"][kind])
            history, start_epoch = list(ck["history"]), int(ck["epoch"]) + 1
            generated = ck["generated"].to(dev) if ck["generated"] is not None else None
    write_text(run_dir / CONFIG_TOML, to_toml(config))  # only now: a refused resume leaves the run as it was
    # str(): a TorchVersion in a checkpoint would not load weights-only.
    meta = {"method": METHOD, "device": str(dev), "torch": str(torch.__version__), "amp": precision["E"].label,
            "dataset": dataset}

    bar = tqdm(range(start_epoch, n_epochs), desc="diffaug", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        phase, kind, first = _phase_of_epoch(plan, epoch)
        es = _epoch_seed(seed, epoch)
        rng = np.random.default_rng(es)
        gen = make_generator(dev, es)
        record: dict[str, Any] = {"epoch": epoch, "phase": phase, "kind": kind}
        decay = d.lr_gamma ** (epoch // lr_step)
        for opt, base in ((opt_e, d.lr), (opt_g, d.gen_lr)):
            for group in opt.param_groups:
                group["lr"] = base * decay
        if kind == "E" and first and phase > 0:
            # Fresh positives from the generator that the M phase just trained.
            generated = models.generate(models.encode(x), gen)
            record["regenerated"] = int(generated.shape[0])
        losses = []
        for idx_np in _batches(n, d.batch_size, rng):
            idx = torch.from_numpy(idx_np).to(dev)
            xb = x[idx]
            if kind == "E":
                models.encoder.train()
                models.head.train()
                alpha = torch.from_numpy(rng.random((len(idx_np), 1), dtype=np.float32)).to(dev)
                nb_np = neighbours[idx_np, rng.integers(0, neighbours.shape[1], len(idx_np))]
                pos = alpha * xb + (1.0 - alpha) * x[torch.from_numpy(nb_np).to(dev)]
                if generated is not None and d.gen_fraction > 0:
                    swap = torch.from_numpy(rng.random(len(idx_np)) < d.gen_fraction).to(dev)
                    pos = torch.where(swap[:, None], generated[idx], pos)
                with precision["E"].autocast():
                    code = models.encoder(torch.cat([xb, pos]))
                    h = models.head(code)
                b = len(idx_np)
                loss = soft_contrastive_loss(code[:b], h[:b], h[b:], d.nu_p, d.nu_q, detach_p=d.detach_p)
                _check_finite(loss, kind, epoch)
                precision["E"].step(loss, opt_e)
            else:
                models.encoder.eval()
                models.denoiser.train()
                with torch.no_grad():
                    cond = models.encoder(xb)
                with precision["M"].autocast():
                    loss = d.diff_weight * models.diffusion.loss(models.denoiser, xb, cond, gen)
                _check_finite(loss, kind, epoch)
                precision["M"].step(loss, opt_g)
                models.ema.update(models.denoiser)
            losses.append(loss.detach())
        record["loss"] = float(torch.stack(losses).mean())
        record["seconds"] = time.perf_counter() - t0
        record["device"] = str(dev)
        history.append(record)
        bar.set_postfix(phase=kind, loss=f"{record['loss']:.4g}")
        if (epoch + 1) % d.checkpoint_every == 0 or epoch + 1 == n_epochs:
            torch_save(
                {
                    "config": config.to_dict(),
                    "dataset": dataset,
                    "epoch": epoch,
                    "models": {k: v for k, v in models.state_dict().items() if k in ("encoder", "head", "denoiser", "ema")},
                    "opt_e": opt_e.state_dict(),
                    "opt_g": opt_g.state_dict(),
                    "precision": {kind: p.state_dict() for kind, p in precision.items()},
                    "history": history,
                    "generated": generated,
                },
                ckpt_path,
            )
            write_text(run_dir / HISTORY, json.dumps({**meta, "epochs": history}, indent=1))
    bar.close()

    torch_save({**models.state_dict(), "dataset": dataset}, run_dir / MODEL)
    write_text(run_dir / HISTORY, json.dumps({**meta, "epochs": history}, indent=1))
    return models


def _resume_state(path: Path, config: Config, dataset: dict[str, Any] | None, device: torch.device) -> dict[str, Any]:
    """The checkpoint to resume, after checking that it is this run's (config and dataset)."""
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    ck = load_torch(path, device)
    with reading(path):
        saved_config = config_from_dict(ck["config"])
    check_resumable(config, saved_config, path)
    check_same_dataset(ck.get("dataset"), dataset, path)
    return ck


def _check_finite(loss: torch.Tensor, kind: str, epoch: int) -> None:
    if not torch.isfinite(loss):
        raise FloatingPointError(f"diffaug: non-finite {kind}-phase loss at epoch {epoch}")


# ------------------------------------------------------------- inference hooks


class DiffAugEmbedder:
    """The Embedder of a DiffAug run: Enc's code of the scaled input vector."""

    name = METHOD

    def __init__(self, models: DiffAugModels, batch_size: int = 4096) -> None:
        self.models = models
        self.batch_size = batch_size

    def embed(self, features: np.ndarray) -> np.ndarray:
        """``(W, P, F)`` float32 -> ``(W, code_dim)`` float32 (eval mode, batched, no grad)."""
        raw = input_vectors(features, self.models.config, device=str(self.models.device))
        x = torch.from_numpy(self.models.scaler.transform(raw)).to(self.models.device)
        return self.models.encode(x, self.batch_size).float().cpu().numpy()


def load_diffaug_embedder(run_dir: str | Path, device: str = "cpu") -> DiffAugEmbedder:
    """What ``dacl.embedding.embedder.load_embedder`` calls for a run whose embedder.json says ``"diffaug"``."""
    return DiffAugEmbedder(DiffAugModels.load(run_dir, device))


def make_view_generator(
    run_dir_or_models: str | Path | DiffAugModels,
    n_views: int | None = None,
    seed: int = 0,
    device: str | None = None,
) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """Generated views for ``--method dacl+diffaug``: ``(z0 (B, D), labels) -> (B, K2, D)``.

    ``z0`` must be in the DiffAug run's input space (``diffaug.input``, before
    scaling); each row is scaled, encoded by Enc, and ``K2`` samples are drawn
    from the EMA generator conditioned on that code (configured sampler), then
    mapped back to the input space. Labels are ignored (DiffAug is
    unsupervised). Views follow ``z0``'s device; the RNG is seeded once.
    """
    models = run_dir_or_models if isinstance(run_dir_or_models, DiffAugModels) else DiffAugModels.load(
        run_dir_or_models, device or "cpu"
    )
    k = models.config.diffaug.views if n_views is None else n_views
    if k < 1:
        raise ValueError(f"n_views must be >= 1, got {k}")
    dim = models.scaler.mean.shape[0]
    generators: dict[torch.device, torch.Generator] = {}

    @torch.no_grad()
    def views(z0: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z0.ndim != 2 or z0.shape[1] != dim:
            raise ValueError(f"z0 must be (B, {dim}) in the DiffAug run's input space, got {tuple(z0.shape)}")
        if models.device != z0.device:
            models.to(z0.device)
        g = generators.setdefault(z0.device, make_generator(z0.device, seed))
        code = models.encode(models.scaler.transform_torch(z0.float()))
        samples = models.generate(code.repeat_interleave(k, dim=0), g)
        return models.scaler.inverse_torch(samples).reshape(z0.shape[0], k, dim).to(z0.dtype)

    return views



# ------------------------------------------------------- `dacl train` plug-ins


def _external_trainer(config: Config, features: FeatureSet, out: Path, *, device: torch.device,
                      resume: bool, progress: bool) -> None:
    _train_diffaug(features, config, out, device, resume, progress)  # `dacl.train.train` holds the lock


def _view_factory(config: Config, z0_train: torch.Tensor, y_train: torch.Tensor, device: torch.device,
                  out_dir: Path, dataset: dict[str, Any] | None = None
                  ) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """``dacl+diffaug``: train DiffAug on DACL's frozen train latents z0 (labels unused), in ``out_dir/diffaug``.

    The views are generated in the same latent space as DACL's forward-diffusion
    views, conditioned on each sample's DiffAug code. A finished sub-run is reused.
    """
    sub = Path(out_dir) / "diffaug"
    if (sub / MODEL).is_file():
        models = DiffAugModels.load(sub, device)
    else:
        with WriterLock(sub, "run directory"):
            models = fit_diffaug(z0_train.detach().float().cpu().numpy(), config, sub, device,
                                 resume=(sub / CHECKPOINT).is_file(), progress=True, dataset=dataset)
    return make_view_generator(models, seed=config.train.seed)


def _register() -> None:
    from dacl import train
    from dacl.embedding import embedder

    train.EXTERNAL_TRAINERS[METHOD] = _external_trainer
    train.EXTRA_VIEW_FACTORIES["dacl+diffaug"] = _view_factory
    embedder.register_embedder(METHOD)(lambda run_dir, meta, device: load_diffaug_embedder(run_dir, str(device)))


_register()
