"""Decoding and validation of audio files.

Every failure becomes an :class:`AudioError` that names the file and the reason,
so a dataset build can list what it skipped instead of dying or dropping files.
"""

from __future__ import annotations

import os
import shutil
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


def _decode_with_ffmpeg_backend(path: Path, sample_rate: int) -> np.ndarray:
    """Fallback for formats libsndfile cannot read (M4A/AAC, WMA): librosa's audioread path."""
    import warnings

    import librosa

    if shutil.which("ffmpeg") is None and path.suffix.lower() in {".m4a", ".aac", ".wma"}:
        raise AudioError(
            path,
            f"cannot decode {path.suffix} without ffmpeg; install it "
            "(Debian/Ubuntu: apt-get install ffmpeg; conda: conda install ffmpeg)",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, _ = librosa.load(path, sr=sample_rate, mono=True)
    except Exception as exc:  # audioread raises many unrelated types
        raise AudioError(path, f"not decodable as audio ({type(exc).__name__}: {exc})") from exc
    return y.astype(np.float32)


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
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        if path.suffix.lower() in SNDFILE_EXTENSIONS:
            # libsndfile's own wording ("does not exist or is not a regular file") misleads
            raise AudioError(
                path, f"corrupt or not a {path.suffix} file (the decoder cannot parse its content)"
            ) from exc
        y = _decode_with_ffmpeg_backend(path, sample_rate)
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
