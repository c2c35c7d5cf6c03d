"""Running a method: its trainer, under the run directory's writer lock, with pinned CPU threads.

Under ``torchrun`` with several processes, each process joins the process group here
(:mod:`dacl.training.distributed`); rank 0 holds the lock and writes the run directory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import torch

from dacl.devices import resolve_device
from dacl.features import FeatureSet
from dacl.io.lock import WriterLock
from dacl.training import distributed
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
    joined = distributed.init_from_env(resolve_device(config.train.device))
    finished = False
    try:
        dist = distributed.current()
        # One writer per run directory, for the whole run (both trainers, sub-runs included): rank 0.
        with WriterLock(out_dir, "run directory") if dist.is_main else contextlib.nullcontext():
            if config.train.threads > 0:
                torch.set_num_threads(config.train.threads)
            try:
                out = Path(out_dir)
                if dist.is_main:
                    out.mkdir(parents=True, exist_ok=True)
                result = TRAINERS[method.trainer](
                    config,
                    features,
                    out,
                    method=method,
                    resume=resume,
                    progress=progress,
                    extra_views=extra_views,
                    on_epoch_end=on_epoch_end,
                    dist=dist,
                )
                finished = True
                return result
            finally:
                torch.set_num_threads(threads_before)
    finally:
        if joined:
            distributed.shutdown(wait=finished)  # a failed rank does not wait for the others
