"""Lightweight MLP VAE over contextualised scattering vectors.

DACL: "a lightweight Variational Autoencoder (VAE) trained on our novel
Scattering Transformer (ST) features" (arXiv 2509.20048 abstract). Widths,
latent size and β are not given; ours: d -> 256 -> 128 -> z (Kingma & Welling
2014), Gaussian decoder (MSE) and β-weighted KL (Higgins et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from dacl.latent.config import VAESection
from dacl.layers import mlp


class VAEOutput(NamedTuple):
    recon: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor


class VAE(nn.Module):
    """MLP VAE ``in_dim -> hidden -> (mu, logvar)``; decoder mirrors the encoder."""

    def __init__(self, in_dim: int, latent_dim: int = 32, hidden: Sequence[int] = (256, 128)) -> None:
        super().__init__()
        self.in_dim, self.latent_dim, self.hidden = in_dim, latent_dim, tuple(hidden)
        self.encoder = nn.Sequential(mlp([in_dim, *hidden]), nn.SiLU())
        self.to_mu = nn.Linear(hidden[-1], latent_dim)
        self.to_logvar = nn.Linear(hidden[-1], latent_dim)
        self.decoder = mlp([latent_dim, *reversed(hidden), in_dim])

    @classmethod
    def from_section(cls, section: VAESection, in_dim: int) -> VAE:
        """The VAE a ``[vae]`` section describes, for ``in_dim``-d inputs."""
        return cls(in_dim, section.latent_dim, section.hidden)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of q(z|x); ``mu`` is DACL's clean latent z0."""
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def forward(self, x: torch.Tensor, sample: bool = True, eps: torch.Tensor | None = None) -> VAEOutput:
        """Decode a sample of q(z|x) (``eps``: its standard normal noise, default drawn here), or μ."""
        mu, logvar = self.encode(x)
        # Reparameterisation trick (Kingma & Welling 2014): z = mu + sigma * eps.
        z = mu
        if sample:
            z = mu + torch.exp(0.5 * logvar) * (torch.randn_like(mu) if eps is None else eps.to(mu.dtype))
        return VAEOutput(self.decoder(z), mu, logvar)


def vae_loss(x: torch.Tensor, out: VAEOutput, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, recon, kl)``: per-sample summed MSE + β·KL(q(z|x) || N(0, I)), batch mean."""
    recon = (out.recon.float() - x.float()).pow(2).sum(dim=1).mean()
    mu, logvar = out.mu.float(), out.logvar.float()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()
    return recon + beta * kl, recon, kl
