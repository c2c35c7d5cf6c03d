"""One writer at a time for a dataset or a run directory.

``with WriterLock(path, "dataset"):`` takes an exclusive OS-level lock
(``fcntl.flock``) on a small lock file *beside* ``path`` (``.NAME.dacl-lock`` in
its parent folder), so the lock also covers a replacement of ``path`` that is
built next to it and renamed into place. The kernel releases a ``flock`` when
its holder dies, so a killed run never leaves a stale lock behind: rerunning the
same command simply takes it.

A second writer does not wait: it gets :class:`LockedError` naming the holder's
pid. The lock file is removed on release; a process that opened the old file
just before its removal notices that the path no longer names the file it
locked and tries again, so two writers can never both hold the lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
from pathlib import Path
from types import TracebackType


class LockedError(RuntimeError):
    """Another process is writing to the same dataset or run directory."""


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file guarding ``path``: ``.NAME.dacl-lock`` beside it."""
    p = Path(os.path.abspath(path))
    return p.parent / f".{p.name}.dacl-lock"


class WriterLock:
    """Exclusive writer lock for ``path`` (see the module docstring).

    ``what`` names the thing locked in messages ("dataset", "run directory").
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "directory") -> None:
        self.path = Path(path)
        self.what = what
        self.file = lock_path(path)
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        if self._fd is not None:
            raise RuntimeError(f"lock on {self.path} is already held by this process")
        self.file.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise LockedError(
                    f"{self.what} {self.path} is being written by another process ({holder}); "
                    "wait for it to finish, or stop it and rerun"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            # The holder before us may have removed the file after we opened it:
            # then we locked an orphan, and must lock the file now at the path.
            try:
                same = os.stat(self.file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}: {' '.join(sys.argv)[:200]}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Unlink while still holding the lock (see the module docstring).
            self.file.unlink(missing_ok=True)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """What the holder wrote into the lock file ("pid N on HOST: command"), shortened."""
    try:
        text = os.pread(fd, 300, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0][:200] if text else "pid unknown"
