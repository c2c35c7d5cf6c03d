"""Mixed precision for every training loop: autocast on CUDA, with loss scaling where it is fp16.

bf16 has fp32's exponent range, so its gradients do not underflow; fp16 (GPUs
without bf16) needs a ``GradScaler`` or small gradients flush to zero. On the
CPU, or with ``amp`` off, everything runs in float32 and :meth:`Precision.step`
is a plain ``backward`` + ``step`` (the same numbers as without this helper).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def autocast_dtype(device: torch.device, enabled: bool, bf16_supported: bool | None = None) -> torch.dtype | None:
    """The autocast dtype for ``device``, or ``None`` for full precision.

    ``bf16_supported`` defaults to asking CUDA; tests pass it to try the fp16 path without a GPU.
    """
    if not enabled or device.type != "cuda":
        return None
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_supported else torch.float16


class Precision:
    """Autocast and (fp16 only) loss scaling for one optimiser.

    Use one instance per optimiser: the loss scale adapts to that optimiser's gradients.
    """

    def __init__(self, device: torch.device, enabled: bool, bf16_supported: bool | None = None) -> None:
        self.device = device
        self.dtype = autocast_dtype(device, enabled, bf16_supported)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.loss_scaling)

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    @property
    def loss_scaling(self) -> bool:
        return self.dtype == torch.float16

    @property
    def label(self) -> str:
        """``"bfloat16"``, ``"float16"`` or ``"off"`` (for history.json)."""
        return str(self.dtype).removeprefix("torch.") if self.dtype is not None else "off"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimiser: torch.optim.Optimizer) -> None:
        """Zero the gradients, backpropagate ``loss`` (scaled for fp16) and step ``optimiser``."""
        optimiser.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimiser)  # skipped, and the scale lowered, if fp16 gradients overflowed
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The loss scaler's state (plain numbers; empty when scaling is off), for checkpoints."""
        return self.scaler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:  # a checkpoint written without loss scaling resumes with the fresh scale
            self.scaler.load_state_dict(state)
