"""Frozen embedders of trained runs: what ``dacl evaluate`` probes.

:func:`load_embedder` reads ``embedder.json`` of a run directory written by
``dacl train`` and returns an :class:`Embedder`: ``embed(features (W, L, P, F)) ->
(W, d)`` (a ``(W, P, F)`` array is one lead). A run records the leads it was
trained on (``leads``, in model.pt), which evaluation checks against the dataset.
Its ``"embedder"`` entry names the loader in :data:`LOADERS` (files
written before that entry existed: ``"diffaug"`` for DiffAug runs, else
``"torch"``):

* ``"torch"`` — a VAE / encoder / DAE run (:class:`TrainedRun`): context pooling
  -> train-split z-score -> the networks its ``model.pt`` holds (the DAE's
  bottleneck; else the U-Net encoder over the standardised VAE means, at t = 0;
  else the VAE means themselves);
* ``"diffaug"`` — a DiffAug run: its semantic encoder's code of the scaled input
  vector (:class:`DiffAugEmbedder`).

Loading reads tensors and plain containers only (:func:`dacl.io.torchfiles.load_torch`)
and never imports the training code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from dacl.devices import resolve_device
from dacl.embedding.config import DAESection, DiffAugSection, EncoderSection
from dacl.embedding.nn.dae import DenoisingAutoencoder
from dacl.embedding.nn.diffaug import SemanticEncoder
from dacl.embedding.nn.unet import UNet1DEncoder
from dacl.features.context import ContextConfig, contextualise
from dacl.io.documents import read_json_object
from dacl.io.torchfiles import load_torch, reading
from dacl.latent.config import VAESection
from dacl.latent.scalers import Standardiser
from dacl.latent.vae import VAE
from dacl.settings import section_from_dict

#: The files of a run directory that make its embedder.
MODEL, EMBEDDER_JSON = "model.pt", "embedder.json"


@runtime_checkable
class Embedder(Protocol):
    """A frozen model: ``(W, L, P, F)`` features -> ``(W, d)`` embeddings."""

    name: str

    def embed(self, features: np.ndarray) -> np.ndarray:
        """``(W, L, P, F)`` float32 -> ``(W, d)`` float32; eval mode, batched, no grad."""
        ...


def lead_windows(features: np.ndarray) -> np.ndarray:
    """``features`` as ``(W, L, P, F)``: a ``(W, P, F)`` array is one lead."""
    x = np.asarray(features)
    return x[:, None] if x.ndim == 3 else x


def feature_shape_of(value: Any) -> tuple[int, int, int]:
    """The ``(L, P, F)`` window shape a run recorded (runs before leads recorded ``(P, F)``: one lead)."""
    shape = tuple(int(n) for n in value)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise ValueError(f"feature_shape must be (leads, paths, frames), got {shape}")
    return shape


# ------------------------------------------------------------------ VAE / encoder / DAE runs


@dataclass
class TorchEmbedder:
    """Context pooling -> standardiser -> a frozen torch map ``(n, d_in) -> (n, d)``."""

    name: str
    context: ContextConfig
    standardiser: Standardiser
    feature_shape: tuple[int, int, int]
    net: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device
    batch_size: int = 4096
    leads: tuple[str, ...] | None = None  # the leads it was trained on (None: not recorded)

    def embed(self, features: np.ndarray) -> np.ndarray:
        x = lead_windows(features)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.feature_shape:
            raise ValueError(
                f"{self.name} embedder expects features of shape (W, {', '.join(map(str, self.feature_shape))}), "
                f"got {x.shape}"
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


@dataclass
class TrainedRun:
    """What ``model.pt`` of a VAE / encoder / DAE run holds, rebuilt and frozen on a device."""

    method: str
    context: ContextConfig
    standardiser: Standardiser  # of the contextualised vectors (numpy, train split)
    feature_shape: tuple[int, int, int]  # (L, P, F)
    leads: tuple[str, ...] | None = None
    vae: VAE | None = None
    encoder: UNet1DEncoder | None = None
    latent_norm: Standardiser | None = None  # of the VAE means (torch, train split)
    dae: DenoisingAutoencoder | None = None

    def latents(self, x: torch.Tensor) -> torch.Tensor:
        """The standardised VAE means of standardised vectors: the space the encoder's views live in."""
        assert self.vae is not None and self.latent_norm is not None
        return self.latent_norm.transform_torch(self.vae.encode(x)[0])

    def embedding(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The map from standardised vectors to the embedding."""
        if self.dae is not None:
            return self.dae.encode
        if self.encoder is not None:
            encoder = self.encoder
            return lambda x: encoder.embed(self.latents(x))  # the clean view: t = 0
        assert self.vae is not None
        vae = self.vae
        return lambda x: vae.encode(x)[0]  # μ is the embedding


def load_trained_run(path: Path, device: torch.device | str = "cpu") -> TrainedRun:
    """Rebuild the networks in ``model.pt`` at ``path`` (see :class:`TrainedRun`), frozen on ``device``."""
    device = torch.device(device)
    bundle = load_torch(path)
    with reading(path):
        config = bundle["config"]
        run = TrainedRun(
            method=bundle["method"],
            context=section_from_dict(ContextConfig, "context", config.get("context", {})),
            standardiser=Standardiser(
                mean=bundle["standardiser"]["mean"].numpy(), std=bundle["standardiser"]["std"].numpy()
            ),
            feature_shape=feature_shape_of(bundle["feature_shape"]),
            leads=recorded_leads(bundle),
        )
        _rebuild_networks(run, bundle, config, device)
    return run


def _rebuild_networks(run: TrainedRun, bundle: dict[str, Any], config: dict[str, Any], device: torch.device) -> None:
    in_dim = int(bundle["in_dim"])
    if "dae" in bundle:
        dae = section_from_dict(DAESection, "dae", config.get("dae", {}))
        run.dae = _frozen(DenoisingAutoencoder.from_section(dae, in_dim), bundle["dae"], device)
        return
    vae = section_from_dict(VAESection, "vae", config.get("vae", {}))
    run.vae = _frozen(VAE.from_section(vae, in_dim), bundle["vae"], device)
    if "encoder" in bundle:
        encoder = section_from_dict(EncoderSection, "encoder", config.get("encoder", {}))
        run.encoder = _frozen(UNet1DEncoder.from_section(encoder, vae.latent_dim), bundle["encoder"], device)
        run.latent_norm = Standardiser(
            mean=bundle["latent_norm"]["mean"].to(device), std=bundle["latent_norm"]["std"].to(device)
        )


def _frozen(module: nn.Module, state: dict[str, torch.Tensor], device: torch.device) -> Any:
    module.load_state_dict(state)
    return module.to(device).eval().requires_grad_(False)


def load_torch_embedder(run_dir: Path, meta: dict[str, Any], device: torch.device) -> Embedder:
    """The embedder of a VAE / encoder / DAE run (see the module docstring)."""
    model_path = run_dir / _run_file_name(run_dir, meta, "model", MODEL)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} not found; did `dacl train` finish for {run_dir}?")
    run = load_trained_run(model_path, device)
    return TorchEmbedder(
        run.method, run.context, run.standardiser, run.feature_shape, run.embedding(), device, leads=run.leads
    )


def recorded_leads(bundle: dict[str, Any]) -> tuple[str, ...] | None:
    """The leads a model.pt says its run was trained on (``None`` for runs that did not record them)."""
    leads = bundle.get("leads")
    if leads is None:
        return None
    if not isinstance(leads, (list, tuple)) or not all(isinstance(lead, str) for lead in leads):
        raise ValueError(f"'leads' must be a list of lead names, got {leads!r:.80}")
    return tuple(leads)


# ------------------------------------------------------------------ DiffAug runs


def input_vectors(
    features: np.ndarray, diffaug: DiffAugSection, context: ContextConfig, device: str = "cpu"
) -> np.ndarray:
    """``(W, L, P, F)`` scattering features -> ``(W, D)`` vectors DiffAug works on (before scaling).

    ``input = "context"``: the parameter-free contextualisation + pooling of
    ``[context]``; ``"vae"``: the VAE posterior mean of the run ``vae_run``.
    """
    if diffaug.input == "context":
        return contextualise(lead_windows(features), context)
    if not diffaug.vae_run:
        raise ValueError("diffaug.input = 'vae' needs diffaug.vae_run (a trained `--method vae` run directory)")
    return np.asarray(load_embedder(diffaug.vae_run, device=device).embed(features), dtype=np.float32)


@dataclass
class DiffAugEmbedder:
    """The embedder of a DiffAug run: the semantic encoder's code of the scaled input vector."""

    encoder: SemanticEncoder
    scaler: Standardiser
    diffaug: DiffAugSection
    context: ContextConfig
    device: torch.device
    name: str = "diffaug"
    batch_size: int = 4096
    leads: tuple[str, ...] | None = None  # the leads it was trained on (None: not recorded)

    def embed(self, features: np.ndarray) -> np.ndarray:
        """``(W, L, P, F)`` float32 -> ``(W, code_dim)`` float32 (eval mode, batched, no grad)."""
        raw = input_vectors(features, self.diffaug, self.context, device=str(self.device))
        x = torch.from_numpy(self.scaler.transform(raw)).to(self.device)
        return self.encoder.encode(x, self.batch_size).float().cpu().numpy()


def load_diffaug_embedder(
    run_dir: str | Path, device: str | torch.device = "cpu", meta: dict[str, Any] | None = None
) -> DiffAugEmbedder:
    """The embedder of the DiffAug run in ``run_dir`` (only its encoder and scaler are loaded)."""
    run_dir = Path(run_dir)
    path = run_dir / _run_file_name(run_dir, meta or {}, "model", MODEL)
    if not path.is_file():
        raise FileNotFoundError(f"no DiffAug model at {path} (train with `dacl train --method diffaug`)")
    device = resolve_device(str(device))
    state = load_torch(path)
    with reading(path):
        config = state["config"]
        diffaug = section_from_dict(DiffAugSection, "diffaug", config.get("diffaug", {}))
        context = section_from_dict(ContextConfig, "context", config.get("context", {}))
        scaler = Standardiser.from_dict(state["scaler"])
        encoder = SemanticEncoder.from_section(diffaug, len(scaler.mean))
        encoder.load_state_dict(state["encoder"])
        leads = recorded_leads(state)
    return DiffAugEmbedder(encoder.to(device), scaler, diffaug, context, device, leads=leads)


# ------------------------------------------------------------------ loading any run


def _run_file_name(run_dir: Path, meta: dict[str, Any], key: str, default: str) -> str:
    """A file named in embedder.json: a plain name inside the run directory, nothing else."""
    name = meta.get(key, default)
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name or "\\" in name:
        raise ValueError(f"{run_dir / EMBEDDER_JSON}: {key!r} must name a file in the run directory, got {name!r}")
    return name


#: embedder kind (``"embedder"`` in embedder.json) -> ``loader(run_dir, meta, device)``.
LOADERS: dict[str, Callable[[Path, dict[str, Any], torch.device], Embedder]] = {
    "torch": load_torch_embedder,
    "diffaug": lambda run_dir, meta, device: load_diffaug_embedder(run_dir, device, meta),
}


def load_embedder(run_dir: str | Path, device: str = "cpu") -> Embedder:
    """The frozen embedder of the run written to ``run_dir`` by ``dacl train``."""
    run_dir = Path(run_dir)
    meta_path = run_dir / EMBEDDER_JSON
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} not found; is {run_dir} a finished `dacl train` run?")
    meta = read_json_object(meta_path)
    method = meta.get("method")
    if not isinstance(method, str):
        raise ValueError(f"{meta_path}: 'method' must be a string, got {method!r:.80}")
    kind = meta.get("embedder", method if method in LOADERS else "torch")
    if not isinstance(kind, str) or kind not in LOADERS:
        raise ValueError(f"{meta_path}: 'embedder' must be one of {sorted(LOADERS)}, got {kind!r:.80}")
    return LOADERS[kind](run_dir, meta, resolve_device(device))
