"""Choosing the torch device, and random generators on it: one rule for every command."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA when torch sees a GPU, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return device


def make_generator(device: torch.device | str, seed: int) -> torch.Generator:
    """A torch RNG on ``device`` (sampling then draws on-device, no host round trip)."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g
