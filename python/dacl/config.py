"""Training configuration: dataclasses loaded from TOML, with CLI overrides.

One section per concept (``[train]``, ``[data]``, ``[context]``, ``[vae]``,
``[diffusion]``, ``[gauss]``, ``[encoder]``, ``[dae]``). Every field has a
default; a TOML file only states what it changes. Unknown sections or keys
are an error, so a typo does not silently fall back to a default. Values the
DACL paper does not publish are marked "ours" in the comments; see
configs/dacl.toml for the reasoning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from dacl.features.context import ContextConfig
from dacl.settings import (
    BATCH,
    NON_NEGATIVE,
    POSITIVE,
    TRAINING_RULES,
    at_least,
    check_fields,
    parse_override,  # noqa: F401  (re-exported until the move)
    read_config_file,
    section_from_dict,
    within,
)
from dacl.settings import to_toml as settings_to_toml

METHODS: tuple[str, ...] = ("dacl", "vae", "gauss-contrastive", "dae", "diffaug", "dacl+diffaug")


@dataclass(frozen=True)
class TrainSection:
    method: str = "dacl"
    seed: int = 0
    device: str = "auto"  # auto = cuda if available, else cpu
    amp: bool = True  # autocast (bf16 if supported, else fp16) on cuda only
    # torch CPU threads during training. CPU float reductions split across threads round
    # differently, so only a fixed count makes a seed give the same weights on any machine;
    # 0 = torch's default (faster on many free cores, bit-reproducible only on the same count).
    threads: int = 1

    def __post_init__(self) -> None:
        # Seeds feed numpy's SeedSequence (non-negative) and torch (64-bit, after ``seed * 1009 + k``).
        check_fields(self, "train", {"seed": within(0, 2**32 - 1), "threads": NON_NEGATIVE},
                     choices={"method": METHODS})
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"train.device must be auto, cpu or cuda, got {self.device!r}")


@dataclass(frozen=True)
class DataSection:
    features: str = ""  # dataset directory written by `dacl preprocess`; --features overrides
    train_split: str = "train"
    val_split: str = "val"  # model selection / early stopping only


@dataclass(frozen=True)
class VAESection:
    latent_dim: int = 32
    hidden: tuple[int, ...] = (256, 128)
    beta: float = 1.0
    beta_warmup_epochs: int = 0  # linear KL warm-up (Bowman et al. 2016); 0 = off
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0  # early stopping on val loss; 0 = off (best-val weights are still kept)

    def __post_init__(self) -> None:
        check_fields(self, "vae", {**TRAINING_RULES, "latent_dim": at_least(1), "beta": NON_NEGATIVE,
                                   "beta_warmup_epochs": NON_NEGATIVE}, non_empty=("hidden",))


LATENT_NORMS = ("per_dim", "global", "none")


@dataclass(frozen=True)
class DiffusionSection:
    schedule: str = "linear"  # dacl._native.NoiseSchedule kind
    timesteps: int = 1000
    schedule_params: dict[str, float] = field(default_factory=dict)  # passed to NoiseSchedule
    t_max: int = 200  # views use t ~ U{1..t_max}: "early stage" diffusion (v3)
    n_views: int = 2  # K noisy views per sample
    include_clean: bool = False  # add z0 itself as one more view
    # Standardise the VAE means (train-split statistics) before diffusing them, so the noise
    # scale sqrt(1 - ᾱ_t) means the same whatever the VAE's latent scale (the role of the
    # latent scale factor of Rombach et al. 2022). Also applied to gauss-contrastive views.
    # "per_dim": z-score each dimension; "global": centre, then divide by one scale (the RMS
    # of the per-dimension stds), which keeps near-collapsed dimensions small instead of
    # blowing them up to unit variance (large latents with small β have many, measured);
    # "none". true/false (older configs) mean "per_dim"/"none".
    normalise_latents: str | bool = "per_dim"

    def __post_init__(self) -> None:
        norm = self.normalise_latents
        if isinstance(norm, bool):
            object.__setattr__(self, "normalise_latents", "per_dim" if norm else "none")
        check_fields(self, "diffusion", {"timesteps": at_least(2), "n_views": at_least(1)},
                     choices={"normalise_latents": LATENT_NORMS})
        if not 1 <= self.t_max <= self.timesteps:
            raise ValueError(f"diffusion.t_max must be in [1, timesteps={self.timesteps}], got {self.t_max}")


@dataclass(frozen=True)
class GaussSection:
    sigma: float = 0.5  # gauss-contrastive views z0 + sigma * N(0, I)

    def __post_init__(self) -> None:
        check_fields(self, "gauss", {"sigma": NON_NEGATIVE})


@dataclass(frozen=True)
class EncoderSection:
    channels: tuple[int, ...] = (32, 64, 128)
    embed_dim: int = 128
    proj_dim: int = 64
    time_conditioning: bool = False  # unknown in the paper
    readout: str = "flatten"
    temperature: float = 0.1
    supervised: bool = True  # SupCon with labels; False = SimCLR
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 0

    def __post_init__(self) -> None:
        check_fields(self, "encoder", {**TRAINING_RULES, "embed_dim": at_least(1), "proj_dim": at_least(1),
                                       "temperature": POSITIVE},
                     choices={"readout": ("flatten", "mean")}, non_empty=("channels",))


@dataclass(frozen=True)
class DAESection:
    hidden: tuple[int, ...] = (256, 128)
    bottleneck: int = 64
    noise_sigma: float = 0.5  # on standardised inputs
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0

    def __post_init__(self) -> None:
        check_fields(self, "dae", {**TRAINING_RULES, "bottleneck": at_least(1), "noise_sigma": NON_NEGATIVE})


@dataclass(frozen=True)
class DiffAugSection:
    """DiffAug (Zang et al. 2024); see configs/diffaug.toml for the reasoning behind each default."""

    input: str = "context"  # "context" ([context] pooling of the scattering) or "vae" (μ of vae_run)
    vae_run: str = ""  # run directory of a trained `--method vae` run, for input = "vae"
    clip_sigma: float = 3.0  # inputs are z-scored, divided by this and clipped to [-1, 1]
    enc_hidden: tuple[int, ...] = (500, 500, 500)
    code_dim: int = 50  # Enc's code: the representation and the condition
    head_hidden: tuple[int, ...] = (500, 500)
    head_dim: int = 16  # released code: 2 (a visualisation head)
    nu_p: float = 100.0
    nu_q: float = 0.01
    detach_p: bool = False
    knn_k: int = 5  # neighbour-mixup positives x+ = a x + (1 - a) x_nb, x_nb among the k nearest
    gen_fraction: float = 0.2  # share of positives replaced by generated ones (rand < p)
    schedule: str = "linear"
    timesteps: int = 1000
    schedule_params: dict[str, float] = field(default_factory=dict)
    variance: str = "fixed_large"
    den_hidden: int = 2000
    den_blocks: int = 4
    cond_hidden: int = 200
    time_embedding: str = "sinusoidal"
    diff_weight: float = 0.01
    ema_decay: float = 0.9999
    ema_warmup: bool = True  # decay min(ema_decay, (1+n)/(10+n)) at update n; see diffaug.EMA
    sampler: str = "ddim"  # how positives are generated: "ddim" (fast) or "ddpm" (all T steps)
    sample_steps: int = 50
    eta: float = 1.0
    clip_x0: float = 1.0  # clip x̂0 to [-clip_x0, clip_x0] while sampling; 0 = off
    warmup_epochs: int = 400  # first E phase (neighbour-mixup positives only)
    m_epochs: int = 400  # each M phase (generator)
    e_epochs: int = 400  # each later E phase (with generated positives)
    cycles: int = 1  # number of M -> E pairs after the warm-up
    batch_size: int = 500
    lr: float = 1e-3
    gen_lr: float = 1e-3
    weight_decay: float = 1e-6
    lr_gamma: float = 0.8  # StepLR every (total epochs // 10), as released
    views: int = 2  # generated views per sample for --method dacl+diffaug
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        sizes = ("code_dim", "head_dim", "knn_k", "timesteps", "den_hidden", "den_blocks", "cond_hidden", "views",
                 "checkpoint_every")
        check_fields(
            self, "diffaug",
            {**{name: at_least(1) for name in sizes}, "timesteps": at_least(2), "batch_size": BATCH,
             **{name: NON_NEGATIVE for name in ("warmup_epochs", "m_epochs", "e_epochs", "cycles", "eta", "clip_x0",
                                                "weight_decay")},
             **{name: POSITIVE for name in ("clip_sigma", "nu_p", "nu_q", "diff_weight", "lr", "gen_lr", "lr_gamma")},
             "gen_fraction": within(0, 1), "ema_decay": within(0, 1, high_open=True)},
            choices={"input": ("context", "vae"), "sampler": ("ddim", "ddpm"),
                     "variance": ("fixed_large", "fixed_small"), "time_embedding": ("sinusoidal", "learned")},
        )
        if not 1 <= self.sample_steps <= self.timesteps:
            raise ValueError(f"diffaug.sample_steps must be in [1, timesteps={self.timesteps}], got {self.sample_steps}")


@dataclass(frozen=True)
class Config:
    train: TrainSection = TrainSection()
    data: DataSection = DataSection()
    context: ContextConfig = ContextConfig()
    vae: VAESection = VAESection()
    diffusion: DiffusionSection = DiffusionSection()
    gauss: GaussSection = GaussSection()
    encoder: EncoderSection = EncoderSection()
    dae: DAESection = DAESection()
    diffaug: DiffAugSection = DiffAugSection()

    def __post_init__(self) -> None:
        # ContextConfig validates its own ranges (dacl.features.context cannot import this module); add the finite checks.
        check_fields(self.context, "context")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **sections: dict[str, Any]) -> Config:
        """A copy with some fields of some sections changed: ``replace(vae={"epochs": 3})``."""
        d = self.to_dict()
        for name, values in sections.items():
            if name not in d:
                raise ValueError(f"unknown config section [{name}]")
            d[name].update(values)
        return config_from_dict(d)


def config_from_dict(d: dict[str, Any]) -> Config:
    """Build a :class:`Config` from nested dicts, rejecting unknown sections/keys."""
    sections = {f.name: section_from_dict(get_type_hints(Config)[f.name], f.name, d.get(f.name, {}))
                for f in dataclasses.fields(Config)}
    unknown_sections = set(d) - set(sections)
    if unknown_sections:
        raise ValueError(f"unknown config section(s): {sorted(unknown_sections)}")
    return Config(**sections)


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML config (``None`` = all defaults); see :func:`dacl.settings.read_config_file`."""
    return Config() if path is None else config_from_dict(read_config_file(path))


def to_toml(config: Config) -> str:
    """The resolved config as TOML text (round-trips through :func:`load_config`)."""
    return settings_to_toml(config.to_dict())
