"""The ``filmgenre`` command: pipeline runs, synthetic data, dataset builds, kernel set-up."""

from __future__ import annotations

import argparse
import os
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


def _model_dir(args: argparse.Namespace) -> Path:
    """The model folder ``--model`` names (none: the shipped one); the reason it was chosen
    is kept on ``args`` for :func:`_print_model`."""
    from .predict import resolve_model

    model_dir, args.model_why = resolve_model(args.model)
    return model_dir


def _print_model(model_dir, stream=None, why: str | None = None) -> None:
    """Say which model scores the audio, why it was chosen and what it was trained on;
    warn about synthetic."""
    from .config import display_path
    from .predict import _config, training_data

    info = _config(Path(model_dir))
    print(f"model: {display_path(model_dir)}" + (f" ({why})" if why else ""), file=stream)
    print(f"trained on: {training_data(info)}", file=stream)
    if (info.get("trained_on") or {}).get("synthetic"):
        print(
            "WARNING: this model learned the synthetic collection's motifs; its genre scores "
            "for real recordings mean little. Pass --model with a model trained on real music.",
            file=sys.stderr,
        )


def _write_output(text: str, out: str | None, n_rows: int, fmt: str) -> None:
    """A command's table to ``out`` (saying so on stderr) or to stdout."""
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out} ({n_rows} rows, {fmt})", file=sys.stderr)
    else:
        sys.stdout.write(text)


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
    _print_model(model_dir, sys.stderr if machine or args.out else None,
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
    _write_output(text, args.out, len(table), args.format)
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
    """Search an index (``--index``), or a folder (``--library``: its index is built or
    updated first). A genre mix on an index loads no model: no TensorFlow is imported."""
    if args.index is None and args.library is None:
        print("filmgenre search: give --index FILE (a built index) or --library DIR",
              file=sys.stderr)  # fmt: skip
        return 2
    index_file = args.index
    if index_file is None:
        try:
            model_dir = _model_dir(args)
        except FileNotFoundError as exc:
            print(f"filmgenre search: {exc}", file=sys.stderr)
            return 1
        if not _is_cue_vector_model(model_dir):
            args.model = model_dir
            return _search_folder_directly(args)
        from .library import default_index_file

        index_file = default_index_file(args.library)
        code = _build_index(args.library, index_file, model_dir, None, quiet=True,
                            why=args.model_why)  # fmt: skip
        if code:
            return code
    from . import index as idx
    from . import search

    try:
        con = idx.connect(index_file)
        snap = idx.snapshot(con)
        genres = snap.genres
        mix = search.parse_mix(args.query, genres) if args.query else None
        like = like_scores = None
        exclude: set[int] = set()
        if args.like:
            like, like_scores, exclude = _reference(con, snap, args.like)
        low_d, high_d = search.parse_range(args.duration, "--duration")
        low_t, high_t = search.parse_range(args.tempo, "--tempo")
        filters = search.Filters(low_d, high_d, low_t, high_t, args.folder, args.album,
                                 exclude)  # fmt: skip
        hits = search.run(con, snap, mix, like, like_scores, filters, args.top)
    except (idx.IndexFileError, search.QueryError, FileNotFoundError, ValueError) as exc:
        print(f"filmgenre search: {exc}", file=sys.stderr)
        return 1
    _emit_hits(hits, snap, args, index_file)
    return 0


def _is_cue_vector_model(model_dir) -> bool:
    import json

    config = Path(model_dir) / "config.json"
    return config.is_file() and json.loads(config.read_text()).get("input") == "cue_vector"


def _search_folder_directly(args: argparse.Namespace) -> int:
    """Models the index does not take (tile CNNs, musicnn, poolers): tag the folder's
    files and rank them by the geometric mean of the asked genres, as before the index."""
    from .predict import search as search_folder

    try:
        ranked, skipped = search_folder(args.query, args.library, args.model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"filmgenre search: {exc}", file=sys.stderr)
        return 1
    print("note: this model is not a cue-vector model, which the index needs; the folder "
          "was tagged anew for this query", file=sys.stderr)  # fmt: skip
    _emit(ranked.head(args.top), args, args.model, skipped)
    return 0


def _reference(con, snap, like: str):
    """(vector, genre scores, ids to leave out) of ``--like``: a track id or path of the
    index, or an outside file featurised on the fly (that loads the model)."""
    from . import index as idx

    row = None
    if like.isdigit():
        row = con.execute("SELECT id FROM tracks WHERE id = ? AND status = 'ok'",
                          (int(like),)).fetchone()  # fmt: skip
    if row is None:
        root = idx.get_meta(con, "library")
        path = Path(like).resolve() if Path(like).exists() else None
        rel = None
        if path is not None and root and path.is_relative_to(Path(root).resolve()):
            rel = str(path.relative_to(Path(root).resolve()))
        row = con.execute("SELECT id FROM tracks WHERE path = ? AND status = 'ok'",
                          (rel or like,)).fetchone()  # fmt: skip
    if row is not None:
        where = snap.rows([row[0]])[0]
        return snap.vectors[where], snap.scores[where], {int(row[0])}
    if not Path(like).is_file():
        raise FileNotFoundError(f"--like {like}: neither a track of the index (id or path) "
                                "nor an audio file")  # fmt: skip
    from .library import Scorer, reference_vector

    model = idx.get_meta(con, "model", {})
    vector, scores = reference_vector(con, Scorer(Path(model["folder"])), like)
    return vector, scores, set()


def _emit_hits(hits, snap, args: argparse.Namespace, index_file) -> None:
    """Search hits as ``--format`` (table, csv, json) to ``--out`` or stdout; the model
    line goes to stderr for machine formats."""
    import csv
    import io
    import json

    model = snap.model or {}
    machine = args.format != "table"
    stream = sys.stderr if machine or args.out else sys.stdout
    print(f"index: {index_file} ({len(snap)} tracks)", file=stream)
    print(f"model: {model.get('name')}; trained on: {model.get('trained_on_line')}; "
          f"scores are {model.get('outputs', 'scores')}", file=stream)  # fmt: skip
    rows = [h.to_dict() for h in hits]
    if args.format == "json":
        text = json.dumps({"index": str(index_file), "model": model, "results": rows},
                          indent=2, default=str) + "\n"  # fmt: skip
    elif args.format == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        text = buffer.getvalue()
    else:
        text = _hits_table(hits, snap.genres)
    _write_output(text, args.out, len(rows), args.format)


def _hits_table(hits, genres) -> str:
    """A plain-text table: rank, score, the cut (best segment), title, artist, three top
    genres, duration, path."""
    if not hits:
        return "no track matches\n"
    lines = [f"{'#':>3} {'score':>6} {'cut':>13}  {'title':<30} {'artist':<18} "
             f"{'top genres':<40} {'dur':>5}  path"]  # fmt: skip
    for h in hits:
        cut = f"{h.segment[0]:.0f}-{h.segment[1]:.0f} s" if h.segment else ""
        top = ", ".join(f"{g} {p:.2f}" for g, p in sorted(h.genres.items(),
                                                           key=lambda kv: -kv[1])[:3])  # fmt: skip
        f = h.fields
        lines.append(f"{h.rank:>3} {h.score:>6.3f} {cut:>13}  {str(f.get('title') or '')[:30]:<30} "
                     f"{str(f.get('artist') or '')[:18]:<18} {top:<40} "
                     f"{(f.get('duration') or 0):>5.0f}  {f.get('path')}")  # fmt: skip
    return "\n".join(lines) + "\n"


def _build_index(library, index_file, model, scheduler, quiet: bool = False,
                 segment_seconds: float = 15.0, why: str | None = None) -> int:  # fmt: skip
    from . import index as idx
    from .library import build

    try:
        report = build(library, index_file, model, segment_seconds=segment_seconds,
                       scheduler=scheduler, progress=None if not quiet else False)  # fmt: skip
    except (idx.IndexFileError, FileNotFoundError, ValueError) as exc:
        print(f"filmgenre index: {exc}", file=sys.stderr)
        return 1
    stream = sys.stderr if quiet else sys.stdout
    print(f"model: {report.model} ({why or report.model_why})", file=stream)
    print(f"index {index_file}: {report.line()}", file=stream)
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from . import index as idx

    if args.action == "build":
        code = _build_index(args.library, args.index, args.model, args.scheduler,
                            segment_seconds=args.segment_seconds)  # fmt: skip
        if code == 0:
            _print_index_info(idx.connect(args.index), skipped=False)
        return code
    try:
        con = idx.connect(args.index)
    except idx.IndexFileError as exc:
        print(f"filmgenre index: {exc}", file=sys.stderr)
        return 1
    _print_index_info(con, skipped=True)
    return 0


def _print_index_info(con, skipped: bool) -> None:
    from . import index as idx

    info = idx.summary(con)
    model = info["model"] or {}
    cv = model.get("cross_validation") or {}
    print(f"library: {info['library']}")
    print(f"{info['tracks']} tracks ({info['hours']:.1f} h), {info['segments']} segments of "
          f"{info['segment_seconds']} s, {info['skipped']} file(s) skipped")  # fmt: skip
    print(f"model: {model.get('name')} ({model.get('outputs', 'scores')}); trained on: "
          f"{model.get('trained_on_line')}")  # fmt: skip
    if cv:
        print(f"model's cross-validated macro ROC-AUC: {cv.get('macro_roc_auc', float('nan')):.3f}"
              f" ({cv.get('folds')} folds x {cv.get('repeats')}, by {cv.get('grouping')})")
    projection = info["projection"] or {}
    if projection:
        print(f"similarity vectors: {projection.get('dims')} of {projection.get('full_dims')} "
              f"dimensions ({projection.get('method')}); recall@10 of their neighbours vs the "
              f"full vectors' {projection.get('recall_at_10_vs_full')}")  # fmt: skip
    if skipped:
        for path, reason in idx.skipped(con):
            print(f"skipped: {path}: {reason}")


def _cmd_serve(args: argparse.Namespace) -> int:
    from . import index as idx

    try:
        idx.connect(args.index).close()
    except idx.IndexFileError as exc:
        print(f"filmgenre serve: {exc}", file=sys.stderr)
        return 1
    from .server import serve

    serve(args.index, host=args.host, port=args.port)
    return 0


def _cmd_kernel(args: argparse.Namespace) -> int:
    from .pipeline import ensure_kernel

    print(f"kernel registered: {ensure_kernel()}")
    return 0


def _verbose_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", action="store_true",
                   help="also list the known start-up lines of TensorFlow held back from "
                   "stderr (every other line is always shown)")  # fmt: skip


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table (default, for reading), csv or json (for other tools)")  # fmt: skip
    p.add_argument("--out", help="write the result to this file instead of stdout")


