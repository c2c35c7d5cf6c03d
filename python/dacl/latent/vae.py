"""Lightweight MLP VAE over contextualised scattering vectors, and the DAE baseline.

DACL: "a lightweight Variational Autoencoder (VAE) trained on our novel
Scattering Transformer (ST) features" (arXiv 2509.20048 abstract). Widths,
latent size and β are not given; ours: d -> 256 -> 128 -> z (Kingma & Welling
2014), Gaussian decoder (MSE) and β-weighted KL (Higgins et al. 2017).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import nn

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

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of q(z|x); ``mu`` is DACL's clean latent z0."""
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def forward(self, x: torch.Tensor, sample: bool = True) -> VAEOutput:
        mu, logvar = self.encode(x)
        if sample:  # reparameterisation trick: z = mu + sigma * eps
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        else:
            z = mu
        return VAEOutput(self.decoder(z), mu, logvar)


def vae_loss(x: torch.Tensor, out: VAEOutput, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, recon, kl)``: per-sample summed MSE + β·KL(q(z|x) || N(0, I)), batch mean."""
    recon = (out.recon.float() - x.float()).pow(2).sum(dim=1).mean()
    mu, logvar = out.mu.float(), out.logvar.float()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()
    return recon + beta * kl, recon, kl


class DenoisingAutoencoder(nn.Module):
    """The paper's "DenoisingAutoencoder" baseline (Vincent et al. 2008).

    MLP ``in_dim -> hidden -> bottleneck -> mirror``, trained to reconstruct
    the clean input from ``x + sigma * N(0, I)``; the bottleneck is the embedding.
    """

    def __init__(self, in_dim: int, bottleneck: int = 64, hidden: Sequence[int] = (256, 128)) -> None:
        super().__init__()
        self.in_dim, self.bottleneck, self.hidden = in_dim, bottleneck, tuple(hidden)
        self.encoder = mlp([in_dim, *hidden, bottleneck])
        self.decoder = mlp([bottleneck, *reversed(hidden), in_dim])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x``."""
        return self.decoder(self.encoder(x))
