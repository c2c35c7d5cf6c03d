"""The writer lock: one writer per dataset or run directory, no stale locks."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager

import pytest

from dacl.io.lock import LockedError, WriterLock, lock_path

HOLD = textwrap.dedent(
    """
    import sys, time
    from dacl.io.lock import WriterLock
    lock = WriterLock(sys.argv[1], "dataset").acquire()
    print("held", flush=True)
    time.sleep(60)
    """
)


@contextmanager
def _holder(path):
    """A child process holding the lock on ``path`` until the block ends (or it is killed)."""
    with subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout.readline().strip() == "held"
            yield proc
        finally:
            proc.kill()


def test_second_writer_is_refused_naming_the_holder(tmp_path):
    target = tmp_path / "ds"
    busy = r"dataset .*ds is being written by another process \(pid {} "
    with _holder(target) as proc, pytest.raises(LockedError, match=busy.format(proc.pid)):
        WriterLock(target, "dataset").acquire()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    target = tmp_path / "ds"
    with _holder(target) as proc:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert lock_path(target).exists()  # the file stays, but the kernel dropped the lock
    with WriterLock(target, "dataset") as lock:
        assert lock.held
    assert not lock_path(target).exists()


def test_lock_is_beside_the_directory_and_removed_on_release(tmp_path):
    target = tmp_path / "run"
    with WriterLock(target, "run directory"):
        assert lock_path(target) == tmp_path / ".run.dacl-lock"
        assert f"pid {os.getpid()}" in lock_path(target).read_text()
        assert not target.exists()  # locking does not create the directory itself
    assert list(tmp_path.iterdir()) == []


def test_same_process_cannot_take_it_twice(tmp_path):
    with WriterLock(tmp_path / "x"), pytest.raises(LockedError):
        WriterLock(tmp_path / "x").acquire()


def test_orphaned_lock_file_is_not_trusted(tmp_path):
    """A writer that locked a file the previous holder had just unlinked retries on the new file."""
    target = tmp_path / "ds"
    first = WriterLock(target).acquire()
    fd = os.open(lock_path(target), os.O_RDWR)  # a racer opened the file ...
    first.release()  # ... which the holder then unlinked
    with WriterLock(target) as second:  # locks the file now at the path, not the orphan
        assert os.fstat(second._fd).st_ino == os.stat(lock_path(target)).st_ino
    os.close(fd)


def test_waits_for_nothing(tmp_path):
    target = tmp_path / "ds"
    with _holder(target):
        t0 = time.perf_counter()
        with pytest.raises(LockedError):
            WriterLock(target).acquire()
        assert time.perf_counter() - t0 < 5
