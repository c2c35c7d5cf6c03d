"""The ``[diffusion]`` and ``[gauss]`` sections: how the contrastive encoder's views are drawn."""

from __future__ import annotations

from dataclasses import dataclass, field

from dacl.settings import NON_NEGATIVE, at_least, check_fields

#: Where signal-space views put their noise, and how they draw its level (see :mod:`dacl.views.signal`).
PLACEMENTS: tuple[str, ...] = ("record", "window")
LEVEL_KINDS: tuple[str, ...] = ("diffusion", "snr")

#: How the VAE means are standardised before views are drawn (see :mod:`dacl.latent.scalers`).
LATENT_NORMS: tuple[str, ...] = ("per_dim", "global", "none")


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
