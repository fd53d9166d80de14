"""Decoding and validation of audio files.

Every failure becomes an :class:`AudioError` that names the file and the reason,
so a dataset build can list what it skipped instead of dying or dropping files.
"""

from __future__ import annotations

import os
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
    return np.concatenate(chunks).astype(np.float32)


def load_audio(path: str | os.PathLike[str], sample_rate: int) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate``; raise AudioError when unusable."""
    import librosa

    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file not found")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        data, native_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        try:
            y = _decode_with_pyav(path, sample_rate)
        except AudioError as second:
            if path.suffix.lower() not in SNDFILE_EXTENSIONS:
                raise
            # libsndfile's own wording ("does not exist or is not a regular file") misleads
            raise AudioError(
                path, f"corrupt or not a {path.suffix} file (the decoder cannot parse its content)"
            ) from second
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
        y = data.mean(axis=1)
        if native_rate != sample_rate:
            y = librosa.resample(y, orig_sr=native_rate, target_sr=sample_rate, res_type="soxr_hq")
    if not np.all(np.isfinite(y)):
        raise AudioError(path, "decoded samples contain NaN or infinity")
    if y.size == 0:
        raise AudioError(path, "no audio frames")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioError(path, "silent (peak below -80 dBFS)")
    return np.ascontiguousarray(y, dtype=np.float32)


def loop_to_length(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Repeat a short signal from its start until it is ``n_samples`` long (longer: unchanged).

    The rule for cues shorter than a model's window: looping keeps the cue's own texture
    and level in every frame, where zero padding would add silence no training cue has.
    """
    return y if y.size >= n_samples else np.resize(y, n_samples).astype(y.dtype, copy=False)


def probe_duration(path: str | os.PathLike[str]) -> float | None:
    """Duration in seconds from the file header, or None when the header cannot tell."""
    try:
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
