"""The paper's "DenoisingAutoencoder" baseline (Vincent et al. 2008)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dacl.embedding.config import DAESection
from dacl.layers import mlp


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

    @classmethod
    def from_section(cls, section: DAESection, in_dim: int) -> DenoisingAutoencoder:
        """The autoencoder a ``[dae]`` section describes, for ``in_dim``-d inputs."""
        return cls(in_dim, section.bottleneck, section.hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x``."""
        return self.decoder(self.encoder(x))
