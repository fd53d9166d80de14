"""Indexing a music library: walk the folder (:mod:`.walk`), featurise and score every
track and its segments with a model (:mod:`.scoring`), and keep the index
(:mod:`.index`) up to date.

``build(library, index_file, model_dir)`` is incremental (see :mod:`filmgenre.library.index`):
unchanged files (size and modification time) are not read, changed ones are redone only
when their content changed, deleted ones are removed, and a different model rescores every
track from the cached features. Files are processed in chunks, each committed on its own,
so a build that is stopped keeps its work and the next one resumes.

Similarity: each track's cue vector (what the model reads), standardised by the model's
own training statistics and projected by PCA fitted on the library to at most
:data:`VECTOR_DIM` dimensions; how far its nearest neighbours agree with the full
vector's is measured and stored with the index.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import FeatureParams
from . import index as idx
from .batch import Stages, decode_file, score_part, score_track, still_to_do
from .scoring import Scorer, neighbour_agreement, project
from .walk import read_tags, walk

#: dimensions of the stored similarity vectors (PCA of the model's cue vector)
VECTOR_DIM = 64

#: files featurised and committed together
CHUNK = 64


@dataclass
class BuildReport:
    """What a build did: files added, redone, removed, rescored, unchanged, skipped."""

    added: int = 0
    redone: int = 0
    removed: int = 0
    rescored: int = 0
    unchanged: int = 0
    skipped: int = 0
    seconds: float = 0.0
    tracks: int = 0
    projection: dict | None = None
    model: str = ""
    model_why: str = ""

    def line(self) -> str:
        return (f"{self.tracks} tracks indexed: {self.added} added, {self.redone} redone, "
                f"{self.rescored} rescored, {self.removed} removed, {self.unchanged} "
                f"unchanged; {self.skipped} file(s) skipped (listed in the index with why); "
                f"{self.seconds:.1f} s")  # fmt: skip


def build(library: str | os.PathLike[str], index_file: str | os.PathLike[str],
          model_dir: str | os.PathLike[str] | None = None, segment_seconds: float = 15.0,
          n_jobs: int | None = None, progress: bool | None = None,
          scheduler: str | None = None, chunk: int = CHUNK,
          on_chunk: Callable[[int], None] | None = None, per_file: bool = False,
          stages: Stages | None = None) -> BuildReport:  # fmt: skip
    """Build or update the index of ``library`` in ``index_file`` (see the module
    docstring) with the model ``model_dir`` names (a folder or a ``--model`` setting, see
    :func:`filmgenre.predict.resolve_model`; None: the shipped model); returns what it did.

    ``scheduler``: a Dask scheduler's address; the whole per-file work runs on its workers
    (:mod:`.cluster`). ``per_file``: the old per-file build, kept as the benchmark's
    baseline. ``stages`` (a :class:`~.batch.Stages`) gets each stage's seconds."""
    root = Path(library).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"library folder not found: {library}")
    client = None
    if scheduler:  # a scheduler that is not there fails in seconds, before any work
        from ..runtime import dask_client

        client = dask_client(scheduler)
    try:
        return _build(root, index_file, model_dir, segment_seconds, n_jobs, progress, client,
                      chunk, on_chunk, per_file, Stages() if stages is None else stages)
    finally:
        if client is not None:
            client.close()


