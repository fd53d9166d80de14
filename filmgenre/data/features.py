"""Log-mel spectrograms and MFCCs, cut into tiles, cached on disk.

Each cue is decoded once; its full log-mel and MFCC matrices are stored under
``<cache>/<parameter hash>/<content hash>.npz``. The key covers the file's bytes
and every feature parameter, so renaming a file reuses its features and changing
any parameter never does. Extraction runs in several processes with a progress bar.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..config import FeatureParams, data_dir
from ..runtime.pools import process_map
from .audio import AudioError, load_audio, loop_to_length
from .dataset import NO_USABLE_AUDIO, Manifest

FEATURE_KINDS = ("logmel", "mfcc")


def default_cache_dir() -> Path:
    return data_dir() / "interim" / "features"


def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-1 of a file's bytes (the content half of the cache key)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def power_spectrogram(y: np.ndarray, params: FeatureParams) -> np.ndarray:
    """|STFT|^2 (frequencies x frames), as librosa's melspectrogram computes it for itself."""
    import librosa

    return np.abs(librosa.stft(y, n_fft=params.n_fft, hop_length=params.hop_length)) ** 2


def logmel(y: np.ndarray | None, params: FeatureParams, power: np.ndarray | None = None
           ) -> np.ndarray:  # fmt: skip
    """Log-power mel spectrogram in dB (n_mels x frames), as librosa computes it (from
    ``power``, :func:`power_spectrogram`, when it is at hand: the same numbers)."""
    import librosa

    if power is None:
        power = power_spectrogram(y, params)
    mel = librosa.feature.melspectrogram(
        S=power,
        sr=params.sample_rate,
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        n_mels=params.n_mels,
        fmin=params.fmin,
        fmax=params.fmax,
    )
    return librosa.power_to_db(mel).astype(np.float32)


