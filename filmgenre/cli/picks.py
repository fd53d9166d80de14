"""Choosing and cutting from an index: ``shortlist`` (add, remove, show, export a list of
chosen tracks, kept in the index file) and ``cut`` (a stretch of a track to a WAV file)."""

from __future__ import annotations

import argparse
import sys

from .common import verbose_option


def _open(args: argparse.Namespace, command: str):
    from ..library import store

    try:
        return store.connect(args.index)
    except store.IndexFileError as exc:
        print(f"filmgenre {command}: {exc}", file=sys.stderr)
        return None


def _cmd_shortlist(args: argparse.Namespace) -> int:
    from ..library import shortlist

    con = _open(args, "shortlist")
    if con is None:
        return 1
    try:
        if args.action == "add":
            for track in args.tracks:
                entry = shortlist.add(con, track, args.note, args.start, args.end, args.list)
                print(f"{args.list}: {entry['position']}. {entry['path']}"
                      + (f"  ({entry['note']})" if entry["note"] else ""))  # fmt: skip
        elif args.action == "remove":
            for track in args.tracks:
                shortlist.remove(con, track, args.list)
                print(f"{args.list}: removed {track}")
        elif args.action == "show":
            _show(con, args)
        else:
            out = shortlist.export(con, args.out, args.format, args.list)
            count = len(shortlist.entries(con, args.list))
            print(f"{args.list}: {count} track(s) written to {out}")
    except shortlist.ShortlistError as exc:
        print(f"filmgenre shortlist: {exc}", file=sys.stderr)
        return 1
    return 0


def _show(con, args: argparse.Namespace) -> None:
    from ..library import shortlist

    if args.format in ("csv", "json"):
        sys.stdout.write(shortlist.render(con, args.format, args.list))
        return
    rows = shortlist.entries(con, args.list)
    others = [n for n in shortlist.names(con) if n != args.list]
    print(f"{args.list}: {len(rows)} track(s)" + (f" (other lists: {', '.join(others)})"
                                                  if others else ""))  # fmt: skip
    for e in rows:
        span = "" if e["start"] is None else f"  cut {e['start']:g}-{e['end']:g} s"
        state = "  MISSING from the index" if e["missing"] else ""
        note = f"  note: {e['note']}" if e["note"] else ""
        print(f"{e['position']:>3}. [{e['id'] if e['id'] is not None else '-'}] "
              f"{e['title'] or e['path']}{span}{note}{state}")  # fmt: skip


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def _cmd_cut(args: argparse.Namespace) -> int:
    from ..library import cut
    from ..library.query import QueryError

    con = _open(args, "cut")
    if con is None:
        return 1
    try:
        done, _ = cut.write(con, args.track, args.out, start=args.start, end=args.end,
                            segment=args.segment, query=args.query, fade=args.fade)  # fmt: skip
    except (cut.CutError, QueryError) as exc:
        print(f"filmgenre cut: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {done.source} from {done.start:.2f} s to {done.end:.2f} s "
          f"({done.seconds:.2f} s, {done.sample_rate} Hz, {done.channels} channel(s); "
          f"{done.why})")  # fmt: skip
    return 0


def add_commands(sub) -> None:
    """The parsers of ``shortlist`` and ``cut``."""
    from ..library.cut import FADE_SECONDS
    from ..library.shortlist import DEFAULT_LIST, FORMATS

    p = sub.add_parser("shortlist", help="a list of chosen tracks kept in the index file: add, "
                       "remove, show, export (M3U8, CSV, JSON)")  # fmt: skip
    actions = p.add_subparsers(dest="action", required=True)
    for name, help_text in (("add", "put tracks on the list (again: update note or cut)"),
                            ("remove", "take tracks off the list")):  # fmt: skip
        a = actions.add_parser(name, help=help_text)
        a.add_argument("tracks", nargs="+", metavar="TRACK",
                       help="a track's id or its path in the library (as search shows them)")
        a.add_argument("--index", required=True, help="the index file")
        a.add_argument("--list", default=DEFAULT_LIST, help=f"which list (default {DEFAULT_LIST})")
        if name == "add":
            a.add_argument("--note", help="a note kept with the track")
            a.add_argument("--start", type=_number, help="start of the chosen cut (s)")
            a.add_argument("--end", type=_number, help="end of the chosen cut (s)")
    a = actions.add_parser("show", help="the list's tracks, notes and cuts")
    a.add_argument("--index", required=True)
    a.add_argument("--list", default=DEFAULT_LIST)
    a.add_argument("--format", choices=("table", "csv", "json"), default="table")
    a = actions.add_parser("export", help="write the list as a playlist or a table")
    a.add_argument("--index", required=True)
    a.add_argument("--list", default=DEFAULT_LIST)
    a.add_argument("--out", required=True, help="the file to write (its folder must exist)")
    a.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")
    p.set_defaults(func=_cmd_shortlist)

    p = sub.add_parser("cut", help="save a stretch of an indexed track as a WAV file (its own "
                       "sample rate, short fades)")  # fmt: skip
    p.add_argument("track", help="a track's id or its path in the library")
    p.add_argument("--index", required=True)
    p.add_argument("--out", required=True, help="the .wav file to write")
    p.add_argument("--start", type=_number, help="start in seconds")
    p.add_argument("--end", type=_number, help="end in seconds")
    p.add_argument("--segment", help="a segment's number (from 0), or 'best' with --query")
    p.add_argument("--query", help="with --segment best: the search whose best cut to take")
    p.add_argument("--fade", type=_number, default=FADE_SECONDS,
                   help=f"fade in and out, seconds (default {FADE_SECONDS})")
    verbose_option(p)
    p.set_defaults(func=_cmd_cut)
