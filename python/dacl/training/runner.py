"""Running a method: its trainer, under the run directory's writer lock, with pinned CPU threads."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from dacl.features import FeatureSet
from dacl.io.lock import WriterLock
from dacl.training.config import Config
from dacl.training.contrastive import ExtraViews, train_stages
from dacl.training.diffaug import train_run
from dacl.training.methods import METHODS, TrainerKind

#: The trainer of each kind a method's record names.
TRAINERS: dict[TrainerKind, Callable[..., Path]] = {"stages": train_stages, "diffaug": train_run}


def run(
    config: Config,
    features: FeatureSet,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    extra_views: ExtraViews | None = None,
    on_epoch_end: Callable[[str, int, float], None] | None = None,
) -> Path:
    """:func:`dacl.training.train`."""
    threads_before = torch.get_num_threads()
    method = METHODS[config.train.method]
    # One writer per run directory, for the whole run (both trainers, sub-runs included).
    with WriterLock(out_dir, "run directory"):
        if config.train.threads > 0:
            torch.set_num_threads(config.train.threads)
        try:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            return TRAINERS[method.trainer](config, features, out, method=method, resume=resume, progress=progress,
                                            extra_views=extra_views, on_epoch_end=on_epoch_end)
        finally:
            torch.set_num_threads(threads_before)
