"""Decoding and validation of audio files.

Every failure becomes an :class:`AudioError` that names the file and the reason,
so a dataset build can list what it skipped instead of dying or dropping files.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

#: File name endings treated as audio when scanning a folder.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
)
#: Peak level below which a decoded file counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4


class AudioError(ValueError):
    """A file that cannot be used, with the reason in plain words."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def is_audio_file(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


#: Formats libsndfile (>= 1.1) decodes itself: a failure there means a bad file,
#: not a missing decoder.
SNDFILE_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff"})


#: what libsndfile's MP3 decoder (mpg123) prints straight to the process's stderr about a
#: damaged stream; the reason a file is skipped is in skipped.csv, in plain words
_DECODER_CHATTER = re.compile(r"^(?:Note|Warning|\[[\w./:]+\] error): ")

#: a decoded length this much shorter than the header promises marks a file as truncated
TRUNCATION_TOLERANCE_S = 1.0


@contextmanager
def _decoder_stderr_quiet() -> Iterator[None]:
    """Hold C-level stderr (file descriptor 2) while a decoder runs: mpg123's notes
    ("Note: Illegal Audio-MPEG-Header ...") are dropped, anything else written meanwhile
    is passed on afterwards, so no other message is lost."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): decode as is
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            other = [ln for ln in held.read().decode("utf-8", "replace").splitlines(True)
                     if ln.strip() and not _DECODER_CHATTER.match(ln)]  # fmt: skip
            if other:
                sys.stderr.write("".join(other))


def _declared_seconds(path: Path) -> float | None:
    """The duration a file's header declares (libsndfile), or None when it cannot tell."""
    try:
        with _decoder_stderr_quiet():
            info = sf.info(str(path))
    except Exception:
        return None
    return info.frames / info.samplerate if info.samplerate and info.frames > 0 else None


def _check_complete(path: Path, declared: float | None, decoded: float) -> None:
    """Raise when the decoded audio falls well short of the declared duration: a file cut
    part-way (a partial download or copy) would otherwise be looped into a whole cue."""
    if declared is not None and decoded < declared - max(TRUNCATION_TOLERANCE_S, 0.1 * declared):
        raise AudioError(
            path,
            f"truncated: the header declares {declared:.2f} s of audio, only {decoded:.2f} s "
            "decode (the file was cut short)",
        )


def _wav_truncation(path: Path) -> tuple[int, int] | None:
    """(declared, present) bytes of a WAV file's data chunk when the file is cut short."""
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"data":
                present = path.stat().st_size - f.tell()
                return (size, present) if present < size and size != 0xFFFFFFFF else None
            f.seek(size + (size & 1), 1)
    return None


