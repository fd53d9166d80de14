"""The ``filmgenre`` command: pipeline runs, synthetic data, dataset builds, tagging, a
music library's index, search and page, kernel set-up.

One module per command group (:mod:`.research`, :mod:`.tag`, :mod:`.library`,
:mod:`.picks`), what they share in :mod:`.common`; :func:`entry` is the installed command,
:func:`main` runs one command in this process (tests and scripts).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import library, picks, research, tag
from .common import TERMINAL_ENV


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every group's commands, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="filmgenre", description="Learn the film genre of "
                                     "soundtrack music; index, search and listen to a music "
                                     "library by it.")
    sub = parser.add_subparsers(dest="command", required=True)
    research.add_commands(sub)
    tag.add_commands(sub)
    library.add_commands(sub)
    picks.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command in this process (what tests and scripts call)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


#: set in the child that :func:`entry` runs a command in, so it runs the command itself
_FILTERED_CHILD = "FILMGENRE_STDERR_FILTERED"


def _loads_tensorflow(args: argparse.Namespace) -> bool:
    """Whether a command may start TensorFlow (and so print its start-up lines)."""
    if args.command == "search":
        return bool(args.like or args.library)
    if args.command == "index":
        return args.action == "build"
    return args.command in ("pipeline", "tag", "serve", "dataset", "weights")


def entry(argv: list[str] | None = None) -> int:
    """The ``filmgenre`` command: a command that may start TensorFlow runs in a child
    process whose stderr passes through :func:`filmgenre.cli.quiet.run_filtered`, which holds
    back only TensorFlow's and Jupyter's known start-up lines (``--verbose`` lists them)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if os.environ.get(_FILTERED_CHILD) == "1" or not _loads_tensorflow(args):
        return int(args.func(args))
    from .quiet import run_filtered

    return run_filtered([sys.executable, "-m", "filmgenre", *argv],
                        verbose=getattr(args, "verbose", False),
                        env={**os.environ, _FILTERED_CHILD: "1",
                             # the child's stderr is the filter's pipe: progress bars ask
                             # this whether a person is watching
                             TERMINAL_ENV: "1" if sys.stderr.isatty() else "0"})  # fmt: skip

