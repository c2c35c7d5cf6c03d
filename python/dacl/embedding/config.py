"""The ``[encoder]``, ``[dae]`` and ``[diffaug]`` sections: the networks that embed, and how they are trained."""

from __future__ import annotations

from dataclasses import dataclass, field

from dacl.settings import BATCH, NON_NEGATIVE, POSITIVE, TRAINING_RULES, at_least, check_fields, within


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
        check_fields(
            self,
            "encoder",
            {**TRAINING_RULES, "embed_dim": at_least(1), "proj_dim": at_least(1), "temperature": POSITIVE},
            choices={"readout": ("flatten", "mean")},
            non_empty=("channels",),
        )


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
    ema_warmup: bool = True  # decay min(ema_decay, (1+n)/(10+n)) at update n; see dacl.training.ema.EMA
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
        sizes = (
            "code_dim",
            "head_dim",
            "knn_k",
            "timesteps",
            "den_hidden",
            "den_blocks",
            "cond_hidden",
            "views",
            "checkpoint_every",
        )
        check_fields(
            self,
            "diffaug",
            {
                **{name: at_least(1) for name in sizes},
                "timesteps": at_least(2),
                "batch_size": BATCH,
                **{
                    name: NON_NEGATIVE
                    for name in ("warmup_epochs", "m_epochs", "e_epochs", "cycles", "eta", "clip_x0", "weight_decay")
                },
                **{
                    name: POSITIVE for name in ("clip_sigma", "nu_p", "nu_q", "diff_weight", "lr", "gen_lr", "lr_gamma")
                },
                "gen_fraction": within(0, 1),
                "ema_decay": within(0, 1, high_open=True),
            },
            choices={
                "input": ("context", "vae"),
                "sampler": ("ddim", "ddpm"),
                "variance": ("fixed_large", "fixed_small"),
                "time_embedding": ("sinusoidal", "learned"),
            },
        )
        if not 1 <= self.sample_steps <= self.timesteps:
            raise ValueError(
                f"diffaug.sample_steps must be in [1, timesteps={self.timesteps}], got {self.sample_steps}"
            )