def _build(root: Path, index_file, model_dir, segment_seconds: float, n_jobs: int | None,
           progress: bool | None, client, chunk: int, on_chunk, per_file: bool,
           stages: Stages) -> BuildReport:  # fmt: skip
    from tqdm.auto import tqdm

    from ..predict import resolve_model

    started = time.perf_counter()
    model_path, why = resolve_model(model_dir)
    scorer = Scorer(model_path)
    con = idx.connect(index_file, create=True)
    report = BuildReport(model=scorer.info.get("name", model_path.name), model_why=why)
    old_root = idx.get_meta(con, "library")
    if old_root not in (None, str(root)):
        raise ValueError(f"{index_file} indexes {old_root}, not {root}: give each library "
                         "its own index file")  # fmt: skip
    old_genres = idx.get_meta(con, "genres")
    if old_genres not in (None, list(scorer.genres)):
        raise ValueError(f"{index_file} holds scores for genres {old_genres}; the model "
                         f"scores {list(scorer.genres)}: use another index file")  # fmt: skip
    with idx.writing(con):
        idx.set_meta(con, "library", str(root))
        idx.set_meta(con, "genres", list(scorer.genres))
        idx.set_meta(con, "segment_seconds", segment_seconds)
        idx.set_meta(con, "model", scorer.describe())
        idx.set_meta(con, "mood_model", scorer.describe_moods())
    files, walked_skips = walk(root)
    seen = {str(p.relative_to(root)) for p in files} | {str(p.relative_to(root))
                                                        for p, _ in walked_skips}  # fmt: skip
    known = {path: (tid, status, size, mtime, digest, key) for tid, path, status, size, mtime,
             digest, key in con.execute("SELECT id, path, status, size, mtime, digest, "
                                        "model_key FROM tracks")}  # fmt: skip
    with idx.writing(con):
        gone = [known[p][0] for p in known if p not in seen]
        con.executemany("DELETE FROM tracks WHERE id = ?", [(t,) for t in gone])
        report.removed = len(gone)
        for path, reason in walked_skips:
            _record_skip(con, str(path.relative_to(root)), reason)
    todo, rescore = [], []
    for path in files:
        rel = str(path.relative_to(root))
        stat = path.stat()
        old = known.get(rel)
        if old and old[2] == stat.st_size and old[3] == stat.st_mtime:
            if old[1] == "ok" and old[5] != scorer.key:
                rescore.append(path)
            else:
                report.unchanged += 1
            continue
        # size or mtime changed: whether the bytes did is known once extraction has hashed
        # them (the feature cache is named by that digest), so no file is hashed twice
        todo.append((path, "check" if old and old[1] == "ok" else ("redo" if old else "add"),
                     old))  # fmt: skip
    work = todo + [(p, "rescore", known.get(str(p.relative_to(root)))) for p in rescore]
    disable = None if progress is None else not progress
    bar = tqdm(total=len(work), desc="index", unit="track", disable=disable, smoothing=0.1,
               leave=False)  # fmt: skip
    if client is not None:
        from .cluster import dask_chunks

        chunks = dask_chunks(work, chunk, client, model_path, scorer, segment_seconds, stages)
    elif per_file:
        chunks = _per_file_chunks(work, chunk, scorer, segment_seconds, n_jobs, progress)
    else:
        chunks = _batched_chunks(work, chunk, scorer, segment_seconds, n_jobs, stages)
    progress_meta = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(),
                     "total": len(work), "done": 0, "started": time.time()}  # fmt: skip
    with idx.writing(con):
        idx.set_meta(con, "build", progress_meta)
    done_files = 0
    with bar:
        for outcomes in chunks:
            with stages.timing("file tags"):
                rows = [(path, what, old, _with_file_tags(path, result))
                        for path, what, old, result in outcomes]  # fmt: skip
            with stages.timing("write"), idx.writing(con):
                for path, what, old, result in rows:
                    _write_outcome(con, root, path, what, old, result, scorer, report)
                done_files += len(rows)
                idx.set_meta(con, "build", {**progress_meta, "done": done_files,
                                            "updated": time.time()})  # fmt: skip
            bar.update(len(rows))
            if on_chunk is not None:
                on_chunk(done_files)
    report.skipped = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'skipped'"
                                 ).fetchone()[0]  # fmt: skip
    report.projection = _project(con, root, scorer)
    with idx.writing(con):
        idx.pack(con)
    report.tracks = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
    report.seconds = time.perf_counter() - started
    with idx.writing(con):
        idx.set_meta(con, "build", {"state": "done", "total": len(work), "done": len(work),
                                    "seconds": round(report.seconds, 1),
                                    "finished": time.time()})  # fmt: skip
    con.close()
    return report


