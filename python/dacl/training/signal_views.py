"""Signal-space views in the stage trainer: the ``[signal_views]`` section, served to the VAE and encoder stages.

With ``signal_views.n_views = K > 0`` every SupCon step sees, for each window of
its batch, K views made by :mod:`dacl.views.signal` (white noise at a diffusion
level on the raw record or the window, featurised by the dataset's own Rust
featuriser), passed through the path of the clean window::

    features -> contextualise -> Standardiser (clean train statistics) -> frozen VAE mu
             -> latent standardisation (clean train statistics) -> encoder

beside the clean latent (``diffusion.include_clean``) and the latent diffusion
views (``diffusion.n_views``; 0 for none). With ``signal_views.vae_views = Kv > 0``
the VAE also learns Kv noisy views of each window of its batches (its val loss
then covers the val windows' first Kv views too).

Views come from a bank of ``bank_size`` views per window, made once per seed
(``train.seed``); each epoch draws K distinct ones per window. With
``bank_size = 0`` the K views of every train window are featurised afresh at the
start of each epoch (view numbers ``epoch * K .. epoch * K + K - 1``). Val views
are fixed: views ``0 .. K-1`` of the val windows.

The trainer asks :class:`SignalViewSource` for a batch's views by the windows'
positions in its train or val arrays; nothing else of the stage loop changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from dacl.features import FeatureSet
from dacl.features.context import contextualise
from dacl.latent.scalers import Standardiser
from dacl.latent.vae import VAE
from dacl.training.config import Config
from dacl.views.config import SignalViewsSection
from dacl.views.signal import NoiseLevels, SignalViews, ViewBank

_ENCODER_DRAW, _VAE_DRAW = 0, 1  # tags of the per-epoch draws from the bank


def noise_levels(section: SignalViewsSection) -> NoiseLevels:
    """The :class:`NoiseLevels` of a ``[signal_views]`` section."""
    return NoiseLevels(
        section.levels, section.schedule, section.timesteps, section.t_max, section.snr_low, section.snr_high
    )


def split_views(features: FeatureSet, split: str, section: SignalViewsSection, seed: int) -> SignalViews:
    """:class:`SignalViews` of every record of ``split`` (its windows in dataset order)."""
    rows = np.flatnonzero(np.asarray(features.record_split) == split)
    views = SignalViews(
        features,
        rows,
        noise_levels(section),
        placement=section.placement,
        seed=seed,
        corpus=section.corpus or None,
        num_threads=section.threads,
    )
    if not np.array_equal(views.windows, np.flatnonzero(features.window_mask(split))):
        raise ValueError(f"the signal views of the {split} split do not cover its windows one to one")
    return views


class SignalViewSource:
    """Signal-space views for a trainer's batches: :meth:`vae_inputs` before the VAE is frozen, then
    :meth:`encoder_views` once :meth:`encode_with` has put the views through the frozen VAE."""

    def __init__(self, config: Config, features: FeatureSet, standardiser: Standardiser, device: torch.device) -> None:
        section, seed = config.signal_views, config.train.seed
        self.k, self.kv, self.seed, self.device = section.n_views, section.vae_views, seed, device

        def reduce(feats: np.ndarray) -> np.ndarray:
            return standardiser.transform(contextualise(np.asarray(feats), config.context))

        self.reduce = reduce
        # The cache key of the reduction: the contextualisation and the standardiser's statistics.
        tag = (
            "context+standardiser:"
            + hashlib.sha256(
                repr(
                    (
                        dataclasses.asdict(config.context),
                        np.asarray(standardiser.mean).tobytes(),
                        np.asarray(standardiser.scale).tobytes(),
                    )
                ).encode()
            ).hexdigest()
        )
        cache = section.cache or None
        t0 = time.perf_counter()
        self.train = split_views(features, config.data.train_split, section, seed)
        val = split_views(features, config.data.val_split, section, seed)
        n_val = max(self.k, self.kv)
        self.val_bank = ViewBank.build(val, n_val, reduce, cache=cache, reduce_tag=tag) if len(val.windows) else None
        self.bank = (
            ViewBank.build(self.train, section.bank_size, reduce, cache=cache, reduce_tag=tag)
            if section.bank_size
            else None
        )
        self.info: dict[str, Any] = {
            "mode": "bank" if self.bank is not None else "on the fly",
            "bank_size": section.bank_size,
            "bank_build_s": round(time.perf_counter() - t0, 2),
            "train_timing_s": {k: round(v, 3) for k, v in (self.bank.timing if self.bank else {}).items()},
            "snr_db_range": list(noise_levels(section).snr_db_range()),
            "epoch_view_s": [],
        }
        self._drawn: dict[tuple[int, int], torch.Tensor] = {}
        self._encode: Callable[[np.ndarray], torch.Tensor] | None = None
        self._z_bank: torch.Tensor | None = None
        self._z_val: torch.Tensor | None = None
        self._fresh: dict[int, torch.Tensor] = {}

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32).to(self.device)

    def _choice(self, epoch: int, n: int, tag: int, index: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` bank rows of the windows ``index`` in ``epoch`` (one draw per epoch and tag)."""
        assert self.bank is not None
        if (epoch, tag) not in self._drawn:
            self._drawn = {key: v for key, v in self._drawn.items() if key[1] != tag}
            self._drawn[(epoch, tag)] = torch.as_tensor(self.bank.draw(n, epoch, self.seed, tag), device=self.device)
        return self._drawn[(epoch, tag)][index]

    # ---- the VAE stage
    def vae_inputs(self, split: str, index: torch.Tensor, epoch: int) -> torch.Tensor | None:
        """``(B * Kv, d)`` noisy standardised vectors of the windows ``index`` to add to a VAE batch (None: off)."""
        if not self.kv:
            return None
        if split != "train":
            assert self.val_bank is not None
            rows = self.val_bank.vectors[: self.kv][:, index.cpu().numpy()]
            return self._tensor(rows).transpose(0, 1).reshape(-1, rows.shape[-1])
        assert self.bank is not None
        choice = self._choice(epoch, self.kv, _VAE_DRAW, index).cpu().numpy()
        rows = self.bank.vectors[choice, index.cpu().numpy()[:, None]]  # (B, Kv, d)
        return self._tensor(rows).reshape(-1, rows.shape[-1])

    # ---- the encoder stage
    def encode_with(self, vae: VAE, norm: Standardiser) -> None:
        """Put the views through the frozen VAE and the latent standardisation (before the encoder trains)."""

        def encode(vectors: np.ndarray) -> torch.Tensor:
            """``(V, W, d)`` standardised context vectors -> ``(V, W, D)`` standardised latents."""
            out = []
            with torch.no_grad():
                for v in range(vectors.shape[0]):
                    parts = [
                        vae.encode(self._tensor(vectors[v, lo : lo + 8192]))[0]
                        for lo in range(0, vectors.shape[1], 8192)
                    ]
                    out.append(norm.transform_torch(torch.cat(parts)))
            return torch.stack(out)

        self._encode = encode
        if self.val_bank is not None:
            self._z_val = encode(self.val_bank.vectors[: self.k])
        if self.bank is not None:
            self._z_bank = encode(self.bank.vectors)

    def encoder_views(self, split: str, index: torch.Tensor, epoch: int) -> torch.Tensor:
        """``(B, K, D)`` standardised latents of K signal-space views of the windows ``index``."""
        if self._encode is None:
            raise ValueError("encoder views need the frozen VAE first (encode_with)")
        if split != "train":
            assert self._z_val is not None
            return self._z_val[:, index].transpose(0, 1)
        if self._z_bank is not None:
            return self._z_bank[self._choice(epoch, self.k, _ENCODER_DRAW, index), index[:, None]]
        if epoch not in self._fresh:
            self._fresh.clear()
            t0 = time.perf_counter()
            self._fresh[epoch] = self._encode(
                self.train.views(range(epoch * self.k, (epoch + 1) * self.k), self.reduce)
            )
            self.info["epoch_view_s"].append(round(time.perf_counter() - t0, 2))
        return self._fresh[epoch][:, index].transpose(0, 1)
