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

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from dacl.features.sharded import ShardedArray

Mode = Literal["per_dim", "global", "none"]
MODES: tuple[str, ...] = ("per_dim", "global", "none")
#: Rows converted to float64 at a time (fitting and transforming numpy rows): memory stays that of ``x``.
ROWS_PER_BLOCK = 4096


@dataclass
class Standardiser:
    """``(x - mean) / scale``, ``scale = clip * std`` (``std`` without ``clip``), clipped to [-1, 1] with ``clip``.

    ``mean`` and ``std`` are ``(d,)`` numpy float64 arrays or torch tensors, as fitted.
    """

    mean: Any
    std: Any
    clip: float | None = None

    @classmethod
    def fit(
        cls,
        x: np.ndarray | ShardedArray | torch.Tensor,
        *,
        mode: str = "per_dim",
        ddof: int = 0,
        clip: float | None = None,
        eps: float = 1e-6,
    ) -> Standardiser:
        """Fit on the ``(n, d)`` rows of ``x`` (see the module docstring); ``eps`` floors every scale,
        so a constant dimension maps to 0 instead of dividing by zero. Numpy rows are read a block at a time,
        so ``x`` may be a :class:`~dacl.features.sharded.ShardedArray` on disk."""
        if mode not in MODES:
            raise ValueError(f"Standardiser mode must be 'per_dim', 'global' or 'none', got {mode!r}")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be > 0, got {clip}")
        stats: tuple[Any, Any]
        if isinstance(x, torch.Tensor):
            stats = _torch_stats(x, mode, ddof, eps)
        else:
            stats = _numpy_stats(x if isinstance(x, ShardedArray) else np.asarray(x), mode, ddof, eps)
        mean, std = stats
        return cls(mean=mean, std=std, clip=None if clip is None else float(clip))

    @property
    def scale(self) -> Any:
        return self.std if self.clip is None else self.clip * self.std

    def transform(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Standardised ``(n, d)`` rows as float32 (computed in float64), into ``out`` if given: a float32
        array of ``x``'s shape, which may be ``x`` itself (a large split then needs no second copy)."""
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(f"expected (n, {len(self.mean)}) input, got shape {x.shape}")
        mean, scale = np.asarray(self.mean), np.asarray(self.scale)
        if out is None:
            out = np.empty(x.shape, np.float32)
        elif out.shape != x.shape or out.dtype != np.float32:
            raise ValueError(f"out must be float32 of shape {x.shape}, got {out.dtype} {out.shape}")
        for lo in range(0, len(x), ROWS_PER_BLOCK):  # row by row arithmetic: blocks give the numbers of one pass
            y = (x[lo : lo + ROWS_PER_BLOCK] - mean) / scale
            out[lo : lo + ROWS_PER_BLOCK] = y if self.clip is None else np.clip(y, -1.0, 1.0)
        return out

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
        return cls(
            mean=np.asarray(d["mean"], dtype=np.float64),
            std=np.asarray(d["std"], dtype=np.float64),
            clip=None if clip is None else float(clip),
        )


def _numpy_stats(x: np.ndarray | ShardedArray, mode: str, ddof: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim != 2 or x.shape[0] < 1 + ddof:
        raise ValueError(f"Standardiser.fit needs a non-empty (n, d) array, got shape {x.shape}")
    if not all(np.isfinite(block).all() for block in _blocks(x)):
        raise ValueError("Standardiser.fit: input contains NaN or inf")
    if mode == "none":
        return np.zeros(x.shape[1]), np.ones(x.shape[1])
    # numpy's mean and std over axis 0, a block of rows at a time: an axis-0 sum adds the rows in order,
    # so carrying the running sum into the next block's sum gives the very same float64 numbers.
    total = np.zeros(x.shape[1])
    for block in _blocks(x):
        total = np.add.reduce(np.concatenate([total[None], block]), axis=0)
    mean = total / len(x)
    squares = np.zeros(x.shape[1])
    for block in _blocks(x):
        deviation = block - mean
        squares = np.add.reduce(np.concatenate([squares[None], deviation * deviation]), axis=0)
    std = np.sqrt(squares / max(len(x) - ddof, 0))
    if mode == "global":
        return mean, np.full_like(std, max(float(np.sqrt(np.mean(std**2))), eps))
    return mean, np.maximum(std, eps)


def _blocks(x: np.ndarray | ShardedArray) -> Iterator[np.ndarray]:
    """The rows of ``x`` as float64, :data:`ROWS_PER_BLOCK` at a time."""
    for lo in range(0, len(x), ROWS_PER_BLOCK):
        yield x[lo : lo + ROWS_PER_BLOCK].astype(np.float64)


def _torch_stats(z: torch.Tensor, mode: str, ddof: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    if z.ndim != 2 or z.shape[0] < 1 + ddof:
        raise ValueError(f"Standardiser.fit needs a non-empty (n, d) array, got shape {tuple(z.shape)}")
    if mode == "none":
        return torch.zeros_like(z[0]), torch.ones_like(z[0])
    mean, std = z.mean(dim=0), z.std(dim=0, correction=ddof)
    if mode == "global":
        return mean, std.pow(2).mean().sqrt().clamp_min(eps).expand_as(std).clone()
    return mean, std.clamp_min(eps)
