"""Cut a stretch of an indexed track to a WAV file: the file's own sample rate and channels,
short fades in and out so the excerpt starts and ends without a click.

The stretch is given by its start and end in seconds, by a segment's number, or as the
segment that answers a query best (the one a search shows as "best cut").
"""

from __future__ import annotations

import io
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import index as idx
from . import search, store
from .query import parse_query
from .shortlist import ShortlistError, resolve_track

#: length of the fade in and the fade out (raised cosine), shortened for very short cuts
FADE_SECONDS = 0.02
#: an end this close past the track's last sample still counts as its end (rounding)
END_TOLERANCE_SECONDS = 0.05


class CutError(ValueError):
    """A cut that cannot be made, with the reason in words."""


@dataclass
class Cut:
    """Where an excerpt came from and what it holds."""

    track: int
    source: str
    start: float
    end: float
    sample_rate: int
    channels: int
    why: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


def choose_span(con: sqlite3.Connection, track: int | str, start: float | None = None,
                end: float | None = None, segment: str | int | None = None,
                query: str | None = None) -> tuple[int, float, float, str]:  # fmt: skip
    """(track id, start, end, why) of a cut: explicit seconds, a segment's number (from 0),
    or ``segment="best"`` with ``query`` (its best segment). Raises CutError in words."""
    try:
        tid, path = resolve_track(con, track)
    except ShortlistError as exc:
        raise CutError(str(exc)) from None
    if segment is None:
        if start is None or end is None:
            raise CutError("give --start and --end in seconds, or --segment (a number, or "
                           "'best' with --query)")  # fmt: skip
        if not 0 <= start < end:
            raise CutError(f"{path}: a cut from {start} s to {end} s: the start must be at "
                           "least 0 and before the end")  # fmt: skip
        return tid, float(start), float(end), "start and end given"
    segments = store.segments_of(con, [tid]).get(tid, [])
    if not segments:
        raise CutError(f"{path}: the index holds no segments for this track")
    if str(segment) == "best":
        if not (query or "").strip():
            raise CutError("--segment best needs --query (the search whose best cut to take)")
        snap = idx.snapshot(con)
        mix = parse_query(query, snap.genres)
        search.check_moods(snap, mix)
        values = search.segment_values(segments, mix, snap.genres, None,
                                       search.word_columns(snap, mix))  # fmt: skip
        number = int(np.argmax(values))
        why = f"segment {number}, the best for {query!r} (fit {values[number]:.3f})"
    else:
        try:
            number = int(segment)
        except ValueError:
            raise CutError(f"--segment {segment!r}: a segment number or 'best'") from None
        if not 0 <= number < len(segments):
            raise CutError(f"{path}: segment {number} does not exist (the track has "
                           f"{len(segments)}: 0 to {len(segments) - 1})")  # fmt: skip
        why = f"segment {number}"
    return tid, float(segments[number][0]), float(segments[number][1]), why


def _faded(clip: np.ndarray, rate: int, fade: float) -> np.ndarray:
    n = min(int(round(fade * rate)), len(clip) // 4)
    if n > 1:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)[:, None]
        clip[:n] *= ramp
        clip[-n:] *= ramp[::-1]
    return clip


def excerpt(con: sqlite3.Connection, track: int | str, start: float | None = None,
            end: float | None = None, segment: str | int | None = None,
            query: str | None = None, fade: float = FADE_SECONDS
            ) -> tuple[np.ndarray, Cut]:  # fmt: skip
    """The samples of a cut (frames x channels, float32, faded) and what they are."""
    from ..data.audio import AudioError, load_native

    tid, start, end, why = choose_span(con, track, start, end, segment, query)
    path = store.library_path(con, tid)
    if path is None:
        raise CutError(f"track {tid}: its file is no longer in the library folder")
    try:
        data, rate = load_native(path)
    except AudioError as exc:
        raise CutError(str(exc)) from None
    duration = len(data) / rate
    shown = store.track_rows(con, [tid]).get(tid, {}).get("path", path.name)
    if end > duration + END_TOLERANCE_SECONDS:
        raise CutError(f"{shown} lasts {duration:.2f} s: a cut to {end:g} s runs past its end")
    first, last = int(round(start * rate)), min(int(round(end * rate)), len(data))
    clip = _faded(data[first:last].copy(), rate, fade)
    return clip, Cut(tid, shown, start, last / rate, rate, data.shape[1], why)


def _subtype(source: Path) -> str:
    """16-bit PCM, or 24-bit where the source holds more than 16 bits."""
    import soundfile as sf

    try:
        kind = sf.info(str(source)).subtype
    except Exception:
        return "PCM_16"
    return "PCM_24" if any(t in kind for t in ("24", "32", "FLOAT", "DOUBLE")) else "PCM_16"


def write(con: sqlite3.Connection, track: int | str, out: str | os.PathLike[str] | None,
          **span) -> tuple[Cut, bytes | None]:  # fmt: skip
    """Cut to the WAV file ``out`` (its folder must exist) or, with ``out=None``, to bytes
    (the page's download). Returns (what was cut, the bytes or None)."""
    import soundfile as sf

    if out is not None:
        out = Path(out)
        if out.suffix.lower() != ".wav":
            raise CutError(f"{out}: a cut is saved as a .wav file")
        if not out.parent.is_dir():
            raise CutError(f"{out.parent}: no such folder to save {out.name} into")
    clip, cut = excerpt(con, track, **span)
    subtype = _subtype(store.library_path(con, cut.track))
    if out is not None:
        sf.write(str(out), clip, cut.sample_rate, subtype=subtype, format="WAV")
        return cut, None
    buffer = io.BytesIO()
    sf.write(buffer, clip, cut.sample_rate, subtype=subtype, format="WAV")
    return cut, buffer.getvalue()
