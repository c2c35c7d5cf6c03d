"""Generated views of a trained DiffAug run, for looking at them.

Given a DiffAug run directory and a :class:`~dacl.features.FeatureSet`,
:func:`generate_views` picks a few held-out windows (seeded), draws ``K``
samples for each from the run's EMA generator conditioned on ``Enc(x)`` (the
run's configured sampler, DDIM in the shipped configs), and returns the
originals, the views and a background sample of other windows, all in the
**scaled space the generator works in** (a clipping
:class:`~dacl.latent.scalers.Standardiser`: per-dimension z-score on the train
split, divided by ``clip_sigma``, clipped to [-1, 1]).
:func:`dacl.report.plots.plot_generated_views` draws them.

Two kinds of run are understood:

* a ``--method diffaug`` run: the input vector is ``diffaug.input`` of its
  config (contextualised scattering vector, or a VAE run's posterior mean);
* the ``diffaug/`` sub-run of a run whose method has generated views
  (``--method dacl+diffaug``): it was trained on
  the parent run's frozen VAE latents, z-scored with the parent's train
  statistics, so those are rebuilt from the parent's ``model.pt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dacl.devices import make_generator
from dacl.embedding.embedder import EMBEDDER_JSON, MODEL, input_vectors, load_trained_run
from dacl.features import FeatureSet
from dacl.features.context import contextualise
from dacl.io.documents import read_json_object
from dacl.training.diffaug import DiffAugModels
from dacl.training.methods import METHODS


@dataclass
class GeneratedViews:
    """Originals ``(n, D)``, their views ``(n, K, D)`` and other windows ``(m, D)``, all scaled."""

    originals: np.ndarray
    generated: np.ndarray
    others: np.ndarray
    record_ids: list[str]
    labels: np.ndarray  # (n,) class index of each original's record (-1 unlabelled)
    split: str
    space: str  # what a dimension is, for axis labels


def _parent_dacl_run(run_dir: Path) -> Path | None:
    """The parent directory if ``run_dir`` is the ``diffaug/`` sub-run of a run with generated views."""
    meta = run_dir.parent / EMBEDDER_JSON
    if run_dir.name != "diffaug" or not meta.is_file():
        return None
    try:
        method = read_json_object(meta).get("method")
    except ValueError:  # not a dacl run's embedder.json: then run_dir is no sub-run
        return None
    parent = METHODS.get(method) if isinstance(method, str) else None
    return run_dir.parent if parent is not None and parent.generated_views else None


def dacl_latents(parent_run: Path, features: np.ndarray, device: str = "cpu") -> np.ndarray:
    """The standardised VAE latents a dacl+diffaug run fed its DiffAug sub-run (and its encoder)."""
    path = parent_run / MODEL
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; the dacl+diffaug run {parent_run} did not finish")
    run = load_trained_run(path, device)
    x = torch.from_numpy(run.standardiser.transform(contextualise(np.asarray(features), run.context))).to(device)
    with torch.no_grad():
        return run.latents(x).float().cpu().numpy()


def _pick_windows(
    fs: FeatureSet, split: str, n: int, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` windows from ``n`` distinct records of ``split`` and up to ``m`` other windows of it."""
    in_split = np.flatnonzero(fs.window_mask(split))
    records = np.unique(fs.record_index[in_split])
    if len(records) < n:
        raise ValueError(f"split {split!r} has {len(records)} records with windows; need n = {n}")
    chosen = rng.choice(records, size=n, replace=False)
    picked = np.array([rng.choice(in_split[fs.record_index[in_split] == r]) for r in chosen])
    rest = np.setdiff1d(in_split, picked)
    others = np.sort(rng.choice(rest, size=min(m, len(rest)), replace=False))
    return picked, others


def _input_vectors(run_dir: Path, models: DiffAugModels, windows: np.ndarray, device: str) -> tuple[np.ndarray, str]:
    """The run's unscaled input vectors of ``windows``, and what a dimension of them is."""
    parent = _parent_dacl_run(run_dir)
    if parent is not None:
        return dacl_latents(parent, windows, device), "dimension of the DACL VAE latent (z-scored μ)"
    raw = input_vectors(windows, models.config.diffaug, models.config.context, device)
    return raw, (
        "dimension of the contextualised scattering vector"
        if models.config.diffaug.input == "context"
        else "dimension of the VAE latent (μ)"
    )