#: kbit/s by bitrate index, per (MPEG-1?, layer); index 0 (free format) and 15 are not here
_MPEG_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
#: sample rates by (version bits, rate index): MPEG-1, MPEG-2, MPEG-2.5
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(data: bytes, pos: int) -> tuple[int, tuple[int, int, int]] | None:
    """(length in bytes, (version, layer, sample rate)) of the MPEG audio frame whose header
    starts at ``pos``, or None when no valid header starts there (free format included)."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (data[pos + 1] >> 3) & 3, (data[pos + 1] >> 1) & 3
    bitrate_index, rate_index = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer = 4 - layer_bits
    bitrate = _MPEG_BITRATES[(version == 3, layer)][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    padding = (data[pos + 2] >> 1) & 1
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 3 and version != 3:
        length = 72 * bitrate // rate + padding
    else:
        length = 144 * bitrate // rate + padding
    return length, (version, layer, rate)


def _mp3_audio_span(data: bytes) -> tuple[int, int]:
    """(first, end) byte of an MP3 file's audio: after its ID3v2 tags, before its ID3v1,
    Lyrics3 and APEv2 tags."""
    start = 0
    while data[start : start + 3] == b"ID3" and len(data) >= start + 10:
        size = 0
        for byte in data[start + 6 : start + 10]:  # a "synchsafe" integer: 7 bits a byte
            size = (size << 7) | (byte & 0x7F)
        start += 10 + size + (10 if data[start + 5] & 0x10 else 0)
    end = len(data)
    for _ in range(3):  # the tags at the end may come in any order
        if end - 128 >= start and data[end - 128 : end - 125] == b"TAG":
            end -= 128
        elif end - 32 >= start and data[end - 32 : end - 24] == b"APETAGEX":
            size = int.from_bytes(data[end - 20 : end - 16], "little")
            has_header = bool(int.from_bytes(data[end - 12 : end - 8], "little") & 0x80000000)
            end -= size + (32 if has_header else 0)
        elif end - 15 >= start and data[end - 9 : end] == b"LYRICS200":
            end -= 15 + int(data[end - 15 : end - 9] or b"0")
        else:
            break
    return start, max(start, end)


def mp3_truncation(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """(offset, declared length, bytes present) of an MP3 file's last MPEG frame when it
    runs past the end of the file: a file cut part-way, which a decoder turns into a
    shorter track without a word (a constant-bitrate file carries no length to compare).

    Frames are followed one to the next from the first header that a second one confirms;
    a break in the chain (damage, a stray tag) is resynchronised on a header of the same
    stream (version, layer, sample rate). Only a frame reached through the chain counts,
    so stray bytes that look like a header never make a whole file truncated.
    """
    data = Path(path).read_bytes()
    start, end = _mp3_audio_span(data)
    pos, stream = start, None
    while pos < end:  # the first frame: a header whose successor is a header too
        frame = _mpeg_frame(data, pos)
        if frame and (pos + frame[0] >= end or (_mpeg_frame(data, pos + frame[0]) or (0, None))[1]
                      == frame[1]):  # fmt: skip
            stream = frame[1]
            break
        pos += 1
    if stream is None:
        return None
    chained = True
    while pos < end:
        frame = _mpeg_frame(data, pos)
        if frame is None or frame[1] != stream:
            nxt = data.find(b"\xff", pos + 1, end)
            pos, chained = (end if nxt < 0 else nxt), False
            continue
        length = frame[0]
        if pos + length > end:
            return (pos, length, end - pos) if chained else None
        pos, chained = pos + length, True
    return None


def _decode_with_pyav(path: Path, sample_rate: int) -> np.ndarray:
    """Formats libsndfile cannot read (M4A/AAC, WMA, ...): decoded in-process by PyAV.

    PyAV's wheels bundle FFmpeg's libraries, so no system ffmpeg is needed. Every audio
    frame is resampled to mono float at ``sample_rate`` by FFmpeg's own resampler.
    """
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a dependency
        raise AudioError(
            path, f"cannot decode {path.suffix} files without PyAV; install it (pip install av)"
        ) from exc
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(path, "no audio stream in the file")
            stream = container.streams.audio[0]
            declared = container.duration / 1e6 if container.duration else None
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):  # flush the resampler's delay line
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises FFmpegError subclasses, OSError, ValueError ...
        raise AudioError(path, f"not decodable as audio ({type(exc).__name__}: {exc})") from exc
    if not chunks:
        raise AudioError(path, "no audio frames (empty or unreadable audio stream)")
    y = np.concatenate(chunks).astype(np.float32)
    _check_complete(path, declared, y.size / sample_rate)
    return y


def load_audio(path: str | os.PathLike[str], sample_rate: int) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate``; raise AudioError when unusable."""
    return load_audio_rates(path, (sample_rate,))[sample_rate]


