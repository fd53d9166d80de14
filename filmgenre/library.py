"""Indexing a music library: walk the folder, read tags, featurise through the project's
cache, score every track and its segments with a model, and keep the index up to date.

``build(library, index_file, model_dir)`` is incremental (see :mod:`filmgenre.index`):
unchanged files (size and modification time) are not read, changed ones are redone only
when their content changed, deleted ones are removed, and a different model rescores every
track from the cached features. Files are processed in chunks, each committed on its own,
so a build that is stopped keeps its work and the next one resumes.

Segments: a track is cut into segments of the length the model was trained on (15 s for
the shipped model, trained on 15 s film-score excerpts); each segment gets its own scores,
so a search can name where in a long track the feel is. The whole track's scores are the
model on the whole track's vector, as ``filmgenre tag`` gives them.

Similarity: each track's cue vector (what the model reads), standardised by the model's
own training statistics and projected by PCA fitted on the library to at most
:data:`VECTOR_DIM` dimensions; how far its nearest neighbours agree with the full
vector's is measured and stored with the index.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import index as idx
from .audio import is_audio_file
from .config import FeatureParams

#: dimensions of the stored similarity vectors (PCA of the model's cue vector)
VECTOR_DIM = 64
#: files featurised and committed together
CHUNK = 64
#: a last segment shorter than this joins the one before it
MIN_SEGMENT_SECONDS = 5.0
#: musicnn patch length in seconds (187 frames, hop 256 at 16 kHz)
PATCH_SECONDS = 187 * 256 / 16000


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


def model_key(model_dir: Path) -> str:
    """A digest of the model's weights and config: a score stored with another key was
    made by another model and is recomputed."""
    h = hashlib.sha1()
    for name in ("model.keras", "config.json"):
        h.update((model_dir / name).read_bytes())
    return h.hexdigest()[:16]


def segment_bounds(duration: float, seconds: float) -> list[tuple[float, float]]:
    """Segments of ``seconds`` from the start; a short remainder joins the last one."""
    if duration <= seconds:
        return [(0.0, float(duration))]
    n = int(duration // seconds)
    bounds = [(i * seconds, (i + 1) * seconds) for i in range(n)]
    rest = duration - n * seconds
    if rest >= MIN_SEGMENT_SECONDS:
        bounds.append((n * seconds, float(duration)))
    elif rest > 0:
        bounds[-1] = (bounds[-1][0], float(duration))
    return bounds


def read_tags(path: Path) -> dict:
    """Title, artist, album, track number and duration from the file's tags (mutagen);
    missing tags stay empty, the title falls back to the file name."""
    import mutagen

    out = {"title": None, "artist": None, "album": None, "track_number": None,
           "duration": None}  # fmt: skip
    try:
        tags = mutagen.File(path, easy=True)
    except Exception:  # a file mutagen cannot parse still has audio the decoder may read
        tags = None
    if tags is not None:
        for key in ("title", "artist", "album"):
            values = tags.get(key) if hasattr(tags, "get") else None
            if values:
                out[key] = str(values[0])
        number = tags.get("tracknumber") if hasattr(tags, "get") else None
        if number:
            try:
                out["track_number"] = int(str(number[0]).split("/")[0])
            except ValueError:
                pass
        if getattr(tags, "info", None) is not None and getattr(tags.info, "length", None):
            out["duration"] = float(tags.info.length)
    out["title"] = out["title"] or path.stem
    return out


def _walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Audio files under ``root`` (any depth, hidden files left out) and the files skipped
    with why: other extensions, and links that lead outside the library."""
    files, skipped = [], []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in list(dirs):
            if (Path(folder) / d).is_symlink():
                target = (Path(folder) / d).resolve()
                if not target.is_relative_to(root):
                    skipped.append((Path(folder) / d, "a link to a folder outside the library"))
                    dirs.remove(d)
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                skipped.append((path, "a link to a file outside the library (never indexed "
                                      "or served)"))  # fmt: skip
            elif not is_audio_file(path):
                skipped.append((path, f"not an audio file extension ({path.suffix or 'none'})"))
            elif not path.resolve().is_file():
                skipped.append((path, "a broken link"))
            else:
                files.append(path)
    return files, skipped


