"""Exponential moving average of a module's weights (DiffAug samples from the averaged denoiser)."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn


class EMA:
    """Exponential moving average of a module's weights, used for sampling.

    Starts as an exact copy of the online module (the released code initialised
    it independently at random, so early samples came from an untrained net).
    Buffers are copied, not averaged.

    Warm-up: update ``n`` (from 1) uses ``min(decay, (1 + n) / (10 + n))``, the
    ``num_updates`` rule of TensorFlow's ``ExponentialMovingAverage``. Without it
    a decay of 0.9999 keeps ~92 % of the *initial* weights after 800 updates,
    and a short generator phase then samples from a nearly untrained net (we
    measured exactly that: views no nearer their own conditioning sample than
    to any other). With ``warmup=False`` the plain constant decay is used.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update will use."""
        n = self.num_updates + 1
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.current_decay()
        self.num_updates += 1
        for ema_p, p in zip(self.model.parameters(), model.parameters(), strict=True):
            ema_p.lerp_(p.detach(), 1.0 - decay)
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "num_updates": self.num_updates,
            "model": self.model.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        # Checkpoints written before the warm-up existed used the constant decay.
        self.warmup = bool(state.get("warmup", False))
        self.num_updates = int(state.get("num_updates", 0))
        self.model.load_state_dict(state["model"])
