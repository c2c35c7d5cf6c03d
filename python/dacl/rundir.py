"""Run directories: reading their files safely, and the checks a ``--resume`` makes.

A run directory may come from someone else, so reading one must never run
code: every torch file dacl reads (model, checkpoint) goes through
:func:`load_torch`, which loads tensors and plain containers only
(``weights_only=True``) and turns anything else into a ``ValueError`` naming
the file. A resume continues only the run it belongs to: :func:`check_resumable`
compares the config, :func:`check_same_dataset` the :func:`dataset_identity`
(which records, which split, which preprocessing) the checkpoint was trained on.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from dacl.config import Config
    from dacl.dataset import FeatureSet

CHECKPOINT, MODEL, HISTORY, EMBEDDER_JSON, CONFIG_TOML = (
    "checkpoint.pt", "model.pt", "history.json", "embedder.json", "config.toml",
)
#: Config fields that may change between an interrupted run and its ``--resume``.
RESUMABLE_CHANGES = {"epochs", "patience", "device", "amp", "threads", "features"}
#: What to do about a file this version cannot use.
RETRAIN = "if an older dacl wrote it, train the run again (into a new --out)"


# ------------------------------------------------------------------ reading


def load_torch(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The dict saved in the torch file ``path``: tensors and plain containers only, never code.

    Raises:
        ValueError: the file holds other objects (unpickling them could run code), is
            truncated or damaged, or is not a dict at the top level.
        OSError: it cannot be opened (missing, permissions).
    """
    with open(path, "rb") as f:  # a missing or unreadable file is an OSError naming it
        try:
            obj = torch.load(f, map_location=map_location, weights_only=True)
        except MemoryError:
            raise
        except pickle.UnpicklingError as err:
            raise ValueError(
                f"{path} holds objects other than tensors and plain containers ({_refused_object(err)}), which "
                f"dacl never loads from a run directory (unpickling them can run code); {RETRAIN}"
            ) from err
        except Exception as err:  # noqa: BLE001  whatever torch raises on these bytes (OSError for a
            # truncated zip, RuntimeError, EOFError, ...), the file is at fault
            raise ValueError(
                f"{path} is not a readable torch file ({type(err).__name__}: {_first_line(err)}); "
                "it may be truncated or damaged"
            ) from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path} should hold a dict of tensors, found {type(obj).__name__}; {RETRAIN}")
    return obj


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (``embedder.json``, ``history.json``); anything else is a ValueError."""
    try:
        obj = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path} should hold a JSON object, found {_json_kind(obj)}")
    return obj


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Errors met while using what was loaded from ``path`` (a missing key, a tensor of the
    wrong shape, a wrong type) become one ValueError naming the file."""
    try:
        yield
    except (KeyError, IndexError, TypeError, AttributeError, RuntimeError, ValueError) as err:
        what = f"missing entry {err}" if isinstance(err, KeyError) else f"{type(err).__name__}: {_first_line(err)}"
        raise ValueError(f"{path} does not have the content this dacl expects ({what}); {RETRAIN}") from err


def _first_line(err: BaseException, limit: int = 160) -> str:
    text = (str(err).strip().splitlines() or [""])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refused_object(err: BaseException) -> str:
    """What torch's weights-only unpickler refused, e.g. ``GLOBAL posix.system``."""
    found = re.search(r"GLOBAL [\w.]{1,100}|unsupported operand \S{1,40}", str(err), re.IGNORECASE)
    return found.group(0).rstrip(".") if found else "an object that is not a tensor"


def _json_kind(obj: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if obj is None else kinds.get(type(obj), type(obj).__name__)


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
DATASET_MANIFEST_KEYS = ("format", "format_version", "params", "inputs", "n_records", "n_records_ok", "n_windows",
                         "scattering")


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
    diffs = [f"{label} {_show(saved.get(key))} -> {_show(current.get(key))}"
             for key, label in _IDENTITY_LABELS.items() if saved.get(key) != current.get(key)]
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