_MODEL_HELP = ("a model folder, RUN/NAME (a model of a run under reports/), 'latest-real' (the "
               "best final model trained on real recordings in the newest run that has one) or "
               "'shipped' (the default: the model that ships with filmgenre, film genres "
               "learned from real film music)")


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
    _verbose_option(b)
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
        help=_MODEL_HELP,
    )
    _output_options(p)
    _verbose_option(p)
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("index", help="a music library's index: build or update it, show it")
    isub = p.add_subparsers(dest="action", required=True)
    b = isub.add_parser("build", help="index a folder of audio (any depth); run again to "
                        "update it incrementally")  # fmt: skip
    b.add_argument("library", help="folder of audio files")
    b.add_argument("--index", required=True, help="the index file (SQLite) to create or update")
    b.add_argument("--model", help="a cue-vector model: " + _MODEL_HELP)
    b.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) for extraction")
    b.add_argument("--segment-seconds", type=float, default=15.0,
                   help="segment length (default 15 s, the shipped model's training cues)")
    _verbose_option(b)
    b = isub.add_parser("info", help="what an index holds, and every file it left out with why")
    b.add_argument("--index", required=True)
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("search", help="rank a library's tracks by a genre mix and/or a "
                       "reference track")  # fmt: skip
    p.add_argument("query", nargs="?", default="",
                   help='genre mix: "Romance Comedy -Thriller" or "Romance=1,Comedy=0.5,'
                   'Thriller=-1" (may be empty with --like)')  # fmt: skip
    p.add_argument("--index", help="an index file (filmgenre index build)")
    p.add_argument("--library", help="a folder: its index is built or updated first")
    p.add_argument("--like", help="a track of the index (id or path) or an outside audio file")
    p.add_argument("--duration", help="seconds, e.g. 60-240, 60- or -240")
    p.add_argument("--tempo", help="BPM, e.g. 90-120")
    p.add_argument("--folder", help="only tracks whose folder contains this text")
    p.add_argument("--album", help="only tracks whose album contains this text")
    p.add_argument(
        "--model",
        help="with --library: " + _MODEL_HELP,
    )
    p.add_argument("--top", type=int, default=20)
    _output_options(p)
    _verbose_option(p)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("serve", help="a local page to search an index and listen")
    p.add_argument("--index", required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")  # fmt: skip
    p.add_argument("--port", type=int, default=8765)
    _verbose_option(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("kernel", help="register the 'filmgenre' Jupyter kernel")
    p.set_defaults(func=_cmd_kernel)
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
    return args.command in ("pipeline", "tag", "serve", "dataset")


def entry(argv: list[str] | None = None) -> int:
    """The ``filmgenre`` command: a command that may start TensorFlow runs in a child
    process whose stderr passes through :func:`filmgenre.chatter.run_filtered`, which holds
    back only TensorFlow's and Jupyter's known start-up lines (``--verbose`` lists them)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if os.environ.get(_FILTERED_CHILD) == "1" or not _loads_tensorflow(args):
        return int(args.func(args))
    from .chatter import run_filtered

    return run_filtered([sys.executable, "-m", "filmgenre", *argv],
                        verbose=getattr(args, "verbose", False),
                        env={**os.environ, _FILTERED_CHILD: "1"})  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(entry())
