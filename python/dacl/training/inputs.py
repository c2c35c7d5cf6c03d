"""What the stage trainers train on: standardised contextualised vectors of the train and val splits.

Leads enter as blocks of one vector: each lead's window is contextualised on its
own and the lead vectors are concatenated (:func:`dacl.features.context.contextualise`),
so the VAE, the DAE and DiffAug see ``L·d`` inputs and the SupCon encoder the
VAE latents of those. The labels are per window: class indices for single-label
data (``-1``: unlabelled), multi-hot float rows for multi-label data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from dacl.features import FeatureSet
from dacl.features.context import ContextConfig, contextualise
from dacl.latent.scalers import Standardiser
from dacl.training.config import Config


@dataclasses.dataclass
class Inputs:
    """Standardised contextualised vectors and labels of the train and val splits, on device."""

    x_train: torch.Tensor
    y_train: torch.Tensor  # (N,) long class index, or (N, C) float multi-hot (multi-label data)
    x_val: torch.Tensor
    y_val: torch.Tensor
    standardiser: Standardiser
    feature_shape: tuple[int, int, int]  # (L, P, F) of a window
    leads: tuple[str, ...] = ()


def window_labels(features: FeatureSet) -> tuple[np.ndarray, torch.dtype]:
    """Each window's labels as the SupCon loss takes them, and their torch dtype."""
    if features.task == "multi-label":
        return features.targets.astype(np.float32), torch.float32
    return features.labels, torch.long


def contextualised_windows(features: FeatureSet, mask: np.ndarray, config: ContextConfig) -> np.ndarray:
    """``contextualise(features.features[mask], config)``, reading the windows by index ``config.chunk`` at a time,
    so the masked windows' features are never held together (only their far smaller vectors are).

    The blocks are contextualise's own chunks, so the vectors are bit for bit those of one call.
    """
    index = np.flatnonzero(mask)
    out = contextualise(np.asarray(features.features[index[: config.chunk]]), config)
    if len(index) <= config.chunk:
        return out
    out = np.concatenate([out, np.empty((len(index) - len(out), out.shape[1]), np.float32)])
    for lo in range(config.chunk, len(index), config.chunk):
        out[lo : lo + config.chunk] = contextualise(
            np.asarray(features.features[index[lo : lo + config.chunk]]), config
        )
    return out


def prepare_inputs(config: Config, features: FeatureSet, device: torch.device) -> Inputs:
    """Contextualise every train/val window and z-score with train-split statistics."""
    train_mask = features.window_mask(config.data.train_split)
    val_mask = features.window_mask(config.data.val_split)
    if train_mask.sum() < 2:
        raise ValueError(
            f"the features have {int(train_mask.sum())} windows in split {config.data.train_split!r}; "
            "need at least 2 (did you run `dacl split`?)"
        )
    labels, label_dtype = window_labels(features)
    x_train = contextualised_windows(features, train_mask, config.context)
    x_val = contextualised_windows(features, val_mask, config.context) if val_mask.any() else None
    standardiser = Standardiser.fit(x_train)

    def to_dev(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype).to(device)

    d = x_train.shape[1]
    _, n_leads, n_paths, n_frames = features.features.shape
    return Inputs(
        x_train=to_dev(standardiser.transform(x_train, out=x_train), torch.float32),  # in place: one copy
        y_train=to_dev(labels[train_mask], label_dtype),
        x_val=to_dev(
            standardiser.transform(x_val, out=x_val) if x_val is not None else np.empty((0, d), np.float32),
            torch.float32,
        ),
        y_val=to_dev(labels[val_mask], label_dtype),
        standardiser=standardiser,
        feature_shape=(int(n_leads), int(n_paths), int(n_frames)),
        leads=tuple(features.leads),
    )
