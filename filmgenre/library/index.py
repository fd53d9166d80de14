"""A music library's index: one SQLite file (:mod:`.store` owns it and every statement)
holding every track's genre scores, its segments' scores, a vector for similarity, its tags
and moods, and every file left out with why; this module packs what queries read.

Built once (``filmgenre index build LIBRARY --index FILE``), then updated incrementally:
a file whose size and modification time are unchanged is not read again (as beets does),
a changed one is redone only when its content digest changed, a deleted one is removed,
and a different model rescores every track from the cached features. Work is committed in
chunks, so an interrupted build keeps what it committed and the next run resumes where it
stopped. Readers (search, the page) never see half a build: SQLite in WAL mode (readers do
not wait for the writer), one writer at a time, short transactions, and the packed arrays
that queries read (:class:`~.snapshot.Snapshot`) are rewritten in the transaction that
bumps the index's generation.

Featurising and scoring new tracks is :mod:`filmgenre.library.ingest`, which imports the
model (TensorFlow). Searching imports neither.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from . import store
from .snapshot import Snapshot


def snapshot(con: sqlite3.Connection) -> Snapshot:
    """The packed arrays of the index's current generation; rebuilt from the rows when a
    build was interrupted before it packed them."""
    generation = int(store.get_meta(con, "generation", 0))
    genres = tuple(store.get_meta(con, "genres", []) or [])
    if store.get_meta(con, "packed_generation", -1) != generation:
        with store.writing(con):
            pack(con)
        generation = int(store.get_meta(con, "generation", 0))
    ids = store.get_blob(con, "ids")
    ann = None
    ann_bytes = store.get_bytes(con, "ann")
    if ann_bytes is not None:
        from .neighbours import restore

        ann = restore(ann_bytes)
    dim = int(store.get_meta(con, "vector_dim", 0) or 0)
    return Snapshot(
        generation=generation,
        genres=genres,
        ids=ids if ids is not None else np.empty((0,), np.int64),
        scores=_or_empty(store.get_blob(con, "scores"), len(genres)),
        vectors=_or_empty(store.get_blob(con, "vectors"), dim),
        durations=_or_empty(store.get_blob(con, "durations")),
        tempi=_or_empty(store.get_blob(con, "tempi")),
        model=store.get_meta(con, "model", {}) or {},
        ann=ann,
        tags=store.get_blob(con, "tags"),
        keys=store.get_blob(con, "keys"),
        modes=store.get_blob(con, "modes"),
        moods=store.get_blob(con, "moods"),
        mood_model=store.get_meta(con, "mood_model"),
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
    genres = store.get_meta(con, "genres", []) or []
    dim = int(store.get_meta(con, "vector_dim", 0) or 0)
    n, rows = store.packable_rows(con)
    ids = np.empty(n, np.int64)
    scores = np.zeros((n, len(genres)), np.float32)
    vectors = np.zeros((n, dim), np.float32)
    durations = np.full(n, np.nan, np.float32)
    tempi = np.full(n, np.nan, np.float32)
    tags = np.full((n, store.TAG_COUNT), np.nan, np.float16)
    keys, modes = np.full(n, -1, np.int8), np.full(n, -1, np.int8)
    moods = np.full((n, store.MOOD_COUNT), np.nan, np.float16)
    for i, (tid, s, v, d, t, tg, key, mode, md) in enumerate(rows):
        ids[i] = tid
        if tg is not None:
            tags[i] = store.floats(tg)
        if md is not None:
            moods[i] = store.floats(md)
        keys[i] = -1 if key is None else key
        modes[i] = {"major": 0, "minor": 1}.get(mode, -1)
        scores[i] = store.floats(s)
        if v is not None and dim:
            vectors[i] = store.floats(v)
        durations[i] = np.nan if d is None else d
        tempi[i] = np.nan if t is None else t
    # similarity is a cosine: pack unit vectors, so queries need no second, scaled copy
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    for name, array in (("ids", ids), ("scores", scores), ("vectors", vectors),
                        ("durations", durations), ("tempi", tempi), ("tags", tags),
                        ("keys", keys), ("modes", modes), ("moods", moods)):  # fmt: skip
        store.put_blob(con, name, array)
    store.delete_blobs(con, "ann")
    if n >= ann_min and dim:
        store.put_bytes(con, "ann", build_ann(vectors, ids))
    generation = int(store.get_meta(con, "generation", 0)) + 1
    store.set_meta(con, "generation", generation)
    store.set_meta(con, "packed_generation", generation)