class Scorer:
    """A cue-vector model (the shipped one, or a run's ``*_final`` model) applied to whole
    tracks and their segments, from the project's feature cache."""

    def __init__(self, model_dir: Path):
        from .predict import load_trained

        self.model_dir = Path(model_dir)
        self.model, self.info = load_trained(self.model_dir)
        if self.info.get("input") != "cue_vector":
            raise ValueError(
                f"{self.model_dir}: the index needs a cue-vector model (the shipped "
                "filmscore model, or a run's *_final cue-vector model); this one reads "
                f"{self.info.get('input')!r}, which the index does not support yet")  # fmt: skip
        self.parts = list(self.info["parts"])
        self.genres = tuple(self.info["genres"])
        self.params = FeatureParams(**self.info["feature_params"])
        norm = self.model.get_layer("standardise")
        self.mean = np.asarray(norm.mean, np.float32).reshape(-1)
        self.std = np.sqrt(np.asarray(norm.variance, np.float32).reshape(-1))
        self.std[self.std < 1e-6] = 1.0
        self.key = model_key(self.model_dir)

    @property
    def needs_musicnn(self) -> bool:
        return any(p.startswith("musicnn") for p in self.parts)

    def vectors(self, features_file: str, bounds: list[tuple[float, float]]
                ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(whole-track vector, segment vectors) from the cached features of one track."""
        from . import transfer
        from .features import default_cache_dir, summary_statistics

        cache = default_cache_dir()
        whole, segs = [], [[] for _ in bounds]
        frames_per_s = self.params.sample_rate / self.params.hop_length
        for part in self.parts:
            if part == "mfcc_stats":
                with np.load(features_file) as z:
                    mfcc = z["mfcc"]
                whole.append(summary_statistics(mfcc))
                for seg, (start, end) in zip(segs, bounds, strict=True):
                    a = int(start * frames_per_s)
                    b = max(a + 3, min(mfcc.shape[1], int(round(min(end, 1e7) * frames_per_s))))
                    seg.append(summary_statistics(mfcc[:, a:b]))
            else:
                _, model, layer = part.split(":")
                emb = transfer.patch_embeddings(features_file, model, layer, cache)
                whole.append(np.concatenate([emb.mean(0), emb.std(0)]))
                for seg, (start, end) in zip(segs, bounds, strict=True):
                    first = int(np.floor(start / PATCH_SECONDS + 1e-6))
                    last = max(first + 1, int(np.floor(end / PATCH_SECONDS + 1e-6)))
                    rows = emb[min(first, len(emb) - 1) : min(last, len(emb))]
                    seg.append(np.concatenate([rows.mean(0), rows.std(0)]))
        return (np.concatenate(whole).astype(np.float32),
                np.stack([np.concatenate(s) for s in segs]).astype(np.float32))  # fmt: skip

    def whole_vector(self, features_file: str) -> np.ndarray:
        """The whole track's cue vector, as ``filmgenre tag`` computes it."""
        return self.vectors(features_file, [(0.0, 1e9)])[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(x, batch_size=256, verbose=0), np.float32)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def describe(self) -> dict:
        """What the index records about the model that scored it."""
        from .predict import training_data

        return {
            "folder": str(self.model_dir), "name": self.info.get("name", self.model_dir.name),
            "key": self.key, "trained_on": self.info.get("trained_on"),
            "trained_on_line": training_data(self.info),
            "cross_validation": self.info.get("cross_validation"),
            "outputs": self.info.get("outputs", "scores"),
            "calibration": self.info.get("calibration"),
        }  # fmt: skip


def _tempo(features_file: str) -> float | None:
    """Tempo (BPM) from the cached musicnn input (16 kHz mel, 62.5 frames a second)."""
    import librosa

    from . import transfer
    from .features import default_cache_dir

    path = transfer.input_path(features_file, default_cache_dir())
    if not path.is_file():
        return None
    spec = np.load(path).astype(np.float32).T  # (mels, frames)
    if spec.shape[1] < 64:
        return None
    onset = librosa.onset.onset_strength(S=spec, sr=16000, hop_length=256)
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=16000, hop_length=256)
    return float(np.atleast_1d(tempo)[0])


