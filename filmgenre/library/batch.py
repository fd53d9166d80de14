"""The index build's work on a batch of files: each file decoded once for every rate its
features need, and many files scored at once (the musicnn patches of every file of the
batch in shared calls, the genre model once for every track and segment of the batch).

:func:`decode_file` needs no Keras, so pool workers run it; :func:`score_files` runs where
the models are loaded: the building process, or a Dask worker (:mod:`.cluster`). Both add
the seconds of each stage to a :class:`Stages`, which ``benchmarks/bench_index_build.py``
prints. The mood model (NumPy only) runs once per batch on the same cue-vector parts.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..config import FeatureParams
from ..data import features, musicnn_input
from ..data.audio import AudioError, load_audio_rates
from . import store
from .scoring import Scorer, key_of, project, segment_bounds, tempo


class Stages(dict):
    """Seconds spent in each stage of a build (summed over files and processes)."""

    def add(self, other: dict[str, float]) -> None:
        for name, seconds in other.items():
            self[name] = self.get(name, 0.0) + seconds

    @contextmanager
    def timing(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started


@dataclass
class Decoded:
    """One file after :func:`decode_file`: its feature cache file and what the signal
    alone gives (tempo, key, mode), or why it has none."""

    path: str
    features: str | None
    reason: str | None
    seconds: dict[str, float] = field(default_factory=dict)
    tempo: float | None = None
    key: int | None = None
    mode: str | None = None


def decode_file(job: tuple[str, FeatureParams, str], tempo_and_key: bool = True) -> Decoded:
    """Hash ``path``, and unless both caches hold it, decode it once, resample it to the
    model's rate and musicnn's 16 kHz, and cache its features and musicnn input; then its
    tempo and key from those caches (here, in a pool worker, not where the networks run;
    ``tempo_and_key=False`` for a reference track, which needs neither)."""
    path, params, cache_dir = job
    cache = Path(cache_dir)
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        target = features.cache_path(features.file_digest(path), params, cache)
        spec_target = musicnn_input.input_path(str(target), cache)
        seconds["hash"] = time.perf_counter() - started
        rates = tuple(dict.fromkeys(
            ([params.sample_rate] if not target.exists() else [])
            + ([musicnn_input.SAMPLE_RATE] if not spec_target.exists() else [])))  # fmt: skip
        if rates:
            with threadpool_limits(1):  # one BLAS thread a process, as features.extract
                ys = load_audio_rates(path, rates, seconds)
                if not target.exists():
                    started = time.perf_counter()
                    y = features.fit_to_tile(ys[params.sample_rate], params, path)
                    features.write_cache(target, features.compute_features(y, params), y.size)
                    seconds["log-mel, MFCC, chroma"] = time.perf_counter() - started
                if not spec_target.exists():
                    started = time.perf_counter()
                    spec = musicnn_input.input_of(ys[musicnn_input.SAMPLE_RATE])
                    musicnn_input.write_input(spec_target, spec)
                    seconds["musicnn mel"] = time.perf_counter() - started
        if not tempo_and_key:
            return Decoded(path, str(target), None, seconds)
        with threadpool_limits(1):
            started = time.perf_counter()
            bpm = tempo(str(target), cache)
            seconds["tempo"] = time.perf_counter() - started
            started = time.perf_counter()
            key, mode = key_of(str(target))
            seconds["key"] = time.perf_counter() - started
        return Decoded(path, str(target), None, seconds, bpm, key, mode)
    except AudioError as exc:
        return Decoded(path, None, exc.reason, seconds)
    except OSError as exc:
        return Decoded(path, None, f"cannot read file ({exc})", seconds)


def score_files(decoded: list[Decoded], scorer: Scorer, segment_seconds: float,
                stages: Stages | None = None) -> list[dict]:  # fmt: skip
    """Each of ``decoded`` files scored: duration, tempo, whole-track genre scores, tags,
    moods, key and mode, its segments' (start, end, scores, tags, moods), the whole track's
    cue vector (``whole``) and, with a similarity space, its similarity vector (``vector``);
    musicnn, the genre model and the mood model run once for the batch."""
    stages = Stages() if stages is None else stages
    if not decoded:
        return []
    files = [d.features for d in decoded]
    durations, bounds = [], []
    for f in files:
        with np.load(f) as z:
            durations.append(int(z["n_samples"]) / scorer.params.sample_rate)
        bounds.append(segment_bounds(durations[-1], segment_seconds))
    from ..training import transfer

    embeddings = {}
    for model in scorer.checkpoints:
        with stages.timing("start-up: compiling musicnn"):  # once a process: then a lookup
            transfer.forward_pass(model, scorer.precision)
        with stages.timing(f"musicnn {model}"):
            embeddings[model] = transfer.embed_many(files, model, scorer.cache,
                                                    precision=scorer.precision)
    each = [{m: embeddings[m][i] for m in scorer.checkpoints} for i in range(len(files))]
    with stages.timing("cue vectors"):
        blocks = [scorer.blocks(f, b, e) for f, b, e in zip(files, bounds, each, strict=True)]
        vectors = [scorer.vectors(f, b, blocks=k) for f, b, k in zip(files, bounds, blocks,
                                                                     strict=True)]  # fmt: skip
    with stages.timing("genre scores"):
        scores = scorer.predict(np.vstack([np.vstack([w[None], s]) for w, s in vectors]))
    with stages.timing("moods"):
        moods = scorer.mood_scores({p: np.vstack([k[p] for k in blocks]) for p in blocks[0]})
    tracks, row = [], 0
    for d, b, e, (whole, _), duration in zip(decoded, bounds, each, vectors, durations,
                                             strict=True):  # fmt: skip
        f = d.features
        rows = slice(row, row + 1 + len(b))
        track_scores, row = scores[rows], row + 1 + len(b)
        track_moods = [None] * (1 + len(b)) if moods is None else moods[rows]
        with stages.timing("tags"):
            tags, segment_tags = scorer.tags(f, b, e)
        track = {"duration": duration, "tempo": d.tempo, "scores": track_scores[0],
                 "tags": tags, "moods": track_moods[0], "key": d.key, "mode": d.mode,
                 "features_file": f,
                 "whole": whole,
                 "segments": [(a, z, s, t, m) for (a, z), s, t, m in zip(
                     b, track_scores[1:], segment_tags, track_moods[1:], strict=True)]}
        if scorer.space is not None:
            with stages.timing("similarity"):
                track["vector"] = scorer.space.vectors(whole[None], track_scores[:1])[0]
        tracks.append(track)
    return tracks


def featurise(path: str | os.PathLike[str], scorer: Scorer) -> str:
    """One file decoded and cached as the build does it (:func:`decode_file`, in this
    process): its feature cache file; ValueError with the reason when it cannot be used."""
    done = decode_file((str(Path(path).resolve()), scorer.params, str(scorer.cache)),
                       tempo_and_key=False)
    if done.features is None:
        raise ValueError(f"{path}: {done.reason}")
    return done.features


def reference_vector(con, scorer: Scorer, audio_file: str | os.PathLike[str]
                     ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(similarity vector, genre scores) of an outside reference file, featurised on the fly
    exactly as the indexed tracks were."""
    whole = scorer.whole_vector(featurise(audio_file, scorer))
    scores = scorer.predict(whole[None])[0]
    if scorer.space is not None:
        return scorer.space.vectors(whole[None], scores[None])[0], scores
    mean = store.get_blob(con, "projection_mean")
    components = store.get_blob(con, "projection_components")
    if mean is None:
        raise ValueError("the index has no similarity vectors yet: run `filmgenre index build`")
    return project(scorer.standardise(whole), mean, components), scores