def chroma(power: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Chroma (12 pitch classes x frames) of a power spectrogram, at A440 tuning (librosa's
    tuning estimate compiles a numba kernel that crashed workers with TensorFlow loaded)."""
    import librosa

    return librosa.feature.chroma_stft(S=power, sr=params.sample_rate, n_fft=params.n_fft,
                                       hop_length=params.hop_length,
                                       tuning=0.0).astype(np.float32)  # fmt: skip


def mfcc_from_logmel(logmel_db: np.ndarray, params: FeatureParams) -> np.ndarray:
    """MFCCs (n_mfcc x frames) from a log-mel matrix, as librosa.feature.mfcc(y=...) gives."""
    import librosa

    return librosa.feature.mfcc(S=logmel_db, n_mfcc=params.n_mfcc).astype(np.float32)


def compute_features(y: np.ndarray, params: FeatureParams) -> dict[str, np.ndarray]:
    """Log-mel, MFCC and chroma of a decoded cue, from one power spectrogram (the chroma
    serves the library's key estimate)."""
    power = power_spectrogram(y, params)
    db = logmel(None, params, power)
    return {"logmel": db, "mfcc": mfcc_from_logmel(db, params), "chroma": chroma(power, params)}


def tile(matrix: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Cut a (bins x frames) matrix into (n_tiles x bins x tile_frames) windows."""
    n_frames = matrix.shape[1]
    if n_frames < params.tile_frames:
        return np.empty((0, matrix.shape[0], params.tile_frames), dtype=matrix.dtype)
    starts = range(0, n_frames - params.tile_frames + 1, params.tile_hop_frames)
    return np.stack([matrix[:, s : s + params.tile_frames] for s in starts])


def load_cue(features_file: str | os.PathLike[str], kind: str = "mfcc") -> np.ndarray:
    """The cached (bins x frames) matrix of one cue."""
    with np.load(features_file) as z:
        return z[kind]


def summary_statistics(mfcc: np.ndarray) -> np.ndarray:
    """Per-cue MFCC summary: mean and std of the coefficients and of their deltas."""
    import librosa

    delta = librosa.feature.delta(mfcc, width=min(9, mfcc.shape[1] - (mfcc.shape[1] + 1) % 2))
    return np.concatenate([mfcc.mean(1), mfcc.std(1), delta.mean(1), delta.std(1)]).astype(
        np.float32
    )


def fit_to_tile(y: np.ndarray, params: FeatureParams, path: str | os.PathLike[str]) -> np.ndarray:
    """A decoded cue at least one tile long: short cues looped (``params.short_cues``).

    Raises AudioError naming the file when the cue is below the rule's minimum.
    """
    if y.size >= params.min_samples:
        return y
    if y.size < params.min_cue_samples:
        raise AudioError(path, params.too_short_reason(y.size / params.sample_rate))
    return loop_to_length(y, params.min_samples)


def cache_path(digest: str, params: FeatureParams, cache_dir: Path) -> Path:
    return cache_dir / params.key() / digest[:2] / f"{digest}.npz"


def _remove_orphaned_writes(target: Path) -> None:
    """Delete half-written copies of ``target`` left by processes that no longer run (a
    build killed mid-write); a live process's write is left alone."""
    for stale in target.parent.glob(f"{target.stem}.*.tmp.npz"):
        pid = stale.name.split(".")[-3]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            stale.unlink(missing_ok=True)
        except PermissionError:
            pass  # another user's live process


def write_cache(target: Path, feats: dict[str, np.ndarray], n_samples: int) -> None:
    """Store one cue's features at ``target`` atomically (a reader never sees half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_writes(target)
    tmp = target.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **feats, n_samples=np.int64(n_samples))
    os.replace(tmp, target)


def _extract_one(job: tuple[str, FeatureParams, str]) -> tuple[str, str | None, str | None]:
    """Worker: returns (path, cache file or None, error reason or None)."""
    path, params, cache_dir = job
    try:
        target = cache_path(file_digest(path), params, Path(cache_dir))
        if not target.exists():
            # One BLAS thread per job: with a process per core, threaded BLAS oversubscribes
            # the machine (2 processes on 2 cores ran 1.5x faster than one sequential loop
            # with default threading, 2.0x with this limit), and every path (in-process,
            # pool, Dask) sums in the same order, so features are identical bit for bit.
            with threadpool_limits(1):
                y = fit_to_tile(load_audio(path, params.sample_rate), params, path)
                feats = compute_features(y, params)
            write_cache(target, feats, y.size)
        return path, str(target), None
    except AudioError as exc:
        return path, None, exc.reason
    except OSError as exc:
        return path, None, f"cannot read file ({exc})"


def _run_local(jobs: list, n_jobs: int | None, bar) -> dict[str, tuple[str | None, str | None]]:
    return {path: (target, error)
            for path, target, error in process_map(_extract_one, jobs, n_jobs, bar)}  # fmt: skip


def _run_dask(jobs: list, scheduler: str, bar) -> dict[str, tuple[str | None, str | None]]:
    """Submit the same per-file work to a Dask distributed cluster (workers must see the
    audio and the cache folder at the same paths, e.g. a shared file system)."""
    from distributed import as_completed

    from ..runtime.cluster import dask_client

    results = {}
    client = dask_client(scheduler)
    with client:
        futures = client.map(_extract_one, jobs, pure=False)
        for future in as_completed(futures, loop=client.loop):
            path, target, error = future.result()
            results[path] = (target, error)
            bar.update()
    return results


def extract(
    manifest: Manifest,
    params: FeatureParams = FeatureParams(),
    cache_dir: str | os.PathLike[str] | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    scheduler: str | None = None,
) -> Manifest:
    """Compute (or find in the cache) the features of every cue of ``manifest``.

    Work runs in ``n_jobs`` local processes, or on the Dask cluster at
    ``scheduler`` when given; either way each file is decoded once and its
    features land in the same cache. Returns a manifest with a ``features``
    column (cache file) and ``n_tiles``; cues that fail to decode, and copies of
    a file already listed, move to the skipped list with their reason.
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    jobs = [(p, params, str(cache_dir)) for p in manifest.cues["path"]]
    disable = None if progress is None else not progress
    with tqdm(total=len(jobs), desc="features", unit="cue", leave=False, disable=disable) as bar:
        if scheduler:
            results = _run_dask(jobs, scheduler, bar)
        else:
            results = _run_local(jobs, n_jobs, bar)
    cues = manifest.cues.copy()
    # a plain list: pandas turns None into NaN in a column, and NaN is one object, so two
    # undecodable files would look like copies of each other below
    targets = [results[p][0] for p in cues["path"]]
    errors = [{"path": p, "reason": results[p][1]} for p in cues["path"] if results[p][1]]
    # the same bytes under two names would put one recording on both sides of a split
    first_with: dict[str, str] = {}
    for i, (path, target) in enumerate(zip(cues["path"], targets, strict=True)):
        if target is None:
            continue
        if target in first_with:
            errors.append(
                {"path": path, "reason": f"duplicate of {first_with[target]} (same content)"}
            )
            targets[i] = None
        else:
            first_with[target] = path
    cues["features"] = targets
    cues = cues[cues["features"].notna()].reset_index(drop=True)
    frames = []
    for f in cues["features"]:
        with np.load(f) as z:  # read the stored sample count, not the feature matrices
            frames.append(1 + int(z["n_samples"]) // params.hop_length)
    n_frames = np.array(frames, dtype=int)
    cues["n_tiles"] = np.where(
        n_frames >= params.tile_frames,
        (n_frames - params.tile_frames) // params.tile_hop_frames + 1,
        0,
    )
    skipped = pd.concat(
        [manifest.skipped, pd.DataFrame(errors, columns=["path", "reason"])], ignore_index=True
    )
    # a film whose every file failed here (corrupt, a duplicate ...) is gone as surely as a
    # film without files: say so in the label notes too
    lost = [f for f in dict.fromkeys(manifest.cues["film"]) if f not in set(cues["film"])]
    notes = pd.concat([manifest.label_notes, pd.DataFrame(
        [{"film": f, "note": NO_USABLE_AUDIO + "every file of the film was skipped "
          "when decoding (see skipped.csv)"} for f in lost], columns=["film", "note"])],
        ignore_index=True)  # fmt: skip
    return Manifest(cues, skipped, notes, manifest.genres)


@dataclass
class TileSet:
    """Tiles of one split with their labels and the cue each came from."""

    x: np.ndarray  # (tiles, bins, frames)
    y: np.ndarray  # (tiles, genres)
    cue: np.ndarray  # (tiles,) row index into ``cues``
    cues: pd.DataFrame  # the split's cues, in order
    genres: tuple[str, ...]

    def cue_labels(self) -> np.ndarray:
        """Multi-hot genres per cue (cues x genres)."""
        return self.cues[list(self.genres)].to_numpy(dtype=np.float32)


def load_tiles(
    manifest: Manifest,
    split: str | None,
    kind: str = "mfcc",
    params: FeatureParams = FeatureParams(),
) -> TileSet:
    """Stack the cached tiles of one split (or all cues when ``split`` is None)."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose one of {FEATURE_KINDS}")
    if "features" not in manifest.cues:
        raise ValueError("manifest has no features yet: call features.extract(manifest) first")
    cues = manifest.cues if split is None else manifest.split(split)
    cues = cues.reset_index(drop=True)
    genres = list(manifest.genres)
    cue_y = cues[genres].to_numpy(dtype=np.float32)
    xs, idx = [], []
    for i, features_file in enumerate(cues["features"]):
        with np.load(features_file) as z:
            tiles = tile(z[kind], params)
        xs.append(tiles)
        idx.append(np.full(len(tiles), i))
    n_bins = params.n_mels if kind == "logmel" else params.n_mfcc
    x = np.concatenate(xs) if xs else np.empty((0, n_bins, params.tile_frames), np.float32)
    cue = np.concatenate(idx) if idx else np.empty(0, int)
    return TileSet(x.astype(np.float32), cue_y[cue], cue, cues, manifest.genres)


def load_summaries(
    manifest: Manifest, split: str | None
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Per-cue MFCC summary statistics of one split: (features, labels, cues)."""
    cues = manifest.cues if split is None else manifest.split(split)
    cues = cues.reset_index(drop=True)
    feats = []
    for f in cues["features"]:
        with np.load(f) as z:
            feats.append(summary_statistics(z["mfcc"]))
    x = np.stack(feats) if feats else np.empty((0, 0), np.float32)
    return x, cues[list(manifest.genres)].to_numpy(np.float32), cues