def build(library: str | os.PathLike[str], index_file: str | os.PathLike[str],
          model_dir: str | os.PathLike[str] | None = None, segment_seconds: float = 15.0,
          n_jobs: int | None = None, progress: bool | None = None,
          scheduler: str | None = None, chunk: int = CHUNK,
          on_chunk: Callable[[int], None] | None = None) -> BuildReport:  # fmt: skip
    """Build or update the index of ``library`` in ``index_file`` (see the module
    docstring) with the model ``model_dir`` names (a folder or a ``--model`` setting, see
    :func:`filmgenre.predict.resolve_model`; None: the shipped model); returns what it did."""
    from . import dataset, features, transfer
    from .predict import resolve_model

    started = time.perf_counter()
    root = Path(library).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"library folder not found: {library}")
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
    files, walked_skips = _walk(root)
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
        if old and old[1] == "ok" and old[4] == features.file_digest(path):
            con.execute("UPDATE tracks SET size = ?, mtime = ? WHERE id = ?",
                        (stat.st_size, stat.st_mtime, old[0]))  # fmt: skip
            con.commit()
            if old[5] != scorer.key:
                rescore.append(path)
            else:
                report.unchanged += 1
            continue
        todo.append((path, bool(old)))
    work = [(p, "redo" if existed else "add") for p, existed in todo] + \
        [(p, "rescore") for p in rescore]  # fmt: skip
    for start in range(0, len(work), chunk):
        part = work[start : start + chunk]
        manifest = dataset.Manifest(pd.DataFrame({
            "film": [str(p) for p, _ in part], "cue": [p.stem for p, _ in part],
            "path": [str(p.resolve()) for p, _ in part], "genres": "",
            "duration": np.nan}), genres=())  # fmt: skip
        manifest = features.extract(manifest, scorer.params, n_jobs=n_jobs, progress=progress,
                                    scheduler=scheduler)  # fmt: skip
        if len(manifest.cues):
            transfer.extract_inputs(manifest, n_jobs=n_jobs, progress=progress)
        reasons = dict(zip(manifest.skipped["path"], manifest.skipped["reason"], strict=True))
        done = dict(zip(manifest.cues["path"], manifest.cues["features"], strict=True))
        rows = []
        for path, what in part:
            rel, real = str(path.relative_to(root)), str(path.resolve())
            if real not in done:
                rows.append((rel, None, reasons.get(real, "could not be decoded"), what))
                continue
            rows.append((rel, _track(path, done[real], scorer, segment_seconds), None, what))
        with idx.writing(con):
            for rel, track, reason, what in rows:
                if track is None:
                    _record_skip(con, rel, reason, root / rel)
                    report.skipped += 1
                    continue
                _record_track(con, rel, root / rel, track, scorer.key)
                field = {"add": "added", "redo": "redone", "rescore": "rescored"}[what]
                setattr(report, field, getattr(report, field) + 1)
        if on_chunk is not None:
            on_chunk(start + len(part))
    report.skipped = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'skipped'"
                                 ).fetchone()[0]  # fmt: skip
    report.projection = _project(con, root, scorer)
    with idx.writing(con):
        idx.pack(con)
    report.tracks = con.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
    report.seconds = time.perf_counter() - started
    con.close()
    return report


def _track(path: Path, features_file: str, scorer: Scorer, segment_seconds: float) -> dict:
    with np.load(features_file) as z:
        n_samples = int(z["n_samples"])
    duration = n_samples / scorer.params.sample_rate
    bounds = segment_bounds(duration, segment_seconds)
    whole, segs = scorer.vectors(features_file, bounds)
    scores = scorer.predict(np.vstack([whole[None, :], segs]))
    tags = read_tags(path)
    return {**tags, "duration": duration, "tempo": _tempo(features_file),
            "scores": scores[0],
            "segments": [(a, b, s) for (a, b), s in zip(bounds, scores[1:], strict=True)],
            "features_file": features_file}  # fmt: skip


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
              track["features_file"])  # fmt: skip
    if existing:
        tid = existing[0]
        con.execute("UPDATE tracks SET status = ?, reason = ?, digest = ?, size = ?, mtime = ?, "
                    "title = ?, artist = ?, album = ?, track_number = ?, duration = ?, "
                    "tempo = ?, folder = ?, scores = ?, model_key = ?, features = ?, vector = NULL "
                    "WHERE id = ?", (*values, tid))  # fmt: skip
        con.execute("DELETE FROM segments WHERE track_id = ?", (tid,))
    else:
        tid = con.execute("INSERT INTO tracks (status, reason, digest, size, mtime, title, "
                          "artist, album, track_number, duration, tempo, folder, scores, "
                          "model_key, features, path) VALUES (" + ", ".join("?" * 16) + ")",
                          (*values, rel)).lastrowid  # fmt: skip
    con.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?)",
                    [(tid, i, a, b, idx._blob(s)) for i, (a, b, s)
                     in enumerate(track["segments"])])  # fmt: skip


