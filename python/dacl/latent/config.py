"""The ``[vae]`` section: the lightweight VAE and how it is trained."""

from __future__ import annotations

from dataclasses import dataclass

from dacl.settings import NON_NEGATIVE, TRAINING_RULES, at_least, check_fields


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
        check_fields(
            self,
            "vae",
            {**TRAINING_RULES, "latent_dim": at_least(1), "beta": NON_NEGATIVE, "beta_warmup_epochs": NON_NEGATIVE},
            non_empty=("hidden",),
        )
