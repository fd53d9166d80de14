"""What the command groups share: the model options and the line saying which model was
used and why, the output options (table, csv, json; stdout or a file), skipped files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MODEL_HELP = ("a model folder, RUN/NAME (a model of a run under reports/), 'latest-real' (the "
               "best final model trained on real recordings in the newest run that has one) or "
               "'shipped' (the default: the model that ships with filmgenre, film genres "
               "learned from real film music)")


def model_dir(args: argparse.Namespace) -> Path:
    """The model folder ``--model`` names (none: the shipped one); the reason it was chosen
    is kept on ``args`` for :func:`print_model`."""
    from ..predict import resolve_model

    model_dir, args.model_why = resolve_model(args.model)
    return model_dir


def print_model(model_dir, stream=None, why: str | None = None) -> None:
    """Say which model scores the audio, why it was chosen and what it was trained on;
    warn about synthetic."""
    from ..config import display_path
    from ..predict import _config, training_data

    info = _config(Path(model_dir))
    print(f"model: {display_path(model_dir)}" + (f" ({why})" if why else ""), file=stream)
    print(f"trained on: {training_data(info)}", file=stream)
    if (info.get("trained_on") or {}).get("synthetic"):
        print(
            "WARNING: this model learned the synthetic collection's motifs; its genre scores "
            "for real recordings mean little. Pass --model with a model trained on real music.",
            file=sys.stderr,
        )


def write_output(text: str, out: str | None, n_rows: int, fmt: str) -> None:
    """A command's table to ``out`` (saying so on stderr) or to stdout."""
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out} ({n_rows} rows, {fmt})", file=sys.stderr)
    else:
        sys.stdout.write(text)


def print_skipped(skipped) -> None:
    if len(skipped):
        print(f"{len(skipped)} file(s) skipped:", file=sys.stderr)
        print(skipped.to_string(index=False), file=sys.stderr)


def emit(table, args: argparse.Namespace, model_dir, skipped) -> None:
    """Write a tag/search result as ``--format`` (table, csv, json) to ``--out`` or stdout.

    Machine-readable output keeps stdout clean: the model lines then go to stderr. JSON
    carries the model, what it was trained on and the skipped files beside the rows.
    """
    import json

    import pandas as pd

    from ..predict import _config

    machine = args.format != "table"
    print_model(model_dir, sys.stderr if machine or args.out else None,
                 getattr(args, "model_why", None))
    if args.format == "table":
        with pd.option_context("display.width", 200, "display.max_columns", 50,
                               "display.max_colwidth", 80):  # fmt: skip
            text = table.round(3).to_string() + "\n"
    elif args.format == "csv":
        text = table.to_csv()
    else:
        info = _config(Path(model_dir))
        text = json.dumps({
            "model": str(model_dir),
            "trained_on": info.get("trained_on"),
            "results": json.loads(table.reset_index().to_json(orient="records")),
            "skipped": skipped.to_dict(orient="records"),
        }, indent=2) + "\n"  # fmt: skip
    write_output(text, args.out, len(table), args.format)
    print_skipped(skipped)


def verbose_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", action="store_true",
                   help="also list the known start-up lines of TensorFlow held back from "
                   "stderr (every other line is always shown)")  # fmt: skip


def output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default, for reading), csv or json (for other tools)")  # fmt: skip
    p.add_argument("--out", help="write the result to this file instead of stdout")



#: set by the ``filmgenre`` command for the child that runs a command: "1" when the
#: terminal's stderr is a terminal (the child's own stderr is the start-up filter's pipe)
TERMINAL_ENV = "FILMGENRE_STDERR_TTY"


def progress_default() -> bool | None:
    """Whether a command shows progress bars: yes when a person watches the terminal the
    filter passes them to, else tqdm's own rule (only on a terminal)."""
    value = os.environ.get(TERMINAL_ENV)
    return None if value is None else value == "1"
