"""What queries read: an index's packed arrays (ids, genre scores, vectors, tags, moods,
keys) as one :class:`Snapshot`, and the log-rank columns a query sums.

Pure NumPy, no SQL: :func:`filmgenre.library.index.snapshot` reads the arrays from the
index file; the search benchmark and the search-quality measurement build snapshots of
their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass
class Snapshot:
    """What queries read, as arrays (no Python object per track): ids, scores (tracks x
    genres), vectors (tracks x dims), durations and tempi, at one generation."""

    generation: int
    genres: tuple[str, ...]
    ids: np.ndarray
    scores: np.ndarray
    vectors: np.ndarray
    durations: np.ndarray
    tempi: np.ndarray
    model: dict
    ann: object | None = None
    tags: np.ndarray | None = None  # (tracks x tag columns) float16; None: an index without
    keys: np.ndarray | None = None  # tonic 0..11, -1 where unknown
    modes: np.ndarray | None = None  # 0 major, 1 minor, -1 unknown
    moods: np.ndarray | None = None  # (tracks x MOODS) float16; NaN where not scored
    mood_model: dict | None = None  # what the index says of the mood model that scored it

    def __len__(self) -> int:
        return len(self.ids)

    def __post_init__(self) -> None:
        self._logs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._unit: np.ndarray | None = None

    def log_fit(self, mix: dict[str, float], rows=None, ranking: str = "fit") -> np.ndarray:
        """Log of each track's fit to a weighted mix (see :mod:`filmgenre.library.search`):
        a weighted sum of precomputed columns of log q (wanted) and log (1 - q) (unwanted),
        q the probabilities (``ranking="fit"``) or their ranks in the library scaled to 0..1
        (``"rank"``)."""
        if ranking not in self._logs:  # once per snapshot: two float32 arrays like scores
            self._logs[ranking] = fit_columns(self.scores, ranking)
        log_p, log_q = self._logs[ranking]
        n = len(self) if rows is None else len(rows)
        total = np.zeros(n, np.float32)
        norm = sum(abs(w) for w in mix.values())
        for genre, w in mix.items():
            j = self.genres.index(genre)
            column = (log_p if w > 0 else log_q)[:, j]
            total += np.float32(abs(w) / norm) * (column if rows is None else column[rows])
        return total

    @cached_property
    def has_tags(self) -> bool:
        """Whether the index holds the taggers' scores (schema 2 and a build since)."""
        return self.tags is not None and len(self.tags) == len(self) and bool(
            np.isfinite(self.tags[:, 0]).any() or not len(self))

    @cached_property
    def has_moods(self) -> bool:
        """Whether the index holds the mood model's scores (schema 3 and a build since)."""
        return self.moods is not None and len(self.moods) == len(self) and bool(
            np.isfinite(self.moods[:, 0]).any() or not len(self))

    def mood_values(self, name: str, rows=None) -> np.ndarray:
        """A mood's value per track (a probability, or valence/arousal -1..1; NaN where
        not scored)."""
        from ..data.moods import MOODS

        moods = self.moods if rows is None else self.moods[rows]
        return moods[:, MOODS.index(name)].astype(np.float32)

    def log_mood(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(log r, log (1 - r)) per track, r a mood's rank in the library scaled to 0..1."""
        key = f"mood:{name}"
        if key not in self._logs:
            self._logs[key] = _log_ranks(self.mood_values(name))
        return self._logs[key]

    def word_values(self, columns: list[int], rows=None) -> np.ndarray:
        """A word's value per track: the mean of its tag columns (NaN where not scored)."""
        tags = self.tags if rows is None else self.tags[rows]
        return tags[:, columns].astype(np.float32).mean(1)

    def log_word(self, name: str, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(log r, log (1 - r)) per track, r a word's rank in the library scaled to 0..1
        (tracks without tag scores sit at 0.5, neither wanted nor avoided)."""
        key = f"word:{name}"
        if key not in self._logs:
            self._logs[key] = _log_ranks(self.word_values(columns))
        return self._logs[key]

    @property
    def unit_vectors(self) -> np.ndarray:
        """The similarity vectors scaled to length 1 (cosine = dot product), once."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            if np.all((np.abs(norms - 1) < 1e-4) | (norms == 0)):
                self._unit = self.vectors  # packed as unit vectors already: no second copy
            else:
                self._unit = np.divide(self.vectors, norms, out=np.zeros_like(self.vectors),
                                       where=norms > 0)  # fmt: skip
        return self._unit

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """Positions of track ``ids`` in the arrays (-1 where absent)."""
        order = np.argsort(self.ids)
        where = np.searchsorted(self.ids, ids, sorter=order)
        where = np.clip(where, 0, len(order) - 1)
        found = order[where]
        return np.where(self.ids[found] == ids, found, -1)


def _log_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log r, log (1 - r)) of each value's rank in the library scaled to 0..1 (values
    missing sit at 0.5, neither wanted nor avoided)."""
    missing = ~np.isfinite(values)
    order = np.argsort(np.argsort(np.where(missing, -np.inf, values), kind="stable"),
                       kind="stable")  # fmt: skip
    rank = ((order + 0.5) / max(len(values), 1)).astype(np.float32)
    rank[missing] = 0.5
    return np.log(rank), np.log1p(-rank)


#: how a mix ranks tracks: "fit" combines the genre probabilities themselves, "rank" their
#: ranks within the library (every genre then spreads over 0..1 alike), "balanced" the
#: ranks for wanted genres and the probabilities for unwanted ones (how likely a track is
#: to have what the query avoids)
RANKINGS = ("fit", "rank", "balanced")


def fit_columns(scores: np.ndarray, ranking: str = "fit") -> tuple[np.ndarray, np.ndarray]:
    """(log q, log (1 - q)) per track and genre, q as :meth:`Snapshot.log_fit` uses it."""
    if ranking not in RANKINGS:
        raise ValueError(f"unknown ranking {ranking!r}; choose one of {', '.join(RANKINGS)}")
    scores = np.asarray(scores, np.float32)
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    if ranking == "fit" or not len(scores):
        return np.log(p), np.log1p(-p)
    order = np.argsort(np.argsort(scores, axis=0, kind="stable"), axis=0, kind="stable")
    rank = ((order + 0.5) / len(scores)).astype(np.float32)
    return np.log(rank), np.log1p(-(rank if ranking == "rank" else p))
