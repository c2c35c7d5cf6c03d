"""A features dataset on disk, and its in-memory view.

``dacl preprocess`` writes a dataset directory (see ``dacl.preprocess`` for the
layout); :func:`load_features` opens it. Training and evaluation see only
:class:`FeatureSet`, so they work the same on the shipped sample, the full
corpus or a synthetic set built in a test.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dacl.atomic import write_bytes

#: PhysioNet 2017 classes, in the order used for integer labels everywhere.
CLASSES: tuple[str, ...] = ("N", "A", "O", "~")


@dataclass
class FeatureSet:
    """Per-window features plus the record each window came from.

    Attributes:
        features: ``(W, P, F)`` float32 — scattering paths × time frames per window
            (already log-scaled if the manifest says so).
        record_index: ``(W,)`` int64 — row in the per-record arrays below.
        starts: ``(W,)`` int64 — first sample of the window in its record
            (at the segmentation rate).
        record_ids: ``(R,)`` str — record names, e.g. ``"A00001"``.
        record_labels: ``(R,)`` int64 — index into :data:`CLASSES`, ``-1`` if unlabelled.
        record_split: ``(R,)`` str — ``"train"``, ``"val"``, ``"test"`` or ``""`` (unsplit).
        manifest: parameters and provenance written by the preprocessing run.
    """

    features: np.ndarray
    record_index: np.ndarray
    starts: np.ndarray
    record_ids: np.ndarray
    record_labels: np.ndarray
    record_split: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        """``(W,)`` int64 label of each window (its record's label)."""
        return self.record_labels[self.record_index]

    def window_mask(self, split: str) -> np.ndarray:
        """Boolean ``(W,)`` mask of the windows whose record is in ``split``."""
        return self.record_split[self.record_index] == split


# ------------------------------------------------------------------ on-disk IO
# The layout is described in dacl.preprocess; these helpers are shared by
# preprocessing, splitting and loading.

MANIFEST = "manifest.json"
RECORDS_CSV = "records.csv"
SHARDS_DIR = "shards"
#: Columns of ``records.csv`` (one row per record listed by the corpus, bad ones included).
RECORD_COLUMNS: tuple[str, ...] = (
    "record", "label", "n_windows", "length", "fs", "sha256", "status", "error", "split",
)
SHARD_ARRAYS: tuple[str, ...] = ("features", "record_index", "starts")


def records_csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RECORD_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: row.get(c, "") for c in RECORD_COLUMNS} for row in rows)
    return buf.getvalue().encode()


def write_records_csv(path: str | os.PathLike[str], rows: list[dict[str, Any]]) -> None:
    """Atomically (re)write ``records.csv`` of the dataset at ``path``."""
    write_bytes(Path(path) / RECORDS_CSV, records_csv_bytes(rows))


def read_records_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of ``records.csv`` (a dataset directory or the csv itself), as strings."""
    path = Path(path)
    csv_path = path / RECORDS_CSV if path.is_dir() else path
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} not found; is {path} a dataset written by `dacl preprocess`?")
    with open(csv_path, newline="") as f:
        return list(csv.DictReader(f))


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``manifest.json`` of the dataset directory ``path``."""
    mpath = Path(path) / MANIFEST
    if not mpath.is_file():
        raise FileNotFoundError(f"{mpath} not found; is {path} a dataset written by `dacl preprocess`?")
    try:
        return json.loads(mpath.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{mpath} is not valid JSON ({err})") from None


def shard_dirs(path: str | os.PathLike[str]) -> list[Path]:
    """Completed shard directories, in order (temp directories of interrupted runs excluded)."""
    root = Path(path) / SHARDS_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit())


def load_features(path: str | os.PathLike[str], mmap: bool = True) -> FeatureSet:
    """Open a dataset written by ``dacl preprocess`` as a :class:`FeatureSet`.

    A single-shard dataset is returned memory-mapped (``mmap=True``); several
    shards are concatenated into memory, one shard at a time. Per-record
    arrays follow ``records.csv`` row order, which ``record_index`` points into.
    """
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("status") != "complete":
        raise ValueError(f"{path}: preprocessing did not finish; rerun the same `dacl preprocess` command to resume")
    rows = read_records_csv(path)
    shards = shard_dirs(path)
    if len(shards) != manifest.get("n_shards"):
        raise ValueError(f"{path}: manifest lists {manifest.get('n_shards')} shards, found {len(shards)}")
    mode = "r" if mmap else None
    parts = {name: [np.load(s / f"{name}.npy", mmap_mode=mode) for s in shards] for name in SHARD_ARRAYS}
    arrays = {}
    for name, pieces in parts.items():
        if len(pieces) == 1:
            arrays[name] = pieces[0]
        elif pieces:
            arrays[name] = np.concatenate(pieces)
        else:
            arrays[name] = np.empty((0,), np.int64)
    features = arrays["features"]
    if features.ndim != 3:
        n_paths, n_frames = manifest["scattering"]["n_paths"], manifest["scattering"]["n_frames"]
        features = np.empty((0, n_paths, n_frames), np.float32)
    n_windows = np.array([int(r["n_windows"]) for r in rows], dtype=np.int64)
    record_index = arrays["record_index"].astype(np.int64, copy=False)
    if n_windows.sum() != len(features) or not np.array_equal(
        np.bincount(record_index, minlength=len(rows)), n_windows
    ):
        raise ValueError(f"{path}: shards disagree with the n_windows column of records.csv; the dataset is damaged")
    return FeatureSet(
        features=features,
        record_index=record_index,
        starts=arrays["starts"].astype(np.int64, copy=False),
        record_ids=np.array([r["record"] for r in rows], dtype=str),
        record_labels=np.array([CLASSES.index(r["label"]) if r["label"] else -1 for r in rows], dtype=np.int64),
        record_split=np.array([r.get("split", "") for r in rows], dtype=str),
        manifest=manifest,
    )
