"""The windows of a dataset as one array that stays on disk: :class:`ShardedArray`.

A dataset's ``features.npy`` files (one per shard) are read on demand, only the rows asked for, with
positioned reads (``os.preadv``) into the array returned, so nothing is concatenated in memory and nothing is
left mapped: the resident set holds what the caller keeps, whatever the corpus size (file pages read go to the
kernel's page cache, which is not the process's RSS and is dropped under memory pressure).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Windows per batch of :meth:`ShardedArray.iter_batches` by default.
DEFAULT_BATCH = 4096


class ShardedArray:
    """A read-only ``(N, *row_shape)`` array over the rows of several ``.npy`` files, read when indexed.

    Indexing gives an ordinary NumPy array: ``a[i]`` (one row), ``a[i:j]`` / ``a[i:j:k]``, ``a[idx]`` (an int
    array, in any order, repeats allowed), ``a[mask]`` (a boolean ``(N,)`` mask), and a tuple whose first item is
    one of these (``a[idx, 0]``: the rest indexes the rows read). Only the rows asked for are read, each run of
    consecutive rows of a shard in one call. ``len(a)``, ``a.shape``, ``a.ndim``, ``a.dtype``, ``a.size`` and
    ``a.nbytes`` are those of the whole array; :meth:`iter_batches` walks rows in batches. ``np.asarray(a)``
    reads everything into memory — fine for small data and tests; library code reads batches.
    The files must be C-order ``.npy`` files whose rows have one shape and dtype.
    """

    def __init__(self, files: Sequence[str | os.PathLike[str]], row_shape: tuple[int, ...] | None = None) -> None:
        if not files:
            raise ValueError("a ShardedArray needs at least one .npy file")
        paths = [Path(f) for f in files]
        headers = [_npy_header(f) for f in paths]
        if any(shape[0] for shape, _, _ in headers):  # a file without rows may have no row shape (older datasets)
            paths, headers = zip(*[(f, h) for f, h in zip(paths, headers, strict=True) if h[0][0]], strict=True)
        self._files = list(paths)
        shape0, dtype = headers[0][0], headers[0][1]
        for f, (shape, dt, _) in zip(self._files, headers, strict=True):
            if len(shape) < 1 or shape[1:] != shape0[1:] or dt != dtype:
                raise ValueError(
                    f"{f}: rows of shape {shape[1:]} and dtype {dt}, the first file has "
                    f"{shape0[1:]} and {dtype}; the shards do not belong together"
                )
        self._data_offsets = [offset for _, _, offset in headers]
        self._bounds = np.concatenate([[0], np.cumsum([shape[0] for shape, _, _ in headers])]).astype(np.int64)
        stored = tuple(shape0[1:])
        if row_shape is not None and int(np.prod(row_shape)) != int(np.prod(stored)):
            raise ValueError(f"rows of shape {stored} cannot be read as {tuple(row_shape)}")
        self.dtype: np.dtype[Any] = dtype
        self._row_shape = tuple(row_shape) if row_shape is not None else stored
        self._row_bytes = int(np.prod(self._row_shape)) * dtype.itemsize

    # ---------------------------------------------------------------- what it is

    @property
    def shape(self) -> tuple[int, ...]:
        return (int(self._bounds[-1]), *self._row_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self._row_shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def files(self) -> list[Path]:
        """The ``.npy`` files, in row order."""
        return list(self._files)

    def with_row_shape(self, row_shape: tuple[int, ...]) -> ShardedArray:
        """The same rows seen with another shape of as many values (e.g. ``(P, F)`` as ``(1, P, F)``)."""
        return ShardedArray(self._files, row_shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ShardedArray(shape={self.shape}, dtype={self.dtype}, files={len(self._files)})"

    # Comparisons are elementwise, as an array's: they read everything (small data and tests).
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> Any:
        return np.asarray(self) == (np.asarray(other) if isinstance(other, ShardedArray) else other)

    def __ne__(self, other: object) -> Any:
        return np.asarray(self) != (np.asarray(other) if isinstance(other, ShardedArray) else other)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.read(np.arange(len(self)))
        return out if dtype is None else out.astype(dtype, copy=False)

    # ---------------------------------------------------------------- reading

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            if not key:
                return np.asarray(self)
            rows = self[key[0]]
            if isinstance(key[0], (int, np.integer)):  # one row: its own axes are left
                return rows[key[1:]]
            return rows[(slice(None), *key[1:])]
        if isinstance(key, (int, np.integer)):
            i = int(key)
            if not -len(self) <= i < len(self):
                raise IndexError(f"index {i} is out of bounds for {len(self)} rows")
            return self.read(np.array([i % len(self)]))[0]
        if isinstance(key, slice):
            return self.read(np.arange(len(self))[key])
        if key is Ellipsis:
            return np.asarray(self)
        return self.read(self._row_indices(key))

    def _row_indices(self, key: Any) -> np.ndarray:
        idx = np.asarray(key)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise IndexError(f"a boolean index of shape {idx.shape} for {len(self)} rows")
            return np.flatnonzero(idx)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise IndexError(f"rows are indexed by an int, a slice, a 1-D int array or a boolean mask, not {key!r:.60}")
        idx = idx.astype(np.int64, copy=False)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"row index out of bounds for {len(self)} rows")
        return np.where(idx < 0, idx + len(self), idx)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The rows ``rows`` (valid, non-negative indices, any order) as a new array."""
        rows = np.asarray(rows, dtype=np.int64)
        unique = np.unique(rows)
        block = np.empty((len(unique), *self._row_shape), self.dtype)
        self._read_sorted(unique, block)
        if len(unique) == len(rows) and np.all(np.diff(rows) > 0):
            return block  # sorted and distinct: already in place
        return block[np.searchsorted(unique, rows)]

    def _read_sorted(self, unique: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out`` with the sorted distinct rows ``unique``: per shard, one read per run of consecutive rows."""
        if not len(unique):
            return
        flat = out.reshape(len(unique), -1).view(np.uint8).reshape(len(unique), self._row_bytes)
        shard_of = np.searchsorted(self._bounds, unique, side="right") - 1
        for shard in np.unique(shard_of):
            here = np.flatnonzero(shard_of == shard)
            local = unique[here] - self._bounds[shard]
            starts = np.flatnonzero(np.diff(local, prepend=-2) != 1)  # each run of consecutive rows
            ends = np.append(starts[1:], len(local))
            first, data = here[0], self._data_offsets[shard]
            fd = os.open(self._files[shard], os.O_RDONLY)
            try:
                for a, b, row in zip(starts.tolist(), ends.tolist(), local[starts].tolist(), strict=True):
                    view = flat[first + a : first + b].data.cast("B")
                    self._pread(fd, view, data + row * self._row_bytes, shard)
            finally:
                os.close(fd)

    def _pread(self, fd: int, view: memoryview, offset: int, shard: int) -> None:
        done = os.preadv(fd, [view], offset)  # one call but for a signal or a short read
        while done < len(view):
            got = os.preadv(fd, [view[done:]], offset + done)
            if got == 0:
                raise ValueError(f"{self._files[shard]} ends before its rows; the dataset is damaged")
            done += got

    def iter_batches(
        self, indices: np.ndarray | None = None, batch: int = DEFAULT_BATCH
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(row indices, rows)`` for ``indices`` (default: every row; a boolean mask or int indices, kept in
        their order), ``batch`` rows at a time."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        idx = np.arange(len(self)) if indices is None else self._row_indices(indices)
        for lo in range(0, len(idx), batch):
            chunk = idx[lo : lo + batch]
            yield chunk, self.read(chunk)


def iter_batches(
    array: Any, indices: np.ndarray | None = None, batch: int = DEFAULT_BATCH
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:meth:`ShardedArray.iter_batches` for a ShardedArray or any in-memory array alike."""
    if isinstance(array, ShardedArray):
        yield from array.iter_batches(indices, batch)
        return
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    n = len(array)
    idx = np.arange(n) if indices is None else np.asarray(indices)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    for lo in range(0, len(idx), batch):
        chunk = idx[lo : lo + batch]
        yield chunk, np.asarray(array[chunk])


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """``(shape, dtype, offset of the data)`` of a C-order ``.npy`` file, checked against the file's size."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = read_header(f)
            offset = f.tell()
    except (ValueError, EOFError) as err:
        raise ValueError(f"{path} is not a .npy file dacl can read ({str(err)[:80]})") from None
    if fortran or dtype.hasobject:
        raise ValueError(f"{path}: a Fortran-order or object array; the dataset is damaged")
    need = offset + int(np.prod(shape)) * dtype.itemsize
    if os.path.getsize(path) < need:
        raise ValueError(f"{path} is shorter than its header says; the dataset is damaged")
    return tuple(int(n) for n in shape), dtype, offset
