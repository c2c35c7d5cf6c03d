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

Why a torch :func:`q_sample` beside ``NoiseSchedule.q_sample``: the Rust one is
the CPU/numpy path (counter-based noise, the same for any thread count), while
training draws its views per batch on the training device (CUDA included), from
the torch generator that checkpoints save and restore. A later issue feeds the
Rust path into training; until then :func:`q_sample` is the one torch forward
process, used by the DACL views and by :class:`GaussianDiffusion` (DiffAug's
DDPM: its ε-prediction loss, and the DDPM and DDIM samplers).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dacl._native import NoiseSchedule

#: The noise schedules of :class:`dacl._native.NoiseSchedule`.
ScheduleKind = Literal["linear", "cosine", "sigmoid"]


class Denoiser(Protocol):
    """What the samplers need of a denoiser: its data dimension and ε-prediction ``model(x_t, t, cond)``."""

    dim: int

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor: ...


def alphas_cumprod(
    kind: ScheduleKind = "linear", timesteps: int = 1000, device: str | torch.device = "cpu", **params: Any
) -> torch.Tensor:
    """``(T + 1,)`` float32 ᾱ on ``device``, with ``ᾱ_0 = 1`` prepended.

    Index ``t`` is diffusion step ``t`` (``t = 0`` is the clean latent), so
    ``alphas_cumprod(...)[t]`` can be indexed with sampled integer timesteps.
    """
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


