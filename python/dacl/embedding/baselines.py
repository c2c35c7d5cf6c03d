"""Training-free embedders: the "scattering + logistic regression" baseline."""

from __future__ import annotations

import numpy as np


class ScatteringPoolEmbedder:
    """Training-free baseline: per-path time mean and time std of the scattering, lead by lead.

    ``(W, L, P, F) -> (W, L·2P)``: for each lead in order its ``P`` means then its ``P``
    stds (one lead: ``(W, 2P)``, a ``(W, P, F)`` array is one lead). With ``log=True``
    the features are first mapped by ``log1p`` (use it when the dataset's features
    are not already log-scaled).
    """

    def __init__(self, log: bool = False) -> None:
        self.log = log
        self.name = "scattering-pool" + ("-log" if log else "")

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise ValueError(f"features must be (windows, leads, paths, frames), got shape {x.shape}")
        if self.log:
            if (x < 0).any():
                raise ValueError("log=True needs non-negative (raw) scattering features")
            x = np.log1p(x)
        pooled = np.concatenate([x.mean(axis=3), x.std(axis=3)], axis=2)  # (W, L, 2P)
        return pooled.reshape(len(x), -1).astype(np.float32)
