"""A features dataset on disk, and its in-memory view.

``dacl preprocess`` writes a dataset directory (see ``dacl.features.build`` for the
layout); :func:`load_features` opens it. Training and evaluation see only
:class:`FeatureSet`, so they work the same on the shipped sample, the full
corpus or a synthetic set built in a test.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dacl.corpus.cinc2017 import CLASSES
from dacl.io.atomic import write_bytes
from dacl.io.documents import read_json_object



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


# ------------------------------------------------------------------ on-disk IO
# The layout is described in dacl.features.build; these helpers are shared by
# preprocessing, splitting and loading.

FORMAT = "dacl-features"
#: 2: shards record their identity (``identity.json``), the split lives in ``split.json``
#: (format 1 kept it in a ``split`` column of records.csv and a ``split`` entry of the manifest).
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
RECORDS_CSV = "records.csv"
SHARDS_DIR = "shards"
SPLIT_JSON = "split.json"
SPLIT_FORMAT = "dacl-split"
SHARD_IDENTITY = "identity.json"
#: The manifest entries that decide a dataset's contents; every shard records them.
IDENTITY_KEYS: tuple[str, ...] = ("format_version", "params", "inputs", "n_records")
#: Columns of ``records.csv`` (one row per record listed by the corpus, bad ones included).
RECORD_COLUMNS: tuple[str, ...] = ("record", "label", "n_windows", "length", "fs", "sha256", "status", "error")
SHARD_ARRAYS: tuple[str, ...] = ("features", "record_index", "starts")


def records_csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    """``records.csv`` for ``rows``; a ``split`` column is kept when the rows carry one (format 1)."""
    columns = RECORD_COLUMNS + (("split",) if any("split" in row for row in rows) else ())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: row.get(c, "") for c in columns} for row in rows)
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
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{csv_path} is not a records.csv written by dacl ({type(err).__name__})") from None
    missing = [c for c in ("record", "label", "n_windows", "status") if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{csv_path} lacks the columns {', '.join(missing)}; not a records.csv written by dacl")
    return rows


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``manifest.json`` of the dataset directory ``path`` (a JSON object)."""
    mpath = Path(path) / MANIFEST
    if not mpath.is_file():
        raise FileNotFoundError(f"{mpath} not found; is {path} a dataset written by `dacl preprocess`?")
    return read_json_object(mpath, "dacl dataset manifest")


def our_manifest(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest if ``path`` is recognisably a dacl dataset (``manifest.json`` is a JSON
    object with ``"format": "dacl-features"``), else ``None``. Only such a directory is ever
    replaced or removed by dacl."""
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == FORMAT else None


def identity_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The :data:`IDENTITY_KEYS` entries of a manifest or a shard's identity record."""
    return {k: doc.get(k) for k in IDENTITY_KEYS}


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf where two JSON-like values differ (values cut short)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new), key=str)
                for d in differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [f"{prefix.rstrip('.')}: {_short(old)} -> {_short(new)}"]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def mismatched_shards(path: str | os.PathLike[str], identity: dict[str, Any]) -> dict[str, list[str]]:
    """Shards of the dataset at ``path`` not made with ``identity``: name -> differences."""
    bad: dict[str, list[str]] = {}
    for shard in shard_dirs(path):
        try:
            recorded = identity_of(read_json_object(shard / SHARD_IDENTITY, "shard identity record"))
        except FileNotFoundError:
            bad[shard.name] = [f"no {SHARD_IDENTITY}: made by another dacl version or not by dacl"]
            continue
        except ValueError:
            bad[shard.name] = [f"{SHARD_IDENTITY} is unreadable"]
            continue
        diffs = differences(recorded, identity)
        if diffs:
            bad[shard.name] = diffs
    return bad


def describe_mismatch(bad: dict[str, list[str]]) -> str:
    """``shards 000001, 000004 (params.band.0: 1.0 -> 0.5; ...)``, kept short."""
    names = sorted(bad)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    first = bad[names[0]]
    return f"shard{'s' if len(names) > 1 else ''} {shown} ({'; '.join(first[:3])}{'; ...' if len(first) > 3 else ''})"


