"""Generated views: DiffAug samples as extra views of DACL's latents (``--method dacl+diffaug``).

A trained DiffAug run (any object with the :class:`ViewModels` interface, e.g.
:class:`dacl.training.diffaug.DiffAugModels`) encodes each latent and draws
samples from its EMA generator conditioned on that code; they are mapped back
into the latent space and join the forward-diffusion views of the SupCon encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from dacl.devices import make_generator
from dacl.latent.scalers import Standardiser

#: ``views(z0 (B, D), labels) -> (B, K, D)``; the labels are not used.
ViewGenerator = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


class ViewModels(Protocol):
    """What a view generator needs of a trained DiffAug run."""

    scaler: Standardiser  # into the [-1, 1] space the generator works in

    @property
    def device(self) -> torch.device: ...
    @property
    def views(self) -> int: ...  # generated views per sample by default
    def to(self, device: torch.device) -> object: ...
    def encode(self, x_scaled: torch.Tensor) -> torch.Tensor: ...
    def generate(self, cond: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...


def make_view_generator(models: ViewModels, n_views: int | None = None, seed: int = 0) -> ViewGenerator:
    """Generated views ``(z0 (B, D), labels) -> (B, K, D)``.

    ``z0`` must be in the DiffAug run's input space (before scaling); each row is
    scaled, encoded, and ``K`` samples are drawn from the generator conditioned on
    that code, then mapped back to the input space. Labels are ignored (DiffAug is
    unsupervised). Views follow ``z0``'s device; the RNG is seeded once per device.
    """
    k = models.views if n_views is None else n_views
    if k < 1:
        raise ValueError(f"n_views must be >= 1, got {k}")
    dim = len(models.scaler.mean)
    generators: dict[torch.device, torch.Generator] = {}

    @torch.no_grad()
    def views(z0: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z0.ndim != 2 or z0.shape[1] != dim:
            raise ValueError(f"z0 must be (B, {dim}) in the DiffAug run's input space, got {tuple(z0.shape)}")
        if models.device != z0.device:
            models.to(z0.device)
        g = generators.setdefault(z0.device, make_generator(z0.device, seed))
        code = models.encode(models.scaler.transform_torch(z0.float()))
        samples = models.generate(code.repeat_interleave(k, dim=0), g)
        return models.scaler.inverse_torch(samples).reshape(z0.shape[0], k, dim).to(z0.dtype)

    return views
