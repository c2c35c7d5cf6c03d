"""The generic training loop: batches, and stages run one after another with a checkpoint after every epoch.

A *stage* (:class:`Stage`) is one model trained by AdamW on the train split:
its step function gives the loss of a batch of indices, its validation function
the val loss that picks the best epoch and drives optional early stopping.
:class:`StageLoop` runs the stages of a method; every epoch's checkpoint holds
the model, optimiser, loss scale and RNG states, so ``--resume`` continues to
the same result as an uninterrupted run. A finished stage keeps its best
weights in ``done`` and is never trained again.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from dacl.io.atomic import write_text
from dacl.io.torchfiles import reading, torch_save
from dacl.training.checkpoint import CHECKPOINT, HISTORY
from dacl.training.distributed import SINGLE, Distributed
from dacl.training.precision import Precision

Order = TypeVar("Order", torch.Tensor, np.ndarray, Sequence[Any])


def batches(order: Order, batch_size: int, min_last: int = 2) -> list[Order]:
    """``order`` cut into consecutive batches of ``batch_size``.

    A batch of one is never kept (nothing to contrast, and BatchNorm needs two);
    a trailing batch shorter than ``min_last`` is dropped unless it is the only
    one. ``min_last=2`` keeps every batch that can be trained on; ``min_last=
    batch_size`` keeps full batches only (DiffAug's rule).
    """
    cuts = [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]
    keep = [b for i, b in enumerate(cuts) if len(b) >= 2 and (i < len(cuts) - 1 or len(b) >= min_last or i == 0)]
    return keep


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """torch's global RNG states and ``generator``'s, for a checkpoint."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    # RNG states are CPU byte tensors, whatever map_location moved them to.
    torch.set_rng_state(state["torch"].cpu())
    generator.set_state(state["generator"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


@dataclass
class Stage:
    """One model trained on the train split.

    ``train_step(indices, epoch, generator)`` returns the loss of a batch;
    ``val_loss()`` the val loss (``None`` without a val split), run in eval mode
    without gradients. ``batch_size`` is per rank: under torchrun the indices are a
    global batch of ``batch_size * world_size``, of which the step trains on its
    rank's part (:class:`dacl.training.distributed.Distributed`).
    """

    name: str
    model: nn.Module
    lr: float
    weight_decay: float
    epochs: int
    patience: int
    batch_size: int
    n_train: int
    train_step: Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]
    val_loss: Callable[[], float | None]


@dataclass
class _Progress:
    """Where a stage is: its epochs so far, the best one, how many epochs since it improved."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"val": float("inf"), "epoch": 0, "state": None})
    bad: int = 0
    start: int = 0


@dataclass
class StageLoop:
    """Runs stages one after another in ``out_dir``, checkpointing after every epoch."""

    out_dir: Path
    device: torch.device
    precision: Precision
    provenance: dict[str, Any]  # config and dataset: recorded in every checkpoint
    history: dict[str, Any]
    progress: bool = True
    #: called as ``(stage, epoch, train_loss)`` after each epoch's checkpoint is written
    on_epoch_end: Callable[[str, int, float], None] | None = None
    #: the checkpoint being resumed (its ``stage`` continues where it stopped)
    resume: dict[str, Any] | None = None
    #: finished stage -> its best weights
    done: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    #: the ranks training together (rank 0 writes the run directory)
    dist: Distributed = SINGLE

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT

    def fit(self, stage: Stage, seed: int) -> None:
        """Train ``stage`` (its batches and noise from a generator seeded with ``seed``), keep its best weights."""
        generator = torch.Generator(device=self.device).manual_seed(seed)
        optimiser = torch.optim.AdamW(stage.model.parameters(), lr=stage.lr, weight_decay=stage.weight_decay)
        state = self._restore(stage, optimiser, generator)
        self.history["stages"][stage.name] = state.rows
        bar = tqdm(
            range(state.start, stage.epochs), desc=stage.name, unit="epoch", disable=not self.progress, leave=False
        )
        for epoch in bar:
            train_loss, count, wall, vl = self._epoch(stage, epoch, optimiser, generator)
            state.rows.append({"epoch": epoch + 1, "train_loss": train_loss, "val_loss": vl, "time_s": wall})
            if vl is not None and vl < state.best["val"]:
                state.best = {"val": vl, "epoch": epoch + 1, "state": copy.deepcopy(stage.model.state_dict())}
                state.bad = 0
            elif vl is not None:
                state.bad += 1
            bar.set_postfix(
                loss=f"{train_loss:.4f}",
                val=f"{vl:.4f}" if vl is not None else "-",
                it_s=f"{count / max(wall, 1e-9):.0f}",
            )
            self._save_epoch(stage, epoch + 1, optimiser, generator, state)
            if self.on_epoch_end is not None:
                self.on_epoch_end(stage.name, epoch + 1, train_loss)
            if stage.patience and state.bad >= stage.patience:
                break
        bar.close()
        self._finish(stage, state)

    def _restore(self, stage: Stage, optimiser: torch.optim.Optimizer, generator: torch.Generator) -> _Progress:
        """Where the stage stands: fresh, or as the checkpoint being resumed left it."""
        rs = self.resume
        if rs is None or rs.get("stage") != stage.name:
            return _Progress()
        with reading(self.checkpoint_path):
            stage.model.load_state_dict(rs["model"])
            optimiser.load_state_dict(rs["optimiser"])
            self.precision.load_state_dict(rs["scaler"])
            set_rng_state(rs["rng"], generator)
            return _Progress(
                list(self.history["stages"].get(stage.name, [])),
                dict(rs["best"]),
                int(rs["bad_epochs"]),
                int(rs["epoch"]),
            )

    def _epoch(
        self, stage: Stage, epoch: int, optimiser: torch.optim.Optimizer, generator: torch.Generator
    ) -> tuple[float, int, float, float | None]:
        """One epoch: ``(train loss, samples seen, seconds, val loss)``."""
        stage.model.train()
        t0 = time.perf_counter()
        total, count = 0.0, 0
        order = torch.randperm(stage.n_train, generator=generator, device=self.device)
        world = self.dist.world_size
        for idx in batches(order, stage.batch_size * world):
            if len(idx) < world:  # a rank without rows: the last global batch is too small to share
                continue
            loss = stage.train_step(idx, epoch, generator)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{stage.name}: loss is {loss.item()} at epoch {epoch + 1}")
            self.precision.step(loss, optimiser)
            total += loss.item() * len(idx)
            count += len(idx)
        self.dist.average_buffers(stage.model)
        stage.model.eval()
        with torch.no_grad():
            vl = stage.val_loss()  # the same on every rank: each computes it on the whole val split
        return self.dist.mean(total) / max(count, 1), count, time.perf_counter() - t0, vl

    def _save_epoch(
        self, stage: Stage, epoch: int, optimiser: torch.optim.Optimizer, generator: torch.Generator, state: _Progress
    ) -> None:
        if not self.dist.is_main:
            return
        torch_save(
            {
                **self.provenance,
                "stage": stage.name,
                "epoch": epoch,
                "bad_epochs": state.bad,
                "model": stage.model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scaler": self.precision.state_dict(),
                "rng": rng_state(generator),
                "best": state.best,
                "done": self.done,
                "history": self.history,
            },
            self.checkpoint_path,
        )
        self.write_history()

    def _finish(self, stage: Stage, state: _Progress) -> None:
        """Keep the best epoch's weights (model selection on the val loss) and mark the stage done."""
        if state.best["state"] is not None:
            stage.model.load_state_dict(state.best["state"])
        self.done[stage.name] = copy.deepcopy(stage.model.state_dict())
        self.history.setdefault("best_epoch", {})[stage.name] = (
            state.best["epoch"] if state.best["state"] is not None else len(state.rows)
        )
        self.resume = None
        # Stage finished (also by early stopping): a resume must not train it further.
        if self.dist.is_main:
            torch_save(
                {**self.provenance, "stage": None, "done": self.done, "history": self.history}, self.checkpoint_path
            )

    def write_history(self) -> None:
        if self.dist.is_main:
            write_text(self.out_dir / HISTORY, json.dumps(self.history, indent=2) + "\n")
