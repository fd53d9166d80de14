"""``filmgenre serve``: a local page to search an index and listen (Starlette + uvicorn).

Routes (no logic here beyond parsing and rendering; :mod:`filmgenre.library.search` ranks):

- ``GET /``: the page (``page.html`` beside this file; plain JavaScript, nothing fetched
  from the internet, so it works offline);
- ``GET /api/info``: the index's genres, size and model;
- ``GET /api/search``: ``q`` (genre mix), ``like`` (track id), ``ref`` (an uploaded
  reference's token), ``duration``, ``tempo`` (ranges), ``folder``, ``album``, ``top``;
  a malformed query answers 400 with what is wrong;
- ``POST /api/reference``: an uploaded audio file, featurised on the fly (the model is
  loaded on first use), answered with a token for ``ref`` and its genre scores;
- ``GET /audio/{id}``: a track's audio by its id in the index, with HTTP range requests
  (seeking). Only ids reach the file system: the file is the index's path for that id,
  resolved inside the library folder; nothing a URL names is ever opened.

The server re-reads the index's packed arrays when a build changes them (its generation),
so searches keep working, and see new tracks, while ``index build`` updates the file.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from pathlib import Path

import numpy as np

from .. import index as idx
from .. import search

PAGE = Path(__file__).with_name("page.html")
#: uploaded references kept in memory (oldest dropped first)
MAX_REFERENCES = 32
#: largest reference upload accepted
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: room for the multipart form's own bytes (boundaries, part headers) beside the file
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadTooLarge(Exception):
    """A request body that went past :data:`MAX_UPLOAD_BYTES` while it was read."""


class Library:
    """The index behind the page: one SQLite connection per thread, and the snapshot
    (packed arrays) shared by all, reloaded when the index's generation moves on."""

    def __init__(self, index_file: str | os.PathLike[str]):
        self.index_file = Path(index_file)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._snap: idx.Snapshot | None = None
        self._scorer = None
        self.references: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
        self.snapshot()  # fail at start, not on the first request

    def con(self):
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = idx.connect(self.index_file)
        return con

    def snapshot(self) -> idx.Snapshot:
        con = self.con()
        generation = int(idx.get_meta(con, "generation", 0))
        packed = idx.get_meta(con, "packed_generation", -1)
        with self._lock:
            if self._snap is None or (packed == generation and self._snap.generation != generation):
                self._snap = idx.snapshot(con)
            return self._snap

    def scorer(self):
        """The index's model, loaded once, for uploaded references."""
        with self._lock:
            if self._scorer is None:
                from ..scoring import Scorer

                self._scorer = Scorer(Path(idx.get_meta(self.con(), "model", {})["folder"]))
            return self._scorer


def _floats(params, name: str) -> tuple[float | None, float | None]:
    return search.parse_range(params.get(name), name)


def create_app(index_file: str | os.PathLike[str]):
    """The Starlette application serving one index."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    library = Library(index_file)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    def info(request: Request) -> Response:
        try:
            snap = library.snapshot()
            summary = idx.summary(library.con())
        except idx.IndexFileError as exc:
            return error(503, str(exc))
        return JSONResponse({"genres": list(snap.genres), "tracks": len(snap),
                             "model": summary["model"], "skipped": summary["skipped"],
                             "segment_seconds": summary["segment_seconds"]})  # fmt: skip

    def run_search(request: Request) -> Response:
        params = request.query_params
        try:
            snap = library.snapshot()
            con = library.con()
            mix = search.parse_mix(params.get("q", ""), snap.genres) or None
            like = like_scores = None
            exclude: set[int] = set()
            if params.get("like"):
                try:
                    track = int(params["like"])
                except ValueError:
                    raise search.QueryError(f"like={params['like']!r}: a track id is a "
                                            "whole number") from None  # fmt: skip
                where = snap.rows(np.array([track]))[0]
                if where < 0:
                    raise search.QueryError(f"like={track}: no such track in the index")
                like, like_scores, exclude = snap.vectors[where], snap.scores[where], {track}
            elif params.get("ref"):
                if params["ref"] not in library.references:
                    raise search.QueryError("ref: unknown or expired reference; upload it again")
                like, like_scores, _ = library.references[params["ref"]]
            try:
                top = int(params.get("top", 20))
            except ValueError:
                raise search.QueryError(f"top={params['top']!r} is not a whole number") from None
            if not 1 <= top <= 500:
                raise search.QueryError("top must be between 1 and 500")
            filters = search.Filters(*_floats(params, "duration"), *_floats(params, "tempo"),
                                     params.get("folder") or None, params.get("album") or None,
                                     exclude)  # fmt: skip
            hits = search.run(con, snap, mix, like, like_scores, filters, top)
        except search.QueryError as exc:
            return error(400, str(exc))
        except idx.IndexFileError as exc:
            return error(503, str(exc))
        return JSONResponse({"genres": list(snap.genres), "results": [h.to_dict() for h in hits]})

    def too_large() -> JSONResponse:
        return error(413, f"the reference is larger than the limit of "
                          f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; upload a shorter excerpt")

    async def reference(request: Request) -> Response:
        # Starlette's max_part_size bounds form fields, not files: the limit is enforced on
        # the body as it arrives, so an oversized upload is never read whole or spooled
        limit = MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return too_large()
        received = 0

        async def receive_within_limit():
            nonlocal received
            message = await request.receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise UploadTooLarge
            return message

        try:
            form = await Request(request.scope, receive_within_limit).form(max_files=1)
        except UploadTooLarge:
            return too_large()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return error(400, "send the reference as a multipart form field named 'file'")
        data = await upload.read()
        if not data:
            return error(400, f"{upload.filename}: an empty file")
        suffix = Path(upload.filename or "reference").suffix.lower()[:8] or ".bin"
        from starlette.concurrency import run_in_threadpool

        name = Path(upload.filename or "reference").name
        copy: list[Path] = []

        def featurise() -> tuple[np.ndarray, np.ndarray]:
            from ..scoring import reference_vector

            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"reference{suffix}"
                copy.append(path)
                path.write_bytes(data)
                return reference_vector(library.con(), library.scorer(), path)

        try:
            vector, scores = await run_in_threadpool(featurise)
        except ValueError as exc:  # AudioError included: the reason in words
            reason = str(exc).split(": ", 1)[-1]
            for where in copy:  # the server's temporary copy is named as the uploaded file
                reason = reason.replace(str(where), name).replace(str(where.parent), ".")
            return error(400, f"{name}: {reason}")
        token = secrets.token_urlsafe(8)
        library.references[token] = (np.asarray(vector, np.float32), scores, upload.filename)
        while len(library.references) > MAX_REFERENCES:
            library.references.pop(next(iter(library.references)))
        genres = library.snapshot().genres
        return JSONResponse({"ref": token, "name": upload.filename,
                             "genres": dict(zip(genres, map(float, scores), strict=True))})

    def audio(request: Request) -> Response:
        try:
            track = int(request.path_params["track"])
        except (KeyError, ValueError):
            return error(404, "no such track")
        path = idx.library_path(library.con(), track)
        if path is None:
            return error(404, "no such track")
        return FileResponse(path)

    routes = [
        Route("/", page),
        Route("/api/info", info),
        Route("/api/search", run_search),
        Route("/api/reference", reference, methods=["POST"]),
        Route("/audio/{track:int}", audio),
    ]
    app = Starlette(routes=routes)
    app.state.library = library
    return app


def serve(index_file: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the page until interrupted (bound to this machine unless ``host`` says else)."""
    import uvicorn

    app = create_app(index_file)
    print(f"filmgenre: {Path(index_file)} at http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
