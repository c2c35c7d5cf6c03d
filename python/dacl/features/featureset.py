"""A features dataset in memory: :class:`FeatureSet`, and :func:`load_features` to open one.

Training and evaluation see only :class:`FeatureSet`, so they work the same on
the shipped sample, the full corpus or a synthetic set built in a test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dacl.corpus.cinc2017 import CLASSES
from dacl.features.store import (
    RECORDS_CSV,
    SHARD_ARRAYS,
    SPLIT_JSON,
    brief,
    describe_mismatch,
    identity_of,
    mismatched_shards,
    read_manifest,
    read_records_csv,
    read_split,
    shard_dirs,
    split_provenance,
)


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
        record_labels: ``(R,)`` int64 — index into :data:`~dacl.corpus.cinc2017.CLASSES`, ``-1`` if unlabelled.
        record_split: ``(R,)`` str — ``"train"``, ``"val"``, ``"test"`` or ``""`` (unsplit).
        manifest: parameters and provenance written by the preprocessing run; as loaded by
            :func:`load_features`, ``manifest["split"]`` is the split's provenance (method,
            seed, fractions, counts) when the dataset is split.
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


def load_features(path: str | os.PathLike[str], mmap: bool = True) -> FeatureSet:
    """Open a dataset written by ``dacl preprocess`` as a :class:`FeatureSet`.

    A single-shard dataset is returned memory-mapped (``mmap=True``); several
    shards are concatenated into memory, one shard at a time. Per-record
    arrays follow ``records.csv`` row order, which ``record_index`` points into.
    Every shard must have been made with the manifest's parameters and inputs
    (format 2); the split comes from ``split.json`` (format 1: records.csv).
    """
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("status") != "complete":
        raise ValueError(f"{path}: preprocessing did not finish; rerun the same `dacl preprocess` command to resume")
    rows = read_records_csv(path)
    shards = _checked_shards(path, manifest)
    arrays = _shard_arrays(shards, mmap)
    features = arrays["features"]
    if features.ndim != 3:
        n_paths, n_frames = manifest["scattering"]["n_paths"], manifest["scattering"]["n_frames"]
        features = np.empty((0, n_paths, n_frames), np.float32)
    record_index = arrays["record_index"].astype(np.int64, copy=False)
    n_windows = np.array([int(r["n_windows"]) for r in rows], dtype=np.int64)
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
        record_split=_record_split(path, rows, manifest),
        manifest=manifest,
    )


def _checked_shards(path: Path, manifest: dict[str, Any]) -> list[Path]:
    """The shard directories, after checking there are as many as the manifest lists and (format 2)
    that every one was made with the manifest's parameters and inputs."""
    shards = shard_dirs(path)
    if len(shards) != manifest.get("n_shards"):
        raise ValueError(f"{path}: manifest lists {brief(manifest.get('n_shards'))} shards, found {len(shards)}")
    version = manifest.get("format_version")
    if isinstance(version, int) and version >= 2:
        bad = mismatched_shards(path, identity_of(manifest))
        if bad:
            raise ValueError(f"{path}: {describe_mismatch(bad)} were not made with the manifest's parameters "
                             "and inputs; the dataset is mixed, rebuild it with `dacl preprocess --overwrite`")
    return shards


def _shard_arrays(shards: list[Path], mmap: bool) -> dict[str, np.ndarray]:
    """Each of :data:`~dacl.features.store.SHARD_ARRAYS` over all shards (one shard: mapped, not copied)."""
    mode = "r" if mmap else None
    arrays = {}
    for name in SHARD_ARRAYS:
        pieces = [np.load(s / f"{name}.npy", mmap_mode=mode) for s in shards]
        if len(pieces) == 1:
            arrays[name] = pieces[0]
        elif pieces:
            arrays[name] = np.concatenate(pieces)
        else:
            arrays[name] = np.empty((0,), np.int64)
    return arrays


def _record_split(path: Path, rows: list[dict[str, str]], manifest: dict[str, Any]) -> np.ndarray:
    """Each record's side: from ``split.json``, else (format 1) the ``split`` column of records.csv.
    Puts the split's provenance into ``manifest["split"]``."""
    doc = read_split(path)
    if doc is None:
        return np.array([r.get("split") or "" for r in rows], dtype=str)
    assignment = doc["assignment"]
    names = [r["record"] for r in rows]
    if set(assignment) != set(names) or len(assignment) != len(names):
        raise ValueError(f"{path / SPLIT_JSON} does not list the records of {path / RECORDS_CSV}; "
                         "rerun `dacl split` on the dataset")
    manifest["split"] = split_provenance(doc)
    return np.array([assignment[n] for n in names], dtype=str)
