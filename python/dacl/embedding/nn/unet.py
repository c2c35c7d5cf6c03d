"""U-Net style 1-D contrastive encoder over a latent vector.

DACL: "A U-Net style encoder" trained with a supervised contrastive objective
on noisy latent views (arXiv 2509.20048 abstract). Layers, widths, output size
and whether the encoder sees the diffusion timestep are not public; ours:

- the latent z (B, D) is read as a one-channel sequence (B, 1, D);
- down path of residual Conv1d blocks (GroupNorm + SiLU, Wu & He 2018;
  Elfwing et al. 2018) with stride-2 downsampling, a bottleneck, and an up path
  with skip connections (Ronneberger et al. 2015);
- readout: the up-path output flattened through a linear layer ("flatten",
  default: VAE latent dimensions have no shift symmetry, so averaging over them
  would throw away which dimension carries what) or mean-pooled ("mean");
- projection head (Chen et al. 2020): Linear-SiLU-Linear, L2-normalised, used
  only by the loss; evaluation uses the pre-head embedding;
- optional sinusoidal timestep conditioning (Ho et al. 2020), off by default
  because the paper does not say; at evaluation the timestep is 0 (clean).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from dacl.embedding.config import EncoderSection
from dacl.layers import sinusoidal_embedding


class EncoderOutput(NamedTuple):
    embedding: torch.Tensor  # (B, embed_dim), what evaluation probes
    projection: torch.Tensor  # (B, proj_dim), L2-normalised, what the loss sees


def _groups(channels: int) -> int:
    return math.gcd(8, channels)


class ResBlock1D(nn.Module):
    """conv-GN-SiLU(-add time)-conv-GN-SiLU with a residual connection."""

    def __init__(self, c_in: int, c_out: int, time_dim: int | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(_groups(c_out), c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.time = nn.Linear(time_dim, c_out) if time_dim else None
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None) -> torch.Tensor:
        h = F.silu(self.norm1(self.conv1(x)))
        if self.time is not None and temb is not None:
            h = h + self.time(temb)[:, :, None]
        h = F.silu(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class UNet1DEncoder(nn.Module):
    """U-Net style encoder: ``forward(z, t=None) -> EncoderOutput``."""

    def __init__(
        self,
        latent_dim: int,
        channels: Sequence[int] = (32, 64, 128),
        embed_dim: int = 128,
        proj_dim: int = 64,
        time_conditioning: bool = False,
        readout: Literal["flatten", "mean"] = "flatten",
    ) -> None:
        super().__init__()
        if not channels:
            raise ValueError("channels must name at least one level")
        if readout not in ("flatten", "mean"):
            raise ValueError(f"readout must be 'flatten' or 'mean', got {readout!r}")
        self.latent_dim, self.channels, self.readout = latent_dim, tuple(channels), readout
        self.embed_dim, self.proj_dim, self.time_conditioning = embed_dim, proj_dim, time_conditioning
        time_dim = 4 * channels[0] if time_conditioning else None
        if time_dim:
            self.time_mlp = nn.Sequential(nn.Linear(channels[0], time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv1d(1, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c_prev = channels[0]
        for i, c in enumerate(channels):
            self.down.append(ResBlock1D(c_prev, c, time_dim))
            if i < len(channels) - 1:
                self.downsample.append(nn.Conv1d(c, c, 3, stride=2, padding=1))
            c_prev = c
        self.mid = ResBlock1D(c_prev, c_prev, time_dim)
        self.up_conv = nn.ModuleList()
        self.up = nn.ModuleList()
        for c in reversed(channels[:-1]):
            self.up_conv.append(nn.Conv1d(c_prev, c, 3, padding=1))
            self.up.append(ResBlock1D(2 * c, c, time_dim))
            c_prev = c
        read_in = c_prev * latent_dim if readout == "flatten" else c_prev
        self.to_embedding = nn.Linear(read_in, embed_dim)
        self.head = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, proj_dim))

    @classmethod
    def from_section(cls, section: EncoderSection, latent_dim: int) -> UNet1DEncoder:
        """The encoder an ``[encoder]`` section describes, over ``latent_dim``-d latents."""
        return cls(
            latent_dim,
            section.channels,
            section.embed_dim,
            section.proj_dim,
            section.time_conditioning,
            section.readout,  # type: ignore[arg-type]  # a str checked against the choices when loaded
        )

    def embed(self, z: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        """Pre-head embedding ``(B, D) -> (B, embed_dim)``; ``t=None`` means clean (t = 0)."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latents of shape (batch, {self.latent_dim}), got {tuple(z.shape)}")
        temb = None
        if self.time_conditioning:
            if t is None:
                t = torch.zeros(z.shape[0], dtype=torch.long, device=z.device)
            temb = self.time_mlp(sinusoidal_embedding(t, self.channels[0]))
        h = self.stem(z[:, None, :])
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, temb)
            if i < len(self.downsample):
                skips.append(h)
                h = self.downsample[i](h)
        h = self.mid(h, temb)
        for conv, block in zip(self.up_conv, self.up, strict=True):
            skip = skips.pop()
            h = conv(F.interpolate(h, size=skip.shape[-1], mode="nearest"))
            h = block(torch.cat([h, skip], dim=1), temb)
        h = h.flatten(1) if self.readout == "flatten" else h.mean(dim=-1)
        return self.to_embedding(h)

    def forward(self, z: torch.Tensor, t: torch.Tensor | None = None) -> EncoderOutput:
        emb = self.embed(z, t)
        return EncoderOutput(emb, F.normalize(self.head(emb).float(), dim=1))
