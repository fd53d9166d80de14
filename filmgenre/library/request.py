"""One search request for both front ends: built from a mapping (the command line's options
or the page's query string, under the same names), validated once with the same messages,
then run on an index.

Names: ``q`` (the words of a query), ``like`` (a track of the index: its id, or its path in
the library), ``ref`` (a reference the page holds, by token), ``duration`` and ``tempo``
(ranges such as ``60-240``), ``key`` (``"A minor"``, ``"F#"``), ``mode`` (major, minor),
``folder``, ``album`` (substrings), ``ranking`` (:data:`~.snapshot.RANKINGS`), ``top``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import store
from .query import Mix, QueryError, parse_key, parse_query, parse_range
from .search import DEFAULT_RANKING, Filters, Hit, run
from .snapshot import RANKINGS, Snapshot

#: the most hits one request may ask for
MAX_TOP = 500
#: (vector, genre scores) of a reference that is not a track of the index
Reference = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: what to rank by, the filters, how many hits."""

    query: str = ""
    like: str | None = None
    ref: str | None = None
    duration: tuple[float | None, float | None] = (None, None)
    tempo: tuple[float | None, float | None] = (None, None)
    folder: str | None = None
    album: str | None = None
    key: int | None = None
    mode: str | None = None
    ranking: str = DEFAULT_RANKING
    top: int = 20

    @classmethod
    def from_mapping(cls, params: Mapping[str, object]) -> SearchRequest:
        """A request from ``params`` (names as the module docstring lists; missing or empty
        values take their defaults); raises :class:`QueryError` saying what is wrong."""

        def text(name: str) -> str | None:
            value = params.get(name)
            return None if value is None or str(value).strip() == "" else str(value).strip()

        top = text("top") or "20"
        try:
            top_n = int(top)
        except ValueError:
            raise QueryError(f"top={top!r} is not a whole number") from None
        if not 1 <= top_n <= MAX_TOP:
            raise QueryError(f"top must be between 1 and {MAX_TOP}")
        tonic, mode = parse_key(text("key"), "key")
        if text("mode") is not None:
            if text("mode") not in ("major", "minor"):
                raise QueryError(f"mode={text('mode')!r}: major or minor")
            mode = text("mode")
        ranking = text("ranking") or DEFAULT_RANKING
        if ranking not in RANKINGS:
            raise QueryError(f"ranking={ranking!r}: choose one of {', '.join(RANKINGS)}")
        return cls(query=text("q") or "", like=text("like"), ref=text("ref"),
                   duration=parse_range(text("duration"), "duration"),
                   tempo=parse_range(text("tempo"), "tempo"), folder=text("folder"),
                   album=text("album"), key=tonic, mode=mode, ranking=ranking,
                   top=top_n)  # fmt: skip

    def mix(self, snap: Snapshot) -> Mix | None:
        """The query read against the index's genres (None: no words)."""
        if not self.query:
            return None
        return parse_query(self.query, snap.genres) or None

    def run(self, con: sqlite3.Connection, snap: Snapshot,
            references: Mapping[str, tuple] | None = None,
            outside: Callable[[str], Reference] | None = None,
            ) -> tuple[list[Hit], Mix | None]:  # fmt: skip
        """(hits, the query as read). ``references``: the page's uploaded references by
        token, each (vector, genre scores, ...); ``outside``: how a ``like`` that is an
        audio file outside the index becomes a reference (the command line featurises it;
        the page takes the index's tracks only)."""
        mix = self.mix(snap)
        like = like_scores = None
        exclude: set[int] = set()
        if self.like:
            like, like_scores, exclude = self._like(con, snap, outside)
        elif self.ref:
            if references is None or self.ref not in references:
                raise QueryError("ref: unknown or expired reference; upload it again")
            like, like_scores = references[self.ref][:2]
        filters = Filters(*self.duration, *self.tempo, self.folder, self.album, exclude,
                          self.key, self.mode)  # fmt: skip
        return run(con, snap, mix, like, like_scores, filters, self.top, self.ranking), mix

    def _like(self, con: sqlite3.Connection, snap: Snapshot,
              outside: Callable[[str], Reference] | None) -> tuple:  # fmt: skip
        found = store.find_track(con, self.like)
        if found is not None:
            where = snap.rows(np.array([found[0]]))[0]
            if where >= 0:
                return snap.vectors[where], snap.scores[where], {found[0]}
        if outside is not None and Path(self.like).is_file():
            return (*outside(self.like), set())
        raise QueryError(f"like={self.like!r}: no such track in the index (give its id or "
                         "its path in the library)")  # fmt: skip