def score_part(part: list, decoded: list[Decoded], scorer: Scorer, segment_seconds: float,
               stages: Stages | None = None) -> list:  # fmt: skip
    """(path, what, old, result) for each file of a chunk: result a track dict, a reason it
    was skipped (str), or ``None`` for the same bytes under a new mtime (only its stat
    changes). Two files of a chunk with the same bytes: the second is skipped as a copy."""
    first_with: dict[str, Path] = {}
    outcomes: list = [None] * len(part)
    to_score = []
    for i, ((path, what, old), done) in enumerate(zip(part, decoded, strict=True)):
        features_file = done.features
        if features_file is None:
            outcomes[i] = (path, what, old, done.reason or "could not be decoded")
            continue
        if features_file in first_with:
            outcomes[i] = (path, what, old, f"duplicate of {first_with[features_file]} "
                                            "(same content)")  # fmt: skip
            continue
        first_with[features_file] = path.resolve()
        todo = still_to_do(what, old, features_file, scorer.key)
        if todo is None:
            outcomes[i] = (path, what, old, None)
            continue
        to_score.append((i, path, todo, old, done))
    tracks = score_files([d for *_, d in to_score], scorer, segment_seconds, stages)
    for (i, path, what, old, _), track in zip(to_score, tracks, strict=True):
        outcomes[i] = (path, what, old, track)
    return outcomes


def still_to_do(what: str, old, features_file: str, key: str) -> str | None:
    """What a file needs once its digest is known: a "check" (its size or mtime changed) of
    the same bytes already scored by this model needs nothing (None: only its stat is
    rewritten), of the same bytes scored by another model a "rescore", of new bytes a
    "redo"; "add", "redo" and "rescore" stay as they are. ``old`` is its index row."""
    if what != "check":
        return what
    same_bytes = Path(features_file).stem == old[4]
    if same_bytes and old[5] == key:
        return None
    return "rescore" if same_bytes else "redo"
