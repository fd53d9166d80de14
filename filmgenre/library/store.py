"""The index file's one owner: every SQL statement of the package is in this module, behind
small typed functions (open and check a file, a write transaction, meta and packed arrays,
write or skip a track, look one up, the shortlist's rows, counts).

Schema version :data:`SCHEMA_VERSION` (:data:`SCHEMA`):

- ``meta(key, value)``: ``schema_version``, ``library`` (root folder), ``model`` (JSON: folder,
  name, key, what it was trained on, its cross-validated score, what its outputs mean),
  ``mood_model`` (the same for the mood model), ``genres`` (JSON list), ``segment_seconds``,
  ``vector_dim``, ``projection`` (JSON: how the vectors were reduced and how far their
  neighbours agree with the full vectors'), ``generation`` (bumped by every change readers
  should see), ``build`` (where a build stands, :mod:`.progress`);
- ``tracks``: one row per file seen, ``status`` ``ok`` or ``skipped`` (with ``reason``):
  path relative to the library, content digest, size, mtime, title, artist, album, track
  number, duration, tempo, folder, ``scores`` (float32 per genre), ``vector`` (float32),
  ``model_key`` (the models that scored it), ``tags`` (float32, the musicnn taggers' outputs
  in :data:`filmgenre.library.vocabulary.TAG_COLUMNS` order), ``key`` (tonic 0..11) and
  ``mode`` (``major``/``minor``) estimated from the chroma, ``moods`` (float32, the mood
  model's outputs in :data:`filmgenre.data.moods.MOODS` order);
- ``segments(track_id, idx, start, end, scores, tags, moods)``: the scores of each segment;
- ``blobs(name, data)``: arrays packed for queries (``ids``, ``scores``, ``vectors``,
  ``durations``, ``tempi``, ``tags``, ``keys``, ``modes``, ``moods``, ``ann``) at the current
  generation, and the projection's matrices;
- ``shortlist(list, path, note, start, end, added)``: chosen tracks (:mod:`.shortlist`),
  created on first use.

Version 2 added the tags, key and mode, version 3 the moods; an index of an older version
is read as it is and upgraded in place (columns added, never removed) by the next build.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('ok', 'skipped')),
    reason TEXT,
    digest TEXT,
    size INTEGER,
    mtime REAL,
    title TEXT,
    artist TEXT,
    album TEXT,
    track_number INTEGER,
    duration REAL,
    tempo REAL,
    folder TEXT,
    scores BLOB,
    vector BLOB,
    model_key TEXT,
    features TEXT,
    tags BLOB,
    key INTEGER,
    mode TEXT,
    moods BLOB
);
CREATE INDEX IF NOT EXISTS tracks_status ON tracks (status);
CREATE INDEX IF NOT EXISTS tracks_folder ON tracks (folder);
CREATE INDEX IF NOT EXISTS tracks_album ON tracks (album);
CREATE TABLE IF NOT EXISTS segments (
    track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    scores BLOB NOT NULL,
    tags BLOB,
    moods BLOB,
    PRIMARY KEY (track_id, idx)
);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, data BLOB NOT NULL);
"""

SHORTLIST_SCHEMA = """
CREATE TABLE IF NOT EXISTS shortlist (
    list TEXT NOT NULL,
    path TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    start REAL,
    end REAL,
    added REAL NOT NULL,
    PRIMARY KEY (list, path)
);
"""

#: the columns of ``tracks`` a search result shows
TRACK_FIELDS = ("id", "path", "title", "artist", "album", "track_number", "duration", "tempo",
                "folder")  # fmt: skip
#: what a build writes of a scored track, in the order :func:`record_track` takes them
TRACK_VALUES = ("digest", "size", "mtime", "title", "artist", "album", "track_number",
                "duration", "tempo", "folder", "scores", "model_key", "features", "tags", "key",
                "mode", "moods", "vector")  # fmt: skip
