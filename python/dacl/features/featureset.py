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
from dacl.features.sharded import ShardedArray
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
    split_labels,
    split_provenance,
)

#: The lead of a dataset written before datasets had leads (format 1 or 2: single-lead CinC 2017).
LEGACY_LEADS: tuple[str, ...] = ("I",)
#: What a dataset's records are labelled with: one code each, several, or nothing.
TASKS: tuple[str, ...] = ("single-label", "multi-label", "none")


@dataclass
class FeatureSet:
    """Per-window features plus the record each window came from.

    Attributes:
        features: ``(W, L, P, F)`` float32 — leads × scattering paths × time frames per window
            (already log-scaled if the manifest says so). A ``(W, P, F)`` array given here is
            taken as one lead. As :func:`load_features` opens a dataset, a
            :class:`~dacl.features.sharded.ShardedArray` that stays on disk: ``features[rows]`` (an int, a
            slice, int indices or a boolean mask) reads those windows into a NumPy array,
            ``features.iter_batches(rows, batch)`` walks them in batches, ``shape``/``dtype``/``len`` are the
            whole array's, and ``np.asarray(features)`` reads everything (small data and tests only).
        record_index: ``(W,)`` int64 — row in the per-record arrays below.
        starts: ``(W,)`` int64 — first sample of the window in its record
            (at the segmentation rate).
        record_ids: ``(R,)`` str — record names, e.g. ``"A00001"``.
        record_labels: ``(R,)`` int64 — index into ``vocabulary`` of a record's label when it has
            exactly one, ``-1`` otherwise (unlabelled, or several labels).
        record_split: ``(R,)`` str — ``"train"``, ``"val"``, ``"test"`` or ``""`` (unsplit).
        manifest: parameters and provenance written by the preprocessing run; as loaded by
            :func:`load_features`, ``manifest["split"]`` is the split's provenance (method,
            seed, fractions, counts) when the dataset is split.
        leads: ``(L,)`` the lead names, in the order of the lead axis (default ``lead0, lead1, ...``).
        vocabulary: ``(C,)`` the label codes, in the order of ``record_targets``' columns
            (default :data:`~dacl.corpus.cinc2017.CLASSES`).
        record_targets: ``(R, C)`` bool multi-hot labels (default: one-hot of ``record_labels``).
        window_labels: ``(W,)`` int64 index into ``vocabulary`` of a window's own label
            (annotated records: :mod:`dacl.features.window_labels`), ``-1`` where it has none;
            ``None`` when no window has one.
    """

    features: np.ndarray
    record_index: np.ndarray
    starts: np.ndarray
    record_ids: np.ndarray
    record_labels: np.ndarray
    record_split: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)
    leads: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = CLASSES
    record_targets: np.ndarray | None = None
    window_labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.features.ndim == 3:
            self.features = self.features[:, None]
        if not self.leads:
            self.leads = tuple(f"lead{i}" for i in range(self.features.shape[1]))
        self.leads, self.vocabulary = tuple(self.leads), tuple(self.vocabulary)
        if self.record_targets is None:
            labels = np.asarray(self.record_labels)
            self.record_targets = np.zeros((len(labels), len(self.vocabulary)), dtype=bool)
            known = (labels >= 0) & (labels < len(self.vocabulary))
            self.record_targets[np.flatnonzero(known), labels[known]] = True
        self._check_shapes()

    def _check_shapes(self) -> None:
        """The per-record and per-window arrays must agree (a view that subsets records must subset all of them)."""
        assert self.record_targets is not None
        if self.record_targets.shape != (len(self.record_ids), len(self.vocabulary)):
            raise ValueError(
                f"record_targets has shape {self.record_targets.shape}, expected "
                f"({len(self.record_ids)}, {len(self.vocabulary)}): one row per record, one column per "
                "label code"
            )
        if self.window_labels is not None and len(self.window_labels) != len(self.features):
            raise ValueError(f"window_labels has {len(self.window_labels)} entries for {len(self.features)} windows")
        if self.features.shape[1] != len(self.leads):
            raise ValueError(f"features have {self.features.shape[1]} leads, leads names {len(self.leads)}")

    @property
    def task(self) -> str:
        """``"single-label"``, ``"multi-label"`` or ``"none"``, as the manifest says (default single-label)."""
        task = self.manifest.get("task")
        return task if task in TASKS else "single-label"

    @property
    def labels(self) -> np.ndarray:
        """``(W,)`` int64 label of each window: its own label where it has one, else its record's."""
        from_record = self.record_labels[self.record_index]
        if self.window_labels is None:
            return from_record
        return np.where(self.window_labels >= 0, self.window_labels, from_record)

    @property
    def targets(self) -> np.ndarray:
        """``(W, C)`` bool multi-hot labels of each window (its own label where it has one, else its record's)."""
        assert self.record_targets is not None
        out = self.record_targets[self.record_index]
        if self.window_labels is not None:
            own = self.window_labels >= 0
            out[own] = False
            out[np.flatnonzero(own), self.window_labels[own]] = True
        return out

    def window_mask(self, split: str) -> np.ndarray:
        """Boolean ``(W,)`` mask of the windows whose record is in ``split``."""
        return self.record_split[self.record_index] == split


