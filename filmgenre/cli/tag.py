"""``filmgenre tag``: per-genre probabilities of audio files with a trained model."""

from __future__ import annotations

import argparse
import sys

from .common import MODEL_HELP, emit, output_options, verbose_option
from .common import model_dir as chosen_model_dir


def _cmd_tag(args: argparse.Namespace) -> int:
    from ..predict import tag_files

    try:
        model_dir = chosen_model_dir(args)
        table, skipped = tag_files(args.files, model_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"filmgenre tag: {exc}", file=sys.stderr)
        return 1
    emit(table, args, model_dir, skipped)
    return 0 if len(table) else 1


def add_commands(sub) -> None:
    """The ``tag`` command's parser."""
    p = sub.add_parser("tag", help="per-genre probabilities of audio files with a trained model")
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--model",
        help=MODEL_HELP,
    )
    output_options(p)
    verbose_option(p)
    p.set_defaults(func=_cmd_tag)

