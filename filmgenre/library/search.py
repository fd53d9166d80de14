"""Searching an index: a genre mix with weights (negatives included), tracks like a
reference, filters, and each hit's best segment to cut.

Reads :mod:`filmgenre.library.index` only: NumPy and SQLite, no model, no TensorFlow, so a
genre-mix search answers in milliseconds once the index is open.

The query language:

- ``"Romance Comedy -Thriller"``: every named genre weight 1, a leading ``-`` weight -1;
- ``"Romance=1,Comedy=0.5,Thriller=-1"``: explicit weights (any real number; 0 ignores);
- genre names as elsewhere in filmgenre (case, spacing, ``SciFi``/``Science Fiction``).

A track's **fit** to a mix is the weighted geometric mean, over the named genres, of the
probability it has each wanted genre (``p``) and lacks each unwanted one (``1 - p``):
``exp(sum |w| log q / sum |w|)``. With calibrated probabilities (the shipped model's) a fit
of 0.5 means about the same whatever genres are asked for. A reference (``like``) ranks by
the cosine similarity of the tracks' vectors mapped to 0..1 ((cos + 1) / 2, the hit's
``score``; ``similarity`` is the cosine itself); with a mix as well, the rank is the
geometric mean of the fit and that mapped similarity.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

import numpy as np

from ..config import GENRES
from . import index as idx

#: spelling variants of genre names (a query must not need the exact label)
_ALIASES = {"scifi": "Sci-Fi", "sciencefiction": "Sci-Fi", "sf": "Sci-Fi", "romantic": "Romance",
            "comedic": "Comedy", "musicals": "Musical", "thrillers": "Thriller"}  # fmt: skip


class QueryError(ValueError):
    """A query that cannot be run, with what is wrong in words (the page answers 400)."""


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def genre_name(word: str, genres: tuple[str, ...]) -> str | None:
    """The genre of ``genres`` a word names, or None."""
    key = _squash(word)
    for g in genres:
        if _squash(g) == key:
            return g
    alias = _ALIASES.get(key)
    return alias if alias in genres else None


def parse_mix(text: str, genres: tuple[str, ...] = GENRES) -> dict[str, float]:
    """Genre weights of a query (see the module docstring); raises :class:`QueryError`
    naming the unknown words and listing the valid genres."""
    text = (text or "").strip()
    if not text:
        return {}
    weights: dict[str, float] = {}
    unknown: list[str] = []
    if "=" in text:
        for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
            name, sep, value = part.partition("=")
            if not sep:
                raise QueryError(f"{part!r}: give every genre a weight (Romance=1,Thriller=-1) "
                                 "or none (Romance Comedy -Thriller)")  # fmt: skip
            try:
                weight = float(value)
            except ValueError:
                raise QueryError(f"{part!r}: the weight {value.strip()!r} is not a number"
                                 ) from None  # fmt: skip
            if not np.isfinite(weight):
                raise QueryError(f"{part!r}: the weight must be a finite number")
            genre = genre_name(name.strip(), genres)
            if genre is None:
                unknown.append(name.strip())
            else:
                weights[genre] = weights.get(genre, 0.0) + weight
    else:
        # "Sci-Fi" keeps its hyphen; "-Thriller" (a leading minus) is a negative weight;
        # two words may name one genre ("Science Fiction")
        words = [w for w in re.split(r"[\s,+/&]+", text) if w]
        i = 0
        while i < len(words):
            sign = -1.0 if words[i].startswith("-") else 1.0
            name = words[i].lstrip("-+")
            pair = genre_name(name + words[i + 1], genres) if i + 1 < len(words) else None
            genre = pair or (genre_name(name, genres) if name else None)
            if genre is None:
                unknown.append(words[i])
            else:
                weights[genre] = weights.get(genre, 0.0) + sign
            i += 2 if pair else 1
    if unknown:
        raise QueryError(f"unknown genre(s) {', '.join(map(repr, unknown))}; valid genres: "
                         f"{', '.join(genres)}")  # fmt: skip
    weights = {g: w for g, w in weights.items() if w != 0}
    if not weights:
        raise QueryError("the weights cancel out: name at least one genre with a weight "
                         "other than 0")  # fmt: skip
    return weights


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

    def mask(self, snap: idx.Snapshot, con: sqlite3.Connection) -> np.ndarray:
        keep = np.ones(len(snap), bool)
        for low, high, values in ((self.min_duration, self.max_duration, snap.durations),
                                  (self.min_tempo, self.max_tempo, snap.tempi)):  # fmt: skip
            if low is not None:
                keep &= values >= low
            if high is not None:
                keep &= values <= high
        for column, text in (("folder", self.folder), ("album", self.album)):
            if text:
                ids = [r[0] for r in con.execute(
                    f"SELECT id FROM tracks WHERE status = 'ok' AND {column} LIKE ? "
                    "ESCAPE '\\'", (f"%{_like_escape(text)}%",))]  # fmt: skip
                keep &= np.isin(snap.ids, np.asarray(ids, np.int64))
        if self.exclude:
            keep &= ~np.isin(snap.ids, np.fromiter(self.exclude, np.int64))
        return keep


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse_range(text: str | None, what: str) -> tuple[float | None, float | None]:
    """``"90-120"``, ``"90-"`` or ``"-120"`` as (low, high); raises QueryError."""
    if text is None or str(text).strip() == "":
        return None, None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*-\s*(\d+(?:\.\d+)?)?\s*", str(text))
    if not match or match.groups() == (None, None):
        raise QueryError(f"{what} {text!r}: give a range such as 90-120, 90- or -120")
    low, high = (float(g) if g is not None else None for g in match.groups())
    if low is not None and high is not None and low > high:
        raise QueryError(f"{what} {text!r}: the low end is above the high end")
    return low, high


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

    def to_dict(self) -> dict:
        out = {"rank": self.rank, "id": self.id, "score": round(self.score, 4), **self.fields,
               "fit": None if self.fit is None else round(self.fit, 4),
               "similarity": None if self.similarity is None else round(self.similarity, 4),
               "segment_start": None if self.segment is None else self.segment[0],
               "segment_end": None if self.segment is None else self.segment[1]}  # fmt: skip
        out.update({g: round(float(p), 4) for g, p in self.genres.items()})
        return out


def run(con: sqlite3.Connection, snap: idx.Snapshot, mix: dict[str, float] | None = None,
        like: np.ndarray | None = None, like_scores: np.ndarray | None = None,
        filters: Filters | None = None, top: int = 10) -> list[Hit]:  # fmt: skip
    """Rank the snapshot's tracks by a mix, a reference vector, or both; return the top
    hits with their fields and best segment.

    Ranking works on logs: a mix's log-fit is a weighted sum of precomputed columns of
    log p and log (1 - p), a reference's score the log of its cosine mapped to 0..1, both
    together their mean; only the top hits are turned back into fits and similarities."""
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
            parts.append(snap.log_fit(mix))
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
    fields = idx.track_rows(con, ids)
    segs = idx.segments_of(con, ids)
    hits = []
    for rank, (i, tid, value) in enumerate(zip(positions, ids, log_score, strict=True), start=1):
        probabilities = snap.scores[i]
        fit = float(np.exp(snap.log_fit(mix, [i])[0])) if mix else None
        sim = float(snap.unit_vectors[i] @ reference) if reference is not None else None
        hits.append(Hit(
            id=tid, rank=rank, score=float(np.exp(value)), fields=fields.get(tid, {}),
            genres=dict(zip(genres, map(float, probabilities), strict=True)),
            segment=best_segment(segs.get(tid, []), mix, genres, like_scores),
            fit=fit, similarity=sim,
        ))  # fmt: skip
    return hits


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _approximate(snap: idx.Snapshot, reference: np.ndarray, keep: np.ndarray, fetch: int,
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


def best_segment(segments: list[tuple], mix: dict[str, float] | None, genres: tuple[str, ...],
                 like_scores: np.ndarray | None = None) -> tuple[float, float] | None:  # fmt: skip
    """(start, end) of the segment that fits the mix best; for a reference alone, the
    segment whose genre profile is closest to the reference's."""
    if not segments:
        return None
    scores = np.stack([s for _, _, s in segments])
    if mix:
        value = mix_fit(scores, mix, genres)
    elif like_scores is not None:
        value = cosine(scores - scores.mean(0), like_scores - scores.mean(0))
    else:
        value = np.zeros(len(segments))
    start, end, _ = segments[int(np.argmax(value))]
    return float(start), float(end)


