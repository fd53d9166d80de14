"""Music-information features of a cue: tempo, pulse, key and mode, chroma, spectral
contrast, tonnetz, onset rate and loudness dynamics (the kind Ma et al. 2021 used to tell
film genres from soundtracks), one fixed-length vector per cue, cached on disk.

Each cue is decoded from its audio file once more at :data:`SAMPLE_RATE` (the study's
0.1 s feature frames are too coarse for onsets and beats); vectors are stored under
``<cache>/mir-v<VERSION>/<content hash>.npy``, keyed like the spectrogram cache by the
file's bytes, so renaming a file reuses them and a change of :data:`VERSION` never does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..config import data_dir
from ..runtime.pools import process_map
from .audio import load_audio
from .dataset import Manifest

#: bump when a feature changes: cached vectors of another version are never reused
VERSION = 3
SAMPLE_RATE = 22050
HOP = 512

# Krumhansl-Kessler key profiles (probe-tone ratings), C major and C minor
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

_PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_TONNETZ = ("fifth_x", "fifth_y", "minor3_x", "minor3_y", "major3_x", "major3_y")

#: the name of every element of a MIR vector, in order
NAMES: tuple[str, ...] = (
    "tempo_bpm", "pulse_clarity", "onset_rate_per_s",
    "key_clarity", "major_minus_minor", "major_correlation", "minor_correlation",
    *(f"chroma_{p}_mean" for p in _PITCHES), *(f"chroma_{p}_std" for p in _PITCHES),
    *(f"contrast_band{b}_mean" for b in range(7)), *(f"contrast_band{b}_std" for b in range(7)),
    *(f"tonnetz_{t}_mean" for t in _TONNETZ), *(f"tonnetz_{t}_std" for t in _TONNETZ),
    "rms_db_mean", "rms_db_std", "rms_db_p10", "rms_db_p90", "rms_db_range_p90_p10",
    "low_energy_fraction", "rms_db_slope_per_s",
)  # fmt: skip


def key_profile_correlations(chroma_mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation of a mean chroma vector with the 12 rotations of the major and of the
    minor key profile (Krumhansl's key-finding)."""
    major = np.array([np.corrcoef(chroma_mean, np.roll(_MAJOR, k))[0, 1] for k in range(12)])
    minor = np.array([np.corrcoef(chroma_mean, np.roll(_MINOR, k))[0, 1] for k in range(12)])
    return np.nan_to_num(major), np.nan_to_num(minor)


#: pitch-class names as a key estimate gives them
PITCHES = _PITCHES


def estimate_key(chroma_mean: np.ndarray) -> tuple[int, str, float] | None:
    """(tonic pitch class 0..11, "major" or "minor", clarity) of a mean chroma vector: the
    best-correlated rotation of the Krumhansl-Kessler profiles, its correlation the clarity;
    None for a flat chroma (silence, noise) that names no key."""
    chroma_mean = np.asarray(chroma_mean, float)
    if chroma_mean.size != 12 or np.ptp(chroma_mean) < 1e-6:
        return None
    major, minor = key_profile_correlations(chroma_mean)
    if major.max() >= minor.max():
        return int(major.argmax()), "major", float(major.max())
    return int(minor.argmax()), "minor", float(minor.max())


def _onset_peaks(onset_env: np.ndarray) -> np.ndarray:
    """Onset frames: peaks of the normalised onset envelope standing 0.07 above their
    surroundings (librosa's onset_detect rule, by SciPy: librosa's numba peak picker has
    crashed a process that had TensorFlow loaded, on its first compile in a fresh venv)."""
    from scipy.signal import find_peaks

    span = float(onset_env.max() - onset_env.min())
    if span <= 0:
        return np.empty(0, int)
    peaks, _ = find_peaks((onset_env - onset_env.min()) / span, prominence=0.07)
    return peaks