def _batched_chunks(work: list, chunk: int, scorer: Scorer, segment_seconds: float,
                    n_jobs: int | None, stages: Stages) -> Iterator[list]:  # fmt: skip
    """The build's results a chunk at a time: files decoded in a pool that runs up to two
    chunks ahead of the scoring (so decoding overlaps musicnn), each chunk scored at once."""
    from ..runtime import process_map

    jobs = [(str(path.resolve()), scorer.params, str(scorer.cache)) for path, _, _ in work]
    decoded = process_map(decode_file, jobs, n_jobs, ahead=2 * chunk)
    for start in range(0, len(work), chunk):
        part = work[start : start + chunk]
        got = [next(decoded) for _ in part]
        for d in got:
            stages.add(d.seconds)
        yield score_part(part, [(d.features, d.reason) for d in got], scorer,
                          segment_seconds, stages)  # fmt: skip


def _per_file_chunks(work: list, chunk: int, scorer: Scorer, segment_seconds: float,
                     n_jobs: int | None, progress: bool | None) -> Iterator[list]:  # fmt: skip
    """The build as it was until 2026-12 (the baseline ``bench_index_build`` measures): each
    chunk extracted by ``features.extract`` and ``extract_inputs`` (each decoding the file),
    then every file scored on its own (:func:`.batch.score_track`)."""
    from ..data import dataset, features, musicnn_input

    for start in range(0, len(work), chunk):
        part = work[start : start + chunk]
        manifest = dataset.Manifest.of_files([p for p, _, _ in part])
        manifest = features.extract(manifest, scorer.params, n_jobs=n_jobs, progress=progress)
        if len(manifest.cues):
            musicnn_input.extract_inputs(manifest, n_jobs=n_jobs, progress=progress)
        reasons = dict(zip(manifest.skipped["path"], manifest.skipped["reason"], strict=True))
        done = dict(zip(manifest.cues["path"], manifest.cues["features"], strict=True))
        outcomes = []
        for path, what, old in part:
            real = str(path.resolve())
            if real not in done:
                outcomes.append((path, what, old, reasons.get(real, "could not be decoded")))
                continue
            what = still_to_do(what, old, done[real], scorer.key)
            if what is None:
                outcomes.append((path, "check", old, None))
                continue
            outcomes.append((path, what, old, score_track(done[real], scorer, segment_seconds)))
        yield outcomes


def _with_file_tags(path: Path, result):
    return {**read_tags(path), **result} if isinstance(result, dict) else result


def _write_outcome(con, root: Path, path: Path, what: str, old, result, scorer: Scorer,
                   report: BuildReport) -> None:  # fmt: skip
    rel = str(path.relative_to(root))
    if result is None:  # the same bytes under a new mtime: only the stat changes
        stat = path.stat()
        con.execute("UPDATE tracks SET size = ?, mtime = ? WHERE id = ?",
                    (stat.st_size, stat.st_mtime, old[0]))  # fmt: skip
        report.unchanged += 1
    elif isinstance(result, str):
        _record_skip(con, rel, result, path)
        report.skipped += 1
    else:
        _record_track(con, rel, path, result, scorer.key)
        field = {"add": "added", "redo": "redone", "rescore": "rescored"}[what]
        setattr(report, field, getattr(report, field) + 1)


def _record_skip(con, rel: str, reason: str, path: Path | None = None) -> None:
    """A file left out, with why; an audio file that failed keeps its size and mtime so it
    is tried again only once it changes."""
    stat = path.stat() if path is not None and path.is_file() else None
    con.execute("DELETE FROM tracks WHERE path = ?", (rel,))
    con.execute("INSERT INTO tracks (path, status, reason, size, mtime) "
                "VALUES (?, 'skipped', ?, ?, ?)", (rel, reason, stat and stat.st_size,
                                                   stat and stat.st_mtime))  # fmt: skip


