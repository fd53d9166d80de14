"""``filmgenre serve``: a local page to search an index and listen (Starlette + uvicorn).

Routes (no logic here beyond parsing and rendering; :mod:`filmgenre.library.search` ranks):

- ``GET /``: the page (``page.html`` beside this file; plain JavaScript, nothing fetched
  from the internet, so it works offline);
- ``GET /api/info``: the index's genres, size and model;
- ``GET /api/vocabulary``: every word a query may use, its source and meaning;
- ``GET /api/search``: ``q`` (genre mix), ``like`` (track id), ``ref`` (an uploaded
  reference's token), ``duration``, ``tempo`` (ranges), ``folder``, ``album``, ``top``;
  a malformed query answers 400 with what is wrong;
- ``POST /api/reference``: an uploaded audio file, featurised on the fly (the model is
  loaded on first use), answered with a token for ``ref`` and its genre scores;
- ``GET|POST|DELETE /api/shortlist``: a shortlist (kept in the index file): its tracks;
  add or update one (JSON ``track``, ``note``, ``start``, ``end``); take one off;
- ``GET /api/shortlist/export``: the list as M3U8, CSV or JSON (``format``);
- ``GET /api/cut``: a stretch of a track as WAV (``track`` and ``start``/``end``, or
  ``segment``: a number or ``best`` with ``q``), at the file's own rate, faded;
- ``GET /audio/{id}``: a track's audio by its id in the index, with HTTP range requests
  (seeking). Only ids reach the file system: the file is the index's path for that id,
  resolved inside the library folder; nothing a URL names is ever opened.

The server re-reads the index's packed arrays when a build changes them (its generation),
so searches keep working, and see new tracks, while ``index build`` updates the file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .. import index as idx
from .. import store
from ..snapshot import Snapshot


class Library:
    """The index behind the page: one SQLite connection per thread, and the snapshot
    (packed arrays) shared by all, reloaded when the index's generation moves on."""

    def __init__(self, index_file: str | os.PathLike[str]):
        self.index_file = Path(index_file)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._scorer = None
        self.references: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
        self.snapshot()  # fail at start, not on the first request

    def con(self):
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = store.connect(self.index_file)
        return con

    def snapshot(self) -> Snapshot:
        con = self.con()
        generation = int(store.get_meta(con, "generation", 0))
        packed = store.get_meta(con, "packed_generation", -1)
        with self._lock:
            if self._snap is None or (packed == generation and self._snap.generation != generation):
                self._snap = idx.snapshot(con)
            return self._snap

    def scorer(self):
        """The index's model, loaded once, for uploaded references."""
        with self._lock:
            if self._scorer is None:
                from ..scoring import Scorer

                self._scorer = Scorer.for_index(store.get_meta(self.con(), "model", {}))
            return self._scorer


def create_app(index_file: str | os.PathLike[str]):
    """The Starlette application serving one index: the routes of :mod:`.routes`, wired."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    from . import routes as r

    app = Starlette(routes=[
        Route("/", r.page),
        Route("/api/info", r.info),
        Route("/api/vocabulary", r.words),
        Route("/api/search", r.run_search),
        Route("/api/reference", r.reference, methods=["POST"]),
        Route("/api/shortlist", r.shortlist_api, methods=["GET", "POST", "DELETE"]),
        Route("/api/shortlist/export", r.shortlist_export),
        Route("/api/cut", r.cut_api),
        Route("/audio/{track:int}", r.audio),
    ])  # fmt: skip
    app.state.library = Library(index_file)
    return app


def serve(index_file: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the page until interrupted (bound to this machine unless ``host`` says else)."""
    import uvicorn

    app = create_app(index_file)
    print(f"filmgenre: {Path(index_file)} at http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
