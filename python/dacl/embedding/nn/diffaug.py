"""DiffAug (Zang et al., ICML 2024, arXiv 2309.07909): the networks.

DiffAug trains two models in turn on unlabelled vectors ``x`` (here: a window's
contextualised scattering vector or VAE latent, scaled to about [-1, 1]):

* a **semantic encoder** ``Enc`` whose code ``z = Enc(x)`` is the representation,
  trained with a soft contrastive loss through a **projection head** ``Vis``
  (:func:`dacl.embedding.losses.soft_contrastive_loss`);
* a **conditional denoiser** ``Gen`` (DDPM, Ho et al. 2020), conditioned on
  ``sg[Enc(x)]``, whose samples become extra positives for ``Enc``.

This module holds the networks; the diffusion is
:class:`dacl.views.diffusion.GaussianDiffusion`, the EMA copy
:class:`dacl.training.ema.EMA`, and :mod:`dacl.training.diffaug` the E/M/E
schedule. Shapes follow the released code (see docs/diffaug.md §1), with the
fixes the doc lists. The inputs are scaled into [-1, 1] (the sampler's x̂0
clipping assumes it) by a clipping :class:`dacl.latent.scalers.Standardiser`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn

from dacl.embedding.config import DiffAugSection
from dacl.layers import sinusoidal_embedding

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

    def __init__(
        self, in_dim: int, hidden: tuple[int, ...] = (500, 500, 500), code_dim: int = 50, negative_slope: float = 0.1
    ) -> None:
        super().__init__()
        if in_dim < 1 or code_dim < 1:
            raise ValueError(f"in_dim and code_dim must be >= 1, got {in_dim}, {code_dim}")
        self.in_dim, self.code_dim = in_dim, code_dim
        self.net = _mlp_blocks([in_dim, *hidden, code_dim], final_activation=True, negative_slope=negative_slope)

    @classmethod
    def from_section(cls, section: DiffAugSection, in_dim: int) -> SemanticEncoder:
        return cls(in_dim, section.enc_hidden, section.code_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Codes of ``x`` in eval mode, in batches, without gradients."""
        self.eval()
        return torch.cat([self(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])


class ProjectionHead(nn.Module):
    """``Vis``: code ``50 -> 500 -> 500 -> h``; the last block is Linear + BatchNorm, no activation.

    The soft contrastive similarity Q is measured in this space. The released
    code uses ``h = 2`` (a visualisation head inherited from DMT-EV); see
    configs/diffaug.toml for the default we use and why.
    """

    def __init__(
        self, code_dim: int = 50, hidden: tuple[int, ...] = (500, 500), out_dim: int = 2, negative_slope: float = 0.1
    ) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.net = _mlp_blocks([code_dim, *hidden, out_dim], final_activation=False, negative_slope=negative_slope)

    @classmethod
    def from_section(cls, section: DiffAugSection) -> ProjectionHead:
        return cls(section.code_dim, section.head_hidden, section.head_dim)

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

    def __init__(
        self,
        dim: int,
        code_dim: int = 50,
        timesteps: int = 1000,
        hidden: int = 2000,
        n_blocks: int = 4,
        cond_hidden: int = 200,
        time_embedding: Literal["sinusoidal", "learned"] = "sinusoidal",
        negative_slope: float = 0.1,
    ) -> None:
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
            nn.Linear(code_dim, cond_hidden),
            act,
            nn.Linear(cond_hidden, cond_hidden),
            act,
            nn.Linear(cond_hidden, dim),
        )
        self.enc = nn.ModuleList(_ResBlock(dim, hidden, i > 0, negative_slope) for i in range(n_blocks))
        self.dec = nn.ModuleList(_ResBlock(dim, hidden, True, negative_slope) for _ in range(n_blocks))
        # Ours: a linear path from x_t to the output. Every block ends in per-sample normalisation, so
        # without it the net cannot pass x_t's scale through (at high t, ε ≈ x_t); see tests.
        self.skip = nn.Linear(dim, dim)

    @classmethod
    def from_section(cls, section: DiffAugSection, dim: int) -> ConditionalDenoiser:
        return cls(
            dim,
            section.code_dim,
            section.timesteps,
            section.den_hidden,
            section.den_blocks,
            section.cond_hidden,
            section.time_embedding,  # type: ignore[arg-type]  # a str checked against the choices when loaded
        )

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
