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
import secrets
import sqlite3
import tempfile
import threading
from pathlib import Path

import numpy as np

from ...data.moods import MOODS
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


def _seconds(value, name: str) -> float | None:
    """A number of seconds from a request (None when absent); ValueError-free: a bad value
    is a ShortlistError naming the field, which the routes answer with 400."""
    from ..shortlist import ShortlistError

    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ShortlistError(f"{name}={value!r} is not a number of seconds") from None
    if not np.isfinite(seconds):
        raise ShortlistError(f"{name}={value!r} is not a finite number of seconds")
    return seconds


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
                             "mood_model": summary["mood_model"] if snap.has_moods else None,
                             "moods": list(MOODS) if snap.has_moods else [],
                             "segment_seconds": summary["segment_seconds"]})  # fmt: skip

    def words(request: Request) -> Response:
        """Every word a query may use (the page completes typed words from it); ``tags`` and
        ``moods`` say whether this index can answer the taggers' words and the moods."""
        from ..thesaurus import vocabulary_table

        snap = library.snapshot()
        return JSONResponse({"words": vocabulary_table(snap.genres), "tags": snap.has_tags,
                             "moods": snap.has_moods})  # fmt: skip

    def run_search(request: Request) -> Response:
        params = request.query_params
        try:
            snap = library.snapshot()
            con = library.con()
            mix = search.parse_query(params.get("q", ""), snap.genres) or None
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
            tonic, mode = search.parse_key(params.get("key"), "key")
            if params.get("mode"):
                if params["mode"] not in ("major", "minor"):
                    raise search.QueryError(f"mode={params['mode']!r}: major or minor")
                mode = params["mode"]
            filters = search.Filters(*_floats(params, "duration"), *_floats(params, "tempo"),
                                     params.get("folder") or None, params.get("album") or None,
                                     exclude, tonic, mode)  # fmt: skip
            ranking = params.get("ranking", search.DEFAULT_RANKING)
            if ranking not in idx.RANKINGS:
                raise search.QueryError(f"ranking={ranking!r}: choose one of "
                                        f"{', '.join(idx.RANKINGS)}")  # fmt: skip
            hits = search.run(con, snap, mix, like, like_scores, filters, top, ranking)
        except search.QueryError as exc:
            return error(400, str(exc))
        except idx.IndexFileError as exc:
            return error(503, str(exc))
        query = None if mix is None else {
            "read": mix.explain(), "genres": list(mix.genres), "moods": list(mix.moods),
            "words": list(mix.words)}  # fmt: skip
        return JSONResponse({"genres": list(snap.genres), "query": query,
                             "results": [h.to_dict() for h in hits]})  # fmt: skip

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

    async def shortlist_api(request: Request) -> Response:
        """GET: a list's tracks; POST (JSON track, note, start, end): add or update one;
        DELETE (``track``): take one off. ``list`` names the list (default: shortlist)."""
        from .. import shortlist

        params = request.query_params
        try:
            if request.method == "POST":
                try:
                    body = await request.json()
                except ValueError:
                    raise shortlist.ShortlistError("send the track as JSON: {\"track\": ID, "
                                                   "\"note\": TEXT}") from None  # fmt: skip
                if not isinstance(body, dict) or "track" not in body:
                    raise shortlist.ShortlistError("give the track to add: {\"track\": ID}")
                name = str(body.get("list") or shortlist.DEFAULT_LIST)
                span = [_seconds(body.get(k), k) for k in ("start", "end")]
                shortlist.add(library.con(), body["track"], body.get("note"), *span, name)
            else:
                name = params.get("list") or shortlist.DEFAULT_LIST
                if request.method == "DELETE":
                    shortlist.remove(library.con(), params.get("track", ""), name)
            con = library.con()
            return JSONResponse({"list": name, "lists": shortlist.names(con),
                                 "tracks": shortlist.entries(con, name)})  # fmt: skip
        except shortlist.ShortlistError as exc:
            return error(400, str(exc))
        except sqlite3.OperationalError as exc:  # a build holding the write lock past 5 s
            return error(503, f"the index is busy ({exc}); try again in a moment")

    def shortlist_export(request: Request) -> Response:
        """A list as a download: ``format`` m3u8 (absolute paths), csv or json."""
        from .. import shortlist

        name = request.query_params.get("list") or shortlist.DEFAULT_LIST
        try:
            fmt = shortlist.format_of(request.query_params.get("format", "m3u8"))
            text = shortlist.render(library.con(), fmt, name)
        except shortlist.ShortlistError as exc:
            return error(400, str(exc))
        media = {"m3u8": "audio/x-mpegurl", "csv": "text/csv", "json": "application/json"}[fmt]
        return Response(text, media_type=f"{media}; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})  # fmt: skip

    def cut_api(request: Request) -> Response:
        """A stretch of a track as a WAV download: ``start`` and ``end`` (s), or ``segment``
        (a number, or ``best`` with ``q``)."""
        from .. import cut

        params = request.query_params
        try:
            done, data = cut.write(library.con(), params.get("track", ""), None,
                                   start=_seconds(params.get("start"), "start"),
                                   end=_seconds(params.get("end"), "end"),
                                   segment=params.get("segment") or None,
                                   query=params.get("q") or None)  # fmt: skip
        except (ValueError, search.QueryError) as exc:  # CutError, a bad number
            return error(400, str(exc))
        stem = Path(done.source).stem[:60].replace('"', "")
        filename = f"{stem}_{done.start:.1f}-{done.end:.1f}s.wav"
        return Response(data, media_type="audio/wav", headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Cut": f"{done.start:.3f}-{done.end:.3f}"})  # fmt: skip

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
        Route("/api/vocabulary", words),
        Route("/api/search", run_search),
        Route("/api/reference", reference, methods=["POST"]),
        Route("/api/shortlist", shortlist_api, methods=["GET", "POST", "DELETE"]),
        Route("/api/shortlist/export", shortlist_export),
        Route("/api/cut", cut_api),
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
