"""Training-free embedders: the "scattering + logistic regression" baseline."""

from __future__ import annotations

import numpy as np


class ScatteringPoolEmbedder:
    """Training-free baseline: per-path time mean and time std of the scattering.

    ``(W, P, F) -> (W, 2P)``. With ``log=True`` the features are first mapped by
    ``log1p`` (use it when the dataset's features are not already log-scaled).
    """

    def __init__(self, log: bool = False) -> None:
        self.log = log
        self.name = "scattering-pool" + ("-log" if log else "")

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 3:
            raise ValueError(f"features must be (windows, paths, frames), got shape {x.shape}")
        if self.log:
            if (x < 0).any():
                raise ValueError("log=True needs non-negative (raw) scattering features")
            x = np.log1p(x)
        return np.concatenate([x.mean(axis=2), x.std(axis=2)], axis=1).astype(np.float32)
