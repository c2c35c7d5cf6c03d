"""Data-parallel training over several processes (``torchrun``): who this process is, and what ranks share.

``torchrun --standalone --nproc-per-node N -m dacl train ...`` starts N processes
(ranks) with ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` in their environment;
:func:`distributed_from_env` joins them into a process group (NCCL on CUDA, gloo
on the CPU). Without torchrun, or with one process, it is :data:`SINGLE` and
nothing here communicates, so the single-process path computes what it always did.

How a global batch is shared: every rank draws the same global order (the same
seeded generator), cuts it into global batches of ``batch_size * world_size``
rows, and trains on its contiguous part of each (:meth:`Distributed.bounds`).
Random draws that belong to samples (views, noise) are drawn for the whole global
batch on every rank and sliced (:meth:`Distributed.local`), so N ranks with
per-rank batch B/N see exactly the batches and noise of one process with batch B.
The contrastive losses see the global batch: :func:`gather_rows` concatenates
every rank's rows, keeping the gradient to each rank's own rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

#: Environment variables torchrun sets in every process it starts.
WORLD_SIZE_ENV, RANK_ENV, LOCAL_RANK_ENV = "WORLD_SIZE", "RANK", "LOCAL_RANK"


@dataclass(frozen=True)
class Distributed:
    """This process's place among the ranks of a run (``world_size == 1``: a single process)."""

    rank: int = 0
    world_size: int = 1

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run directory (and holds its lock); the other ranks write only their own training
        vectors (``inputs/rankN``, removed when the run ends)."""
        return self.rank == 0

    def bounds(self, n: int, rank: int | None = None) -> tuple[int, int]:
        """``[lo, hi)``: the rows of a global batch of ``n`` rows that ``rank`` (default: this one) trains on."""
        r = self.rank if rank is None else rank
        return n * r // self.world_size, n * (r + 1) // self.world_size

    def local(self, rows: Any) -> Any:
        """This rank's part of a global batch (a tensor or array indexed by its first axis)."""
        if not self.active:
            return rows
        lo, hi = self.bounds(len(rows))
        return rows[lo:hi]

    def share(self, local_mean: torch.Tensor, n: int) -> torch.Tensor:
        """A loss averaged over this rank's rows of a global batch of ``n``, weighted so that DDP's gradient
        average over the ranks is the gradient of the global batch's mean (exact for unequal parts too)."""
        if not self.active:
            return local_mean
        lo, hi = self.bounds(n)
        return local_mean * ((hi - lo) * self.world_size / n)

    def mean(self, value: float) -> float:
        """``value`` averaged over the ranks (a metric)."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=_comm_device())
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` under DistributedDataParallel (gradients averaged over the ranks); itself when single.

        On CUDA its BatchNorm layers become SyncBatchNorm (statistics of the global batch), in place, so
        ``model`` itself holds them too; torch has no SyncBatchNorm on the CPU, where each rank normalises
        its own rows and :meth:`average_buffers` makes the running statistics agree after each epoch.
        """
        if not self.active:
            return model
        device = next(model.parameters()).device
        if device.type != "cuda":
            return nn.parallel.DistributedDataParallel(model, forward_sync_buffers=False)
        for name, child in model.named_children():
            model.add_module(name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
        index = device.index if device.index is not None else torch.cuda.current_device()
        return nn.parallel.DistributedDataParallel(model, device_ids=[index], forward_sync_buffers=False)

    def average_buffers(self, *models: nn.Module) -> None:
        """Average the float buffers (BatchNorm running statistics) of ``models`` over the ranks, so that every
        rank evaluates the same model (the mean of the ranks' batch means is the global batch's mean)."""
        if not self.active:
            return
        for model in models:
            for buffer in model.buffers():
                if buffer.is_floating_point():
                    dist.all_reduce(buffer)
                    buffer.div_(self.world_size)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


#: One process: nothing is shared.
SINGLE = Distributed()


def _comm_device() -> torch.device:
    """Where collectives of the process group run: NCCL needs CUDA tensors, gloo CPU ones."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def current() -> Distributed:
    """The running process group's place of this process (:data:`SINGLE` when none is initialised)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return Distributed(dist.get_rank(), dist.get_world_size())
    return SINGLE


def launched_world_size() -> int:
    """How many ranks torchrun started (1 without torchrun)."""
    value = os.environ.get(WORLD_SIZE_ENV, "1")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{WORLD_SIZE_ENV}={value!r} is not a number of processes") from None


def launched_rank() -> int:
    """This process's rank as torchrun numbered it (0 without torchrun)."""
    return int(os.environ.get(RANK_ENV, "0") or 0)


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA devices, gloo for the CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_from_env(device: torch.device) -> bool:
    """Join the process group torchrun set up, if it started several ranks and none is joined yet.

    On CUDA each rank takes the GPU ``LOCAL_RANK``. Returns whether this call initialised
    the group (its caller then tears it down with :func:`shutdown`).
    """
    if launched_world_size() <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    if not dist.is_available():
        raise ValueError("torch was built without torch.distributed; run dacl train without torchrun")
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get(LOCAL_RANK_ENV, "0")))
    dist.init_process_group(backend=backend_for(device))
    return True


def shutdown(wait: bool = True) -> None:
    """Leave the process group, after waiting for every rank (``wait``; a failing rank does not)."""
    if wait:
        dist.barrier()
    dist.destroy_process_group()


class _GatherRows(torch.autograd.Function):
    """All ranks' rows concatenated in rank order; the gradient of a rank's rows flows back to that rank."""

    @staticmethod
    def forward(ctx: Any, local: torch.Tensor, n: int, group: Distributed) -> torch.Tensor:
        sizes = [hi - lo for lo, hi in (group.bounds(n, r) for r in range(group.world_size))]
        padded = local.new_zeros((max(sizes), *local.shape[1:]))
        padded[: len(local)] = local
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        ctx.bounds, ctx.n = group.bounds(n), n
        return torch.cat([p[:s] for p, s in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        # Every rank computed a loss of the global batch; the gradient of this rank's rows is the sum of theirs.
        total = grad.contiguous().clone()
        dist.all_reduce(total)
        lo, hi = ctx.bounds
        return total[lo:hi], None, None


def gather_rows(local: torch.Tensor, n: int, group: Distributed) -> torch.Tensor:
    """The global batch of ``n`` rows from every rank's part of it (this rank's: ``local``), with gradients.

    Every rank then computes the same loss of the whole global batch, and the gradient
    of that loss reaches each rank's own rows (summed over the ranks; DDP's average of
    the parameter gradients then gives the global batch's gradient). Identity when single.
    """
    if not group.active:
        return local
    return _GatherRows.apply(local, n, group)
