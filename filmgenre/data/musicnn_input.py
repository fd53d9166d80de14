"""musicnn's input: a 16 kHz log-compressed mel spectrogram in 3 s patches, computed once
per cue and cached beside the other features (keyed by the same content hash).

The spec is the pretrained checkpoints' own (``musicnn/models.py`` and ``extractor.py`` in
the ``musicnn`` wheel): 16 kHz, n_fft 512, hop 256, 96 mel bands, ``log10(10000 * mel + 1)``,
patches of 187 frames (3 s), time first, and its 50 + 50 tag names. The network itself is
:mod:`filmgenre.models.musicnn`; this module needs no Keras, so pool workers can run it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..runtime.pools import process_map
from .audio import AudioError, load_audio, loop_to_length
from .dataset import Manifest
from .features import default_cache_dir
from .tags import MSD_LABELS, MTT_LABELS, PRETRAINED  # noqa: F401  (re-exported)

#: musicnn's spectrogram: 16 kHz, n_fft 512, hop 256, 96 mel bands; 187-frame (3 s) patches

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187



def input_features(y: np.ndarray) -> np.ndarray:
    """musicnn's input for a 16 kHz signal: (frames x 96) of log10(10000 * mel + 1).

    Same as ``musicnn.extractor.batch_data``, including its float16 rounding of the
    mel power before compression.
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, n_fft=N_FFT, n_mels=N_MELS
    ).T
    rounded = mel.astype(np.float16).astype(np.float32)  # the float16 storage, not its overflow
    return np.log10(10000 * rounded + 1)


def patches(features: np.ndarray, hop: int = PATCH_FRAMES) -> np.ndarray:
    """Cut (frames x 96) into (n x 187 x 96) patches every ``hop`` frames (none if short)."""
    n = features.shape[0]
    if n < PATCH_FRAMES:
        return np.empty((0, PATCH_FRAMES, features.shape[1]), np.float32)
    starts = range(0, n - PATCH_FRAMES + 1, hop)
    return np.stack([features[s : s + PATCH_FRAMES] for s in starts])


#: the cache folder's key: every parameter of the spectrogram
SPEC_KEY = hashlib.sha1(repr((SAMPLE_RATE, N_FFT, HOP_LENGTH, N_MELS, "log10(1e4x+1)")).encode()
                        ).hexdigest()[:10]  # fmt: skip


def content_digest(features_file: str) -> str:
    """The content hash a cue's feature cache file is named by."""
    return Path(features_file).stem  # the feature cache is named by the audio's SHA-1


def input_path(features_file: str, cache_dir: Path) -> Path:
    """Where a cue's musicnn input spectrogram is cached."""
    digest = content_digest(features_file)
    return cache_dir / f"musicnn-{SPEC_KEY}" / digest[:2] / f"{digest}.npy"


def _extract_one(job: tuple[str, str]) -> tuple[str, str | None]:
    path, target = job
    if Path(target).exists():
        return path, None
    try:
        with threadpool_limits(1):
            spec = input_of(load_audio(path, SAMPLE_RATE))
    except AudioError as exc:
        return path, exc.reason
    write_input(Path(target), spec)
    return path, None


def input_of(y: np.ndarray) -> np.ndarray:
    """musicnn's input of a 16 kHz signal; a cue shorter than one 3 s patch is looped to
    one, by the tiles' rule."""
    return input_features(loop_to_length(y, (PATCH_FRAMES - 1) * HOP_LENGTH + 1))


def write_input(target: Path, spec: np.ndarray) -> None:
    """Cache a cue's musicnn input (float16, as musicnn stores it) atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp.npy"
    np.save(tmp, spec.astype(np.float16))
    os.replace(tmp, target)


def extract_inputs(
    manifest: Manifest,
    cache_dir: str | os.PathLike[str] | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> None:
    """Decode every cue at 16 kHz and cache musicnn's input spectrogram (in parallel).

    The manifest's cues already decoded once for the main features, so a failure
    here is unexpected and raised with the file's name rather than skipped.
    """
    if "features" not in manifest.cues:
        raise ValueError("manifest has no features yet: call features.extract(manifest) first")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    pairs = zip(manifest.cues["path"], manifest.cues["features"], strict=True)
    jobs = [(p, str(input_path(f, cache))) for p, f in pairs]
    todo = [j for j in jobs if not Path(j[1]).exists()]
    disable = None if progress is None else not progress
    bar = tqdm(total=len(todo), desc="musicnn input", unit="cue", leave=False, disable=disable)
    with bar:
        errors = [(path, error) for path, error in process_map(_extract_one, todo, n_jobs, bar)
                  if error]  # fmt: skip
    if errors:
        (first, reason), others = errors[0], errors[1:]
        listed = "; ".join(f"{path}: {error}" for path, error in others[:3])
        more = f" (and {len(others)} more: {listed}{'; ...' if len(others) > 3 else ''})"
        raise AudioError(first, reason + (more if others else ""))


