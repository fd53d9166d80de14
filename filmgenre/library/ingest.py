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

from . import index as idx
from . import store
from .batch import Stages, decode_file, featurise, score_part
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
          on_chunk: Callable[[int], None] | None = None,
          stages: Stages | None = None, precision: str = "float32") -> BuildReport:  # fmt: skip
    """Build or update the index of ``library`` in ``index_file`` (see the module
    docstring) with the model ``model_dir`` names (a folder or a ``--model`` setting, see
    :func:`filmgenre.predict.resolve_model`; None: the shipped model); returns what it did.

    ``scheduler``: a Dask scheduler's address; the whole per-file work runs on its workers
    (:mod:`.cluster`). ``stages`` (a :class:`~.batch.Stages`) gets each stage's seconds.
    ``precision``: musicnn's (``float32``, or ``bfloat16``: faster on CPUs with bfloat16
    units, within ``training.transfer``'s stated tolerance); an index built at one
    precision is rescored whole at another, never mixed."""
    root = Path(library).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"library folder not found: {library}")
    client = None
    if scheduler:  # a scheduler that is not there fails in seconds, before any work
        from ..runtime.cluster import dask_client

        client = dask_client(scheduler)
    try:
        return _build(root, index_file, model_dir, segment_seconds, n_jobs, progress, client,
                      chunk, on_chunk, Stages() if stages is None else stages, precision)
    finally:
        if client is not None:
            client.close()


def _build(root: Path, index_file, model_dir, segment_seconds: float, n_jobs: int | None,
           progress: bool | None, client, chunk: int, on_chunk,
           stages: Stages, precision: str) -> BuildReport:  # fmt: skip
    from tqdm.auto import tqdm

    from ..predict import resolve_model

    started = time.perf_counter()
    model_path, why = resolve_model(model_dir)
    with stages.timing("start-up: loading the models"):
        scorer = Scorer(model_path, precision=precision)
    con = store.connect(index_file, create=True)
    report = BuildReport(model=scorer.info.get("name", model_path.name), model_why=why)
    old_root = store.get_meta(con, "library")
    if old_root not in (None, str(root)):
        raise ValueError(f"{index_file} indexes {old_root}, not {root}: give each library "
                         "its own index file")  # fmt: skip
    old_genres = store.get_meta(con, "genres")
    if old_genres not in (None, list(scorer.genres)):
        raise ValueError(f"{index_file} holds scores for genres {old_genres}; the model "
                         f"scores {list(scorer.genres)}: use another index file")  # fmt: skip
    with store.writing(con):
        store.set_meta(con, "library", str(root))
        store.set_meta(con, "genres", list(scorer.genres))
        store.set_meta(con, "segment_seconds", segment_seconds)
        store.set_meta(con, "model", scorer.describe())
        store.set_meta(con, "mood_model", scorer.describe_moods())
    files, walked_skips = walk(root)
    seen = {str(p.relative_to(root)) for p in files} | {str(p.relative_to(root))
                                                        for p, _ in walked_skips}  # fmt: skip
    known = store.known_tracks(con)
    with store.writing(con):
        gone = [known[p][0] for p in known if p not in seen]
        store.remove_tracks(con, gone)
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
    else:
        chunks = _batched_chunks(work, chunk, scorer, segment_seconds, n_jobs, stages)
    progress_meta = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(),
                     "total": len(work), "done": 0, "started": time.time()}  # fmt: skip
    with store.writing(con):
        store.set_meta(con, "build", progress_meta)
    done_files = 0
    with bar:
        for outcomes in chunks:
            with stages.timing("file tags"):
                rows = [(path, what, old, _with_file_tags(path, result))
                        for path, what, old, result in outcomes]  # fmt: skip
            with stages.timing("write"), store.writing(con):
                for path, what, old, result in rows:
                    _write_outcome(con, root, path, what, old, result, scorer, report)
                done_files += len(rows)
                store.set_meta(con, "build", {**progress_meta, "done": done_files,
                                            "updated": time.time()})  # fmt: skip
            bar.update(len(rows))
            if on_chunk is not None:
                on_chunk(done_files)
    report.skipped = store.count_tracks(con, "skipped")
    report.projection = _project(con, root, scorer)
    with store.writing(con):
        idx.pack(con)
    report.tracks = store.count_tracks(con)
    report.seconds = time.perf_counter() - started
    with store.writing(con):
        store.set_meta(con, "build", {"state": "done", "total": len(work), "done": len(work),
                                    "seconds": round(report.seconds, 1),
                                    "finished": time.time()})  # fmt: skip
    con.close()
    return report


def _batched_chunks(work: list, chunk: int, scorer: Scorer, segment_seconds: float,
                    n_jobs: int | None, stages: Stages) -> Iterator[list]:  # fmt: skip
    """The build's results a chunk at a time: files decoded in a pool that runs up to two
    chunks ahead of the scoring (so decoding overlaps musicnn), each chunk scored at once;
    on a GPU a chunk holds enough 15 s cues to fill musicnn's pass (``pass_batch``)."""
    from ..runtime.pools import process_map
    from ..training.transfer import cues_to_fill, pass_batch

    chunk = max(chunk, cues_to_fill(pass_batch()))  # on a GPU: its pass full of 15 s cues
    jobs = [(str(path.resolve()), scorer.params, str(scorer.cache)) for path, _, _ in work]
    decoded = process_map(decode_file, jobs, n_jobs, ahead=2 * chunk)
    for start in range(0, len(work), chunk):
        part = work[start : start + chunk]
        got = [next(decoded) for _ in part]
        for d in got:
            stages.add(d.seconds)
        yield score_part(part, got, scorer,
                          segment_seconds, stages)  # fmt: skip


