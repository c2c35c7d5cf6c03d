"""Running one command: parse its arguments, run it, and turn an expected failure into one line and exit 2."""

from __future__ import annotations

import argparse
import sys
import zipfile
from typing import Protocol

from dacl.io.lock import LockedError

#: Failures that are the user's to fix (bad input, a full or read-only disk, a corrupt
#: archive, a second writer, a request too large for memory): one line and exit 2.
#: Anything else is a bug in dacl and keeps its traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    OSError,
    zipfile.BadZipFile,
    LockedError,
    MemoryError,
)

#: Longest error message printed; the rest is cut (a message must never quote a whole file).
MAX_MESSAGE = 1000


class Command(Protocol):
    """A command module: its one-line help, its arguments, and what it does."""

    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


def describe_error(err: BaseException) -> str:
    """One line for an expected failure: the message, or for an OS error its reason and file."""
    if isinstance(err, OSError) and err.strerror:  # raised by the OS: "[Errno 30] ..." reads badly
        text = err.strerror + (f": {err.filename}" if err.filename is not None else "")
    elif isinstance(err, MemoryError):
        text = f"out of memory{': ' + str(err) if str(err) else ''} (ask for smaller sizes or batches)"
    else:
        text = str(err) or type(err).__name__
    text = " ".join(text.split())  # one line
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 15] + " ... (cut)"


def command_parser(name: str, command: Command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"dacl {name}", description=command.HELP)
    command.add_arguments(parser)
    return parser


def run_command(name: str, command: Command, argv: list[str]) -> int:
    """``dacl NAME ARGV...``: its exit status (2 for an expected failure, 130 when interrupted)."""
    args = command_parser(name, command).parse_args(argv)
    try:
        return int(command.run(args) or 0)
    except EXPECTED_ERRORS as err:
        # Bad input or a failing disk is the user's to fix: say what is wrong, without a traceback.
        print(f"dacl {name}: error: {describe_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dacl {name}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
