"""Run directories: their files, and the checks a ``--resume`` makes.

A run directory holds ``config.toml``, ``checkpoint.pt`` (rewritten atomically
after every epoch), ``history.json``, and when training finished ``model.pt`` and
``embedder.json`` (:mod:`dacl.embedding.embedder` reads those two). Torch files
are read weights-only (:func:`dacl.io.torchfiles.load_torch`). A resume continues
only the run it belongs to: :func:`check_resumable` compares the config,
:func:`check_same_dataset` the :func:`dataset_identity` (which records, which
split, which preprocessing) the checkpoint was trained on; :func:`resume_state`
does both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dacl.embedding.embedder import EMBEDDER_JSON, MODEL
from dacl.features import FeatureSet
from dacl.io.torchfiles import RETRAIN, load_torch, reading
from dacl.training.config import Config, config_from_dict

#: The files training adds to a run directory (``model.pt`` and ``embedder.json`` are the embedding
#: stage's, re-exported here so that every file name of a run is found in one place).
CHECKPOINT, HISTORY, CONFIG_TOML = "checkpoint.pt", "history.json", "config.toml"
__all__ = [
    "CHECKPOINT",
    "CONFIG_TOML",
    "EMBEDDER_JSON",
    "HISTORY",
    "MODEL",
    "check_resumable",
    "check_same_dataset",
    "dataset_identity",
    "refuse_existing_run",
    "resume_state",
]
#: Config fields that may change between an interrupted run and its ``--resume``.
RESUMABLE_CHANGES = {"epochs", "patience", "device", "amp", "threads", "features"}


def refuse_existing_run(out_dir: Path) -> None:
    """A run directory that holds a checkpoint is continued with ``--resume`` only, never overwritten."""
    if (out_dir / CHECKPOINT).is_file():
        raise FileExistsError(f"{out_dir} already holds a run ({CHECKPOINT}); pass --resume or another --out")


def resume_state(path: Path, config: Config, dataset: dict[str, Any] | None, device: torch.device) -> dict[str, Any]:
    """The checkpoint at ``path``, after checking that it is this run's: the same config (but for
    :data:`RESUMABLE_CHANGES`) and the same data."""
    state = load_torch(path, device)
    with reading(path):
        saved = config_from_dict(state["config"])
    check_resumable(config, saved, path)
    check_same_dataset(state.get("dataset"), dataset, path)
    return state


# ----------------------------------------------------------- resume checks


def check_resumable(current: Config, saved: Config, path: Path) -> None:
    """Refuse to resume the checkpoint ``path`` with a config that would train something else."""
    diffs = []
    cur, old = current.to_dict(), saved.to_dict()
    for section, values in cur.items():
        for key, value in values.items():
            if key not in RESUMABLE_CHANGES and old[section].get(key) != value:
                diffs.append(f"{section}.{key}: {old[section].get(key)!r} -> {value!r}")
    if diffs:
        raise ValueError(f"cannot resume {path}: the config differs from the checkpoint's in " + ", ".join(diffs))


#: Manifest entries that say which data a dataset holds (the rest are timings, paths, status, split).
DATASET_MANIFEST_KEYS = (
    "format",
    "format_version",
    "params",
    "inputs",
    "n_records",
    "n_records_ok",
    "n_windows",
    "scattering",
)


def dataset_identity(features: FeatureSet, config: Config) -> dict[str, Any]:
    """What a run trains on, in plain values (stored in checkpoints, model.pt and history.json).

    Computed from the FeatureSet (not from file bytes), so it does not depend on how a
    dataset stores its split: a digest of the manifest's content entries, the split's
    seed and fractions, and the records (names, digest) and window counts of the train
    and val splits actually used.
    """
    split = features.manifest.get("split") or {}

    def used(split_name: str) -> dict[str, Any]:
        mask = features.window_mask(split_name)
        names = sorted(str(features.record_ids[i]) for i in np.unique(features.record_index[mask]))
        return {"records": len(names), "windows": int(mask.sum()), "sha256": _digest(names)}

    return {
        "manifest_sha256": _digest({k: features.manifest.get(k) for k in DATASET_MANIFEST_KEYS}),
        "split_seed": split.get("seed") if isinstance(split, dict) else None,
        "split_fractions": split.get("fractions") if isinstance(split, dict) else None,
        "train": used(config.data.train_split),
        "val": used(config.data.val_split),
    }


_IDENTITY_LABELS = {
    "manifest_sha256": "dataset content (manifest parameters and inputs)",
    "split_seed": "split seed",
    "split_fractions": "split fractions",
    "train": "train split",
    "val": "val split",
}


def check_same_dataset(saved: Any, current: dict[str, Any] | None, path: Path) -> None:
    """Refuse to resume the checkpoint ``path`` on other data than it was trained on.

    ``current = None``: the caller trains on plain arrays and tracks no dataset (then
    neither may the checkpoint).
    """
    if saved is None and current is None:
        return
    if not isinstance(saved, dict):
        raise ValueError(f"cannot resume {path}: it does not record which dataset it was trained on; {RETRAIN}")
    if current is None:
        raise ValueError(f"cannot resume {path}: it was trained on a dataset, this run names none")
    diffs = [
        f"{label} {_show(saved.get(key))} -> {_show(current.get(key))}"
        for key, label in _IDENTITY_LABELS.items()
        if saved.get(key) != current.get(key)
    ]
    if diffs:
        raise ValueError(
            f"cannot resume {path}: it was trained on other data ({'; '.join(diffs)}); "
            "resume with the dataset and split it was trained on, or train into a new --out"
        )


def _show(value: Any) -> str:
    if isinstance(value, dict) and "sha256" in value:
        return f"({value.get('records')} records, {value.get('windows')} windows, sha256 {str(value['sha256'])[:12]})"
    if isinstance(value, str) and len(value) == 64:
        return value[:12]
    return repr(value)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
