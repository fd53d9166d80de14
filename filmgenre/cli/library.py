"""The library commands: ``index build`` / ``index info`` (the index of a folder of audio),
``search`` (a weighted genre mix, a reference track, filters) and ``serve`` (the page)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import MODEL_HELP, output_options, progress_default, verbose_option, write_output
from .common import model_dir as chosen_model_dir


def _cmd_search(args: argparse.Namespace) -> int:
    """Search an index (``--index``), or a folder (``--library``: its index is built or
    updated first). A genre mix on an index loads no model: no TensorFlow is imported."""
    if args.vocabulary:
        return _print_vocabulary(args)
    if args.index is None and args.library is None:
        print("filmgenre search: give --index FILE (a built index) or --library DIR",
              file=sys.stderr)  # fmt: skip
        return 2
    index_file = args.index
    if index_file is None:
        try:
            model_dir = chosen_model_dir(args)
        except FileNotFoundError as exc:
            print(f"filmgenre search: {exc}", file=sys.stderr)
            return 1
        if not _is_cue_vector_model(model_dir):
            print(f"filmgenre search: {model_dir} is not a cue-vector model, which an index "
                  "needs (the shipped model and notebook 08's final models are); `filmgenre "
                  "tag` gives any model's genre probabilities for a folder's files",
                  file=sys.stderr)  # fmt: skip
            return 2
        from ..library.ingest import default_index_file

        index_file = default_index_file(args.library)
        code = _build_index(args.library, index_file, model_dir, None, quiet=True,
                            why=args.model_why)  # fmt: skip
        if code:
            return code
    from ..library import index as idx
    from ..library import store
    from ..library.query import QueryError
    from ..library.request import SearchRequest

    options = {"q": args.query, "like": args.like, "duration": args.duration,
               "tempo": args.tempo, "key": args.key, "mode": args.mode, "folder": args.folder,
               "album": args.album, "ranking": args.ranking, "top": args.top}  # fmt: skip
    try:
        request = SearchRequest.from_mapping(options)
        con = store.connect(index_file)
        snap = idx.snapshot(con)
        hits, mix = request.run(con, snap, outside=lambda path: _outside_reference(con, path))
    except (store.IndexFileError, QueryError, FileNotFoundError, ValueError) as exc:
        print(f"filmgenre search: {exc}", file=sys.stderr)
        return 1
    _emit_hits(hits, snap, args, index_file, mix)
    return 0


def _print_vocabulary(args: argparse.Namespace) -> int:
    """Every word a query may use, where it comes from and what its score means."""
    from ..genres import GENRES
    from ..library import store
    from ..library.thesaurus import vocabulary_table

    genres = GENRES
    if args.index:
        try:
            genres = tuple(store.get_meta(store.connect(args.index), "genres", []) or GENRES)
        except store.IndexFileError as exc:
            print(f"filmgenre search: {exc}", file=sys.stderr)
            return 1
    rows = vocabulary_table(genres)
    if args.format == "json":
        import json

        write_output(json.dumps(rows, indent=2) + "\n", args.out, len(rows), "json")
        return 0
    lines = [f"{'word':<24} {'source':<34} stands for",
             *(f"{r['word']:<24} {r['source']:<34} " + _stands_for(r) for r in rows)]
    notes = ("Genres are the genre model's calibrated probabilities; the GEMS moods the mood "
             "model's calibrated probabilities (emotify's listeners), valence and arousal its "
             "predicted placement of the music (-1..1, FME-24's film-music listeners). The "
             "taggers' words are sigmoid outputs of networks trained on other music "
             "(MagnaTagATune, the Million Song Dataset), not probabilities. A word of the "
             "thesaurus stands for the genres, moods and tagger words after it, with weights. "
             "A query of genres alone combines their probabilities; any other query ranks each "
             "of its terms within the library, so every term weighs alike. A word both "
             "taggers know is their mean (add :mtt or :msd for one of them); tag:WORD is the "
             "tagger's own word where the thesaurus uses it (happy, sad, soft, sexy). "
             "--format json gives each word's meaning too.")  # fmt: skip
    write_output("\n".join(lines) + "\n\n" + notes + "\n", args.out, len(rows), "table")
    return 0


def _stands_for(row: dict) -> str:
    """A vocabulary row's mapping and meaning, as ``--vocabulary`` prints it."""
    text = f"{row['maps']}: {row['means']}" if row.get("maps") else row["means"]
    return text + (f" (also typed as {row['also']})" if row.get("also") else "")


def _is_cue_vector_model(model_dir) -> bool:
    import json

    config = Path(model_dir) / "config.json"
    return config.is_file() and json.loads(config.read_text()).get("input") == "cue_vector"


