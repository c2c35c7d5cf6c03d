"""A features dataset on disk: its layout, its files, and replacing one safely.

Dataset layout (a directory; nothing needs dacl to be read)::

    manifest.json          parameters, versions, input checksums, the layout and
                           its label options, the leads, the label vocabulary and
                           task, scattering summary, timing, status
    records.csv            one row per corpus record: record, label (its label
                           codes, separated by ';'), n_windows, length, fs, sha256,
                           status (ok/error), error, patient, fold
    split.json             the split, once made (:mod:`dacl.features.split`)
    shards/000000/         one directory per chunk of records:
        features.npy       (w, L, P, F) float32 windows × leads × scattering paths × frames
        record_index.npy   (w,) int64 row of records.csv
        starts.npy         (w,) int64 first sample of the window (at ``fs``)
        window_labels.npy  (w,) str label of the window from its record's annotations, "" if none
        records.csv        the chunk's rows of records.csv
        identity.json      what the shard was made with: format version,
                           parameters, input checksums, number of records

Why plain ``.npy``: any numpy opens it, ``np.load(..., mmap_mode="r")`` maps it
without reading it, and a shard per chunk is what makes a build resumable
without a database or HDF5 dependency. A shard's ``features.npy`` is written as
its windows are made (:class:`ShardWriter`), so a long record never has to fit
in memory. :mod:`dacl.features.build` writes a dataset,
:func:`dacl.features.featureset.load_features` reads one.

Format 3 (this one) added the lead axis of ``features.npy``, ``window_labels.npy``
and the ``patient`` and ``fold`` columns; format 2 added ``identity.json`` and
``split.json``; format 1 kept the split in a ``split`` column of records.csv and a
``split`` entry of the manifest. Formats 1 and 2 (single-lead CinC 2017 datasets)
are still read, as one lead named ``I``; they are not resumed (rebuild them with
``--overwrite``).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import struct
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from dacl.io.atomic import naming, write_bytes, write_json
from dacl.io.documents import read_json_object

# ------------------------------------------------------------------ files of a dataset

FORMAT = "dacl-features"
#: 3: features per lead ``(w, L, P, F)``, window labels, patient and fold columns; 2: shards record their
#: identity (``identity.json``), the split lives in ``split.json`` (format 1 kept it in a ``split`` column of
#: records.csv and a ``split`` entry of the manifest).
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
RECORDS_CSV = "records.csv"
SHARDS_DIR = "shards"
SPLIT_JSON = "split.json"
SPLIT_FORMAT = "dacl-split"
SHARD_IDENTITY = "identity.json"
#: The manifest entries that decide a dataset's contents; every shard records them.
IDENTITY_KEYS: tuple[str, ...] = ("format_version", "params", "inputs", "n_records")
#: Columns of ``records.csv`` (one row per record listed by the corpus, bad ones included).
RECORD_COLUMNS: tuple[str, ...] = (
    "record",
    "label",
    "n_windows",
    "length",
    "fs",
    "sha256",
    "status",
    "error",
    "patient",
    "fold",
)
#: Separator of several label codes in the ``label`` column.
LABEL_SEPARATOR = ";"


def split_labels(text: str) -> list[str]:
    """The label codes of a ``label`` cell of records.csv (``""``: none)."""
    return [code for code in text.split(LABEL_SEPARATOR) if code] if text else []


SHARD_ARRAYS: tuple[str, ...] = ("features", "record_index", "starts", "window_labels")


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
        return [
            d
            for k in sorted(set(old) | set(new), key=str)
            for d in differences(old.get(k), new.get(k), f"{prefix}{k}.")
        ]
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

#: The first bytes of a ``.npy`` file of format version 1.0.
_NPY_MAGIC = b"\x93NUMPY\x01\x00"


def npy_header(shape: tuple[int, ...], dtype: np.dtype[Any], length: int | None = None) -> bytes:
    """A ``.npy`` (version 1.0) header for a C-order array; padded with spaces to ``length`` bytes when given
    (numpy reads any space padding), else to the usual multiple of 64."""
    descr = np.lib.format.dtype_to_descr(dtype)
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    bare = len(_NPY_MAGIC) + 2 + len(text) + 1
    size = length if length is not None else -(-bare // 64) * 64
    if size < bare or size - len(_NPY_MAGIC) - 2 > 0xFFFF:
        raise ValueError(f"a .npy header for shape {shape} does not fit in {size} bytes")
    body = text + " " * (size - bare) + "\n"
    return _NPY_MAGIC + struct.pack("<H", size - len(_NPY_MAGIC) - 2) + body.encode("latin1")


class ShardWriter:
    """One shard, written as its windows come into a temp directory and renamed into place by :meth:`commit`:
    a shard is complete or absent.

    ``features.npy`` starts with a header sized for any window count; windows are appended to it as they
    are made (:meth:`append`), and :meth:`rollback` drops the latest ones (a long record that fails half-way).
    The small per-window arrays are kept in memory and saved at commit. Use it as a context manager: an
    exception removes the temp directory.
    """

    def __init__(self, shards_root: Path, index: int, window_shape: tuple[int, ...]) -> None:
        self.index, self.window_shape = index, tuple(int(n) for n in window_shape)
        self.final = shards_root / f"{index:06d}"
        # pid and a random part: two attempts at one shard (a retried task, another host) never share a temp dir.
        self.tmp = shards_root / f".tmp-{index:06d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._dtype = np.dtype("<f4")
        self._window_bytes = int(np.prod(self.window_shape)) * self._dtype.itemsize
        self._header = len(npy_header((2**62, *self.window_shape), self._dtype))
        with naming(self.tmp):
            self.tmp.mkdir(parents=True)
        self._file = open(self.tmp / "features.npy", "wb")  # noqa: SIM115 (closed by commit or abort)
        self._file.write(b"\0" * self._header)
        self._count = 0
        self._small: dict[str, list[np.ndarray]] = {"record_index": [], "starts": [], "window_labels": []}

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            self.abort()

    @property
    def count(self) -> int:
        """Windows written so far."""
        return self._count

    def append(
        self, features: np.ndarray, record_index: np.ndarray, starts: np.ndarray, labels: np.ndarray | None = None
    ) -> None:
        """Append windows: ``features (w, *window_shape)``, their rows, starts and window labels (``""``: none)."""
        if tuple(features.shape[1:]) != self.window_shape:
            raise ValueError(f"shard {self.index}: windows of shape {features.shape[1:]}, expected {self.window_shape}")
        w = len(features)
        self._file.write(np.ascontiguousarray(features, dtype=self._dtype).tobytes())
        self._small["record_index"].append(np.asarray(record_index, np.int64))
        self._small["starts"].append(np.asarray(starts, np.int64))
        self._small["window_labels"].append(np.full(w, "") if labels is None else np.asarray(labels, str))
        self._count += w

    def rollback(self, count: int) -> None:
        """Forget every window after the first ``count``."""
        self._file.flush()
        self._file.truncate(self._header + count * self._window_bytes)
        self._file.seek(0, os.SEEK_END)
        for name, parts in self._small.items():
            kept = np.concatenate(parts)[:count] if parts else np.empty(0)
            self._small[name] = [kept]
        self._count = count

    def commit(self, rows: list[dict[str, Any]], identity: dict[str, Any]) -> Path:
        """Finish the files (features header, per-window arrays, the rows of records.csv, ``identity``) and
        rename the shard into place."""
        self._file.seek(0)
        self._file.write(npy_header((self._count, *self.window_shape), self._dtype, self._header))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        for name, parts in self._small.items():
            array = np.concatenate(parts) if parts else np.empty(0, np.int64)
            if name == "window_labels":
                array = array.astype(str) if len(array) else np.empty(0, "<U1")
            with naming(self.tmp / f"{name}.npy"), open(self.tmp / f"{name}.npy", "wb") as f:
                np.save(f, array)
                f.flush()
                os.fsync(f.fileno())
        write_bytes(self.tmp / RECORDS_CSV, records_csv_bytes(rows))
        write_json(self.tmp / SHARD_IDENTITY, {**identity, "shard": self.index}, strict=True)
        try:
            os.rename(self.tmp, self.final)
        except OSError:
            if not self.final.is_dir():
                raise
            # Another attempt at this shard finished first (a retried task): keep its shard, drop ours.
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self.final

    def abort(self) -> None:
        """Remove the temp directory (nothing of the shard is left)."""
        self._file.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