def example_queries(snap: idx.Snapshot) -> tuple[str, str]:
    """Two queries in an index's own genres, whatever the model scores: its two most
    frequent genres together (by mean probability over the library), and its third most
    frequent one without the most frequent (a negative weight)."""
    if len(snap.genres) < 3:
        raise QueryError(f"the index scores {len(snap.genres)} genre(s); examples need three")
    order = np.argsort(-snap.scores.mean(0), kind="stable") if len(snap) else \
        np.arange(len(snap.genres))  # fmt: skip
    first, second, third = (snap.genres[int(i)] for i in order[:3])
    return f"{first} {second}", f"{third} -{first}"


def latency(con: sqlite3.Connection, snap: idx.Snapshot, n: int = 200, top: int = 10,
            seed: int = 0) -> dict[str, dict[str, float]]:  # fmt: skip
    """Milliseconds per query, p50 and p99 over ``n`` random queries of each kind on an
    open index: genre mixes (two wanted genres, one unwanted) and tracks like a track."""
    import time

    rng = np.random.default_rng(seed)
    genres = snap.genres
    out = {}
    for kind in ("genre mix", "like a track"):
        times = []
        for _ in range(n):
            mix = like = None
            if kind == "genre mix":
                chosen = rng.choice(len(genres), size=3, replace=False)
                mix = {genres[chosen[0]]: 1.0, genres[chosen[1]]: 0.5, genres[chosen[2]]: -1.0}
            else:
                like = snap.vectors[rng.integers(len(snap))]
            started = time.perf_counter()
            run(con, snap, mix, like, top=top)
            times.append((time.perf_counter() - started) * 1000)
        out[kind] = {"p50_ms": float(np.percentile(times, 50)),
                     "p99_ms": float(np.percentile(times, 99)), "queries": n}  # fmt: skip
    return out