def load_audio_rates(path: str | os.PathLike[str], rates: tuple[int, ...] | list[int],
                     seconds: dict[str, float] | None = None) -> dict[int, np.ndarray]:  # fmt: skip
    """``path`` decoded once and resampled to each of ``rates`` (mono float32, the same
    samples :func:`load_audio` gives at each rate); raise AudioError when unusable.

    The index needs a track at the model's rate and at musicnn's 16 kHz: decoding an MP3
    twice was a tenth of a build. ``seconds`` (if given) gets the time spent reading and
    decoding (``decode``) and resampling (``resample``) added to it."""
    import time

    import librosa

    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file not found")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    out: dict[int, np.ndarray] = {}
    try:
        with _decoder_stderr_quiet():
            data, native_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        for rate in rates:  # FFmpeg resamples while it decodes
            try:
                out[rate] = _decode_with_pyav(path, rate)
            except AudioError as second:
                if path.suffix.lower() not in SNDFILE_EXTENSIONS:
                    raise
                # libsndfile's own wording ("does not exist or is not a regular file") misleads
                raise AudioError(path, f"corrupt or not a {path.suffix} file (the decoder "
                                       "cannot parse its content)") from second  # fmt: skip
    else:
        if data.shape[0] == 0:
            raise AudioError(path, "no audio frames (truncated header or empty stream)")
        if path.suffix.lower() == ".wav" and (cut := _wav_truncation(path)):
            declared, present = cut
            raise AudioError(
                path,
                f"truncated: the header declares {declared} bytes of audio, "
                f"the file holds {present}",
            )
        _check_complete(path, _declared_seconds(path), data.shape[0] / native_rate)
        # a constant-bitrate MP3 declares no length: a cut one shows in its last frame
        if path.suffix.lower() == ".mp3" and (frame := mp3_truncation(path)):
            offset, length, present = frame
            raise AudioError(
                path,
                f"truncated: the last MPEG frame (at byte {offset}) declares {length} bytes, "
                f"the file holds {present} of them (the file was cut short)",
            )
        mono = data.mean(axis=1)
        decoded = time.perf_counter()
        for rate in rates:
            out[rate] = mono if native_rate == rate else librosa.resample(
                mono, orig_sr=native_rate, target_sr=rate, res_type="soxr_hq")  # fmt: skip
        if seconds is not None:
            seconds["decode"] = seconds.get("decode", 0.0) + decoded - started
            seconds["resample"] = (seconds.get("resample", 0.0) + time.perf_counter()
                                   - decoded)  # fmt: skip
    for rate, y in out.items():
        if not np.all(np.isfinite(y)):
            raise AudioError(path, "decoded samples contain NaN or infinity")
        if y.size == 0:
            raise AudioError(path, "no audio frames")
        if float(np.max(np.abs(y))) < SILENCE_PEAK:
            raise AudioError(path, "silent (peak below -80 dBFS)")
        out[rate] = np.ascontiguousarray(y, dtype=np.float32)
    return out


def load_native(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode ``path`` as it is: float32 frames x channels at the file's own rate (for
    cutting excerpts, where resampling or downmixing would change what a user hears)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file not found")
    try:
        with _decoder_stderr_quiet():
            data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        try:
            import av

            with av.open(str(path), metadata_errors="ignore") as container:
                if not container.streams.audio:
                    raise AudioError(path, "no audio stream in the file")
                stream = container.streams.audio[0]
                rate = stream.rate
                resampler = av.AudioResampler(format="fltp", layout=stream.layout.name,
                                              rate=rate)  # fmt: skip
                chunks = [out.to_ndarray() for frame in container.decode(stream)
                          for out in resampler.resample(frame)]  # fmt: skip
                chunks += [out.to_ndarray() for out in resampler.resample(None)]
        except AudioError:
            raise
        except Exception as exc:
            raise AudioError(path, f"not decodable as audio ({type(exc).__name__}: {exc})"
                             ) from exc  # fmt: skip
        if not chunks:
            raise AudioError(path, "no audio frames")
        data = np.concatenate(chunks, axis=1).T.astype(np.float32)
    if data.shape[0] == 0:
        raise AudioError(path, "no audio frames")
    return np.ascontiguousarray(data), int(rate)


def loop_to_length(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Repeat a short signal from its start until it is ``n_samples`` long (longer: unchanged).

    The rule for cues shorter than a model's window: looping keeps the cue's own texture
    and level in every frame, where zero padding would add silence no training cue has.
    """
    return y if y.size >= n_samples else np.resize(y, n_samples).astype(y.dtype, copy=False)


def probe_duration(path: str | os.PathLike[str]) -> float | None:
    """Duration in seconds from the file header, or None when the header cannot tell."""
    try:
        with _decoder_stderr_quiet():
            info = sf.info(str(path))
    except Exception:
        return None
    return info.frames / info.samplerate if info.samplerate else None


def excerpt(
    path: str | os.PathLike[str], seconds: float = 10.0, rate: int = 11025, start: float = 0.0
) -> tuple[np.ndarray, int]:
    """A short, low-rate slice of a cue for embedding as an audio player in reports."""
    y = load_audio(path, rate)
    first = int(start * rate)
    return y[first : first + int(seconds * rate)], rate


def player(
    path: str | os.PathLike[str], seconds: float = 10.0, rate: int = 11025, start: float = 0.0
):
    """An IPython audio player with an excerpt of the cue embedded (travels with the HTML)."""
    from IPython.display import Audio

    data, rate = excerpt(path, seconds, rate, start)
    return Audio(data=data, rate=rate)