def _record_track(con, rel: str, path: Path, track: dict, key: str) -> None:
    # the feature cache is named by the SHA-1 of the bytes it was computed from: the digest
    # of what was scored, without reading the file a second time
    digest = Path(track["features_file"]).stem
    stat = path.stat()
    folder = str(Path(rel).parent) if str(Path(rel).parent) != "." else ""
    existing = con.execute("SELECT id FROM tracks WHERE path = ?", (rel,)).fetchone()
    values = ("ok", None, digest, stat.st_size, stat.st_mtime, track["title"],
              track["artist"], track["album"], track["track_number"], track["duration"],
              track["tempo"], folder, idx._blob(track["scores"]), key,
              track["features_file"], idx._blob(track["tags"]), track["key"],
              track["mode"], _maybe_blob(track.get("moods")), _maybe_blob(track.get("vector")))
    if existing:
        tid = existing[0]
        con.execute("UPDATE tracks SET status = ?, reason = ?, digest = ?, size = ?, mtime = ?, "
                    "title = ?, artist = ?, album = ?, track_number = ?, duration = ?, "
                    "tempo = ?, folder = ?, scores = ?, model_key = ?, features = ?, tags = ?, "
                    "key = ?, mode = ?, moods = ?, vector = ? WHERE id = ?",
                    (*values, tid))  # fmt: skip
        con.execute("DELETE FROM segments WHERE track_id = ?", (tid,))
    else:
        tid = con.execute("INSERT INTO tracks (status, reason, digest, size, mtime, title, "
                          "artist, album, track_number, duration, tempo, folder, scores, "
                          "model_key, features, tags, key, mode, moods, vector, path) VALUES ("
                          + ", ".join("?" * 21) + ")",
                          (*values, rel)).lastrowid  # fmt: skip
    con.executemany("INSERT INTO segments (track_id, idx, start, end, scores, tags, moods) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(tid, i, a, b, idx._blob(s), idx._blob(t), _maybe_blob(m))
                     for i, (a, b, s, t, m) in enumerate(track["segments"])])  # fmt: skip


def _maybe_blob(array: np.ndarray | None) -> bytes | None:
    return None if array is None else idx._blob(array)


def _features_file(con, tid: int, path: Path, params: FeatureParams) -> str:
    """The cached feature file of an indexed track (re-found by content when the cache
    moved; decoded again only when the cache lost it)."""
    from ..data import dataset, features

    row = con.execute("SELECT features FROM tracks WHERE id = ?", (tid,)).fetchone()
    if row and row[0] and Path(row[0]).is_file():
        return row[0]
    manifest = features.extract(dataset.Manifest.of_files([path]), params, n_jobs=1,
                                progress=False)  # fmt: skip
    if not len(manifest.cues):
        raise RuntimeError(f"{path}: indexed before, now undecodable: "
                           f"{manifest.skipped['reason'].iloc[0]}")  # fmt: skip
    return str(manifest.cues["features"].iloc[0])


def _project(con, root: Path, scorer: Scorer) -> dict | None:
    """Give every indexed track its similarity vector: the model's standardised cue vector,
    centred on the library and reduced by a PCA fitted on it (refitted when the model
    changed or the library doubled since the fit); tracks that already have one keep it.
    Similarity is the cosine of these vectors; the projection's recall@10 is measured
    against the cosine of the centred full vectors."""
    meta = idx.get_meta(con, "projection")
    if scorer.space is not None:
        return _place_in_space(con, root, scorer, meta)
    n_ok = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
    refit = (meta is None or meta.get("model_key") != scorer.key
             or n_ok >= 2 * max(meta.get("fitted_on", 0), 1))  # fmt: skip
    where = "status = 'ok'" + ("" if refit else " AND vector IS NULL")
    rows = con.execute(f"SELECT id, path FROM tracks WHERE {where} ORDER BY id").fetchall()
    if not rows:
        return meta
    full = np.stack([scorer.standardise(scorer.whole_vector(
        _features_file(con, tid, root / rel, scorer.params))) for tid, rel in rows])  # fmt: skip
    if refit:
        dims = min(VECTOR_DIM, full.shape[1])
        mean = full.mean(0)
        if len(full) > dims:
            _, _, vt = np.linalg.svd(full - mean, full_matrices=False)
            components = vt[:dims]
        else:  # too few tracks to fit dims directions: keep every dimension (centred)
            components = None
            dims = full.shape[1]
        reduced = project(full, mean, components)
        meta = {"method": "pca" if dims < full.shape[1] else "none", "dims": int(dims),
                "full_dims": int(full.shape[1]), "fitted_on": len(full),
                "model_key": scorer.key,
                "recall_at_10_vs_full":
                    round(neighbour_agreement(full - mean, reduced), 4)}  # fmt: skip
        with idx.writing(con):
            idx.put_blob(con, "projection_mean", mean.astype(np.float32))
            con.execute("DELETE FROM blobs WHERE name = 'projection_components'")
            if components is not None:
                idx.put_blob(con, "projection_components", components.astype(np.float32))
            idx.set_meta(con, "projection", meta)
            idx.set_meta(con, "vector_dim", int(dims))
    else:
        mean = idx.get_blob(con, "projection_mean")
        components = idx.get_blob(con, "projection_components")
        reduced = project(full, mean, components)
    with idx.writing(con):
        con.executemany("UPDATE tracks SET vector = ? WHERE id = ?",
                        [(idx._blob(v), tid) for v, (tid, _) in zip(reduced, rows, strict=True)])
    return meta


