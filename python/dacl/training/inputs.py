"""What the stage trainers train on: standardised contextualised vectors of the train and val splits."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from dacl.features import FeatureSet
from dacl.features.context import contextualise
from dacl.latent.scalers import Standardiser
from dacl.training.config import Config


@dataclasses.dataclass
class Inputs:
    """Standardised contextualised vectors and labels of the train and val splits, on device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    standardiser: Standardiser
    feature_shape: tuple[int, int]  # (P, F) of a window


def prepare_inputs(config: Config, features: FeatureSet, device: torch.device) -> Inputs:
    """Contextualise every train/val window and z-score with train-split statistics."""
    train_mask = features.window_mask(config.data.train_split)
    val_mask = features.window_mask(config.data.val_split)
    if train_mask.sum() < 2:
        raise ValueError(
            f"the features have {int(train_mask.sum())} windows in split {config.data.train_split!r}; "
            "need at least 2 (did you run `dacl split`?)"
        )
    labels = features.labels
    x_train = contextualise(np.asarray(features.features[train_mask]), config.context)
    x_val = contextualise(np.asarray(features.features[val_mask]), config.context) if val_mask.any() else None
    standardiser = Standardiser.fit(x_train)

    def to_dev(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype).to(device)

    d = x_train.shape[1]
    return Inputs(
        x_train=to_dev(standardiser.transform(x_train), torch.float32),
        y_train=to_dev(labels[train_mask], torch.long),
        x_val=to_dev(standardiser.transform(x_val) if x_val is not None else np.empty((0, d), np.float32),
                     torch.float32),
        y_val=to_dev(labels[val_mask], torch.long),
        standardiser=standardiser,
        feature_shape=(int(features.features.shape[1]), int(features.features.shape[2])),
    )