def mir_vector(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The MIR vector of mono audio ``y`` (elements named by :data:`NAMES`)."""
    import librosa

    y = np.asarray(y, np.float32)
    seconds = max(y.size / sr, 1e-6)
    onset_env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=HOP)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset_env, sr=sr,
                                                      hop_length=HOP))[0])  # fmt: skip
    # pulse clarity: how much of the onset autocorrelation sits at its strongest lag (0..1)
    ac = librosa.autocorrelate(onset_env - onset_env.mean())
    lags = ac[int(sr / HOP * 60 / 240): int(sr / HOP * 60 / 40) + 1]  # 40..240 BPM
    pulse = float(lags.max() / ac[0]) if ac.size and ac[0] > 0 and lags.size else 0.0
    onsets = _onset_peaks(onset_env)
    # tuning fixed at A440: estimating it runs a numba kernel (see _onset_peaks)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=HOP, tuning=0.0)
    major, minor = key_profile_correlations(chroma.mean(1))
    contrast = librosa.feature.spectral_contrast(y=y, sr=sr, hop_length=HOP)
    tonnetz = librosa.feature.tonnetz(sr=sr, chroma=chroma)
    rms_db = librosa.amplitude_to_db(librosa.feature.rms(y=y, hop_length=HOP)[0] + 1e-10,
                                     ref=1.0)  # fmt: skip
    p10, p90 = np.percentile(rms_db, [10, 90])
    t = np.arange(rms_db.size) * HOP / sr
    slope = float(np.polyfit(t, rms_db, 1)[0]) if rms_db.size > 1 else 0.0
    vector = np.concatenate([
        [tempo, pulse, len(onsets) / seconds],
        [max(major.max(), minor.max()), major.max() - minor.max(), major.max(), minor.max()],
        chroma.mean(1), chroma.std(1), contrast.mean(1), contrast.std(1),
        tonnetz.mean(1), tonnetz.std(1),
        [rms_db.mean(), rms_db.std(), p10, p90, p90 - p10,
         float(np.mean(rms_db < rms_db.mean())), slope],
    ]).astype(np.float32)  # fmt: skip
    if vector.size != len(NAMES):
        raise AssertionError(f"MIR vector has {vector.size} elements, NAMES {len(NAMES)}")
    return np.nan_to_num(vector)


def default_cache_dir() -> Path:
    return data_dir() / "interim" / "mir"


def cache_file(features_file: str | os.PathLike[str], cache_dir: Path) -> Path:
    """Where one cue's MIR vector is kept: named by the content hash its spectrogram cache
    file already carries (``<digest>.npz``)."""
    digest = Path(features_file).stem
    return cache_dir / f"mir-v{VERSION}" / digest[:2] / f"{digest}.npy"


def _compute_one(job: tuple[str, str]) -> np.ndarray:
    audio_path, target = job
    path = Path(target)
    if path.exists():
        return np.load(path)
    with threadpool_limits(1):
        vector = mir_vector(load_audio(audio_path, SAMPLE_RATE))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vector)
    os.replace(tmp, path)
    return vector


def load_mir(manifest: Manifest, cache_dir: str | os.PathLike[str] | None = None,
             n_jobs: int | None = None, progress: bool | None = None) -> np.ndarray:  # fmt: skip
    """One MIR vector per cue of the manifest (computed in ``n_jobs`` processes where not
    cached). The cues' audio files must still exist where the manifest says."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cues = manifest.cues.reset_index(drop=True)
    jobs = [(str(p), str(cache_file(f, cache))) for p, f in zip(cues["path"], cues["features"],
                                                                 strict=True)]  # fmt: skip
    todo = [j for j in jobs if not Path(j[1]).exists()]
    disable = None if progress is None else not progress
    if todo:
        with tqdm(total=len(todo), desc="MIR features", unit="cue", leave=False,
                  disable=disable) as bar:  # fmt: skip
            for _ in process_map(_compute_one, todo, n_jobs, bar):
                pass
    return np.stack([np.load(target) for _, target in jobs]).astype(np.float32)