def _outside_reference(con, path: str):
    """(similarity vector, genre scores) of an audio file outside the index, featurised by
    the index's model (this loads it)."""
    from ..library import store
    from ..library.batch import reference_vector
    from ..library.scoring import Scorer

    model = store.get_meta(con, "model", {})
    return reference_vector(con, Scorer.for_index(model), path)


def _emit_hits(hits, snap, args: argparse.Namespace, index_file, mix=None) -> None:
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
    if mix and (mix.moods or snap.has_moods):
        print(f"moods: {_mood_model_line(snap.mood_model if snap.has_moods else None)}",
              file=stream)  # fmt: skip
    if mix:
        print(f"query: {mix.explain()}", file=stream)
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
    write_output(text, args.out, len(rows), args.format)


def _mood_model_line(info: dict | None) -> str:
    """Which mood model scored an index (its ``mood_model`` meta), in a line, or that none
    did."""
    if not info:
        return "none in this index (run `filmgenre index build` again to add them)"
    cv = info.get("cross_validation") or {}
    ceiling = "listeners' split-half Spearman"
    dims = "; ".join(f"{r['dimension']} Spearman {r['Spearman (nested)']:.2f} (listeners' "
                     f"split-half {r[ceiling]:.2f})" for r in cv.get("valence_arousal", []))
    return (f"{info.get('name')} (GEMS emotions from emotify's listeners, calibrated; valence "
            f"and arousal from FME-24's); cross-validated GEMS macro ROC-AUC "
            f"{cv.get('gems_macro_roc_auc', float('nan')):.3f}" + (f", {dims}" if dims else ""))


def _hits_table(hits, genres) -> str:
    """A plain-text table: rank, score, the cut (best segment), title, artist, three top
    genres, the query's words (their tagger values), key, duration, path."""
    if not hits:
        return "no track matches\n"
    with_words = any(h.asked for h in hits)
    lines = [f"{'#':>3} {'score':>6} {'cut':>13}  {'title':<30} {'artist':<18} "
             f"{'top genres':<40} " + (f"{'moods and words':<40} " if with_words else "")
             + f"{'key':<9} {'dur':>5}  path"]  # fmt: skip
    for h in hits:
        words = ", ".join(f"{w} {v:.2f}" for w, v in h.asked.items())[:40]
        cut = f"{h.segment[0]:.0f}-{h.segment[1]:.0f} s" if h.segment else ""
        top = ", ".join(f"{g} {p:.2f}" for g, p in sorted(h.genres.items(),
                                                           key=lambda kv: -kv[1])[:3])  # fmt: skip
        f = h.fields
        lines.append(f"{h.rank:>3} {h.score:>6.3f} {cut:>13}  {str(f.get('title') or '')[:30]:<30} "
                     f"{str(f.get('artist') or '')[:18]:<18} {top:<40} "
                     + (f"{words:<40} " if with_words else "") + f"{h.key or '':<9} "
                     f"{(f.get('duration') or 0):>5.0f}  {f.get('path')}")  # fmt: skip
    return "\n".join(lines) + "\n"


def _build_index(library, index_file, model, scheduler, quiet: bool = False,
                 segment_seconds: float = 15.0, why: str | None = None,
                 precision: str = "float32") -> int:  # fmt: skip
    from ..library import store
    from ..library.ingest import build

    try:
        report = build(library, index_file, model, segment_seconds=segment_seconds,
                       scheduler=scheduler, precision=precision,
                       progress=progress_default() if not quiet else False)  # fmt: skip
    except (store.IndexFileError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"filmgenre index: {exc}", file=sys.stderr)
        return 1
    stream = sys.stderr if quiet else sys.stdout
    print(f"model: {report.model} ({why or report.model_why})", file=stream)
    print(f"index {index_file}: {report.line()}", file=stream)
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from ..library import store

    if args.action == "build":
        code = _build_index(args.library, args.index, args.model, args.scheduler,
                            segment_seconds=args.segment_seconds,
                            precision=args.precision)  # fmt: skip
        if code == 0:
            _print_index_info(store.connect(args.index), skipped=False)
        return code
    try:
        con = store.connect(args.index)
    except store.IndexFileError as exc:
        print(f"filmgenre index: {exc}", file=sys.stderr)
        return 1
    _print_index_info(con, skipped=True)
    return 0


