"""Training: :func:`train` runs a method of the registry (:mod:`dacl.training.methods`) into a run directory.

``config`` (the sections), ``methods`` (one record per method), ``runner`` (the
dispatch to a method's trainer), ``loop`` (the stage loop, batches, checkpoints
after every epoch), ``checkpoint`` (run-directory files and the checks a resume
makes), ``inputs``, ``precision``, ``ema``, ``contrastive`` (the VAE / encoder /
DAE stages of DACL and its baselines) and ``diffaug`` (DiffAug's E/M/E schedule).

Importing this package, its configuration or its registry does not import torch
(``dacl --help`` and ``dacl preprocess --config`` stay fast); :func:`train` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dacl.features import FeatureSet
from dacl.training.config import Config

__all__ = ["train"]


def train(
    config: Config,
    features: FeatureSet,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    extra_views: Callable[[Any, Any], Any] | None = None,
    on_epoch_end: Callable[[str, int, float], None] | None = None,
) -> Path:
    """Train ``config.train.method`` on ``features``; write the run directory ``out_dir``.

    A checkpoint is written atomically after every epoch; ``resume=True`` restores
    models, optimiser, RNG states and epoch and continues to the same result as an
    uninterrupted run.

    Args:
        extra_views: ``(z0 (B, D), labels (B,)) -> (B, K2, D)`` tensors, more SupCon views per
            sample (what ``dacl+diffaug`` adds; given here, they replace its DiffAug views).
        on_epoch_end: called as ``(stage, epoch, train_loss)`` after each epoch's
            checkpoint is written (raise ``KeyboardInterrupt`` there to simulate an
            interruption); stage methods only.

    Returns:
        The run directory.

    Raises:
        dacl.io.lock.LockedError: another process is writing ``out_dir``.
    """
    from dacl.training.runner import run  # torch and the trainers: imported when a run starts

    return run(
        config, features, out_dir, resume=resume, progress=progress, extra_views=extra_views, on_epoch_end=on_epoch_end
    )
