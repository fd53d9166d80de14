"""The ``filmgenre`` command: pipeline runs, synthetic data, dataset builds, kernel set-up."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


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
    from .pipeline import PipelineError, run_pipeline

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
    from . import synth

    config = synth.SynthConfig(n_films=args.films, seed=args.seed)
    out = synth.generate(args.out, config, n_jobs=args.jobs)
    print(f"wrote {out / 'audio'} and {out / 'labels.csv'}")
    return 0


def _cmd_dataset_build(args: argparse.Namespace) -> int:
    from . import dataset
    from .build import build_dataset
    from .config import GENRES

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

    from . import runs

    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.precision", 4):
        if args.action == "list":
            table = runs.list_runs(args.reports)
            print(table.to_string(index=False) if len(table) else "no runs yet")
        elif args.action == "render":
            from .pipeline import PipelineError, render_run

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
                    from .report import comparison_html

                    Path(args.html).write_text(comparison_html(table, args.a, args.b))
                    print(f"wrote {args.html}")
            except FileNotFoundError as exc:
                print(f"filmgenre runs compare: {exc}", file=sys.stderr)
                return 1
    return 0


def _model_dir(args: argparse.Namespace):
    from .predict import default_model_dir

    return args.model or default_model_dir()


def _print_model(model_dir, stream=None) -> None:
    """Say which model scores the audio and what it was trained on; warn about synthetic."""
    from .predict import _config, training_data

    info = _config(Path(model_dir))
    print(f"model: {model_dir}", file=stream)
    print(f"trained on: {training_data(info)}", file=stream)
    if (info.get("trained_on") or {}).get("synthetic"):
        print(
            "WARNING: this model learned the synthetic collection's motifs; its genre scores "
            "for real recordings mean little. Pass --model with a model trained on real music.",
            file=sys.stderr,
        )


def _print_skipped(skipped) -> None:
    if len(skipped):
        print(f"{len(skipped)} file(s) skipped:", file=sys.stderr)
        print(skipped.to_string(index=False), file=sys.stderr)


def _emit(table, args: argparse.Namespace, model_dir, skipped) -> None:
    """Write a tag/search result as ``--format`` (table, csv, json) to ``--out`` or stdout.

    Machine-readable output keeps stdout clean: the model lines then go to stderr. JSON
    carries the model, what it was trained on and the skipped files beside the rows.
    """
    import json

    import pandas as pd

    from .predict import _config

    machine = args.format != "table"
    _print_model(model_dir, sys.stderr if machine or args.out else None)
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
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({len(table)} rows, {args.format})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    _print_skipped(skipped)


def _cmd_tag(args: argparse.Namespace) -> int:
    from .predict import tag_files

    try:
        model_dir = _model_dir(args)
        table, skipped = tag_files(args.files, model_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"filmgenre tag: {exc}", file=sys.stderr)
        return 1
    _emit(table, args, model_dir, skipped)
    return 0 if len(table) else 1


def _cmd_search(args: argparse.Namespace) -> int:
    from .predict import search

    try:
        model_dir = _model_dir(args)
        ranked, skipped = search(args.query, args.library, model_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"filmgenre search: {exc}", file=sys.stderr)
        return 1
    _emit(ranked.head(args.top), args, model_dir, skipped)
    return 0


def _cmd_kernel(args: argparse.Namespace) -> int:
    from .pipeline import ensure_kernel

    print(f"kernel registered: {ensure_kernel()}")
    return 0


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default, for reading), csv or json (for other tools)")  # fmt: skip
    p.add_argument("--out", help="write the result to this file instead of stdout")


def build_parser() -> argparse.ArgumentParser:
    from .config import DEFAULTS
    from .pipeline import PROFILES

    parser = argparse.ArgumentParser(prog="filmgenre", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

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
    p.add_argument("--verbose", action="store_true", help="stream notebook output")
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

    p = sub.add_parser("tag", help="per-genre probabilities of audio files with a trained model")
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--model",
        help="model folder (default: the newest run's best model trained on real "
        "recordings, else the one shipped with filmgenre)",
    )
    _output_options(p)
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("search", help="rank the cues of a folder by how well they fit a genre mix")
    p.add_argument("query", help='genre mix, e.g. "Romance Comedy Action"')
    p.add_argument("--library", required=True, help="folder of audio files")
    p.add_argument(
        "--model",
        help="model folder (default: the newest run's best model trained on real "
        "recordings, else the one shipped with filmgenre)",
    )
    p.add_argument("--top", type=int, default=20)
    _output_options(p)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("kernel", help="register the 'filmgenre' Jupyter kernel")
    p.set_defaults(func=_cmd_kernel)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