def load_features(path: str | os.PathLike[str], mmap: bool = True) -> FeatureSet:
    """Open a dataset written by ``dacl preprocess`` as a :class:`FeatureSet`.

    Out of core by default (``mmap=True``): ``features`` is a
    :class:`~dacl.features.sharded.ShardedArray` over the shards' ``features.npy``, whose indexing reads just the
    rows asked for (nothing concatenated, nothing left mapped), so opening a dataset costs memory for the small
    per-window and per-record arrays only; read the windows in batches
    (:meth:`~dacl.features.sharded.ShardedArray.iter_batches`). ``mmap=False`` reads every shard into one
    in-memory array. Per-record
    arrays follow ``records.csv`` row order, which ``record_index`` points into.
    Every shard must have been made with the manifest's parameters and inputs
    (format 2 and later); the split comes from ``split.json`` (format 1: records.csv).
    A dataset of format 1 or 2 is read as one lead named ``I`` (they were all CinC 2017).
    """
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("status") != "complete":
        raise ValueError(f"{path}: preprocessing did not finish; rerun the same `dacl preprocess` command to resume")
    rows = read_records_csv(path)
    shards = _checked_shards(path, manifest)
    arrays = _shard_arrays(shards, mmap)
    leads = _manifest_leads(path, manifest)
    features = _features_array(path, arrays["features"], manifest, len(leads))
    record_index = arrays["record_index"].astype(np.int64, copy=False)
    n_windows = np.array([int(r["n_windows"]) for r in rows], dtype=np.int64)
    if n_windows.sum() != len(features) or not np.array_equal(
        np.bincount(record_index, minlength=len(rows)), n_windows
    ):
        raise ValueError(f"{path}: shards disagree with the n_windows column of records.csv; the dataset is damaged")
    vocabulary = _manifest_vocabulary(path, manifest)
    targets, single = record_targets([r["label"] for r in rows], vocabulary, path)
    return FeatureSet(
        features=features,
        record_index=record_index,
        starts=arrays["starts"].astype(np.int64, copy=False),
        record_ids=np.array([r["record"] for r in rows], dtype=str),
        record_labels=single,
        record_split=_record_split(path, rows, manifest),
        manifest=manifest,
        leads=leads,
        vocabulary=vocabulary,
        record_targets=targets,
        window_labels=_window_label_indices(arrays.get("window_labels"), vocabulary, len(features), path),
    )


