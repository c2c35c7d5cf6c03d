"""Frozen embedders of trained runs: what ``dacl evaluate`` probes.

:func:`load_embedder` reads ``embedder.json`` of a run directory written by
``dacl train`` and returns an object with ``embed(features (W, P, F)) ->
(W, d)``. Methods trained elsewhere (DiffAug) add a loader with
:func:`register_embedder`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from dacl.config import config_from_dict
from dacl.features.context import ContextConfig, Standardiser, contextualise
from dacl.rundir import EMBEDDER_JSON, MODEL, load_torch, read_json_object, reading


@runtime_checkable
class Embedder(Protocol):
    name: str

    def embed(self, features: np.ndarray) -> np.ndarray:
        """``(W, P, F)`` float32 -> ``(W, d)`` float32; eval mode, batched, no grad."""
        ...


#: method -> ``loader(run_dir, meta (embedder.json), device) -> Embedder``.
EMBEDDER_LOADERS: dict[str, Callable[[Path, dict[str, Any], torch.device], Embedder]] = {}
#: Modules imported on demand to register the loaders of methods trained elsewhere.
PLUGIN_MODULES: dict[str, str] = {"diffaug": "dacl.train_diffaug"}


def register_embedder(method: str) -> Callable[[Callable[..., Embedder]], Callable[..., Embedder]]:
    """Decorator: ``@register_embedder("diffaug") def load(run_dir, meta, device) -> Embedder``."""

    def deco(fn: Callable[..., Embedder]) -> Callable[..., Embedder]:
        EMBEDDER_LOADERS[method] = fn
        return fn

    return deco


@dataclass
class TorchEmbedder:
    """Context pooling -> standardiser -> a frozen torch map ``(n, d_in) -> (n, d)``."""

    name: str
    context: ContextConfig
    standardiser: Standardiser
    feature_shape: tuple[int, int]
    net: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device
    batch_size: int = 4096

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features)
        if x.ndim != 3 or tuple(x.shape[1:]) != self.feature_shape:
            raise ValueError(
                f"{self.name} embedder expects features of shape (W, {self.feature_shape[0]}, "
                f"{self.feature_shape[1]}), got {x.shape}"
            )
        vectors = self.standardiser.transform(contextualise(x, self.context))
        out = []
        with torch.no_grad():
            for lo in range(0, len(vectors), self.batch_size):
                batch = torch.from_numpy(vectors[lo : lo + self.batch_size]).to(self.device)
                out.append(self.net(batch).float().cpu().numpy())
        if not out:
            return np.empty((0, self._out_dim()), np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def _out_dim(self) -> int:
        probe = torch.zeros((2, len(self.standardiser.mean)), device=self.device)
        with torch.no_grad():
            return int(self.net(probe).shape[1])


def _frozen(module: nn.Module, state: dict[str, torch.Tensor], device: torch.device) -> nn.Module:
    module.load_state_dict(state)
    return module.to(device).eval().requires_grad_(False)


def _load_builtin(run_dir: Path, meta: dict[str, Any], device: torch.device) -> Embedder:
    from dacl.train import build_dae, build_encoder, build_vae

    model_path = run_dir / _run_file_name(run_dir, meta, "model", MODEL)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} not found; did `dacl train` finish for {run_dir}?")
    bundle = load_torch(model_path)
    with reading(model_path):
        config = config_from_dict(bundle["config"])
        method = bundle["method"]
        standardiser = Standardiser(
            mean=bundle["standardiser"]["mean"].numpy(), std=bundle["standardiser"]["std"].numpy()
        )
        in_dim = int(bundle["in_dim"])
        net: Callable[[torch.Tensor], torch.Tensor]
        if method == "dae":
            dae = _frozen(build_dae(config, in_dim), bundle["dae"], device)
            net = dae.encode  # type: ignore[assignment]
        elif method == "vae":
            vae = _frozen(build_vae(config, in_dim), bundle["vae"], device)
            net = lambda x: vae.encode(x)[0]  # noqa: E731  μ is the embedding
        elif method in ("dacl", "gauss-contrastive", "dacl+diffaug"):
            vae = _frozen(build_vae(config, in_dim), bundle["vae"], device)
            encoder = _frozen(build_encoder(config), bundle["encoder"], device)
            z_mean, z_std = (bundle["latent_norm"][k].to(device) for k in ("mean", "std"))
            net = lambda x: encoder.embed((vae.encode(x)[0] - z_mean) / z_std)  # noqa: E731  clean view: t = 0
        else:
            raise ValueError(f"unknown method {method!r}")
        feature_shape = tuple(int(n) for n in bundle["feature_shape"])
        if len(feature_shape) != 2:
            raise ValueError(f"feature_shape must be (paths, frames), got {feature_shape}")
    return TorchEmbedder(method, config.context, standardiser, feature_shape, net, device)  # type: ignore[arg-type]


def _run_file_name(run_dir: Path, meta: dict[str, Any], key: str, default: str) -> str:
    """A file named in embedder.json: a plain name inside the run directory, nothing else."""
    name = meta.get(key, default)
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "\\" in name:
        raise ValueError(f"{run_dir / EMBEDDER_JSON}: {key!r} must name a file in the run directory, got {name!r}")
    return name


for _m in ("dacl", "gauss-contrastive", "dacl+diffaug", "vae", "dae"):
    EMBEDDER_LOADERS[_m] = _load_builtin


def load_embedder(run_dir: str | Path, device: str = "cpu") -> Embedder:
    """The frozen embedder of the run written to ``run_dir`` by ``dacl train``."""
    from dacl.devices import resolve_device

    run_dir = Path(run_dir)
    meta_path = run_dir / EMBEDDER_JSON
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} not found; is {run_dir} a finished `dacl train` run?")
    meta = read_json_object(meta_path)
    method = meta.get("method")
    if not isinstance(method, str):
        raise ValueError(f"{meta_path}: 'method' must be a string, got {method!r:.80}")
    if method not in EMBEDDER_LOADERS and method in PLUGIN_MODULES:
        import importlib

        importlib.import_module(PLUGIN_MODULES[method])
    if method not in EMBEDDER_LOADERS:
        raise ValueError(f"{meta_path}: no embedder registered for method {method!r:.80}")
    return EMBEDDER_LOADERS[method](run_dir, meta, resolve_device(device))