def _features_file(con, tid: int, path: Path, params: FeatureParams) -> str:
    """The cached feature file of an indexed track (re-found by content when the cache
    moved; decoded again only when the cache lost it)."""
    from . import dataset, features

    row = con.execute("SELECT features FROM tracks WHERE id = ?", (tid,)).fetchone()
    if row and row[0] and Path(row[0]).is_file():
        return row[0]
    manifest = features.extract(dataset.Manifest(pd.DataFrame({
        "film": [str(path)], "cue": [path.stem], "path": [str(path)], "genres": "",
        "duration": np.nan}), genres=()), params, n_jobs=1, progress=False)  # fmt: skip
    if not len(manifest.cues):
        raise RuntimeError(f"{path}: indexed before, now undecodable: "
                           f"{manifest.skipped['reason'].iloc[0]}")  # fmt: skip
    return str(manifest.cues["features"].iloc[0])


def neighbour_agreement(full: np.ndarray, reduced: np.ndarray, k: int = 10,
                        sample: int = 2000, seed: int = 0) -> float:  # fmt: skip
    """Mean share of each track's ``k`` nearest neighbours (cosine) under the full vectors
    that the reduced vectors find too (recall@k of the projection)."""
    from .search import cosine

    n = len(full)
    if n <= k + 1:
        return 1.0
    rows = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    shares = []
    for i in rows:
        a, b = cosine(full, full[i]), cosine(reduced, reduced[i])
        a[i] = b[i] = -np.inf
        top_a = set(np.argpartition(-a, k)[:k])
        top_b = set(np.argpartition(-b, k)[:k])
        shares.append(len(top_a & top_b) / k)
    return float(np.mean(shares))


def _project(con, root: Path, scorer: Scorer) -> dict | None:
    """Give every indexed track its similarity vector: the model's standardised cue vector,
    centred on the library and reduced by a PCA fitted on it (refitted when the model
    changed or the library doubled since the fit); tracks that already have one keep it.
    Similarity is the cosine of these vectors; the projection's recall@10 is measured
    against the cosine of the centred full vectors."""
    meta = idx.get_meta(con, "projection")
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


def reference_vector(con, scorer: Scorer, audio_file: str | os.PathLike[str]
                     ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(projected vector, genre scores) of an outside reference file, featurised on the fly
    exactly as the indexed tracks were."""
    from . import dataset, features, transfer

    path = Path(audio_file).resolve()
    manifest = features.extract(dataset.Manifest(pd.DataFrame({
        "film": [str(path)], "cue": [path.stem], "path": [str(path)], "genres": "",
        "duration": np.nan}), genres=()), scorer.params, n_jobs=1, progress=False)  # fmt: skip
    if not len(manifest.cues):
        raise ValueError(f"{audio_file}: {manifest.skipped['reason'].iloc[0]}")
    transfer.extract_inputs(manifest, n_jobs=1, progress=False)
    whole = scorer.whole_vector(str(manifest.cues["features"].iloc[0]))
    mean = idx.get_blob(con, "projection_mean")
    components = idx.get_blob(con, "projection_components")
    if mean is None:
        raise ValueError("the index has no similarity vectors yet: run `filmgenre index build`")
    return project(scorer.standardise(whole), mean, components), scorer.predict(whole[None])[0]


def project(full: np.ndarray, mean: np.ndarray, components: np.ndarray | None) -> np.ndarray:
    """Similarity vectors from standardised cue vectors: centred on the library, then
    projected on the PCA components (none stored: every dimension kept)."""
    centred = np.asarray(full, np.float32) - mean
    return centred if components is None else centred @ components.T


def default_index_file(library: str | os.PathLike[str]) -> Path:
    """Where ``search --library DIR`` keeps that folder's index: under the data folder,
    named after the folder and its absolute path, never inside the user's library."""
    from .config import data_dir

    root = Path(library).resolve()
    key = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    return data_dir() / "indexes" / f"{root.name or 'library'}-{key}.sqlite"


def choose_library(library_dir: str | None, manifest_cues: pd.DataFrame | None) -> Path:
    """The folder notebook 09 indexes: ``library_dir`` when given; ``"run"`` or None
    without ../shared: the run's own audio; None with ../shared: its real recordings."""
    from .config import resolve, shared_dir

    if library_dir not in (None, "run"):
        return resolve(library_dir)
    shared = shared_dir()
    if library_dir is None and shared is not None and (shared / "realaudio").is_dir():
        return shared / "realaudio"
    if manifest_cues is None or not len(manifest_cues):
        raise ValueError("no library to index: give library_dir, or run notebook 01 first")
    return Path(os.path.commonpath(list(manifest_cues["path"])))
