"""The ``dacl`` command line.

Each subcommand is a module of this package with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; it parses, calls the library and prints. The modules
import torch and scikit-learn only inside ``run()``, so ``dacl --help`` stays fast
(torch takes seconds to import).
"""

from __future__ import annotations

import argparse
import sys

from dacl._native import __version__
from dacl.cli import demo, evaluate, preprocess, report, split, summarise, train
from dacl.cli.runner import EXPECTED_ERRORS, MAX_MESSAGE, Command, describe_error, run_command

__all__ = ["COMMANDS", "EXPECTED_ERRORS", "MAX_MESSAGE", "describe_error", "main"]

#: name -> command module, in the order ``dacl --help`` lists them.
COMMANDS: dict[str, Command] = {
    "preprocess": preprocess,
    "split": split,
    "train": train,
    "evaluate": evaluate,
    "report": report,
    "summarise": summarise,
    "demo": demo,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dacl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        # add_help=False: `dacl CMD --help` must reach the command's own parser (run_command).
        sub.add_parser(name, help=command.HELP, description=command.HELP, add_help=False)
    return parser


def _version() -> str:
    return f"dacl {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # First pass: find the command; second pass: its own parser reads its arguments.
    known, _ = build_parser().parse_known_args(argv)
    if known.command is None:
        build_parser().print_help()
        return 2
    return run_command(known.command, COMMANDS[known.command], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