def record_targets(
    cells: list[str], vocabulary: tuple[str, ...], path: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(multi-hot (R, C) bool, single-label index or -1 (R,))`` of the ``label`` cells of records.csv."""
    index = {code: i for i, code in enumerate(vocabulary)}
    targets = np.zeros((len(cells), len(vocabulary)), dtype=bool)
    single = np.full(len(cells), -1, dtype=np.int64)
    for r, cell in enumerate(cells):
        codes = split_labels(cell)
        unknown = [c for c in codes if c not in index]
        if unknown:
            where = f"{path / RECORDS_CSV}: " if path is not None else ""
            raise ValueError(
                f"{where}row {r + 1} has labels outside the dataset's vocabulary: "
                f"{brief(unknown)}; the dataset is damaged"
            )
        targets[r, [index[c] for c in codes]] = True
        if len(codes) == 1:
            single[r] = index[codes[0]]
    return targets, single


def _manifest_leads(path: Path, manifest: dict[str, Any]) -> tuple[str, ...]:
    leads = manifest.get("leads")
    if leads is None and _version(manifest) < 3:
        return LEGACY_LEADS
    if not isinstance(leads, list) or not leads or not all(isinstance(lead, str) for lead in leads):
        raise ValueError(f"{path}: manifest.json 'leads' must be a list of lead names, got {brief(leads)}")
    return tuple(leads)


def _manifest_vocabulary(path: Path, manifest: dict[str, Any]) -> tuple[str, ...]:
    vocabulary = manifest.get("vocabulary")
    if vocabulary is None and _version(manifest) < 3:
        return CLASSES
    if not isinstance(vocabulary, list) or not all(isinstance(v, str) and v for v in vocabulary):
        raise ValueError(f"{path}: manifest.json 'vocabulary' must be a list of label codes, got {brief(vocabulary)}")
    return tuple(vocabulary)


def _version(manifest: dict[str, Any]) -> int:
    version = manifest.get("format_version")
    return version if isinstance(version, int) else 1


def _features_array(path: Path, features: Any, manifest: dict[str, Any], n_leads: int) -> Any:
    """The features as ``(W, L, P, F)``: a dataset of format 1 or 2 has no lead axis; an empty one is shaped
    from the manifest."""
    scattering = manifest.get("scattering") or {}
    if features.ndim == 1:  # no shard holds a window
        return np.empty((0, n_leads, scattering.get("n_paths", 0), scattering.get("n_frames", 0)), np.float32)
    if features.ndim == 3 and _version(manifest) < 3:
        if isinstance(features, ShardedArray):
            return features.with_row_shape((1, *features.shape[1:]))
        return features[:, None]
    if features.ndim != 4 or features.shape[1] != n_leads:
        raise ValueError(
            f"{path}: features of shape {features.shape} do not hold the manifest's {n_leads} leads "
            "per window; the dataset is damaged"
        )
    return features


def _window_label_indices(
    labels: np.ndarray | None, vocabulary: tuple[str, ...], n_windows: int, path: Path
) -> np.ndarray | None:
    """Window labels as indices into ``vocabulary`` (``-1``: none), or ``None`` when no window has one."""
    if labels is None or len(labels) == 0 or not np.any(labels != ""):
        return None
    if len(labels) != n_windows:
        raise ValueError(f"{path}: window_labels of the shards do not match their windows; the dataset is damaged")
    index = {code: i for i, code in enumerate(vocabulary)}
    unknown = sorted({str(v) for v in np.unique(labels)} - set(index) - {""})
    if unknown:
        raise ValueError(f"{path}: window labels outside the dataset's vocabulary: {brief(unknown)}")
    return np.array([index.get(str(v), -1) for v in labels], dtype=np.int64)


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
            raise ValueError(
                f"{path}: {describe_mismatch(bad)} were not made with the manifest's parameters "
                "and inputs; the dataset is mixed, rebuild it with `dacl preprocess --overwrite`"
            )
    return shards


def _shard_arrays(shards: list[Path], mmap: bool) -> dict[str, Any]:
    """Each of :data:`~dacl.features.store.SHARD_ARRAYS` over all shards: the features as a
    :class:`~dacl.features.sharded.ShardedArray` (``mmap``) or in memory, the small per-window arrays in memory;
    ``window_labels`` only when every shard has them (format 3)."""
    arrays: dict[str, Any] = {}
    for name in SHARD_ARRAYS:
        files = [s / f"{name}.npy" for s in shards]
        if name == "window_labels" and not all(f.is_file() for f in files):
            continue
        if name == "features" and mmap and files:
            arrays[name] = ShardedArray(files)
            continue
        pieces = [np.load(f) for f in files]
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
        raise ValueError(
            f"{path / SPLIT_JSON} does not list the records of {path / RECORDS_CSV}; rerun `dacl split` on the dataset"
        )
    manifest["split"] = split_provenance(doc)
    return np.array([assignment[n] for n in names], dtype=str)