def generate_views(
    run_dir: str | Path,
    featureset: FeatureSet,
    n: int = 4,
    k: int = 8,
    n_others: int = 2000,
    seed: int = 0,
    splits: tuple[str, ...] = ("test", "val"),
    device: str = "cpu",
    denoiser: str = "ema",
) -> GeneratedViews:
    """Pick ``n`` held-out windows (first of ``splits`` that has ``n`` records) and draw ``k`` views each.

    Views come from the run's EMA generator with its configured sampler,
    conditioned on the encoder's code of each original. Everything returned
    is in the run's scaled space (see the module docstring). Seeded: the same
    ``seed`` picks the same windows and draws the same views. ``denoiser =
    "online"`` samples from the online denoiser instead of its EMA copy (to
    check whether the EMA has caught up with training).
    """
    if denoiser not in ("ema", "online"):
        raise ValueError(f"denoiser must be 'ema' or 'online', got {denoiser!r}")
    if n < 1 or k < 1 or n_others < 0:
        raise ValueError(f"need n >= 1, k >= 1, n_others >= 0; got n={n}, k={k}, n_others={n_others}")
    run_dir = Path(run_dir)
    models = DiffAugModels.load(run_dir, device)
    rng = np.random.default_rng(seed)
    split = next((s for s in splits if len(np.unique(featureset.record_index[featureset.window_mask(s)])) >= n), None)
    if split is None:
        raise ValueError(f"no split among {splits} has {n} records with windows")
    picked, others = _pick_windows(featureset, split, n, n_others, rng)
    windows = np.asarray(featureset.features[np.concatenate([picked, others])])

    raw, space = _input_vectors(run_dir, models, windows, device)
    dim = len(models.scaler.mean)
    if raw.shape[1] != dim:
        raise ValueError(f"{run_dir}: the run expects {dim}-d input vectors, these features give {raw.shape[1]}-d")
    x = models.scaler.transform(raw)

    torch.manual_seed(seed)
    dev = models.device
    code = models.encode(torch.from_numpy(x[:n]).to(dev))
    if denoiser == "online":
        models.ema.model = models.denoiser.eval()  # generate() samples from ema.model
    views = models.generate(code.repeat_interleave(k, dim=0), make_generator(dev, seed))
    generated = views.float().cpu().numpy().reshape(n, k, dim)
    rec = featureset.record_index[picked]
    return GeneratedViews(
        originals=x[:n],
        generated=generated,
        others=x[n:],
        record_ids=[str(featureset.record_ids[r]) for r in rec],
        labels=np.asarray(featureset.record_labels[rec]),
        split=split,
        space=f"{space}, scaled (z / {models.scaler.clip:g}σ, clipped to ±1)",
    )


def view_distances(originals: np.ndarray, generated: np.ndarray) -> dict[str, float]:
    """Mean Euclidean distance of each view to its own original and to the other originals.

    ``own < other`` means the views land nearer the sample they were
    conditioned on than the other samples.
    """
    if generated.ndim != 3 or generated.shape[0] != originals.shape[0] or generated.shape[2] != originals.shape[1]:
        raise ValueError(f"generated must be (n, K, D) matching originals {originals.shape}, got {generated.shape}")
    n = originals.shape[0]
    if n < 2:
        raise ValueError("need at least 2 originals to compare own vs other distances")
    d = np.linalg.norm(generated[:, :, None, :] - originals[None, None, :, :], axis=-1)  # (n, K, n)
    own = d[np.arange(n), :, np.arange(n)]
    mask = ~np.eye(n, dtype=bool)
    other = d.transpose(0, 2, 1)[mask]  # (n(n-1), K)
    orig = np.linalg.norm(originals[:, None] - originals[None], axis=-1)[mask]
    return {
        "view_to_own": float(own.mean()),
        "view_to_other": float(other.mean()),
        "original_to_other": float(orig.mean()),
    }
