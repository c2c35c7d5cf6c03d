"""The one standardiser: ``(x - mean) / scale``, fitted on the train split only.

Three callers, one class, each with its own numbers:

* contextualised vectors before the VAE, DAE and DiffAug (numpy, float64
  statistics, population std, a floor of ``eps``): ``Standardiser.fit(x)``;
* DiffAug's inputs, which its sampler clips to [-1, 1]: the same statistics
  divided by ``clip`` (so ±``clip`` standard deviations fill the box) and
  clipped: ``Standardiser.fit(x, clip=3.0)``;
* the frozen VAE means before diffusion views (torch, float32 on the training
  device, unbiased std): ``Standardiser.fit(z, ddof=1, mode=...)`` with
  ``mode`` ``"per_dim"`` (z-score every dimension), ``"global"`` (centre, then
  divide by one scale, the RMS of the per-dimension stds, so dimensions the VAE
  barely uses stay small rather than being blown up to the size of the
  informative ones) or ``"none"`` (the identity).

Statistics keep the type they were fitted on (numpy or torch); both transforms
accept either. Files written by earlier versions store ``{mean, std}`` (and
DiffAug's ``clip_sigma``); :meth:`Standardiser.from_dict` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

Mode = Literal["per_dim", "global", "none"]
MODES: tuple[str, ...] = ("per_dim", "global", "none")


@dataclass
class Standardiser:
    """``(x - mean) / scale``, ``scale = clip * std`` (``std`` without ``clip``), clipped to [-1, 1] with ``clip``.

    ``mean`` and ``std`` are ``(d,)`` numpy float64 arrays or torch tensors, as fitted.
    """

    mean: Any
    std: Any
    clip: float | None = None

    @classmethod
    def fit(cls, x: np.ndarray | torch.Tensor, *, mode: str = "per_dim", ddof: int = 0, clip: float | None = None,
            eps: float = 1e-6) -> Standardiser:
        """Fit on the ``(n, d)`` rows of ``x`` (see the module docstring); ``eps`` floors every scale,
        so a constant dimension maps to 0 instead of dividing by zero."""
        if mode not in MODES:
            raise ValueError(f"Standardiser mode must be 'per_dim', 'global' or 'none', got {mode!r}")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be > 0, got {clip}")
        stats: tuple[Any, Any]
        if isinstance(x, torch.Tensor):
            stats = _torch_stats(x, mode, ddof, eps)
        else:
            stats = _numpy_stats(np.asarray(x), mode, ddof, eps)
        mean, std = stats
        return cls(mean=mean, std=std, clip=None if clip is None else float(clip))

    @property
    def scale(self) -> Any:
        return self.std if self.clip is None else self.clip * self.std

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised ``(n, d)`` rows as float32 (computed in float64)."""
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(f"expected (n, {len(self.mean)}) input, got shape {x.shape}")
        y = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return (y if self.clip is None else np.clip(y, -1.0, 1.0)).astype(np.float32)

    def transform_torch(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised rows in ``x``'s dtype and device."""
        mean, scale = self._like(x)
        y = (x - mean) / scale
        return y if self.clip is None else y.clamp(-1.0, 1.0)

    def inverse_torch(self, y: torch.Tensor) -> torch.Tensor:
        """Undo the affine part (clipped tails stay clipped)."""
        mean, scale = self._like(y)
        return y * scale + mean

    def _like(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.as_tensor(self.mean, dtype=like.dtype, device=like.device)
        scale = torch.as_tensor(self.scale, dtype=like.dtype, device=like.device)
        return mean, scale

    def to_dict(self) -> dict[str, Any]:
        """Plain lists (and DiffAug's ``clip_sigma``), the layout earlier versions wrote."""
        d: dict[str, Any] = {"mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist()}
        if self.clip is not None:
            d["clip_sigma"] = self.clip
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Standardiser:
        clip = d.get("clip_sigma")
        return cls(mean=np.asarray(d["mean"], dtype=np.float64), std=np.asarray(d["std"], dtype=np.float64),
                   clip=None if clip is None else float(clip))


def _numpy_stats(x: np.ndarray, mode: str, ddof: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim != 2 or x.shape[0] < 1 + ddof:
        raise ValueError(f"Standardiser.fit needs a non-empty (n, d) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("Standardiser.fit: input contains NaN or inf")
    x64 = x.astype(np.float64)
    if mode == "none":
        return np.zeros(x.shape[1]), np.ones(x.shape[1])
    mean, std = x64.mean(axis=0), x64.std(axis=0, ddof=ddof)
    if mode == "global":
        return mean, np.full_like(std, max(float(np.sqrt(np.mean(std**2))), eps))
    return mean, np.maximum(std, eps)


def _torch_stats(z: torch.Tensor, mode: str, ddof: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    if z.ndim != 2 or z.shape[0] < 1 + ddof:
        raise ValueError(f"Standardiser.fit needs a non-empty (n, d) array, got shape {tuple(z.shape)}")
    if mode == "none":
        return torch.zeros_like(z[0]), torch.ones_like(z[0])
    mean, std = z.mean(dim=0), z.std(dim=0, correction=ddof)
    if mode == "global":
        return mean, std.pow(2).mean().sqrt().clamp_min(eps).expand_as(std).clone()
    return mean, std.clamp_min(eps)
