"""DiffAug (Zang et al., ICML 2024, arXiv 2309.07909): the networks and the diffusion.

DiffAug trains two models in turn on unlabelled vectors ``x`` (here: a window's
contextualised scattering vector or VAE latent, scaled to about [-1, 1]):

* a **semantic encoder** ``Enc`` whose code ``z = Enc(x)`` is the representation,
  trained with a soft contrastive loss through a **projection head** ``Vis``
  (:func:`dacl.embedding.losses.soft_contrastive_loss`);
* a **conditional denoiser** ``Gen`` (DDPM, Ho et al. 2020), conditioned on
  ``sg[Enc(x)]``, whose samples become extra positives for ``Enc``.

This module holds the pieces; ``dacl.train_diffaug`` holds the E/M/E schedule.
Shapes follow the released code (see docs/diffaug-method.md §1), with the
fixes the doc lists: the EMA starts as a *copy* of the online net, and
sampling runs on whatever device the model is on.

Data scaling (the sampler's x̂0 clipping assumes it): :class:`VectorScaler`
z-scores each dimension on the train split, divides by ``clip_sigma`` and clips
to [-1, 1], so ±``clip_sigma`` standard deviations fill the clipping box.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dacl.devices import make_generator  # noqa: F401  (re-exported until the move)
from dacl.layers import sinusoidal_embedding

# --------------------------------------------------------------------- scaling


@dataclass
class VectorScaler:
    """``x -> clip((x - mean) / (clip_sigma * std), -1, 1)``, fitted on the train split.

    DDPM sampling clips x̂0 to [-1, 1] (Ho et al. 2020, as in the released
    code); this maps the data into that box. ``inverse`` undoes the affine
    part (clipped tails stay clipped).
    """

    mean: np.ndarray
    std: np.ndarray
    clip_sigma: float = 3.0

    @classmethod
    def fit(cls, x: np.ndarray, clip_sigma: float = 3.0, eps: float = 1e-6) -> VectorScaler:
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"VectorScaler.fit needs an (n >= 2, d) array, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("VectorScaler.fit: input contains NaN or inf")
        if clip_sigma <= 0:
            raise ValueError(f"clip_sigma must be > 0, got {clip_sigma}")
        x64 = x.astype(np.float64)
        # eps floor: a constant dimension maps to 0 instead of dividing by zero.
        return cls(mean=x64.mean(axis=0), std=np.maximum(x64.std(axis=0), eps), clip_sigma=float(clip_sigma))

    def transform(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"expected (n, {self.mean.shape[0]}) input, got shape {x.shape}")
        return np.clip((x - self.mean) / (self.clip_sigma * self.std), -1.0, 1.0).astype(np.float32)

    def transform_torch(self, x: torch.Tensor) -> torch.Tensor:
        mean, scale = self._torch(x)
        return ((x - mean) / scale).clamp(-1.0, 1.0)

    def inverse_torch(self, x: torch.Tensor) -> torch.Tensor:
        mean, scale = self._torch(x)
        return x * scale + mean

    def _torch(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.as_tensor(self.mean, dtype=like.dtype, device=like.device)
        scale = torch.as_tensor(self.clip_sigma * self.std, dtype=like.dtype, device=like.device)
        return mean, scale

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "clip_sigma": self.clip_sigma}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VectorScaler:
        return cls(
            mean=np.asarray(d["mean"], dtype=np.float64),
            std=np.asarray(d["std"], dtype=np.float64),
            clip_sigma=float(d["clip_sigma"]),
        )


# ------------------------------------------------------------ encoder and head


def _mlp_blocks(widths: list[int], final_activation: bool, negative_slope: float) -> nn.Sequential:
    """Linear -> LeakyReLU -> BatchNorm1d blocks (the released code's block order)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2 or final_activation:
            layers.append(nn.LeakyReLU(negative_slope))
        layers.append(nn.BatchNorm1d(b))
    return nn.Sequential(*layers)


class SemanticEncoder(nn.Module):
    """``Enc(·|θ)``: MLP ``D -> 500 -> 500 -> 500 -> 50`` (default widths).

    Every block, the last included, is Linear -> LeakyReLU(0.1) -> BatchNorm1d,
    as in the released code. The output code is the representation and the
    denoiser's condition.
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...] = (500, 500, 500), code_dim: int = 50,
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        if in_dim < 1 or code_dim < 1:
            raise ValueError(f"in_dim and code_dim must be >= 1, got {in_dim}, {code_dim}")
        self.in_dim, self.code_dim = in_dim, code_dim
        self.net = _mlp_blocks([in_dim, *hidden, code_dim], final_activation=True, negative_slope=negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ProjectionHead(nn.Module):
    """``Vis``: code ``50 -> 500 -> 500 -> h``; the last block is Linear + BatchNorm, no activation.

    The soft contrastive similarity Q is measured in this space. The released
    code uses ``h = 2`` (a visualisation head inherited from DMT-EV); see
    configs/diffaug.toml for the default we use and why.
    """

    def __init__(self, code_dim: int = 50, hidden: tuple[int, ...] = (500, 500), out_dim: int = 2,
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.net = _mlp_blocks([code_dim, *hidden, out_dim], final_activation=False, negative_slope=negative_slope)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


# ----------------------------------------------------------- conditional denoiser


class _ResBlock(nn.Module):
    """``[LeakyReLU, Norm] Linear(D, H) LeakyReLU Norm Linear(H, D)``.

    Norm is an affine-free per-sample LayerNorm: that is what the released
    code's InstanceNorm1d does to its 2-D ``(B, D)`` inputs.
    """

    def __init__(self, dim: int, hidden: int, pre_activation: bool, negative_slope: float) -> None:
        super().__init__()
        pre: list[nn.Module] = [nn.LeakyReLU(negative_slope), nn.LayerNorm(dim, elementwise_affine=False)]
        self.net = nn.Sequential(
            *(pre if pre_activation else []),
            nn.Linear(dim, hidden),
            nn.LeakyReLU(negative_slope),
            nn.LayerNorm(hidden, elementwise_affine=False),
            nn.Linear(hidden, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConditionalDenoiser(nn.Module):
    """``Gen(·|φ)``: predicts ε from ``(x_t, t, c)``, an MLP with U-Net-like skips.

    * time embedding: sinusoidal -> MLP (default) or a learned table ``Embedding(T, D)``;
    * condition embedding: MLP ``code_dim -> 200 -> 200 -> D``;
    * ``n_blocks`` encoder and ``n_blocks`` decoder residual blocks; every block's
      input is (skip sum) + time embedding + condition embedding, i.e. additive
      conditioning at every block;
    * skips: encoder block k receives the sum of all earlier encoder outputs
      (x_t included); decoder block k receives the sum of earlier decoder
      outputs plus the mirrored encoder output (dec2 <- enc_{n-1}, ...).
    """

    def __init__(self, dim: int, code_dim: int = 50, timesteps: int = 1000, hidden: int = 2000,
                 n_blocks: int = 4, cond_hidden: int = 200,
                 time_embedding: Literal["sinusoidal", "learned"] = "sinusoidal",
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        if time_embedding not in ("sinusoidal", "learned"):
            raise ValueError(f"time_embedding must be 'sinusoidal' or 'learned', got {time_embedding!r}")
        self.dim, self.code_dim, self.timesteps = dim, code_dim, timesteps
        self.time_embedding = time_embedding
        act = nn.LeakyReLU(negative_slope)
        if time_embedding == "learned":
            self.time_emb: nn.Module = nn.Embedding(timesteps, dim)
        else:
            self.time_emb = nn.Sequential(nn.Linear(dim, cond_hidden), act, nn.Linear(cond_hidden, dim))
        self.cond_emb = nn.Sequential(
            nn.Linear(code_dim, cond_hidden), act, nn.Linear(cond_hidden, cond_hidden), act,
            nn.Linear(cond_hidden, dim),
        )
        self.enc = nn.ModuleList(_ResBlock(dim, hidden, i > 0, negative_slope) for i in range(n_blocks))
        self.dec = nn.ModuleList(_ResBlock(dim, hidden, True, negative_slope) for _ in range(n_blocks))
        # Ours: a linear path from x_t to the output. Every block ends in per-sample normalisation, so
        # without it the net cannot pass x_t's scale through (at high t, ε ≈ x_t); see tests.
        self.skip = nn.Linear(dim, dim)

    def embed_time(self, t: torch.Tensor) -> torch.Tensor:
        if self.time_embedding == "learned":
            return self.time_emb(t)
        return self.time_emb(sinusoidal_embedding(t, self.dim))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        emb = self.embed_time(t) + self.cond_emb(cond)
        enc_out = [x_t]
        for block in self.enc:
            enc_out.append(block(torch.stack(enc_out).sum(0) + emb))
        dec_out = [enc_out[-1]]
        n = len(self.enc)
        for k, block in enumerate(self.dec):
            skip = enc_out[n - k] if k > 0 else 0.0
            dec_out.append(block(torch.stack(dec_out).sum(0) + skip + emb))
        return dec_out[-1] + self.skip(x_t)


# ------------------------------------------------------------------------- EMA


class EMA:
    """Exponential moving average of a module's weights, used for sampling.

    Starts as an exact copy of the online module (the released code initialised
    it independently at random, so early samples came from an untrained net).
    Buffers are copied, not averaged.

    Warm-up: update ``n`` (from 1) uses ``min(decay, (1 + n) / (10 + n))``, the
    ``num_updates`` rule of TensorFlow's ``ExponentialMovingAverage``. Without it
    a decay of 0.9999 keeps ~92 % of the *initial* weights after 800 updates,
    and a short generator phase then samples from a nearly untrained net (we
    measured exactly that: views no nearer their own conditioning sample than
    to any other). With ``warmup=False`` the plain constant decay is used.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update will use."""
        n = self.num_updates + 1
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.current_decay()
        self.num_updates += 1
        for ema_p, p in zip(self.model.parameters(), model.parameters(), strict=True):
            ema_p.lerp_(p.detach(), 1.0 - decay)
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "warmup": self.warmup, "num_updates": self.num_updates,
                "model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        # Checkpoints written before the warm-up existed used the constant decay.
        self.warmup = bool(state.get("warmup", False))
        self.num_updates = int(state.get("num_updates", 0))
        self.model.load_state_dict(state["model"])


# ------------------------------------------------------------------- diffusion


class Diffusion(nn.Module):
    """Gaussian diffusion (Ho et al. 2020) on the schedule arrays from ``dacl._native``.

    Index ``t = 0..T-1`` is diffusion step ``t + 1``. Arrays are float64 from
    Rust, held as float32 buffers so they follow ``.to(device)``.

    ``variance``: ``"fixed_large"`` (σ²_t = β_t, with β_1 replaced by the
    posterior variance of step 2, as in Ho et al.'s code and the released
    DiffAug code) or ``"fixed_small"`` (σ²_t = β̃_t, the posterior variance).
    """

    def __init__(self, betas: np.ndarray, alphas_cumprod: np.ndarray,
                 variance: Literal["fixed_large", "fixed_small"] = "fixed_large") -> None:
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
        abar_prev = np.append(1.0, abar[:-1])
        posterior_var = betas * (1.0 - abar_prev) / (1.0 - abar)
        sigma2 = np.append(posterior_var[1], betas[1:]) if variance == "fixed_large" else posterior_var
        for name, arr in {
            "betas": betas, "alphas_cumprod": abar, "alphas_cumprod_prev": abar_prev,
            "sqrt_abar": np.sqrt(abar), "sqrt_one_minus_abar": np.sqrt(1.0 - abar),
            # posterior mean q(x_{t-1} | x_t, x0) = c0 x0 + ct x_t (Ho et al. eq. 7)
            "post_c0": np.sqrt(abar_prev) * betas / (1.0 - abar),
            "post_ct": np.sqrt(1.0 - betas) * (1.0 - abar_prev) / (1.0 - abar),
            "sigma": np.sqrt(sigma2),
        }.items():
            self.register_buffer(name, torch.as_tensor(arr, dtype=torch.float32), persistent=False)

    @classmethod
    def from_native(cls, kind: str = "linear", timesteps: int = 1000,
                    variance: Literal["fixed_large", "fixed_small"] = "fixed_large",
                    **params: float) -> Diffusion:
        """Build from ``dacl._native.NoiseSchedule(kind, timesteps, **params)``."""
        from dacl._native import NoiseSchedule

        s = NoiseSchedule(kind, timesteps, **params)
        return cls(np.asarray(s.betas), np.asarray(s.alphas_cumprod), variance=variance)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t = sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) ε`` (Ho et al. eq. 4)."""
        return self.sqrt_abar[t, None] * x0 + self.sqrt_one_minus_abar[t, None] * noise

    def loss(self, model: nn.Module, x0: torch.Tensor, cond: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """ε-prediction MSE with ``t ~ U{0..T-1}`` (Ho et al. Alg. 1). ``cond`` should be detached."""
        t = torch.randint(0, self.timesteps, (x0.shape[0],), device=x0.device, generator=generator)
        noise = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
        eps = model(self.q_sample(x0, t, noise), t, cond)
        return F.mse_loss(eps.float(), noise.float())

    def _x0_from_eps(self, x_t: torch.Tensor, t: int, eps: torch.Tensor, clip: float | None) -> torch.Tensor:
        x0 = (x_t - self.sqrt_one_minus_abar[t] * eps) / self.sqrt_abar[t]
        return x0.clamp(-clip, clip) if clip is not None else x0

    @torch.no_grad()
    def sample_ddpm(self, model: nn.Module, cond: torch.Tensor, clip: float | None = 1.0,
                    generator: torch.Generator | None = None) -> torch.Tensor:
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
    def sample_ddim(self, model: nn.Module, cond: torch.Tensor, steps: int = 50, eta: float = 0.0,
                    clip: float | None = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
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
