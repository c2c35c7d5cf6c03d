"""Signal-space views in DACL training: the [signal_views] section of a config, wired into the Trainer.

With ``signal_views.n_views = K > 0`` every SupCon step sees, for each window of
the batch, K views made by :mod:`dacl.signal_views` (white noise at a diffusion
level, added to the raw recording and featurised by the dataset's own
featuriser), passed through the same path as the clean window::

    features -> contextualise -> Standardiser (clean train statistics) -> frozen VAE μ
             -> latent standardisation (clean train statistics) -> U-Net encoder

beside the clean latent (``diffusion.include_clean``) and the latent diffusion
views (``diffusion.n_views``, 0 for none). With ``signal_views.vae_views = Kv > 0``
the VAE also learns Kv noisy views of each window of its batches (its val loss
then covers the val windows' first views too).

Views come from a bank of ``bank_size`` views per window, built once per seed
(``train.seed``) and optionally cached on disk (``signal_views.cache``); each
epoch draws K distinct ones per window (seeded by seed and epoch). With
``bank_size = 0`` the K views of every window are featurised afresh at the start
of every epoch (view numbers ``epoch * K .. epoch * K + K - 1``). Val views are
fixed: views ``0 .. K-1`` of the val windows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from dacl.context import contextualise
from dacl.dataset import FeatureSet
from dacl.signal_views import NoiseLevels, SignalViews, ViewBank

_ENCODER_DRAW, _VAE_DRAW = 0, 1  # tags of the per-epoch draws from the bank


def noise_levels(section: Any) -> NoiseLevels:
    """The :class:`NoiseLevels` of a ``[signal_views]`` config section."""
    return NoiseLevels(section.levels, section.schedule, section.timesteps, section.t_max, section.snr_low,
                       section.snr_high)


def split_views(features: FeatureSet, split: str, section: Any, seed: int) -> SignalViews:
    """:class:`SignalViews` of every record of ``split`` (its windows in dataset order)."""
    rows = np.flatnonzero(np.asarray(features.record_split) == split)
    return SignalViews(features, rows, noise_levels(section), placement=section.placement, seed=seed,
                       corpus=section.corpus or None, num_threads=section.threads)


def attach_signal_views(trainer: Any, features: FeatureSet) -> None:
    """Build the views of ``trainer``'s train and val windows and set its ``vae_views`` / ``window_views`` hooks.

    Trains (or, on resume, loads) the VAE on the way: the encoder's views are its latents.
    """
    config, device = trainer.config, trainer.device
    section = config.signal_views
    seed = config.train.seed
    standardiser = trainer.inputs.standardiser

    def reduce(feats: np.ndarray) -> np.ndarray:
        return standardiser.transform(contextualise(feats, config.context))

    tag = "context+standardiser:" + hashlib.sha256(
        repr((config.context.to_dict(), standardiser.mean.tobytes(), standardiser.std.tobytes())).encode()
    ).hexdigest()
    t0 = time.perf_counter()
    train_views = split_views(features, config.data.train_split, section, seed)
    val_views = split_views(features, config.data.val_split, section, seed)
    _check_alignment(train_views, features.window_mask(config.data.train_split), "train")
    _check_alignment(val_views, features.window_mask(config.data.val_split), "val")
    k = section.n_views
    n_val = max(k, section.vae_views)
    val_bank = ViewBank.build(val_views, n_val, reduce, cache=section.cache or None, cache_tag=tag) \
        if len(val_views.windows) else None
    train_bank = ViewBank.build(train_views, section.bank_size, reduce, cache=section.cache or None,
                                cache_tag=tag) if section.bank_size else None
    info: dict[str, Any] = {
        "mode": "bank" if train_bank is not None else "on the fly",
        "bank_size": section.bank_size,
        "bank_build_s": round(time.perf_counter() - t0, 2),
        "train_bank_timing_s": {k_: round(v, 2) for k_, v in (train_bank.timing if train_bank else {}).items()},
        "snr_db_range": list(noise_levels(section).snr_db_range()),
        "epoch_view_s": [],
    }
    trainer.history["signal_views"] = info

    def as_tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32).to(device)

    if section.vae_views:
        assert train_bank is not None and val_bank is not None  # the config requires a bank
        x_bank, x_val_bank = as_tensor(train_bank.vectors), as_tensor(val_bank.vectors[: section.vae_views])
        trainer.vae_views = _bank_hook(train_bank, x_bank, x_val_bank, section.vae_views, seed, _VAE_DRAW, device)

    vae = trainer.train_vae()
    _, _, mean, std = trainer.clean_latents(vae)

    def encode(vectors: np.ndarray) -> torch.Tensor:
        """``(V, W, d)`` standardised context vectors -> ``(V, W, D)`` standardised VAE latents."""
        out = torch.empty((vectors.shape[0], vectors.shape[1], mean.shape[0]), device=device)
        with torch.no_grad():
            for v in range(vectors.shape[0]):
                for lo in range(0, vectors.shape[1], 8192):
                    mu = vae.encode(as_tensor(vectors[v, lo : lo + 8192]))[0]
                    out[v, lo : lo + 8192] = (mu - mean) / std
        return out

    z_val = encode(val_bank.vectors[:k]) if val_bank is not None else torch.empty((k, 0, mean.shape[0]))
    if train_bank is not None:
        trainer.window_views = _bank_hook(train_bank, encode(train_bank.vectors), z_val, k, seed, _ENCODER_DRAW,
                                          device)
    else:
        trainer.window_views = _fresh_hook(train_views, reduce, encode, z_val, k, info, device)


def _check_alignment(views: SignalViews, mask: np.ndarray, split: str) -> None:
    if not np.array_equal(views.windows, np.flatnonzero(mask)):
        raise ValueError(f"the signal views of the {split} split do not cover its windows one to one")


def _bank_hook(
    bank: ViewBank, train: torch.Tensor, val: torch.Tensor, k: int, seed: int, tag: int, device: torch.device
) -> Callable[[str, torch.Tensor, int], torch.Tensor]:
    """A ``WindowViews`` hook: per epoch K distinct bank views per train window; fixed val views."""
    drawn: dict[int, torch.Tensor] = {}

    def hook(split: str, index: torch.Tensor, epoch: int) -> torch.Tensor:
        if split != "train":
            return val[:k, index].transpose(0, 1)
        if epoch not in drawn:
            drawn.clear()
            drawn[epoch] = torch.as_tensor(bank.draw(k, epoch, seed, tag), device=device)
        choice = drawn[epoch][index]  # (B, K) bank rows
        return train[choice, index[:, None]]

    return hook


def _fresh_hook(
    views: SignalViews,
    reduce: Callable[[np.ndarray], np.ndarray],
    encode: Callable[[np.ndarray], torch.Tensor],
    val: torch.Tensor,
    k: int,
    info: dict[str, Any],
    device: torch.device,
) -> Callable[[str, torch.Tensor, int], torch.Tensor]:
    """A ``WindowViews`` hook that featurises K new views of every train window at each new epoch."""
    current: dict[int, torch.Tensor] = {}

    def hook(split: str, index: torch.Tensor, epoch: int) -> torch.Tensor:
        if split != "train":
            return val[:k, index].transpose(0, 1)
        if epoch not in current:
            current.clear()
            t0 = time.perf_counter()
            current[epoch] = encode(views.views(range(epoch * k, epoch * k + k), reduce))
            info["epoch_view_s"].append(round(time.perf_counter() - t0, 2))
        return current[epoch][:, index].transpose(0, 1)

    return hook
