"""The page's routes, one plain function each (:func:`..create_app` wires them): each reads
the index through the :class:`..Library` the application holds, and answers JSON (errors
as ``{"error": ...}`` with 400 for a bad request, 503 for an index that cannot be read),
the page, a download or audio."""

from __future__ import annotations

import secrets
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from ...data.moods import MOODS
from .. import store
from ..query import QueryError
from ..request import SearchRequest

PAGE = Path(__file__).with_name("page.html")
#: uploaded references kept in memory (oldest dropped first)
MAX_REFERENCES = 32
#: largest reference upload accepted
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: room for the multipart form's own bytes (boundaries, part headers) beside the file
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadTooLarge(Exception):
    """A request body that went past :data:`MAX_UPLOAD_BYTES` while it was read."""


def _library(request: Request):
    """The index behind the application (a :class:`..Library`)."""
    return request.app.state.library


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


def error(status: int, message: str) -> JSONResponse:
    """A failed request's answer: ``{"error": message}`` with its status."""
    return JSONResponse({"error": message}, status_code=status)


async def page(request: Request) -> Response:
    """The page (plain JavaScript beside this file; nothing fetched from the internet)."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


def info(request: Request) -> Response:
    """The index's genres, size, models and moods."""
    library = _library(request)
    try:
        snap = library.snapshot()
        summary = store.summary(library.con())
    except store.IndexFileError as exc:
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

    snap = _library(request).snapshot()
    return JSONResponse({"words": vocabulary_table(snap.genres), "tags": snap.has_tags,
                         "moods": snap.has_moods})  # fmt: skip


def run_search(request: Request) -> Response:
    """A search from the query string (:class:`~..request.SearchRequest`): the hits, the
    query as read; 400 with what is wrong, 503 when the index cannot be read."""
    library = _library(request)
    try:
        wanted = SearchRequest.from_mapping(request.query_params)
        snap = library.snapshot()
        hits, mix = wanted.run(library.con(), snap, references=library.references)
    except QueryError as exc:
        return error(400, str(exc))
    except store.IndexFileError as exc:
        return error(503, str(exc))
    query = None if mix is None else {
        "read": mix.explain(), "genres": list(mix.genres), "moods": list(mix.moods),
        "words": list(mix.words)}  # fmt: skip
    return JSONResponse({"genres": list(snap.genres), "query": query,
                         "results": [h.to_dict() for h in hits]})  # fmt: skip


def too_large() -> JSONResponse:
    """413, with the limit in words."""
    return error(413, f"the reference is larger than the limit of "
                      f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; upload a shorter excerpt")


async def reference(request: Request) -> Response:
    """An uploaded audio file featurised by the index's model (loaded on first use): a token
    for ``ref`` and its genre scores; 413 past the size limit, 400 for what cannot be read."""
    library = _library(request)
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
        from ..batch import reference_vector

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
    library = _library(request)
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
    library = _library(request)
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
    library = _library(request)
    from .. import cut

    params = request.query_params
    try:
        done, data = cut.write(library.con(), params.get("track", ""), None,
                               start=_seconds(params.get("start"), "start"),
                               end=_seconds(params.get("end"), "end"),
                               segment=params.get("segment") or None,
                               query=params.get("q") or None)  # fmt: skip
    except (ValueError, QueryError) as exc:  # CutError, a bad number
        return error(400, str(exc))
    stem = Path(done.source).stem[:60].replace('"', "")
    filename = f"{stem}_{done.start:.1f}-{done.end:.1f}s.wav"
    return Response(data, media_type="audio/wav", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Cut": f"{done.start:.3f}-{done.end:.3f}"})  # fmt: skip


def audio(request: Request) -> Response:
    """A track's audio by its id (range requests for seeking); only the index's path for
    that id, inside the library folder, is ever opened."""
    library = _library(request)
    try:
        track = int(request.path_params["track"])
    except (KeyError, ValueError):
        return error(404, "no such track")
    path = store.library_path(library.con(), track)
    if path is None:
        return error(404, "no such track")
    return FileResponse(path)

