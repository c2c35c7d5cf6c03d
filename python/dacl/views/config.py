"""The ``[diffusion]``, ``[gauss]`` and ``[signal_views]`` sections: how the contrastive encoder's views are drawn."""

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
    n_views: int = 2  # K noisy views per sample; 0 = none (only beside signal-space views)
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
        check_fields(
            self,
            "diffusion",
            {"timesteps": at_least(2), "n_views": NON_NEGATIVE},
            choices={"normalise_latents": LATENT_NORMS},
        )
        if not 1 <= self.t_max <= self.timesteps:
            raise ValueError(f"diffusion.t_max must be in [1, timesteps={self.timesteps}], got {self.t_max}")


@dataclass(frozen=True)
class GaussSection:
    sigma: float = 0.5  # gauss-contrastive views z0 + sigma * N(0, I)

    def __post_init__(self) -> None:
        check_fields(self, "gauss", {"sigma": NON_NEGATIVE})


@dataclass(frozen=True)
class SignalViewsSection:
    """Signal-space diffusion views for the SupCon encoder (:mod:`dacl.views.signal`, configs/dacl-robust.toml).

    White noise at a level set by ``t ~ U{1..t_max}`` (``abar_t``; or an SNR range), added to the raw
    record or to the segmented window and featurised by the dataset's own featuriser, then passed
    through context -> VAE -> latent standardisation like a clean window.
    """

    n_views: int = 0  # K signal-space views per window in each SupCon step; 0 = off
    placement: str = "record"  # "record": noise before the band-pass, as --robustness adds it; "window"
    levels: str = "diffusion"  # "diffusion": t ~ U{1..t_max}; "snr": SNR ~ U(snr_low, snr_high) dB
    schedule: str = "linear"  # dacl._native.NoiseSchedule kind
    timesteps: int = 1000
    t_max: int = 259  # linear schedule: abar_259 ~ 0.5 (0 dB); t = 16 ~ 24 dB, 74 ~ 12 dB, 145 ~ 6 dB
    snr_low: float = 0.0
    snr_high: float = 24.0
    bank_size: int = 8  # B views per window made once per seed, K drawn per epoch; 0 = K new views every epoch
    vae_views: int = 0  # noisy views per window added to each VAE batch (0 = the VAE sees clean windows only)
    corpus: str = ""  # the raw corpus; "" = the source recorded in the dataset manifest
    cache: str = ""  # a folder that keeps view banks between runs of one dataset, split and seed ("" = none)
    threads: int = 1  # Rust featuriser threads (the views do not depend on it)

    def __post_init__(self) -> None:
        check_fields(
            self,
            "signal_views",
            {
                "n_views": NON_NEGATIVE,
                "timesteps": at_least(2),
                "bank_size": NON_NEGATIVE,
                "vae_views": NON_NEGATIVE,
                "threads": at_least(1),
            },
            choices={"placement": PLACEMENTS, "levels": LEVEL_KINDS},
        )
        if not 1 <= self.t_max <= self.timesteps:
            raise ValueError(f"signal_views.t_max must be in [1, timesteps={self.timesteps}], got {self.t_max}")
        if self.snr_low > self.snr_high:
            raise ValueError(f"signal_views.snr_low must be <= snr_high, got {self.snr_low} > {self.snr_high}")
        if self.vae_views and not self.bank_size:
            raise ValueError(
                "signal_views.vae_views needs a view bank (bank_size >= 1): new views for every "
                "VAE epoch would featurise the train split once per epoch"
            )
        if self.bank_size and max(self.n_views, self.vae_views) > self.bank_size:
            raise ValueError(
                f"signal_views: cannot draw {max(self.n_views, self.vae_views)} distinct views per "
                f"window from a bank of {self.bank_size}"
            )
