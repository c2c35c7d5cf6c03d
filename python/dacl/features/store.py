"""A features dataset on disk: its layout, its files, and replacing one safely.

Dataset layout (a directory; nothing needs dacl to be read)::

    manifest.json          parameters, versions, input checksums, scattering
                           summary, timing, status
    records.csv            one row per corpus record: record, label, n_windows,
                           length, fs, sha256, status (ok/error), error
    split.json             the split, once made (:mod:`dacl.features.split`)
    shards/000000/         one directory per chunk of records:
        features.npy       (w, P, F) float32 windows × scattering paths × frames
        record_index.npy   (w,) int64 row of records.csv
        starts.npy         (w,) int64 first sample of the window (at ``fs``)
        records.csv        the chunk's rows of records.csv
        identity.json      what the shard was made with: format version,
                           parameters, input checksums, number of records

Why plain ``.npy``: any numpy opens it, ``np.load(..., mmap_mode="r")`` maps it
without reading it, and a shard per chunk is what makes a build resumable
without a database or HDF5 dependency. :mod:`dacl.features.build` writes a
dataset, :func:`dacl.features.featureset.load_features` reads one.

Format version 2 (this one) added ``identity.json`` and ``split.json``; format 1
kept the split in a ``split`` column of records.csv and a ``split`` entry of the
manifest, and is still read (not resumed: rebuild it with ``--overwrite``).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from dacl.features.featurizer import ChunkResult
from dacl.io.atomic import naming, write_bytes, write_json
from dacl.io.documents import read_json_object

# ------------------------------------------------------------------ files of a dataset

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
    return [] if old == new else [f"{prefix.rstrip('.')}: {brief(old)} -> {brief(new)}"]


def brief(value: Any, limit: int = 80) -> str:
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


# ------------------------------------------------------------------ writing a shard


def write_shard(shards_root: Path, index: int, chunk: ChunkResult, identity: dict[str, Any]) -> Path:
    """Write shard ``index`` (the chunk's :data:`SHARD_ARRAYS` and records.csv rows, and the ``identity``
    it was made with) into a temp directory and rename it into place: a shard is complete or absent."""
    final = shards_root / f"{index:06d}"
    tmp = shards_root / f".tmp-{index:06d}-{os.getpid()}"
    with naming(tmp):
        tmp.mkdir(parents=True)
    try:
        for name in SHARD_ARRAYS:
            with naming(tmp / f"{name}.npy"), open(tmp / f"{name}.npy", "wb") as f:
                np.save(f, getattr(chunk, name))
                f.flush()
                os.fsync(f.fileno())
        write_bytes(tmp / RECORDS_CSV, records_csv_bytes(chunk.rows))
        write_json(tmp / SHARD_IDENTITY, {**identity, "shard": index}, strict=True)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
