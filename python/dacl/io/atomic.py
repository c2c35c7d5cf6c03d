"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything dacl writes that another run may read (manifests, shards' CSVs,
checkpoints, metrics, plots) goes through here; torch files too, through
:func:`dacl.io.torchfiles.torch_save`. The bytes go to a temp file in the
destination folder, are flushed to disk, and ``os.replace`` renames the temp
file over the destination (atomic on POSIX and Windows within one file
system). If writing fails or is interrupted, the temp file is removed. An OS
error raised without a file name (``write`` on a full disk) gets the
destination's name, so the one-line message says which file could not be written.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A binary file object whose contents replace ``path`` when the block exits cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with naming(path):
        fd, tmp = _create_temp(path)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextmanager
def naming(path: str | os.PathLike[str]) -> Iterator[None]:
    """Give an ``OSError`` raised without a file name (``ENOSPC`` from ``write``) the name ``path``."""
    try:
        yield
    except OSError as err:
        if err.filename is not None or err.errno is None:
            raise
        raise OSError(err.errno, err.strerror or os.strerror(err.errno), str(path)) from err


def _create_temp(path: Path) -> tuple[int, str]:
    """A new temp file beside ``path``, mode 0666 less the umask (as a plain ``open`` would
    give; ``mkstemp``'s 0600 would make manifests private while the shards are not)."""
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_output(path) as f:
        f.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | os.PathLike[str], obj: Any, *, strict: bool = False) -> None:
    """Indented JSON; ``strict=True`` refuses NaN/inf (which plain JSON readers reject)."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=not strict) + "\n")