def _place_in_space(con, root: Path, scorer: Scorer, meta: dict | None) -> dict:
    """Similarity vectors in the model's own similarity space (:mod:`.similarity`): a
    track's vector depends on it alone, so only tracks without one (or every track, after
    another model) are placed."""
    space = scorer.space
    fresh = meta is None or meta.get("model_key") != scorer.key or meta.get("method") != "space"
    # a track scored by this model has its vector from the build (batch.score_files); one
    # scored by another model, or before the model had a space, is placed here
    where = "status = 'ok' AND (vector IS NULL OR model_key IS NOT ?)"
    rows = con.execute(f"SELECT id, path, scores FROM tracks WHERE {where} ORDER BY id",
                       (scorer.key,)).fetchall()  # fmt: skip
    meta = {"method": "space", "dims": space.dims, "model_key": scorer.key,
            "settings": space.settings,
            "what": "film-discriminant directions of the model's input joined with its genre "
                    "scores, learned on the model's training films"}  # fmt: skip
    vectors = []
    for tid, rel, blob in rows:
        whole = scorer.whole_vector(_features_file(con, tid, root / rel, scorer.params))
        vectors.append(space.vectors(whole[None], idx._floats(blob)[None])[0])
    with idx.writing(con):
        if fresh:
            con.execute("DELETE FROM blobs WHERE name IN ('projection_mean', "
                        "'projection_components')")  # fmt: skip
            idx.set_meta(con, "projection", meta)
            idx.set_meta(con, "vector_dim", int(space.dims))
        con.executemany("UPDATE tracks SET vector = ? WHERE id = ?",
                        [(idx._blob(v), tid) for v, (tid, _, _) in zip(vectors, rows, strict=True)])
    return meta


def default_index_file(library: str | os.PathLike[str]) -> Path:
    """Where ``search --library DIR`` keeps that folder's index: under the data folder,
    named after the folder and its absolute path, never inside the user's library."""
    from ..config import data_dir

    root = Path(library).resolve()
    key = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    return data_dir() / "indexes" / f"{root.name or 'library'}-{key}.sqlite"


def choose_library(library_dir: str | None, manifest_cues: pd.DataFrame | None) -> Path:
    """The folder notebook 09 indexes: ``library_dir`` when given; ``"run"`` or None
    without ../shared: the run's own audio; None with ../shared: its real recordings."""
    from ..config import resolve, shared_dir

    if library_dir not in (None, "run"):
        return resolve(library_dir)
    shared = shared_dir()
    if library_dir is None and shared is not None and (shared / "realaudio").is_dir():
        return shared / "realaudio"
    if manifest_cues is None or not len(manifest_cues):
        raise ValueError("no library to index: give library_dir, or run notebook 01 first")
    return Path(os.path.commonpath(list(manifest_cues["path"])))

