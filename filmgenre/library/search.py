"""Searching an index: genres, moods and words with weights (negatives included), tracks
like a reference, filters, and each hit's best segment to cut.

Reads :mod:`filmgenre.library.index` only: NumPy and SQLite, no model, no TensorFlow, so a
search answers in milliseconds once the index is open. The query language is
:mod:`.query`'s (``"calm piano -vocals"``, ``"dark Thriller"``, ``"Romance=1,Comedy=0.5"``).

A track's **fit** to a mix of genres alone is the weighted geometric mean, over the named
genres, of the probability it has each wanted genre (``p``) and lacks each unwanted one
(``1 - p``): ``exp(sum |w| log q / sum |w|)``. With calibrated probabilities (the shipped
model's) a fit of 0.5 means about the same whatever genres are asked for. A query with
moods or tagger words ranks every term by the track's rank in the library instead (a
tagger's output is not a probability, valence is not one either: ranks put every term on
one scale). A reference (``like``) ranks by the cosine similarity of the tracks' vectors
mapped to 0..1 ((cos + 1) / 2, the hit's ``score``; ``similarity`` is the cosine itself);
with a mix as well, the rank is the geometric mean of the fit and that mapped similarity.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np

from ..data.moods import EMOTIONS, MOODS
from . import store
from .query import Mix, QueryError, parse_query
from .snapshot import Snapshot

#: how a genre mix ranks tracks by default (see :data:`filmgenre.library.snapshot.RANKINGS`;
#: chosen by benchmarks/bench_search_quality.py inside cross-validation folds)
DEFAULT_RANKING = "fit"


def mix_fit(scores: np.ndarray, weights: dict[str, float],
            genres: tuple[str, ...]) -> np.ndarray:  # fmt: skip
    """Fit of each row of ``scores`` (rows x genres) to a weighted mix (module docstring)."""
    scores = np.clip(np.asarray(scores, np.float32), 1e-6, 1 - 1e-6)
    total = np.zeros(len(scores), np.float64)
    norm = 0.0
    for genre, w in weights.items():
        j = genres.index(genre)
        q = scores[:, j] if w > 0 else 1.0 - scores[:, j]
        total += abs(w) * np.log(q)
        norm += abs(w)
    return np.exp(total / norm)


def cosine(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row with a reference vector (0 for zero rows)."""
    norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(reference) or 1.0)
    return np.divide(vectors @ reference, norms, out=np.zeros(len(vectors)), where=norms > 0)


@dataclass
class Filters:
    """Which tracks a search may return: duration (s), tempo (BPM) ranges, folder or
    album (case-insensitive substring), and ids to leave out (the reference itself)."""

    min_duration: float | None = None
    max_duration: float | None = None
    min_tempo: float | None = None
    max_tempo: float | None = None
    folder: str | None = None
    album: str | None = None
    exclude: set[int] = field(default_factory=set)
    key: int | None = None  # tonic 0..11 (the chroma's key estimate)
    mode: str | None = None  # "major" or "minor"

    def mask(self, snap: Snapshot, con: sqlite3.Connection) -> np.ndarray:
        keep = np.ones(len(snap), bool)
        if self.key is not None or self.mode is not None:
            if snap.keys is None or len(snap.keys) != len(snap):
                raise QueryError("this index holds no key estimates (built by an older "
                                 "filmgenre): run `filmgenre index build` again to add them")
            if self.key is not None:
                keep &= snap.keys == self.key
            if self.mode is not None:
                keep &= snap.modes == {"major": 0, "minor": 1}[self.mode]
        for low, high, values in ((self.min_duration, self.max_duration, snap.durations),
                                  (self.min_tempo, self.max_tempo, snap.tempi)):  # fmt: skip
            if low is not None:
                keep &= values >= low
            if high is not None:
                keep &= values <= high
        for column, text in (("folder", self.folder), ("album", self.album)):
            if text:
                keep &= np.isin(snap.ids, store.ids_containing(con, column, text))
        if self.exclude:
            keep &= ~np.isin(snap.ids, np.fromiter(self.exclude, np.int64))
        return keep


