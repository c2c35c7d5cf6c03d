"""Gaussian views: the "Contrastive+GaussianAug" baseline of the DACL paper."""

from __future__ import annotations

import torch


def gaussian_views(z0: torch.Tensor, n_views: int, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``(B, K, D)`` views ``z0 + sigma * ε`` (the paper's "Contrastive+GaussianAug" baseline)."""
    noise = torch.randn((z0.shape[0], n_views, z0.shape[1]), generator=generator, device=z0.device, dtype=z0.dtype)
    return z0[:, None, :] + sigma * noise
