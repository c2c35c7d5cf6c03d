"""The CLI's one-line error messages."""

import errno
import os

from dacl.cli import MAX_MESSAGE, describe_error
from dacl.io.lock import LockedError


def test_os_errors_name_reason_and_file():
    err = OSError(errno.EROFS, os.strerror(errno.EROFS), "/data/out/manifest.json")
    assert describe_error(err) == "Read-only file system: /data/out/manifest.json"
    assert describe_error(FileNotFoundError("corpus not found: x.zip")) == "corpus not found: x.zip"


def test_messages_are_one_line_and_bounded():
    text = describe_error(ValueError("bad header\n" + "x" * 10_000))
    assert "\n" not in text and len(text) <= MAX_MESSAGE and text.endswith("(cut)")
    assert describe_error(LockedError("dataset d is being written by another process (pid 7)")).endswith("(pid 7)")


def test_memory_errors_say_so():
    assert describe_error(MemoryError()).startswith("out of memory")