#: tag columns per track and segment (MTT's 50 then MSD's 50; vocabulary.TAG_COLUMNS)
TAG_COUNT = 100
#: mood columns per track and segment (nine GEMS emotions, valence, arousal; moods.MOODS)
MOOD_COUNT = 11
#: columns versions 2 and 3 added: (table, column, type)
_ADDED = (("tracks", "tags", "BLOB"), ("tracks", "key", "INTEGER"), ("tracks", "mode", "TEXT"),
          ("segments", "tags", "BLOB"), ("tracks", "moods", "BLOB"),
          ("segments", "moods", "BLOB"))  # fmt: skip


class IndexFileError(RuntimeError):
    """An index file that cannot be used (missing, not an index, corrupt, locked, a newer
    schema), with the file and the problem in the message."""


def floats(blob: bytes | None) -> np.ndarray | None:
    """A stored float32 array (None stays None)."""
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def blob(array: np.ndarray | None) -> bytes | None:
    """An array as stored: float32 bytes (None stays None)."""
    return None if array is None else np.ascontiguousarray(array, dtype=np.float32).tobytes()


def connect(path: str | os.PathLike[str], create: bool = False,
            timeout: float = 5.0) -> sqlite3.Connection:  # fmt: skip
    """An open index, checked: it exists (unless ``create``), is an SQLite file holding a
    filmgenre index of a schema this code reads. Raises :class:`IndexFileError` otherwise."""
    path = Path(path)
    if not create and not path.is_file():
        raise IndexFileError(f"{path}: no such index file (build one with "
                             "`filmgenre index build LIBRARY --index FILE`)")  # fmt: skip
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
        con.execute("PRAGMA foreign_keys = ON")
        if create:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(SCHEMA)
            _upgrade(con)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),))  # fmt: skip
            con.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            con.commit()
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise IndexFileError(f"{path}: the index is locked by another process (a build "
                                 f"still writing?); try again when it is done ({exc})") from exc
        raise IndexFileError(f"{path}: not a filmgenre index ({exc})") from exc
    except sqlite3.DatabaseError as exc:
        raise IndexFileError(f"{path}: not a filmgenre index, or a corrupt one "
                             f"(SQLite: {exc})") from exc  # fmt: skip
    if row is None:
        raise IndexFileError(f"{path}: an SQLite file, but not a filmgenre index (no schema "
                             "version)")  # fmt: skip
    if int(row[0]) > SCHEMA_VERSION:
        raise IndexFileError(f"{path}: index schema version {row[0]} is newer than this "
                             f"filmgenre reads ({SCHEMA_VERSION}); upgrade filmgenre")  # fmt: skip
    return con


def has_column(con: sqlite3.Connection, table: str, column: str) -> bool:
    """Whether the file's ``table`` has ``column`` (an older schema may lack it)."""
    return any(row[1] == column for row in con.execute(f"PRAGMA table_info({table})"))


def _upgrade(con: sqlite3.Connection) -> None:
    """Bring an index of an older schema to this one (columns added, never removed); its
    tracks get their new fields when the next build rescores or revisits them."""
    for table, column, kind in _ADDED:
        if not has_column(con, table, column):
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) < SCHEMA_VERSION:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(SCHEMA_VERSION),))  # fmt: skip


