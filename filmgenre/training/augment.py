"""Data augmentation for training CNNs from scratch on small real collections.

Audio-domain effects come from audiomentations (a maintained library, not hand-written
DSP): gain, Gaussian noise at a random SNR, pitch shift and time stretch. Each cue gets
``n_variants`` augmented renderings, decoded and featurised once and cached like its
plain features (keyed by content, feature parameters, the effect settings and the
variant's seed), so every epoch and every cross-validation fold reuses them. Random
crops (tiles cut at a finer hop than the default) and mixup (:class:`MixupBatches`)
act on the features at training time.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..config import FeatureParams
from ..data.audio import load_audio
from ..data.dataset import Manifest
from ..data.features import compute_features, default_cache_dir, fit_to_tile, tile
from ..runtime.pools import process_map

#: the effect settings; part of every variant's cache key
EFFECTS = {
    "gain_db": (-6.0, 6.0),
    "noise_snr_db": (15.0, 40.0),
    "noise_p": 0.5,
    "pitch_semitones": (-2.0, 2.0),
    "pitch_p": 0.8,
    "stretch_rate": (0.85, 1.15),
    "stretch_p": 0.8,
}


def effects_key(params: FeatureParams) -> str:
    """Short hash of the effects and feature parameters (cache folder of the variants)."""
    blob = json.dumps({"effects": EFFECTS, "features": params.to_dict()}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def augmenter():
    """The audiomentations chain: gain, noise, pitch shift, time stretch (length kept)."""
    from audiomentations import AddGaussianSNR, Compose, Gain, PitchShift, TimeStretch

    e = EFFECTS
    return Compose([
        Gain(min_gain_db=e["gain_db"][0], max_gain_db=e["gain_db"][1], p=1.0),
        AddGaussianSNR(min_snr_db=e["noise_snr_db"][0], max_snr_db=e["noise_snr_db"][1],
                       p=e["noise_p"]),
        PitchShift(min_semitones=e["pitch_semitones"][0], max_semitones=e["pitch_semitones"][1],
                   p=e["pitch_p"]),
        TimeStretch(min_rate=e["stretch_rate"][0], max_rate=e["stretch_rate"][1],
                    leave_length_unchanged=False, p=e["stretch_p"]),
    ])  # fmt: skip


def variant_path(features_file: str, variant: int, params: FeatureParams, cache: Path) -> Path:
    digest = Path(features_file).stem  # the plain features are named by the audio's SHA-1
    return cache / f"augmented-{effects_key(params)}" / digest[:2] / f"{digest}-{variant}.npz"


def _render(job: tuple[str, str, int, FeatureParams, str]) -> str:
    path, features_file, variant, params, cache = job
    target = variant_path(features_file, variant, params, Path(cache))
    if target.exists():
        return str(target)
    seed = int(Path(features_file).stem[:8], 16) + variant  # repeatable per cue and variant
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (audiomentations draws from the global state)
    with threadpool_limits(1):
        y = load_audio(path, params.sample_rate)
        y = augmenter()(samples=y, sample_rate=params.sample_rate)
        feats = compute_features(fit_to_tile(y, params, path), params)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **feats)
    os.replace(tmp, target)
    return str(target)


def extract_variants(
    manifest: Manifest,
    n_variants: int,
    params: FeatureParams = FeatureParams(),
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> None:
    """Render and cache ``n_variants`` augmented versions of every cue (in parallel)."""
    cache = default_cache_dir()
    jobs = [
        (p, f, v, params, str(cache))
        for p, f in zip(manifest.cues["path"], manifest.cues["features"], strict=True)
        for v in range(n_variants)
        if not variant_path(f, v, params, cache).exists()
    ]
    if not jobs:
        return
    disable = None if progress is None else not progress
    bar = tqdm(total=len(jobs), desc="augment", unit="variant", leave=False, disable=disable)
    with bar:
        for _ in process_map(_render, jobs, n_jobs, bar):
            pass


def variant_tiles(
    manifest: Manifest,
    split: str,
    n_variants: int,
    kind: str,
    params: FeatureParams = FeatureParams(),
    crop_hop_frames: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(tiles, labels) of the cached augmented variants of one split's cues, cut every
    ``crop_hop_frames`` (default: the parameters' tile hop)."""
    cut = replace(params, tile_hop_frames=crop_hop_frames or params.tile_hop_frames)
    cache = default_cache_dir()
    cues = manifest.split(split).reset_index(drop=True)
    y_cue = cues[list(manifest.genres)].to_numpy(np.float32)
    xs, ys = [], []
    for i, f in enumerate(cues["features"]):
        for v in range(n_variants):
            file = variant_path(f, v, params, cache)
            if not file.exists():
                hint = "call augment.extract_variants(manifest, ...) first"
                raise FileNotFoundError(f"{file}: augmented variant missing; {hint}")
            with np.load(file) as z:
                t = tile(z[kind], cut)
            xs.append(t)
            ys.append(np.repeat(y_cue[i : i + 1], len(t), axis=0))
    if not xs:
        return np.empty((0, 0, params.tile_frames), np.float32), np.empty((0, len(manifest.genres)))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def mix(x: np.ndarray, y: np.ndarray, alpha: float, rng: np.random.Generator):
    """Mixup (Zhang et al. 2018): each example blended with another of the batch, weight
    ~ Beta(alpha, alpha), the example keeping the larger share."""
    partner = rng.permutation(len(x))
    lam = rng.beta(alpha, alpha, size=len(x)).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)
    lx = lam.reshape((-1,) + (1,) * (x.ndim - 1))
    return lx * x + (1 - lx) * x[partner], lam[:, None] * y + (1 - lam[:, None]) * y[partner]


def mixup_batches(x: np.ndarray, y: np.ndarray, batch_size: int, alpha: float, seed: int = 0):
    """A ``keras.utils.PyDataset`` of shuffled batches mixed pairwise (Zhang et al. 2018):
    each example blended with another of the batch, weight ~ Beta(alpha, alpha)."""
    import keras

    class MixupBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(x))

        def __len__(self) -> int:
            return int(np.ceil(len(x) / batch_size))

        def __getitem__(self, index: int):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            return mix(x[rows], y[rows], alpha, self.rng)

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(len(x))

    return MixupBatches()