@dataclass
class Hit:
    """One ranked track: its fields, score, genre probabilities and best segment."""

    id: int
    rank: int
    score: float
    fields: dict
    genres: dict[str, float]
    segment: tuple[float, float] | None
    fit: float | None = None
    similarity: float | None = None
    words: dict[str, float] = field(default_factory=dict)
    #: every mood of the track (empty for an index without moods)
    moods: dict[str, float] = field(default_factory=dict)
    #: the query's own moods and words with this track's values (what a table shows)
    asked: dict[str, float] = field(default_factory=dict)
    key: str | None = None
    #: (start, end, fit to the query) of every segment along the track, in order
    strip: list[tuple[float, float, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {"rank": self.rank, "id": self.id, "score": round(self.score, 4), **self.fields,
               "fit": None if self.fit is None else round(self.fit, 4),
               "similarity": None if self.similarity is None else round(self.similarity, 4),
               "segment_start": None if self.segment is None else self.segment[0],
               "segment_end": None if self.segment is None else self.segment[1]}  # fmt: skip
        out.update({g: round(float(p), 4) for g, p in self.genres.items()})
        out.update({f"word:{w}": round(float(v), 4) for w, v in self.words.items()})
        out.update({f"mood:{m}": round(float(v), 4) for m, v in self.moods.items()})
        out["key"] = self.key
        out["segments"] = [[a, b, round(v, 4)] for a, b, v in self.strip]
        return out


def word_columns(snap: Snapshot, mix: Mix) -> dict[str, list[int]]:
    """The tag columns of each word of a query; raises QueryError for an index without."""
    from .vocabulary import column_indices, find

    if mix.words and not snap.has_tags:
        raise QueryError(f"this index holds no tag scores (built by an older filmgenre), so "
                         f"{', '.join(map(repr, mix.words))} cannot be searched: run "
                         "`filmgenre index build` again to add them")  # fmt: skip
    return {w: column_indices(find(w)) for w in mix.words}


def check_moods(snap: Snapshot, mix: Mix) -> None:
    """Raise QueryError when a query needs moods that the index does not hold."""
    if mix.moods and not snap.has_moods:
        asked = [typed for typed, read in mix.readings
                 if any(m in read for m in mix.moods)] or list(mix.moods)  # fmt: skip
        raise QueryError(f"this index holds no moods (built by an older filmgenre, or without "
                         f"a mood model), so {', '.join(map(repr, asked))} cannot be searched: "
                         "run `filmgenre index build` again to add them (from the cached "
                         "features: no audio is decoded again)")  # fmt: skip


def log_query(snap: Snapshot, mix: Mix, ranking: str = DEFAULT_RANKING) -> np.ndarray:
    """Each track's log-fit to a query of genres and words: genres alone rank by
    ``ranking``; with words every term is its rank in the library (a word's value there is
    an uncalibrated tagger output, a genre's a calibrated probability: ranks put both on
    one scale), wanted terms log r, unwanted ones log (1 - r), weighted by |w|."""
    if not mix.words and not mix.moods:
        return snap.log_fit(mix.genres, ranking=ranking)
    check_moods(snap, mix)
    total = np.zeros(len(snap), np.float32)
    norm = sum(abs(w) for w in (*mix.genres.values(), *mix.words.values(),
                                *mix.moods.values()))  # fmt: skip
    if mix.genres:
        share = sum(abs(w) for w in mix.genres.values()) / norm
        total += np.float32(share) * snap.log_fit(mix.genres, ranking="rank")
    for word, columns in word_columns(snap, mix).items():
        w = mix.words[word]
        log_r, log_not = snap.log_word(word, columns)
        total += np.float32(abs(w) / norm) * (log_r if w > 0 else log_not)
    for mood, w in mix.moods.items():
        log_r, log_not = snap.log_mood(mood)
        total += np.float32(abs(w) / norm) * (log_r if w > 0 else log_not)
    return total


def run(con: sqlite3.Connection, snap: Snapshot, mix: dict[str, float] | Mix | None = None,
        like: np.ndarray | None = None, like_scores: np.ndarray | None = None,
        filters: Filters | None = None, top: int = 10,
        ranking: str = DEFAULT_RANKING) -> list[Hit]:  # fmt: skip
    """Rank the snapshot's tracks by a mix, a reference vector, or both; return the top
    hits with their fields and best segment.

    Ranking works on logs: a mix's log-fit is a weighted sum of precomputed columns of
    log q and log (1 - q) (``ranking``: q the probabilities, "fit", or their ranks in the
    library, "rank"), a reference's score the log of its cosine mapped to 0..1, both
    together their mean; only the top hits are turned back into fits and similarities."""
    mix = mix if isinstance(mix, Mix) or mix is None else Mix(genres=dict(mix))
    if not mix and like is None:
        raise QueryError("nothing to search by: give a genre mix, a reference track, or both")
    if top < 1:
        raise QueryError("top must be at least 1")
    genres = snap.genres
    filters = filters or Filters()
    keep = filters.mask(snap, con)
    every = bool(keep.all())
    rows = slice(None) if every else np.flatnonzero(keep)  # no copy when nothing is filtered
    n = len(snap) if every else len(rows)
    if n == 0:
        return []
    reference = None if like is None else _unit(np.asarray(like, np.float32))
    found = None
    if reference is not None and not mix and snap.ann is not None:
        found = _approximate(snap, reference, keep, top + len(filters.exclude), top)
    if found is not None:
        positions, log_score = found
    else:
        parts = []
        if mix:
            parts.append(log_query(snap, mix, ranking))
        if reference is not None:
            parts.append(np.log(np.maximum((snap.unit_vectors @ reference + 1) / 2, 1e-12)))
        log_score = parts[0] if len(parts) == 1 else (parts[0] + parts[1]) / 2
        if not every:
            log_score = log_score[rows]
        k = min(top, n)
        best = np.argpartition(-log_score, k - 1)[:k]
        best = best[np.argsort(-log_score[best], kind="stable")]
        positions = best if every else rows[best]
        log_score = log_score[best]
    ids = [int(snap.ids[i]) for i in positions]
    columns_of_words = word_columns(snap, mix) if mix else {}
    fields = store.track_rows(con, ids)
    segs = store.segments_of(con, ids)
    hits = []
    for rank, (i, tid, value) in enumerate(zip(positions, ids, log_score, strict=True), start=1):
        probabilities = snap.scores[i]
        fit = float(np.exp(snap.log_fit(mix.genres, [i])[0])) if mix and mix.genres else None
        sim = float(snap.unit_vectors[i] @ reference) if reference is not None else None
        words = {w: float(snap.word_values(c, [i])[0]) for w, c in columns_of_words.items()}
        moods = ({m: float(v) for m, v in zip(MOODS, snap.moods[i], strict=True)}
                 if snap.has_moods else {})  # fmt: skip
        own = segs.get(tid, [])
        values = segment_values(own, mix, genres, like_scores, columns_of_words)
        hits.append(Hit(
            id=tid, rank=rank, score=float(np.exp(value)), fields=fields.get(tid, {}),
            genres=dict(zip(genres, map(float, probabilities), strict=True)),
            segment=_best(own, values), fit=fit, similarity=sim, words=words, moods=moods,
            asked={**{m: moods[m] for m in (mix.moods if mix else {}) if m in moods}, **words},
            key=_key_name(snap, i),
            strip=[(float(a), float(b), float(v))
                   for (a, b, *_), v in zip(own, values, strict=True)],
        ))  # fmt: skip
    return hits


def _key_name(snap: Snapshot, i: int) -> str | None:
    from .vocabulary import PITCHES

    if snap.keys is None or len(snap.keys) != len(snap) or snap.keys[i] < 0:
        return None
    return f"{PITCHES[int(snap.keys[i])]} {('major', 'minor')[int(snap.modes[i])]}"


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _approximate(snap: Snapshot, reference: np.ndarray, keep: np.ndarray, fetch: int,
                 top: int) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """The graph's nearest neighbours that pass the filters, as (positions, log scores);
    None when a narrow filter leaves too few (the exact scan then answers)."""
    from .neighbours import ann_search

    found_ids, sims = ann_search(snap.ann, reference, fetch * 10)
    positions = snap.rows(found_ids)
    ok = positions >= 0
    ok[ok] = keep[positions[ok]]
    if ok.sum() < min(top, int(keep.sum())):
        return None
    positions, sims = positions[ok][:top], sims[ok][:top]
    return positions, np.log(np.maximum((sims + 1) / 2, 1e-12))


def segment_fit(segments: list[tuple], mix: Mix, genres: tuple[str, ...],
                word_columns: dict[str, list[int]] | None = None) -> np.ndarray:
    """How well each segment of a track fits a query: the weighted mean of log p (wanted)
    and log (1 - p) (unwanted) over its genre probabilities and, where the index holds them,
    its word values (a track's own segments compare on one scale)."""
    scores = np.clip(np.stack([s for _, _, s, *_ in segments]), 1e-6, 1 - 1e-6)
    total, norm = np.zeros(len(segments)), 0.0
    for genre, w in mix.genres.items():
        q = scores[:, genres.index(genre)]
        total += abs(w) * np.log(q if w > 0 else 1 - q)
        norm += abs(w)
    tags = [s[3] for s in segments] if segments and len(segments[0]) > 3 else []
    if word_columns and tags and all(t is not None for t in tags):
        values = np.clip(np.stack(tags), 1e-6, 1 - 1e-6)
        for word, columns in word_columns.items():
            w = mix.words[word]
            q = values[:, columns].mean(1)
            total += abs(w) * np.log(q if w > 0 else 1 - q)
            norm += abs(w)
    moods = [s[4] for s in segments] if segments and len(segments[0]) > 4 else []
    if mix.moods and moods and all(m is not None for m in moods):
        values = np.stack(moods).astype(np.float64)
        for mood, w in mix.moods.items():
            j = MOODS.index(mood)
            # a probability as it is; valence and arousal (-1..1) moved to 0..1
            q = values[:, j] if j < len(EMOTIONS) else (values[:, j] + 1) / 2
            q = np.clip(q, 1e-6, 1 - 1e-6)
            total += abs(w) * np.log(q if w > 0 else 1 - q)
            norm += abs(w)
    return np.exp(total / norm) if norm else np.zeros(len(segments))


def segment_values(segments: list[tuple], mix: Mix | dict[str, float] | None,
                   genres: tuple[str, ...], like_scores: np.ndarray | None = None,
                   word_columns: dict[str, list[int]] | None = None) -> np.ndarray:  # fmt: skip
    """How well each segment of a track answers a query (higher is better, comparable
    within the track): :func:`segment_fit` for a mix; for a reference alone, how close the
    segment's genre profile is to the reference's; zeros for neither."""
    if not segments:
        return np.zeros(0)
    mix = mix if isinstance(mix, Mix) or mix is None else Mix(genres=dict(mix))
    if mix:
        return segment_fit(segments, mix, genres, word_columns)
    if like_scores is not None:
        scores = np.stack([s for _, _, s, *_ in segments])
        return cosine(scores - scores.mean(0), like_scores - scores.mean(0))
    return np.zeros(len(segments))


def _best(segments: list[tuple], values: np.ndarray) -> tuple[float, float] | None:
    if not segments:
        return None
    start, end = segments[int(np.argmax(values))][:2]
    return float(start), float(end)


def best_segment(segments: list[tuple], mix: Mix | dict[str, float] | None,
                 genres: tuple[str, ...], like_scores: np.ndarray | None = None,
                 word_columns: dict[str, list[int]] | None = None
                 ) -> tuple[float, float] | None:  # fmt: skip
    """(start, end) of the segment that answers the query best (:func:`segment_values`)."""
    return _best(segments, segment_values(segments, mix, genres, like_scores, word_columns))


def example_queries(snap: Snapshot) -> tuple[str, str]:
    """Two queries in an index's own genres, whatever the model scores: its two most
    frequent genres together (by mean probability over the library), and its third most
    frequent one without the most frequent (a negative weight)."""
    if len(snap.genres) < 3:
        raise QueryError(f"the index scores {len(snap.genres)} genre(s); examples need three")
    order = np.argsort(-snap.scores.mean(0), kind="stable") if len(snap) else \
        np.arange(len(snap.genres))  # fmt: skip
    first, second, third = (snap.genres[int(i)] for i in order[:3])
    return f"{first} {second}", f"{third} -{first}"


def example_briefs(snap: Snapshot) -> list[str]:
    """Three briefs in words (a mood with a tagger word and a negative one, a mood with a
    tagger word, a valence direction with a genre), the genre one of the index's own genres:
    Thriller where the model scores it, else its most frequent genre."""
    genre = "Thriller" if "Thriller" in snap.genres else example_queries(snap)[0].split()[0]
    return ["calm piano -vocals", "tense strings", f"dark {genre}"]


def latency(con: sqlite3.Connection, snap: Snapshot, n: int = 200, top: int = 10,
            seed: int = 0) -> dict[str, dict[str, float]]:  # fmt: skip
    """Milliseconds per query, p50 and p99 over ``n`` random queries of each kind on an
    open index: genre mixes (two wanted genres, one unwanted), briefs (a word of the
    thesaurus that reads as moods, with a genre; where the index holds moods) and tracks
    like a track. A brief's first use of a mood ranks it in the library once per snapshot,
    as a word's does, and that first query counts too."""
    import time

    rng = np.random.default_rng(seed)
    genres = snap.genres
    briefs = ("calm", "tense", "dark", "epic", "sad", "uplifting", "horror", "lullaby")
    out = {}
    for kind in ("genre mix", "brief", "like a track"):
        if kind == "brief" and not snap.has_moods:
            continue
        times = []
        for _ in range(n):
            mix = like = None
            if kind == "genre mix":
                chosen = rng.choice(len(genres), size=3, replace=False)
                mix = {genres[chosen[0]]: 1.0, genres[chosen[1]]: 0.5, genres[chosen[2]]: -1.0}
            elif kind == "brief":
                words = f"{briefs[rng.integers(len(briefs))]} {genres[rng.integers(len(genres))]}"
                mix = parse_query(words, genres)
            else:
                like = snap.vectors[rng.integers(len(snap))]
            started = time.perf_counter()
            run(con, snap, mix, like, top=top)
            times.append((time.perf_counter() - started) * 1000)
        out[kind] = {"p50_ms": float(np.percentile(times, 50)),
                     "p99_ms": float(np.percentile(times, 99)), "queries": n}  # fmt: skip
    return out
