"""The research commands: ``pipeline`` (every notebook through papermill), ``synth`` (the
embedded synthetic collection), ``dataset build`` (your own collection), ``runs`` (list,
render, compare), ``kernel`` (the Jupyter kernel the notebooks run in) and ``weights``
(musicnn's checkpoints cached for backends without TensorFlow)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from .common import verbose_option


def _parse_value(text: str) -> object:
    """Read a -p value as YAML so numbers, lists and booleans keep their type.

    A relative path that exists from where the command runs becomes absolute: the
    notebooks run elsewhere, and `-p audio_dir ../my/cues` should mean what it says.
    """
    value = yaml.safe_load(text)
    if isinstance(value, str) and not Path(value).is_absolute() and Path(value).exists():
        return str(Path(value).resolve())
    return value


def _cmd_pipeline(args: argparse.Namespace) -> int:
    from ..reporting.pipeline import PipelineError, run_pipeline

    overrides = {k: _parse_value(v) for k, v in (args.param or [])}
    try:
        run_dir = run_pipeline(
            args.profile,
            args.run_id,
            overrides,
            args.notebooks,
            args.reports,
            log_output=args.verbose,
        )
    except PipelineError as exc:
        print(f"filmgenre pipeline FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"report: {run_dir / 'index.html'}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from ..data import synth

    config = synth.SynthConfig(n_films=args.films, seed=args.seed)
    out = synth.generate(args.out, config, n_jobs=args.jobs)
    print(f"wrote {out / 'audio'} and {out / 'labels.csv'}")
    return 0


def _cmd_dataset_build(args: argparse.Namespace) -> int:
    from ..data import dataset
    from ..data.assemble import build_dataset
    from ..genres import GENRES

    try:
        manifest = build_dataset(
            args.audio,
            args.labels,
            args.out,
            genres=args.genres or GENRES,
            seed=args.seed,
            n_jobs=args.jobs,
            label_column=args.label_column,
            scheduler=args.scheduler,
            cue_table=args.cues,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"filmgenre dataset build: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    print(
        f"manifest: {out / 'manifest.csv'} ({len(manifest.cues)} cues, "
        f"{manifest.cues['film'].nunique()} films)"
    )
    print(dataset.split_summary(manifest).to_string())
    if len(manifest.skipped):
        print(f"{len(manifest.skipped)} file(s) skipped, reasons in {out / 'skipped.csv'}:")
        print(manifest.skipped.to_string(index=False))
    if len(manifest.label_notes):
        print(manifest.label_notes.to_string(index=False))
    if args.strict and (len(manifest.skipped) or len(manifest.label_notes)):
        print("--strict: failing because files were skipped or labels changed", file=sys.stderr)
        return 2
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..reporting import runs

    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.precision", 4):
        if args.action == "list":
            table = runs.list_runs(args.reports)
            print(table.to_string(index=False) if len(table) else "no runs yet")
        elif args.action == "render":
            from ..reporting.pipeline import PipelineError, render_run

            try:
                print(f"wrote {render_run(args.run)}")
            except PipelineError as exc:
                print(f"filmgenre runs render: {exc}", file=sys.stderr)
                return 1
        else:
            try:
                table = runs.compare_runs(args.a, args.b, args.reports)
                print(table.to_string())
                if args.html:
                    from ..reporting.report import comparison_html

                    Path(args.html).write_text(comparison_html(table, args.a, args.b))
                    print(f"wrote {args.html}")
            except FileNotFoundError as exc:
                print(f"filmgenre runs compare: {exc}", file=sys.stderr)
                return 1
    return 0


def _cmd_kernel(args: argparse.Namespace) -> int:
    from ..reporting.pipeline import ensure_kernel

    print(f"kernel registered: {ensure_kernel()}")
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    from ..data.musicnn_input import PRETRAINED
    from ..models.musicnn import MusicnnUnavailable, read_checkpoint, weights_cache

    try:
        for model in PRETRAINED:
            read_checkpoint(model)
            print(f"{model}: {weights_cache(model)}")
    except MusicnnUnavailable as exc:
        print(f"filmgenre weights: {exc}", file=sys.stderr)
        return 1
    return 0


def add_commands(sub) -> None:
    """The research commands' parsers, under ``sub`` (the top parser's subparsers)."""
    from ..config import DEFAULTS
    from ..reporting.pipeline import PROFILES

    p = sub.add_parser("pipeline", help="run every notebook headlessly into reports/<run>/")
    p.add_argument("--profile", default="default", choices=sorted(PROFILES))
    p.add_argument("--run-id", help="name of the report folder (default: timestamp-profile)")
    p.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="override a notebook parameter (value read as YAML)",
    )
    p.add_argument("--notebooks", help="folder of numbered notebooks (default: notebooks/)")
    p.add_argument("--reports", help="folder that receives the run (default: reports/)")
    p.add_argument("--verbose", action="store_true", help="stream notebook output, and list "
                   "the known start-up lines of TensorFlow and Jupyter held back from stderr")
    p.set_defaults(func=_cmd_pipeline)

    p = sub.add_parser("synth", help="write the synthetic soundtrack collection")
    p.add_argument("--out", default="data/raw/synth")
    p.add_argument("--films", type=int, default=DEFAULTS["n_films"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("dataset", help="collections of audio cues")
    dsub = p.add_subparsers(dest="action", required=True)
    b = dsub.add_parser("build", help="manifest + splits + cached features from a folder")
    b.add_argument("--audio", required=True, help="folder with <film>/<cue>.<ext>")
    b.add_argument("--labels", required=True, help="CSV or JSON: film -> genres")
    b.add_argument("--out", default="data/processed/collection")
    b.add_argument(
        "--genres",
        help="comma-separated genre list, or 'auto' for every genre the "
        "label table uses (default: the study's ten film genres)",
    )
    b.add_argument("--label-column", help="column with the genre string (default: genres/genre)")
    b.add_argument(
        "--cues",
        help="per-cue table (CSV with a 'path' column relative to --audio) whose other "
        "columns, e.g. composer or a score/song flag, are kept as cue attributes",
    )
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--jobs", type=int)
    b.add_argument(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786): extract on "
        "that cluster instead of local processes",
    )
    b.add_argument("--strict", action="store_true", help="exit non-zero if anything was skipped")
    verbose_option(b)
    b.set_defaults(func=_cmd_dataset_build)

    p = sub.add_parser("runs", help="past runs under reports/")
    rsub = p.add_subparsers(dest="action", required=True)
    r = rsub.add_parser("list", help="every run with its status and best model")
    r.add_argument("--reports", help="folder of runs (default: reports/)")
    r = rsub.add_parser("render", help="render a run's pages again where its folder is now "
                        "(after a move, a copy or an unzip)")  # fmt: skip
    r.add_argument("run", help="the run folder")
    r = rsub.add_parser("compare", help="two runs' metrics side by side")
    r.add_argument("a", help="run id or folder")
    r.add_argument("b", help="run id or folder")
    r.add_argument("--reports", help="folder of runs (default: reports/)")
    r.add_argument("--html", help="also write the comparison as an HTML page to this file")
    p.set_defaults(func=_cmd_runs)

    p = sub.add_parser("kernel", help="register the 'filmgenre' Jupyter kernel")
    p.set_defaults(func=_cmd_kernel)
    p = sub.add_parser("weights", help="cache musicnn's checkpoints as .npz (needs TensorFlow "
                       "once; JAX and OpenVINO then load them without it)")  # fmt: skip
    p.set_defaults(func=_cmd_weights)
