"""Forward diffusion q(z_t | z_0) in the VAE latent space, as data augmentation.

DACL "utilizes the diffusion forward process as a principled data augmentation
technique to generate multiple noisy 'views'" of the latent embeddings, and v3
finds "early stage diffusion" best (arXiv 2509.20048). Only the closed form of
DDPM's forward process is needed (Ho et al. 2020, eq. 4):

    z_t = sqrt(ᾱ_t) z_0 + sqrt(1 - ᾱ_t) ε,   ε ~ N(0, I).

The schedule ᾱ comes from the Rust core (``dacl._native.NoiseSchedule``); this
module never re-implements it. Noise is drawn with torch on the training
device from an explicit ``torch.Generator``, so runs are reproducible.
All functions are pure given the generator.
"""

from __future__ import annotations

from typing import Any

import torch


def alphas_cumprod(
    kind: str = "linear", timesteps: int = 1000, device: str | torch.device = "cpu", **params: Any
) -> torch.Tensor:
    """``(T + 1,)`` float32 ᾱ on ``device``, with ``ᾱ_0 = 1`` prepended.

    Index ``t`` is diffusion step ``t`` (``t = 0`` is the clean latent), so
    ``alphas_cumprod(...)[t]`` can be indexed with sampled integer timesteps.
    """
    from dacl._native import NoiseSchedule

    schedule = NoiseSchedule(kind, timesteps, **params)
    abar = torch.from_numpy(schedule.alphas_cumprod).to(torch.float64)
    return torch.cat([torch.ones(1, dtype=torch.float64), abar]).to(device=device, dtype=torch.float32)


def q_sample(z0: torch.Tensor, t: torch.Tensor, abar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``sqrt(ᾱ_t) z0 + sqrt(1 - ᾱ_t) noise``; ``t`` broadcasts over ``z0``'s leading axes."""
    a = abar[t].unsqueeze(-1)
    return a.sqrt() * z0 + (1.0 - a).sqrt() * noise


def sample_timesteps(
    batch: int, n_views: int, t_max: int, generator: torch.Generator, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """``(batch, n_views)`` int64 timesteps, uniform on ``{1, ..., t_max}``."""
    if t_max < 1:
        raise ValueError(f"t_max must be >= 1, got {t_max}")
    return torch.randint(1, t_max + 1, (batch, n_views), generator=generator, device=device)


def diffusion_views(
    z0: torch.Tensor, n_views: int, t_max: int, abar: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """K forward-diffusion views of each latent.

    Args:
        z0: ``(B, D)`` clean latents.
        n_views: K, views per latent, each with its own t and ε.
        t_max: largest timestep (``<= len(abar) - 1``); small = "early stage".
        abar: ᾱ from :func:`alphas_cumprod` (with ``ᾱ_0 = 1`` at index 0).
        generator: torch generator on ``z0.device``.

    Returns:
        ``(views (B, K, D), t (B, K))``.
    """
    if t_max > abar.shape[0] - 1:
        raise ValueError(f"t_max={t_max} exceeds the schedule's {abar.shape[0] - 1} timesteps")
    batch, dim = z0.shape
    t = sample_timesteps(batch, n_views, t_max, generator, z0.device)
    noise = torch.randn((batch, n_views, dim), generator=generator, device=z0.device, dtype=z0.dtype)
    return q_sample(z0[:, None, :], t, abar, noise), t


def gaussian_views(z0: torch.Tensor, n_views: int, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``(B, K, D)`` views ``z0 + sigma * ε`` (the paper's "Contrastive+GaussianAug" baseline)."""
    noise = torch.randn((z0.shape[0], n_views, z0.shape[1]), generator=generator, device=z0.device, dtype=z0.dtype)
    return z0[:, None, :] + sigma * noise


def latent_standardiser(z_train: torch.Tensor, mode: str = "per_dim") -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)``, each ``(D,)``, so that ``(z - mean) / std`` is the space the views live in.

    ``"per_dim"`` z-scores every dimension; ``"global"`` centres and divides by
    one scale, the RMS of the per-dimension stds, so dimensions the VAE barely
    uses stay small rather than being scaled up to the size of the informative
    ones; ``"none"`` is the identity.
    """
    if mode == "none":
        return torch.zeros_like(z_train[0]), torch.ones_like(z_train[0])
    mean, std = z_train.mean(dim=0), z_train.std(dim=0)
    if mode == "per_dim":
        return mean, std.clamp_min(1e-6)
    if mode == "global":
        return mean, std.pow(2).mean().sqrt().clamp_min(1e-6).expand_as(std).clone()
    raise ValueError(f"latent standardisation must be 'per_dim', 'global' or 'none', got {mode!r}")