@contextmanager
def writing(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short write transaction (BEGIN IMMEDIATE: the single writer), committed or rolled
    back as a whole."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    else:
        con.commit()


# --- meta and packed arrays -----------------------------------------------------------------


def get_meta(con: sqlite3.Connection, key: str, default=None):
    """A meta value, JSON-decoded where it is JSON (``default`` when absent)."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return default
    try:
        return json.loads(row[0])
    except json.JSONDecodeError:
        return row[0]


def set_meta(con: sqlite3.Connection, key: str, value) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))


def put_bytes(con: sqlite3.Connection, name: str, data: bytes) -> None:
    con.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (name, data))


def get_bytes(con: sqlite3.Connection, name: str) -> bytes | None:
    row = con.execute("SELECT data FROM blobs WHERE name = ?", (name,)).fetchone()
    return None if row is None else row[0]


def delete_blobs(con: sqlite3.Connection, *names: str) -> None:
    con.executemany("DELETE FROM blobs WHERE name = ?", [(n,) for n in names])


def put_blob(con: sqlite3.Connection, name: str, array: np.ndarray) -> None:
    """Store a packed array: dtype and shape in a small header, then its bytes."""
    array = np.ascontiguousarray(array)
    header = json.dumps({"dtype": str(array.dtype), "shape": list(array.shape)}).encode()
    header += b" " * (-(4 + len(header)) % 16)  # the array starts aligned: no copy to read it
    put_bytes(con, name, len(header).to_bytes(4, "little") + header + array.tobytes())


def get_blob(con: sqlite3.Connection, name: str) -> np.ndarray | None:
    data = get_bytes(con, name)
    if data is None:
        return None
    size = int.from_bytes(data[:4], "little")
    header = json.loads(data[4 : 4 + size])
    return np.frombuffer(data, dtype=header["dtype"], offset=4 + size).reshape(header["shape"])


def packable_rows(con: sqlite3.Connection) -> tuple[int, Iterator[tuple]]:
    """(count, rows) of the scored ``ok`` tracks in id order, as packing reads them: id,
    scores, vector, duration, tempo, tags, key, mode, moods (NULL where the schema lacks a
    column)."""
    extra = ", ".join(c if has_column(con, "tracks", c) else "NULL"
                      for c in ("tags", "key", "mode", "moods"))  # fmt: skip
    where = "WHERE status = 'ok' AND scores IS NOT NULL"
    n = con.execute(f"SELECT COUNT(*) FROM tracks {where}").fetchone()[0]
    return n, con.execute(f"SELECT id, scores, vector, duration, tempo, {extra} FROM tracks "
                          f"{where} ORDER BY id")  # fmt: skip


# --- tracks -----------------------------------------------------------------------------------


def known_tracks(con: sqlite3.Connection) -> dict[str, tuple]:
    """Every file the index has seen, by path: (id, status, size, mtime, digest, model_key)."""
    return {path: rest for path, *rest in con.execute(
        "SELECT path, id, status, size, mtime, digest, model_key FROM tracks")}  # fmt: skip


def remove_tracks(con: sqlite3.Connection, ids: Iterable[int]) -> None:
    con.executemany("DELETE FROM tracks WHERE id = ?", [(int(t),) for t in ids])


def record_skip(con: sqlite3.Connection, path: str, reason: str, size: int | None = None,
                mtime: float | None = None) -> None:  # fmt: skip
    """A file left out, with why (its size and mtime, when known, so that it is tried
    again only once it changes)."""
    con.execute("DELETE FROM tracks WHERE path = ?", (path,))
    con.execute("INSERT INTO tracks (path, status, reason, size, mtime) "
                "VALUES (?, 'skipped', ?, ?, ?)", (path, reason, size, mtime))  # fmt: skip


def touch_track(con: sqlite3.Connection, track_id: int, size: int, mtime: float) -> None:
    """The same bytes under a new modification time: only the stat changes."""
    con.execute("UPDATE tracks SET size = ?, mtime = ? WHERE id = ?", (size, mtime, track_id))


def record_track(con: sqlite3.Connection, path: str, values: dict,
                 segments: Iterable[tuple]) -> int:  # fmt: skip
    """Write a scored track (``values`` has every :data:`TRACK_VALUES` field, arrays as
    :func:`blob` bytes) and its segments (start, end, scores, tags, moods as bytes),
    replacing what the path had; returns its id (kept when the path was indexed)."""
    row = [values[name] for name in TRACK_VALUES]
    existing = con.execute("SELECT id FROM tracks WHERE path = ?", (path,)).fetchone()
    if existing:
        track_id = existing[0]
        assignments = ", ".join(f"{name} = ?" for name in TRACK_VALUES)
        con.execute(f"UPDATE tracks SET status = 'ok', reason = NULL, {assignments} "
                    "WHERE id = ?", (*row, track_id))  # fmt: skip
        con.execute("DELETE FROM segments WHERE track_id = ?", (track_id,))
    else:
        track_id = con.execute(f"INSERT INTO tracks (path, status, {', '.join(TRACK_VALUES)}) "
                               f"VALUES (?, 'ok', {', '.join('?' * len(TRACK_VALUES))})",
                               (path, *row)).lastrowid  # fmt: skip
    con.executemany("INSERT INTO segments (track_id, idx, start, end, scores, tags, moods) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(track_id, i, *segment) for i, segment in enumerate(segments)])  # fmt: skip
    return track_id


def count_tracks(con: sqlite3.Connection, status: str = "ok") -> int:
    return con.execute("SELECT COUNT(*) FROM tracks WHERE status = ?", (status,)).fetchone()[0]


def features_file(con: sqlite3.Connection, track_id: int) -> str | None:
    """The cached feature file a track was scored from (None: not recorded)."""
    row = con.execute("SELECT features FROM tracks WHERE id = ?", (track_id,)).fetchone()
    return row[0] if row else None


def tracks_to_project(con: sqlite3.Connection, every: bool) -> list[tuple[int, str]]:
    """(id, path) of the ``ok`` tracks that need a similarity vector (``every``: all)."""
    where = "status = 'ok'" + ("" if every else " AND vector IS NULL")
    return con.execute(f"SELECT id, path FROM tracks WHERE {where} ORDER BY id").fetchall()


def tracks_to_place(con: sqlite3.Connection, model_key: str) -> list[tuple[int, str, bytes]]:
    """(id, path, scores) of the ``ok`` tracks without a vector of the model ``model_key``."""
    return con.execute("SELECT id, path, scores FROM tracks WHERE status = 'ok' AND "
                       "(vector IS NULL OR model_key IS NOT ?) ORDER BY id",
                       (model_key,)).fetchall()  # fmt: skip


def set_vectors(con: sqlite3.Connection, vectors: Iterable[tuple[int, np.ndarray]]) -> None:
    con.executemany("UPDATE tracks SET vector = ? WHERE id = ?",
                    [(blob(v), int(t)) for t, v in vectors])  # fmt: skip


def track_rows(con: sqlite3.Connection, ids: list[int]) -> dict[int, dict]:
    """The shown fields of some tracks, by id."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    cur = con.execute(f"SELECT {', '.join(TRACK_FIELDS)} FROM tracks WHERE id IN ({marks})",
                      [int(i) for i in ids])  # fmt: skip
    return {row[0]: dict(zip(TRACK_FIELDS, row, strict=True)) for row in cur}


