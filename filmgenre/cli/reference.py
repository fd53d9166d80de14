"""``docs/cli.md``: every command and option of ``filmgenre``, written from the argument
parser itself, so the page cannot drift from the command (``tests/test_docs.py`` compares
them). Regenerate with ``python -m filmgenre.cli.reference > docs/cli.md``."""

from __future__ import annotations

import argparse
import os

#: the width the help is wrapped at, whatever terminal writes the page
WIDTH = 96


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps its subparsers here, nowhere public
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def markdown() -> str:
    """The page: the top-level help, then each command's (and sub-command's) in order."""
    from . import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        parser = build_parser()
        out = ["# The `filmgenre` command", "",
               "Written from the argument parser (`python -m filmgenre.cli.reference > "
               "docs/cli.md`); a test checks that it matches. Every command takes `--help`.",
               "", "```text", parser.format_help().rstrip(), "```", ""]  # fmt: skip
        for name, sub in _subcommands(parser):
            children = list(_subcommands(sub))
            out += [f"## `filmgenre {name}`", "", "```text", sub.format_help().rstrip(), "```",
                    ""]  # fmt: skip
            for child_name, child in children:
                out += [f"### `filmgenre {name} {child_name}`", "", "```text",
                        child.format_help().rstrip(), "```", ""]  # fmt: skip
        return "\n".join(out)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


if __name__ == "__main__":
    print(markdown(), end="")