def _print_index_info(con, skipped: bool) -> None:
    from ..config import display_path
    from ..library import store

    info = store.summary(con)
    model = info["model"] or {}
    cv = model.get("cross_validation") or {}
    print(f"library: {display_path(info['library']) if info['library'] else None}")
    print(f"{info['tracks']} tracks ({info['hours']:.1f} h), {info['segments']} segments of "
          f"{info['segment_seconds']} s, {info['skipped']} file(s) skipped")  # fmt: skip
    print(f"model: {model.get('name')} ({model.get('outputs', 'scores')}); trained on: "
          f"{model.get('trained_on_line')}")  # fmt: skip
    if cv:
        print(f"model's cross-validated macro ROC-AUC: {cv.get('macro_roc_auc', float('nan')):.3f}"
              f" ({cv.get('folds')} folds x {cv.get('repeats')}, by {cv.get('grouping')})")
    print(f"moods: {_mood_model_line(info['mood_model'])}")  # the meta: no packed array read
    projection = info["projection"] or {}
    if projection.get("method") == "space":
        print(f"similarity vectors: {projection.get('dims')} dimensions, the model's similarity "
              f"space ({projection.get('what')})")  # fmt: skip
    elif projection:
        print(f"similarity vectors: {projection.get('dims')} of {projection.get('full_dims')} "
              f"dimensions ({projection.get('method')}); recall@10 of their neighbours vs the "
              f"full vectors' {projection.get('recall_at_10_vs_full')}")  # fmt: skip
    from ..library.progress import build_line

    if (line := build_line(con)) is not None:
        print(line)
    from ..library import shortlist

    lists = {name: len(shortlist.entries(con, name)) for name in shortlist.names(con)}
    if lists:
        print("shortlists: " + ", ".join(f"{n} ({k} track(s))" for n, k in lists.items()))
    if skipped:
        for path, reason in store.skipped(con):
            print(f"skipped: {path}: {reason}")


def _cmd_serve(args: argparse.Namespace) -> int:
    from ..library import store

    try:
        store.connect(args.index).close()
    except store.IndexFileError as exc:
        print(f"filmgenre serve: {exc}", file=sys.stderr)
        return 1
    from ..library.server import serve

    serve(args.index, host=args.host, port=args.port)
    return 0


def add_commands(sub) -> None:
    """The library commands' parsers."""
    p = sub.add_parser("index", help="a music library's index: build or update it, show it")
    isub = p.add_subparsers(dest="action", required=True)
    b = isub.add_parser("build", help="index a folder of audio (any depth); run again to "
                        "update it incrementally")  # fmt: skip
    b.add_argument("library", help="folder of audio files")
    b.add_argument("--index", required=True, help="the index file (SQLite) to create or update")
    b.add_argument("--model", help="a cue-vector model: " + MODEL_HELP)
    b.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786): decoding, "
                   "features, musicnn and scores run on its workers (which must see the audio, "
                   "the data folder and the model at the same paths); this process writes")
    b.add_argument("--segment-seconds", type=float, default=15.0,
                   help="segment length (default 15 s, the shipped model's training cues)")
    b.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                   help="musicnn's arithmetic: bfloat16 is about 1.5x faster on CPUs with "
                   "bfloat16 units (AVX-512 BF16, AMX), within a stated tolerance of float32 "
                   "(docs/benchmarks.md); another precision than the index's rescores it all")
    verbose_option(b)
    b = isub.add_parser("info", help="what an index holds, and every file it left out with why")
    b.add_argument("--index", required=True)
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("search", help="rank a library's tracks by genres, moods and words "
                       "and/or a reference track")  # fmt: skip
    p.add_argument("query", nargs="?", default="",
                   help='genres, moods and words of a brief: "calm piano -vocals", "dark '
                   'Thriller" or "Thriller=1,tense=1,strings=0.5,happy=-1" (may be empty '
                   'with --like; --vocabulary lists the words)')  # fmt: skip
    p.add_argument("--index", help="an index file (filmgenre index build)")
    p.add_argument("--library", help="a folder: its index is built or updated first")
    p.add_argument("--like", help="a track of the index (id or path) or an outside audio file")
    p.add_argument("--duration", help="seconds, e.g. 60-240, 60- or -240")
    p.add_argument("--key", help='only tracks in this key, e.g. "A minor", "F#", "Bb major"')
    p.add_argument("--mode", choices=("major", "minor"), help="only tracks in this mode")
    p.add_argument("--vocabulary", action="store_true",
                   help="list every word a query may use, where it comes from and what its "
                   "score means, and exit")  # fmt: skip
    p.add_argument("--tempo", help="BPM, e.g. 90-120")
    p.add_argument("--folder", help="only tracks whose folder contains this text")
    p.add_argument("--album", help="only tracks whose album contains this text")
    p.add_argument(
        "--model",
        help="with --library: " + MODEL_HELP,
    )
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--ranking", choices=("fit", "rank", "balanced"), default="fit",
                   help="how a mix ranks tracks: fit (default: the genre probabilities), rank "
                   "(their ranks in the library), balanced (ranks for wanted genres, "
                   "probabilities for unwanted ones); docs/library.md compares them")
    output_options(p)
    verbose_option(p)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("serve", help="a local page to search an index and listen")
    p.add_argument("--index", required=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")  # fmt: skip
    p.add_argument("--port", type=int, default=8765)
    verbose_option(p)
    p.set_defaults(func=_cmd_serve)