def _with_file_tags(path: Path, result):
    return {**read_tags(path), **result} if isinstance(result, dict) else result


def _write_outcome(con, root: Path, path: Path, what: str, old, result, scorer: Scorer,
                   report: BuildReport) -> None:  # fmt: skip
    rel = str(path.relative_to(root))
    if result is None:  # the same bytes under a new mtime: only the stat changes
        stat = path.stat()
        store.touch_track(con, old[0], stat.st_size, stat.st_mtime)
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
    store.record_skip(con, rel, reason, stat and stat.st_size, stat and stat.st_mtime)


def _record_track(con, rel: str, path: Path, track: dict, key: str) -> None:
    stat = path.stat()
    folder = str(Path(rel).parent) if str(Path(rel).parent) != "." else ""
    values = {**{name: track.get(name) for name in store.TRACK_VALUES},
              # the feature cache is named by the SHA-1 of the bytes it was computed from:
              # the digest of what was scored, without reading the file a second time
              "digest": Path(track["features_file"]).stem, "size": stat.st_size,
              "mtime": stat.st_mtime, "folder": folder, "model_key": key,
              "features": track["features_file"]}  # fmt: skip
    for name in ("scores", "tags", "moods", "vector"):
        values[name] = store.blob(values[name])
    store.record_track(con, rel, values, [(a, b, store.blob(s), store.blob(t), store.blob(m))
                                          for a, b, s, t, m in track["segments"]])  # fmt: skip


def _features_file(con, tid: int, path: Path, scorer: Scorer) -> str:
    """The cached feature file of an indexed track (decoded again only when the cache lost
    it)."""
    cached = store.features_file(con, tid)
    if cached and Path(cached).is_file():
        return cached
    try:
        return featurise(path, scorer)
    except ValueError as exc:
        raise RuntimeError(f"indexed before, now undecodable: {exc}") from exc


def _project(con, root: Path, scorer: Scorer) -> dict | None:
    """Give every indexed track its similarity vector: the model's standardised cue vector,
    centred on the library and reduced by a PCA fitted on it (refitted when the model
    changed or the library doubled since the fit); tracks that already have one keep it.
    Similarity is the cosine of these vectors; the projection's recall@10 is measured
    against the cosine of the centred full vectors."""
    meta = store.get_meta(con, "projection")
    if scorer.space is not None:
        return _place_in_space(con, root, scorer, meta)
    n_ok = store.count_tracks(con)
    refit = (meta is None or meta.get("model_key") != scorer.key
             or n_ok >= 2 * max(meta.get("fitted_on", 0), 1))  # fmt: skip
    rows = store.tracks_to_project(con, every=refit)
    if not rows:
        return meta
    full = np.stack([scorer.standardise(scorer.whole_vector(
        _features_file(con, tid, root / rel, scorer))) for tid, rel in rows])  # fmt: skip
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
        with store.writing(con):
            store.put_blob(con, "projection_mean", mean.astype(np.float32))
            store.delete_blobs(con, "projection_components")
            if components is not None:
                store.put_blob(con, "projection_components", components.astype(np.float32))
            store.set_meta(con, "projection", meta)
            store.set_meta(con, "vector_dim", int(dims))
    else:
        mean = store.get_blob(con, "projection_mean")
        components = store.get_blob(con, "projection_components")
        reduced = project(full, mean, components)
    with store.writing(con):
        store.set_vectors(con, zip([tid for tid, _ in rows], reduced, strict=True))
    return meta


def _place_in_space(con, root: Path, scorer: Scorer, meta: dict | None) -> dict:
    """Similarity vectors in the model's own similarity space (:mod:`.similarity`): a
    track's vector depends on it alone, so only tracks without one (or every track, after
    another model) are placed."""
    space = scorer.space
    fresh = meta is None or meta.get("model_key") != scorer.key or meta.get("method") != "space"
    # a track scored by this model has its vector from the build (batch.score_files); one
    # scored by another model, or before the model had a space, is placed here
    rows = store.tracks_to_place(con, scorer.key)
    meta = {"method": "space", "dims": space.dims, "model_key": scorer.key,
            "settings": space.settings,
            "what": "film-discriminant directions of the model's input joined with its genre "
                    "scores, learned on the model's training films"}  # fmt: skip
    vectors = []
    for tid, rel, blob in rows:
        whole = scorer.whole_vector(_features_file(con, tid, root / rel, scorer))
        vectors.append(space.vectors(whole[None], store.floats(blob)[None])[0])
    with store.writing(con):
        if fresh:
            store.delete_blobs(con, "projection_mean", "projection_components")
            store.set_meta(con, "projection", meta)
            store.set_meta(con, "vector_dim", int(space.dims))
        store.set_vectors(con, zip([tid for tid, _, _ in rows], vectors, strict=True))
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

