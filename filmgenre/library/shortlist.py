"""Shortlists (a production library's "crates"): tracks chosen from searches, a note each
and optionally the segment to cut, kept in the index file and exported for other tools.

A shortlist is its own table of the index, keyed by the track's path in the library, not
its id: a rebuild that re-indexes a changed file gives it a new id, and a file that left
the library stays on the list (shown as missing) rather than vanishing from it. Exports:
M3U8 (a playlist players open; paths relative to the playlist's folder where the two
share a folder, absolute otherwise), CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from pathlib import Path

from . import store

#: the list a command or the page uses unless told another name
DEFAULT_LIST = "shortlist"
FORMATS = ("m3u8", "csv", "json")
COLUMNS = ("list", "position", "id", "path", "title", "artist", "album", "duration", "start",
           "end", "note", "missing")  # fmt: skip

class ShortlistError(ValueError):
    """A shortlist request that cannot be done, with the reason in words."""


def resolve_track(con: sqlite3.Connection, track: int | str) -> tuple[int, str]:
    """(id, path in the library) of a track named by its id or by its path (relative to the
    library, or a path on disk inside it); raises ShortlistError when the index lacks it."""
    found = store.find_track(con, track)
    if found is not None:
        return found
    text = str(track).strip()
    if text.isdigit():
        raise ShortlistError(f"track {text}: no such track in the index")
    raise ShortlistError(f"{text}: not a track of the index (give its id or its path in "
                         "the library, as `filmgenre search` shows them)")  # fmt: skip


def _check_span(start: float | None, end: float | None) -> None:
    if (start is None) != (end is None):
        raise ShortlistError("give both the start and the end of the segment, or neither")
    if start is not None and not 0 <= start < end:
        raise ShortlistError(f"segment {start}-{end} s: the start must be at least 0 and "
                             "before the end")  # fmt: skip


def add(con: sqlite3.Connection, track: int | str, note: str | None = None,
        start: float | None = None, end: float | None = None,
        name: str = DEFAULT_LIST) -> dict:  # fmt: skip
    """Put a track on a list (or update its note and segment when it is there already);
    returns its entry. A note or segment left out keeps what the entry had."""
    _check_span(start, end)
    _, path = resolve_track(con, track)
    store.shortlist_put(con, name, path, note, start, end, time.time())
    return next(e for e in entries(con, name) if e["path"] == path)


def remove(con: sqlite3.Connection, track: int | str, name: str = DEFAULT_LIST) -> None:
    """Take a track off a list (by id, or by path even where the file has left the index)."""
    text = str(track).strip()
    if not text.isdigit() and store.shortlist_has(con, name, text):
        path = text  # a path on the list, whether or not the index still holds it
    else:
        path = resolve_track(con, track)[1]
    if not store.shortlist_has(con, name, path):
        raise ShortlistError(f"{path}: not on the list {name!r}")
    store.shortlist_delete(con, name, path)


def names(con: sqlite3.Connection) -> list[str]:
    """Every list of the index, by name."""
    return store.shortlist_names(con)


def entries(con: sqlite3.Connection, name: str = DEFAULT_LIST) -> list[dict]:
    """A list's tracks in the order they were added, with the index's fields (``missing``:
    the file is no longer an indexed track)."""
    rows = store.shortlist_rows(con, name)
    out = []
    for position, (path, note, start, end, tid, title, artist, album, duration) in enumerate(
            rows, start=1):  # fmt: skip
        out.append({"list": name, "position": position, "id": tid, "path": path,
                    "title": title, "artist": artist, "album": album, "duration": duration,
                    "start": start, "end": end, "note": note, "missing": tid is None})  # fmt: skip
    return out


def render(con: sqlite3.Connection, fmt: str, name: str = DEFAULT_LIST,
           relative_to: Path | None = None) -> str:  # fmt: skip
    """A list as M3U8, CSV or JSON text. M3U8 paths are relative to ``relative_to`` (the
    playlist's folder) when given, else absolute; missing files are left out of it."""
    fmt = format_of(fmt)
    rows = entries(con, name)
    if fmt == "json":
        return json.dumps({"list": name, "index": str(store.get_meta(con, "library") or ""),
                           "tracks": rows}, indent=2) + "\n"  # fmt: skip
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    lines = ["#EXTM3U", f"#PLAYLIST:{name}"]
    for entry in rows:
        if entry["missing"]:
            continue
        where = store.library_path(con, entry["id"])
        if where is None:
            continue
        shown = " - ".join(x for x in (entry["artist"], entry["title"]) if x) or Path(
            entry["path"]).stem  # fmt: skip
        seconds = round(entry["duration"]) if entry["duration"] else -1
        lines.append(f"#EXTINF:{seconds},{shown}")
        if entry["note"]:
            lines.append(f"# note: {' '.join(entry['note'].split())}")
        lines.append(_playlist_path(where, relative_to))
    return "\n".join(lines) + "\n"


def _playlist_path(file: Path, folder: Path | None) -> str:
    """A track's path as a playlist in ``folder`` names it: relative where both lie under a
    common folder below the root (the pair moves together), absolute otherwise."""
    if folder is None:
        return str(file)
    common = Path(os.path.commonpath([file, folder]))
    return str(file) if common == Path(common.anchor) else os.path.relpath(file, folder)


def format_of(fmt: str) -> str:
    fmt = fmt.lower().lstrip(".")
    fmt = "m3u8" if fmt == "m3u" else fmt
    if fmt not in FORMATS:
        raise ShortlistError(f"format {fmt!r}: choose one of {', '.join(FORMATS)} (or name "
                             "the file with one of these suffixes)")  # fmt: skip
    return fmt


def export(con: sqlite3.Connection, out: str | os.PathLike[str], fmt: str | None = None,
           name: str = DEFAULT_LIST) -> Path:  # fmt: skip
    """Write a list to ``out`` (format from ``fmt`` or the file's suffix); its folder must
    exist. Returns the file written."""
    out = Path(out)
    fmt = format_of(fmt or out.suffix or "?")
    if not out.parent.is_dir():
        raise ShortlistError(f"{out.parent}: no such folder to export {out.name} into")
    if name not in names(con):
        raise ShortlistError(f"no list {name!r} in this index (lists: "
                             f"{', '.join(names(con)) or 'none yet'})")  # fmt: skip
    text = render(con, fmt, name, relative_to=out.parent.resolve())
    out.write_text(text, encoding="utf-8")
    return out
