"""The ``dacl`` command line.

Each subcommand lives in its own module, which provides ``add_arguments(parser)``
and ``run(args) -> int``. Modules are imported only when their command runs,
so ``dacl --help`` stays fast (torch takes seconds to import).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import zipfile

from dacl.io.lock import LockedError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "preprocess": ("dacl.features.build", "WFDB corpus (folder or zip) -> scattering feature shards"),
    "split": ("dacl.features.split", "record-level stratified train/val/test split of a features dataset"),
    "train": ("dacl.train", "train DACL, DiffAug or a baseline on a features dataset"),
    "evaluate": ("dacl.evaluate", "probe frozen embeddings: AUROC with CIs, F1, robustness; write a report"),
    "demo": ("dacl.demo", "the main job end to end on the real sample shipped in the package"),
}


#: Failures that are the user's to fix (bad input, a full or read-only disk, a corrupt
#: archive, a second writer, a request too large for memory): one line and exit 2.
#: Anything else is a bug in dacl and keeps its traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, OSError, zipfile.BadZipFile, LockedError, MemoryError,
)

#: Longest error message printed; the rest is cut (a message must never quote a whole file).
MAX_MESSAGE = 1000


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dacl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        # add_help=False: `dacl CMD --help` must reach the command's own parser below.
        p = sub.add_parser(name, help=help_text, description=help_text, add_help=False)
        p.set_defaults(_module=module_name)
        # Arguments are added on demand in main(), once we know which command runs.
    return parser


def _version() -> str:
    from dacl import __version__

    return f"dacl {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # First pass: find the command; second pass: parse its own arguments.
    known, _ = parser.parse_known_args(argv)
    if known.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(known._module)
    sub_parser = argparse.ArgumentParser(
        prog=f"dacl {known.command}", description=COMMANDS[known.command][1]
    )
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except EXPECTED_ERRORS as err:
        # Bad input or a failing disk is the user's to fix: say what is wrong, without a traceback.
        print(f"dacl {known.command}: error: {describe_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dacl {known.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
