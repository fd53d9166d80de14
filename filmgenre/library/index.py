"""A music library's index: one SQLite file holding every track's genre scores, its
segments' scores, a vector for similarity, its tags, and every file left out with why.

Built once (``filmgenre index build LIBRARY --index FILE``), then updated incrementally:
a file whose size and modification time are unchanged is not read again (as beets does),
a changed one is redone only when its content digest changed, a deleted one is removed,
and a different model rescores every track from the cached features. Work is committed in
chunks, so an interrupted build keeps what it committed and the next run resumes where it
stopped. Readers (search, the page) never see half a build: SQLite in WAL mode (readers do
not wait for the writer), one writer at a time, short transactions, and the packed arrays
that queries read are rewritten in the transaction that bumps the index's generation.

This module only stores and reads; featurising and scoring new tracks is
:mod:`filmgenre.library.ingest`, which imports the model (TensorFlow). Searching imports neither.

Schema version :data:`SCHEMA_VERSION` (:data:`SCHEMA`):

- ``meta(key, value)``: ``schema_version``, ``library`` (root folder), ``model`` (JSON: folder,
  name, key, what it was trained on, its cross-validated score, what its outputs mean),
  ``genres`` (JSON list), ``segment_seconds``, ``vector_dim``, ``projection`` (JSON: how the
  vectors were reduced and how far their neighbours agree with the full vectors'),
  ``generation`` (bumped by every change readers should see);
- ``tracks``: one row per file seen, ``status`` ``ok`` or ``skipped`` (with ``reason``):
  path relative to the library, content digest, size, mtime, title, artist, album, track
  number, duration, tempo, folder, ``scores`` (float32 per genre), ``vector`` (float32),
  ``model_key`` (the model that scored it), ``tags`` (float32, the musicnn taggers' outputs
  in :data:`filmgenre.library.vocabulary.TAG_COLUMNS` order), ``key`` (tonic 0..11) and
  ``mode`` (``major``/``minor``) estimated from the chroma, ``moods`` (float32, the mood
  model's outputs in :data:`filmgenre.data.emotions.MOODS` order);
- ``segments(track_id, idx, start, end, scores, tags, moods)``: the scores of each segment;
- ``blobs(name, data)``: arrays packed for queries (``ids``, ``scores``, ``vectors``,
  ``durations``, ``tempi``, ``tags``, ``keys``, ``modes``, ``moods``) at the current
  generation, and the projection's matrices.

``meta`` also holds ``mood_model`` (JSON: folder, name, key, what it was trained on, its
cross-validated figures, what its outputs mean). Version 2 added the tags, key and mode,
version 3 the moods; an index of an older version is read as it is (no tag words, no key
filter, no mood words: a query that needs them says so) and upgraded in place by the next
``index build``, which fills them in from the cached features.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .snapshot import RANKINGS, Snapshot, fit_columns  # noqa: F401  (read from here too)

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

#: the columns of ``tracks`` a search result shows
TRACK_FIELDS = ("id", "path", "title", "artist", "album", "track_number", "duration", "tempo",
                "folder")  # fmt: skip


class IndexFileError(RuntimeError):
    """An index file that cannot be used (missing, not an index, corrupt, locked, a newer
    schema), with the file and the problem in the message."""


def _floats(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def _blob(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.float32).tobytes()


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


#: tag columns per track and segment (MTT's 50 then MSD's 50; vocabulary.TAG_COLUMNS)
TAG_COUNT = 100
#: mood columns per track and segment (nine GEMS emotions, valence, arousal; emotions.MOODS)
MOOD_COUNT = 11


def has_column(con: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in con.execute(f"PRAGMA table_info({table})"))


#: columns versions 2 and 3 added: (table, column, type)
_ADDED = (("tracks", "tags", "BLOB"), ("tracks", "key", "INTEGER"), ("tracks", "mode", "TEXT"),
          ("segments", "tags", "BLOB"), ("tracks", "moods", "BLOB"),
          ("segments", "moods", "BLOB"))  # fmt: skip


def _upgrade(con: sqlite3.Connection) -> None:
    """Bring an index of an older schema to this one (columns added, never removed); its
    tracks get their new fields when the next build rescores or revisits them."""
    for table, column, kind in _ADDED:
        have = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        if column not in have:
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


def get_meta(con: sqlite3.Connection, key: str, default=None):
    row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return default
    try:
        return json.loads(row[0])
    except json.JSONDecodeError:
        return row[0]


def set_meta(con: sqlite3.Connection, key: str, value) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))


def put_blob(con: sqlite3.Connection, name: str, array: np.ndarray) -> None:
    """Store a packed array: dtype and shape in a small header, then its bytes."""
    array = np.ascontiguousarray(array)
    header = json.dumps({"dtype": str(array.dtype), "shape": list(array.shape)}).encode()
    header += b" " * (-(4 + len(header)) % 16)  # the array starts aligned: no copy to read it
    data = len(header).to_bytes(4, "little") + header + array.tobytes()
    con.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (name, data))


def get_blob(con: sqlite3.Connection, name: str) -> np.ndarray | None:
    row = con.execute("SELECT data FROM blobs WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    data = row[0]
    size = int.from_bytes(data[:4], "little")
    header = json.loads(data[4 : 4 + size])
    return np.frombuffer(data, dtype=header["dtype"], offset=4 + size).reshape(header["shape"])


def snapshot(con: sqlite3.Connection) -> Snapshot:
    """The packed arrays of the index's current generation; rebuilt from the rows when a
    build was interrupted before it packed them."""
    generation = int(get_meta(con, "generation", 0))
    genres = tuple(get_meta(con, "genres", []) or [])
    packed = get_meta(con, "packed_generation", -1)
    if packed != generation:
        with writing(con):
            pack(con)
        generation = int(get_meta(con, "generation", 0))
    ids = get_blob(con, "ids")
    empty = np.empty((0,), np.int64)
    ann = None
    ann_bytes = con.execute("SELECT data FROM blobs WHERE name = 'ann'").fetchone()
    if ann_bytes is not None:
        from .neighbours import restore

        ann = restore(ann_bytes[0])
    return Snapshot(
        generation=generation,
        genres=genres,
        ids=ids if ids is not None else empty,
        scores=_or_empty(get_blob(con, "scores"), len(genres)),
        vectors=_or_empty(get_blob(con, "vectors"), int(get_meta(con, "vector_dim", 0) or 0)),
        durations=_or_empty(get_blob(con, "durations")),
        tempi=_or_empty(get_blob(con, "tempi")),
        model=get_meta(con, "model", {}) or {},
        ann=ann,
        tags=get_blob(con, "tags"),
        keys=get_blob(con, "keys"),
        modes=get_blob(con, "modes"),
        moods=get_blob(con, "moods"),
        mood_model=get_meta(con, "mood_model"),
    )


def _or_empty(array: np.ndarray | None, width: int | None = None) -> np.ndarray:
    if array is not None:
        return array
    return np.empty((0, width) if width is not None else (0,), np.float32)


def pack(con: sqlite3.Connection, ann_min: int | None = None) -> None:
    """Rewrite the packed arrays from the ``ok`` rows and mark them current (call inside a
    write transaction). Tracks without a vector yet (a build stopped before projecting)
    get zeros there, which no similarity query ranks first."""
    from .neighbours import ANN_MIN_TRACKS, build_ann

    ann_min = ANN_MIN_TRACKS if ann_min is None else ann_min
    genres = get_meta(con, "genres", []) or []
    dim = int(get_meta(con, "vector_dim", 0) or 0)
    extra = ", ".join(c if has_column(con, "tracks", c) else "NULL" for c in ("tags", "key",
                                                                             "mode", "moods"))
    rows = con.execute(f"SELECT id, scores, vector, duration, tempo, {extra} FROM tracks "
                       "WHERE status = 'ok' AND scores IS NOT NULL ORDER BY id")  # fmt: skip
    n = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok' AND scores IS NOT NULL"
                    ).fetchone()[0]  # fmt: skip
    ids = np.empty(n, np.int64)
    scores = np.zeros((n, len(genres)), np.float32)
    vectors = np.zeros((n, dim), np.float32)
    durations = np.full(n, np.nan, np.float32)
    tempi = np.full(n, np.nan, np.float32)
    tags = np.full((n, TAG_COUNT), np.nan, np.float16)
    keys, modes = np.full(n, -1, np.int8), np.full(n, -1, np.int8)
    moods = np.full((n, MOOD_COUNT), np.nan, np.float16)
    for i, (tid, s, v, d, t, tg, key, mode, md) in enumerate(rows):
        ids[i] = tid
        if tg is not None:
            tags[i] = _floats(tg)
        if md is not None:
            moods[i] = _floats(md)
        keys[i] = -1 if key is None else key
        modes[i] = {"major": 0, "minor": 1}.get(mode, -1)
        scores[i] = _floats(s)
        if v is not None and dim:
            vectors[i] = _floats(v)
        durations[i] = np.nan if d is None else d
        tempi[i] = np.nan if t is None else t
    # similarity is a cosine: pack unit vectors, so queries need no second, scaled copy
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    for name, array in (("ids", ids), ("scores", scores), ("vectors", vectors),
                        ("durations", durations), ("tempi", tempi), ("tags", tags),
                        ("keys", keys), ("modes", modes), ("moods", moods)):  # fmt: skip
        put_blob(con, name, array)
    con.execute("DELETE FROM blobs WHERE name = 'ann'")
    if n >= ann_min and dim:
        con.execute("INSERT INTO blobs VALUES ('ann', ?)", (build_ann(vectors, ids),))
    generation = int(get_meta(con, "generation", 0)) + 1
    set_meta(con, "generation", generation)
    set_meta(con, "packed_generation", generation)


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
        out.setdefault(tid, []).append((start, end, _floats(scores), _floats(tag),
                                        _floats(mood)))  # fmt: skip
    return out


def skipped(con: sqlite3.Connection) -> list[tuple[str, str]]:
    """(path, reason) of every file the index left out."""
    return list(con.execute("SELECT path, reason FROM tracks WHERE status = 'skipped' "
                            "ORDER BY path"))  # fmt: skip


def summary(con: sqlite3.Connection) -> dict:
    """Counts and what the index was built with, for ``index info`` and the page."""
    ok = con.execute("SELECT COUNT(*), COALESCE(SUM(duration), 0) FROM tracks "
                     "WHERE status = 'ok'").fetchone()  # fmt: skip
    n_skipped = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'skipped'").fetchone()[0]
    n_segments = con.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    return {
        "tracks": ok[0], "hours": ok[1] / 3600, "segments": n_segments, "skipped": n_skipped,
        "library": get_meta(con, "library"), "model": get_meta(con, "model", {}),
        "mood_model": get_meta(con, "mood_model"),
        "genres": get_meta(con, "genres", []), "segment_seconds": get_meta(con, "segment_seconds"),
        "vector_dim": get_meta(con, "vector_dim"), "projection": get_meta(con, "projection"),
        "schema_version": int(get_meta(con, "schema_version", 0)),
    }  # fmt: skip


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
