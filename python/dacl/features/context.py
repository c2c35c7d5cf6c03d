"""Parameter-free contextualisation of scattering features ("Scattering Transformer").

The Scattering Transformer (Zewail 2025, arXiv 2509.18424, ref [12] of DACL)
adds contextual dependencies between scattering time frames with a
transformer-like block that has no learned weights. Its exact formula is not
public (see docs/dacl.md §1.2); this module implements our reading,
every choice configurable through :class:`ContextConfig`:

1. tokens: the F time frames of a window, each a P-vector of scattering paths;
2. sinusoidal positional encoding (Vaswani et al. 2017) added to the tokens;
3. ``passes`` weight-free self-attention passes, pre-LN residual form
   (Xiong et al. 2020): ``X <- X + softmax(N(X) N(X)^T / sqrt(P)) N(X)`` where
   ``N`` is an affine-free LayerNorm over paths (identity if ``layer_norm`` is
   off). Pre-LN keeps the raw log-energy in the residual stream while the
   attention weights see scale-free tokens, so they do not saturate on loud
   frames;
4. pooling over time: mean, or mean concatenated with std.

The vectors are then z-scored with train-split statistics
(:class:`dacl.latent.scalers.Standardiser`). ``enabled=False`` gives plain time
mean-pooling (steps 2-3 skipped, mean pool).

Several leads: each lead's ``(P, F)`` window is contextualised on its own (the
frames of one lead attend to each other, not across leads), and the lead
vectors are concatenated in the dataset's lead order, ``(W, L, P, F) -> (W, L·d)``.
This vector is what every trained model sees (the VAE, the DAE, DiffAug), so
leads enter the models as blocks of one input vector. One lead gives exactly
the single-lead vector.
Everything here is a deterministic function of its input (float64 inside).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from dacl.settings import NON_NEGATIVE, at_least, check_fields

Pooling = Literal["mean", "mean_std"]


@dataclass(frozen=True)
class ContextConfig:
    """Settings of the contextualisation (all unknown in the paper: our defaults)."""

    enabled: bool = True
    passes: int = 1
    layer_norm: bool = True
    positional: bool = True
    pe_scale: float = 1.0
    pooling: Pooling = "mean_std"
    chunk: int = 2048  # windows per chunk: bounds the (chunk, F, F) attention matrix

    def __post_init__(self) -> None:
        check_fields(self, "context", {"passes": NON_NEGATIVE, "chunk": at_least(1)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sinusoidal_positional_encoding(n_positions: int, dim: int) -> np.ndarray:
    """``(n_positions, dim)`` sinusoidal encoding of Vaswani et al. 2017, §3.5.

    ``PE[pos, 2i] = sin(pos / 10000^(2i/dim))``, ``PE[pos, 2i+1] = cos(...)``.
    """
    pos = np.arange(n_positions, dtype=np.float64)[:, None]
    i = np.arange((dim + 1) // 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, 2.0 * i / dim)
    pe = np.empty((n_positions, 2 * angle.shape[1]), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe[:, :dim]


def _layer_norm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def _softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def attention_pass(tokens: np.ndarray, layer_norm: bool = True) -> np.ndarray:
    """One weight-free self-attention pass with residual, on ``(..., F, P)`` tokens."""
    h = _layer_norm(tokens) if layer_norm else tokens
    scores = h @ np.swapaxes(h, -1, -2) / np.sqrt(h.shape[-1])
    return tokens + _softmax(scores) @ h


def _check_windows(x: np.ndarray) -> None:
    """Refuse anything but a finite float ``(windows, paths, frames)`` array without an empty axis."""
    if x.ndim != 3:
        raise ValueError(
            f"features must be (windows, paths, frames) or (windows, leads, paths, frames), got shape {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"features must be a float array, got dtype {x.dtype}")
    if x.shape[2] < 1 or x.shape[1] < 1:
        raise ValueError(f"features have an empty axis: shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or inf")


def contextualise(features: np.ndarray, config: ContextConfig = ContextConfig()) -> np.ndarray:
    """``(W, P, F)`` scattering features -> ``(W, d)`` float32 window vectors; ``(W, L, P, F)`` -> ``(W, L·d)``,
    each lead on its own, the lead vectors concatenated in lead order.

    ``d = P`` for mean pooling, ``2P`` for mean+std.
    """
    x = np.asarray(features)
    if x.ndim == 4:
        if x.shape[1] < 1:
            raise ValueError(f"features have no lead: shape {x.shape}")
        if x.shape[1] == 1:
            return contextualise(x[:, 0], config)
        return np.concatenate([contextualise(x[:, lead], config) for lead in range(x.shape[1])], axis=1)
    _check_windows(x)
    n_win, n_paths, n_frames = x.shape
    pooling = config.pooling if config.enabled else "mean"
    d = n_paths * (2 if pooling == "mean_std" else 1)
    out = np.empty((n_win, d), dtype=np.float32)
    pe = sinusoidal_positional_encoding(n_frames, n_paths) * config.pe_scale
    for lo in range(0, n_win, config.chunk):
        tokens = np.swapaxes(x[lo : lo + config.chunk], 1, 2).astype(np.float64)  # (w, F, P)
        if config.enabled:
            if config.positional:
                tokens = tokens + pe
            for _ in range(config.passes):
                tokens = attention_pass(tokens, config.layer_norm)
        pooled = [tokens.mean(axis=1)]
        if pooling == "mean_std":
            pooled.append(tokens.std(axis=1))
        out[lo : lo + config.chunk] = np.concatenate(pooled, axis=1)
    return out
