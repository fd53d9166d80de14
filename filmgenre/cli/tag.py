"""``filmgenre tag``: per-genre probabilities of audio files with a trained model."""

from __future__ import annotations

import argparse
import sys

from . import common


def _cmd_tag(args: argparse.Namespace) -> int:
    from ..predict import tag_files

    try:
        model_dir = common.model_dir(args)
        table, skipped = tag_files(args.files, model_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"filmgenre tag: {exc}", file=sys.stderr)
        return 1
    common.emit(table, args, model_dir, skipped)
    return 0 if len(table) else 1


def add_commands(sub) -> None:
    """The ``tag`` command's parser."""
    p = sub.add_parser("tag", help="per-genre probabilities of audio files with a trained model")
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--model",
        help=common.MODEL_HELP,
    )
    common.output_options(p)
    common.verbose_option(p)
    p.set_defaults(func=_cmd_tag)