class GaussianDiffusion(nn.Module):
    """Gaussian diffusion (Ho et al. 2020) on the schedule arrays from ``dacl._native``.

    Index ``t = 0..T-1`` is diffusion step ``t + 1``. Arrays are float64 from
    Rust, held as float32 buffers so they follow ``.to(device)``.

    ``variance``: ``"fixed_large"`` (σ²_t = β_t, with β_1 replaced by the
    posterior variance of step 2, as in Ho et al.'s code and the released
    DiffAug code) or ``"fixed_small"`` (σ²_t = β̃_t, the posterior variance).
    """

    def __init__(
        self,
        betas: np.ndarray,
        alphas_cumprod: np.ndarray,
        variance: Literal["fixed_large", "fixed_small"] = "fixed_large",
    ) -> None:
        super().__init__()
        betas = np.asarray(betas, dtype=np.float64)
        abar = np.asarray(alphas_cumprod, dtype=np.float64)
        if betas.ndim != 1 or betas.shape != abar.shape or betas.size < 2:
            raise ValueError(f"schedule arrays must be 1-D, equal length >= 2; got {betas.shape}, {abar.shape}")
        if variance not in ("fixed_large", "fixed_small"):
            raise ValueError(f"variance must be 'fixed_large' or 'fixed_small', got {variance!r}")
        if abar[-1] > 0.01:
            # Samplers start from N(0, I); that is only q(x_T) if the schedule destroys the signal.
            raise ValueError(
                f"schedule ends at alphas_cumprod[T-1] = {abar[-1]:.3g} > 0.01, so x_T is not pure noise: "
                "use more timesteps, a larger beta_end, or the cosine schedule"
            )
        self.timesteps = betas.size
        self.variance = variance
        # Buffers (moved with the module, not saved): the schedule and the sampler coefficients.
        self.alphas_cumprod: torch.Tensor
        self.sqrt_abar: torch.Tensor
        self.sqrt_one_minus_abar: torch.Tensor
        self.post_c0: torch.Tensor
        self.post_ct: torch.Tensor
        self.sigma: torch.Tensor
        abar_prev = np.append(1.0, abar[:-1])
        posterior_var = betas * (1.0 - abar_prev) / (1.0 - abar)
        sigma2 = np.append(posterior_var[1], betas[1:]) if variance == "fixed_large" else posterior_var
        for name, arr in {
            "betas": betas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            "sqrt_abar": np.sqrt(abar),
            "sqrt_one_minus_abar": np.sqrt(1.0 - abar),
            # posterior mean q(x_{t-1} | x_t, x0) = c0 x0 + ct x_t (Ho et al. eq. 7)
            "post_c0": np.sqrt(abar_prev) * betas / (1.0 - abar),
            "post_ct": np.sqrt(1.0 - betas) * (1.0 - abar_prev) / (1.0 - abar),
            "sigma": np.sqrt(sigma2),
        }.items():
            self.register_buffer(name, torch.as_tensor(arr, dtype=torch.float32), persistent=False)

    @classmethod
    def from_native(
        cls,
        kind: ScheduleKind = "linear",
        timesteps: int = 1000,
        variance: Literal["fixed_large", "fixed_small"] = "fixed_large",
        **params: float,
    ) -> GaussianDiffusion:
        """Build from ``dacl._native.NoiseSchedule(kind, timesteps, **params)``."""
        s = NoiseSchedule(kind, timesteps, **params)
        return cls(np.asarray(s.betas), np.asarray(s.alphas_cumprod), variance=variance)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t = sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε`` (Ho et al. eq. 4), through the module's :func:`q_sample`."""
        return q_sample(x0, t, self.alphas_cumprod, noise)

    def draw(
        self, n: int, like: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(t, ε)`` for ``n`` rows shaped like those of ``like``: ``t ~ U{0..T-1}`` per row, ε standard normal."""
        t = torch.randint(0, self.timesteps, (n,), device=like.device, generator=generator)
        return t, torch.randn((n, *like.shape[1:]), device=like.device, dtype=like.dtype, generator=generator)

    def loss(
        self,
        model: nn.Module,
        x0: torch.Tensor,
        cond: torch.Tensor,
        generator: torch.Generator | None = None,
        draws: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """ε-prediction MSE with ``t ~ U{0..T-1}`` (Ho et al. Alg. 1). ``cond`` should be detached;
        ``draws``: the ``(t, ε)`` of :meth:`draw`, default drawn here from ``generator``."""
        t, noise = self.draw(len(x0), x0, generator) if draws is None else draws
        eps = model(self.q_sample(x0, t, noise), t, cond)
        return F.mse_loss(eps.float(), noise.float())

    def _x0_from_eps(self, x_t: torch.Tensor, t: int, eps: torch.Tensor, clip: float | None) -> torch.Tensor:
        x0 = (x_t - self.sqrt_one_minus_abar[t] * eps) / self.sqrt_abar[t]
        return x0.clamp(-clip, clip) if clip is not None else x0

    @torch.no_grad()
    def sample_ddpm(
        self, model: Denoiser, cond: torch.Tensor, clip: float | None = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Ancestral sampling from pure noise through all T steps (Ho et al. Alg. 2).

        The mean uses the (optionally clipped) x̂0 through the posterior
        q(x_{t-1} | x_t, x̂0), as in Ho et al.'s code. Runs on ``cond``'s device.
        """
        b, dev = cond.shape[0], cond.device
        x = torch.randn((b, model.dim), device=dev, generator=generator)
        for t in range(self.timesteps - 1, -1, -1):
            tt = torch.full((b,), t, device=dev, dtype=torch.long)
            x0 = self._x0_from_eps(x, t, model(x, tt, cond).float(), clip)
            x = self.post_c0[t] * x0 + self.post_ct[t] * x
            if t > 0:
                x = x + self.sigma[t] * torch.randn(x.shape, device=dev, generator=generator)
        return x

    @torch.no_grad()
    def sample_ddim(
        self,
        model: Denoiser,
        cond: torch.Tensor,
        steps: int = 50,
        eta: float = 0.0,
        clip: float | None = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Fast sampler of Song et al. 2021 (DDIM, eq. 12 and 16) on ``steps`` evenly spaced timesteps.

        ``eta = 0`` is deterministic DDIM; ``eta = 1`` with ``steps = T`` is
        ancestral DDPM with the posterior ("fixed_small") variance. After
        clipping x̂0, ε is recomputed from it so the update stays consistent.
        """
        if not 1 <= steps <= self.timesteps:
            raise ValueError(f"steps must be in [1, {self.timesteps}], got {steps}")
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        b, dev = cond.shape[0], cond.device
        taus = np.unique(np.round(np.linspace(0, self.timesteps - 1, steps)).astype(np.int64))
        x = torch.randn((b, model.dim), device=dev, generator=generator)
        for i in range(len(taus) - 1, -1, -1):
            t = int(taus[i])
            abar = self.alphas_cumprod[t]
            abar_prev = self.alphas_cumprod[int(taus[i - 1])] if i > 0 else torch.ones_like(abar)
            tt = torch.full((b,), t, device=dev, dtype=torch.long)
            eps = model(x, tt, cond).float()
            x0 = self._x0_from_eps(x, t, eps, clip)
            eps = (x - abar.sqrt() * x0) / (1.0 - abar).sqrt()
            sigma = eta * ((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev)).sqrt()
            x = abar_prev.sqrt() * x0 + (1.0 - abar_prev - sigma**2).clamp_min(0.0).sqrt() * eps
            if i > 0 and eta > 0:
                x = x + sigma * torch.randn(x.shape, device=dev, generator=generator)
        return x