def shard_dirs(path: str | os.PathLike[str]) -> list[Path]:
    """Completed shard directories, in order (temp directories of interrupted runs excluded)."""
    root = Path(path) / SHARDS_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit())


# ------------------------------------------------------------------ the split


def read_split(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``split.json`` of the dataset at ``path`` (``None`` if unsplit); checked for shape."""
    spath = Path(path) / SPLIT_JSON
    if not spath.is_file():
        return None
    doc = read_json_object(spath, "dacl split")
    assignment = doc.get("assignment")
    if doc.get("format") != SPLIT_FORMAT or not isinstance(assignment, dict):
        raise ValueError(f"{spath} is not a split written by `dacl split` (no {SPLIT_FORMAT!r} assignment)")
    if not all(isinstance(side, str) and side in ("", "train", "val", "test") for side in assignment.values()):
        raise ValueError(f"{spath}: sides must be 'train', 'val', 'test' or ''")
    return doc


def split_provenance(doc: dict[str, Any]) -> dict[str, Any]:
    """A split document without its per-record assignment: method, seed, fractions, counts."""
    return {k: v for k, v in doc.items() if k not in ("format", "assignment")}


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


# ------------------------------------------------------------------ replacing a dataset
# ``--overwrite`` builds the new dataset beside the old one and swaps it in with two
# renames; all three names live in one folder (one file system), under the writer lock.


def staging_path(out: str | os.PathLike[str]) -> Path:
    """Where ``--overwrite`` builds the replacement of ``out``: ``.NAME.dacl-new`` beside it."""
    p = Path(os.path.abspath(out))
    return p.parent / f".{p.name}.dacl-new"


def retired_path(out: str | os.PathLike[str]) -> Path:
    """Where the old dataset waits during a swap: ``.NAME.dacl-old`` beside ``out``."""
    p = Path(os.path.abspath(out))
    return p.parent / f".{p.name}.dacl-old"


def remove_ours(path: Path) -> None:
    """Remove ``path`` if it is an empty directory or recognisably a dacl dataset; else refuse."""
    if not path.exists():
        return
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()
    elif path.is_dir() and our_manifest(path) is not None:
        shutil.rmtree(path)
    else:
        raise FileExistsError(f"{path} is in the way and is not a dacl dataset; move it away and rerun")


def swap_in(staged: Path, out: Path) -> None:
    """Replace ``out`` (a dacl dataset, an empty folder, or nothing) by ``staged``; the caller
    holds the writer lock. A crash between the renames is repaired by :func:`finish_swap`."""
    old = retired_path(out)
    if out.exists():
        os.rename(out, old)
    os.rename(staged, out)
    remove_ours(old)


def finish_swap(out: Path) -> None:
    """Complete a swap that a crash interrupted (the caller holds the writer lock): the old
    dataset was moved aside; the new one goes in (or the old one back, if there is no new one)."""
    old = retired_path(out)
    if not old.exists():
        return
    if not out.exists():
        staged = staging_path(out)
        os.rename(staged if staged.is_dir() else old, out)
    remove_ours(old)


# ------------------------------------------------------------------ loading


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
    shards = shard_dirs(path)
    if len(shards) != manifest.get("n_shards"):
        raise ValueError(f"{path}: manifest lists {_short(manifest.get('n_shards'))} shards, found {len(shards)}")
    version = manifest.get("format_version")
    if isinstance(version, int) and version >= 2:
        bad = mismatched_shards(path, identity_of(manifest))
        if bad:
            raise ValueError(f"{path}: {describe_mismatch(bad)} were not made with the manifest's parameters "
                             "and inputs; the dataset is mixed, rebuild it with `dacl preprocess --overwrite`")
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
        record_split=_record_split(path, rows, manifest),
        manifest=manifest,
    )