def segments_of(con: sqlite3.Connection, ids: list[int]) -> dict[int, list[tuple]]:
    """(start, end, scores, tags or None, moods or None) of each segment of some tracks, by
    track id, in order."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    tags, moods = (c if has_column(con, "segments", c) else "NULL" for c in ("tags", "moods"))
    out: dict[int, list[tuple]] = {}
    for tid, start, end, scores, tag, mood in con.execute(
        f"SELECT track_id, start, end, scores, {tags}, {moods} FROM segments WHERE track_id "
        f"IN ({marks}) ORDER BY track_id, idx", [int(i) for i in ids]):  # fmt: skip
        out.setdefault(tid, []).append((start, end, floats(scores), floats(tag), floats(mood)))
    return out


def skipped(con: sqlite3.Connection) -> list[tuple[str, str]]:
    """(path, reason) of every file the index left out."""
    return list(con.execute("SELECT path, reason FROM tracks WHERE status = 'skipped' "
                            "ORDER BY path"))  # fmt: skip


def summary(con: sqlite3.Connection) -> dict:
    """Counts and what the index was built with, for ``index info`` and the page."""
    ok = con.execute("SELECT COUNT(*), COALESCE(SUM(duration), 0) FROM tracks "
                     "WHERE status = 'ok'").fetchone()  # fmt: skip
    n_segments = con.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    return {
        "tracks": ok[0], "hours": ok[1] / 3600, "segments": n_segments,
        "skipped": count_tracks(con, "skipped"), "library": get_meta(con, "library"),
        "model": get_meta(con, "model", {}), "mood_model": get_meta(con, "mood_model"),
        "genres": get_meta(con, "genres", []), "segment_seconds": get_meta(con, "segment_seconds"),
        "vector_dim": get_meta(con, "vector_dim"), "projection": get_meta(con, "projection"),
        "schema_version": int(get_meta(con, "schema_version", 0)),
    }  # fmt: skip


def find_track(con: sqlite3.Connection, track: int | str) -> tuple[int, str] | None:
    """(id, path in the library) of an indexed track named by its id, its path relative to
    the library, or a path on disk inside the library; None when the index lacks it."""
    text = str(track).strip()
    if text.isdigit():
        row = con.execute("SELECT id, path FROM tracks WHERE id = ? AND status = 'ok'",
                          (int(text),)).fetchone()  # fmt: skip
        if row is not None:
            return int(row[0]), row[1]
    candidates = [text]
    root = get_meta(con, "library")
    if root is not None:
        try:
            candidates.append(Path(text).resolve().relative_to(Path(root).resolve()).as_posix())
        except (ValueError, OSError):
            pass
    for path in candidates:
        row = con.execute("SELECT id, path FROM tracks WHERE path = ? AND status = 'ok'",
                          (path,)).fetchone()  # fmt: skip
        if row is not None:
            return int(row[0]), row[1]
    return None


def library_path(con: sqlite3.Connection, track_id: int) -> Path | None:
    """The file of an indexed track, only if it is still inside the library folder: never a
    path from a request, never a symlink that leads outside. None otherwise."""
    root = get_meta(con, "library")
    row = con.execute("SELECT path FROM tracks WHERE id = ? AND status = 'ok'",
                      (int(track_id),)).fetchone()  # fmt: skip
    if root is None or row is None:
        return None
    root_path = Path(root).resolve()
    candidate = (root_path / row[0]).resolve()
    if not candidate.is_relative_to(root_path) or not candidate.is_file():
        return None
    return candidate


def ids_containing(con: sqlite3.Connection, column: str, text: str) -> np.ndarray:
    """Ids of the ``ok`` tracks whose ``folder`` or ``album`` contains ``text`` (no
    wildcards: ``%`` and ``_`` are themselves)."""
    if column not in ("folder", "album"):
        raise ValueError(f"{column}: only folder and album are searched as text")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = con.execute(f"SELECT id FROM tracks WHERE status = 'ok' AND {column} LIKE ? "
                       "ESCAPE '\\'", (f"%{escaped}%",))  # fmt: skip
    return np.asarray([r[0] for r in rows], np.int64)


# --- shortlists -------------------------------------------------------------------------------


def _has_shortlist(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'shortlist'").fetchone() is not None  # fmt: skip


def shortlist_put(con: sqlite3.Connection, name: str, path: str, note: str | None,
                  start: float | None, end: float | None, added: float) -> None:  # fmt: skip
    """Put a path on a list, or update its entry (a note or span given as None keeps what
    the entry had); the table is created on first use."""
    con.executescript(SHORTLIST_SCHEMA)  # a script commits first: outside the transaction
    with con:
        con.execute("INSERT INTO shortlist (list, path, note, start, end, added) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (list, path) DO UPDATE SET "
                    "note = COALESCE(?, note), start = COALESCE(?, start), "
                    "end = COALESCE(?, end)",
                    (name, path, note or "", start, end, added, note, start, end))  # fmt: skip


def shortlist_delete(con: sqlite3.Connection, name: str, path: str) -> None:
    with con:
        con.execute("DELETE FROM shortlist WHERE list = ? AND path = ?", (name, path))


def shortlist_has(con: sqlite3.Connection, name: str, path: str) -> bool:
    return _has_shortlist(con) and con.execute(
        "SELECT 1 FROM shortlist WHERE list = ? AND path = ?", (name, path)
    ).fetchone() is not None  # fmt: skip


def shortlist_names(con: sqlite3.Connection) -> list[str]:
    if not _has_shortlist(con):
        return []
    return [r[0] for r in con.execute("SELECT DISTINCT list FROM shortlist ORDER BY list")]


def shortlist_rows(con: sqlite3.Connection, name: str) -> list[tuple]:
    """A list's entries in the order they were added: path, note, start, end, and the
    track's id, title, artist, album, duration (None where the index no longer holds it)."""
    if not _has_shortlist(con):
        return []
    return con.execute(
        "SELECT s.path, s.note, s.start, s.end, t.id, t.title, t.artist, t.album, t.duration "
        "FROM shortlist s LEFT JOIN tracks t ON t.path = s.path AND t.status = 'ok' "
        "WHERE s.list = ? ORDER BY s.added, s.rowid", (name,)).fetchall()  # fmt: skip
