"""Transfer from the pretrained musicnn tagger: its patches per split for training, and
its per-patch embeddings, cached like the other features.

musicnn listens at 16 kHz through 96 mel bands (its own spec, not the study's): the input
spectrogram is :mod:`filmgenre.data.musicnn_input`'s, cached under
``<cache>/musicnn-<spec>/``; the embeddings of each pretrained model are cached beside it,
keyed by the same content hash as the cue's other features.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..data.dataset import Manifest
from ..data.features import default_cache_dir
from ..data.musicnn_input import SPEC_KEY, content_digest, input_path
from ..models import musicnn
from .streaming import evenly_spaced


def _cues(manifest: Manifest, split: str | None) -> pd.DataFrame:
    cues = manifest.cues if split is None else manifest.split(split)
    return cues.reset_index(drop=True)


def load_patches(
    manifest: Manifest,
    split: str | None,
    max_per_cue: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """(patches, labels, cue index, cues) of one split, 3 s patches without overlap.

    ``max_per_cue`` keeps that many evenly spread patches of each cue (for training
    budgets on CPU); None keeps them all.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cues = _cues(manifest, split)
    xs, idx = [], []
    for i, f in enumerate(cues["features"]):
        p = musicnn.patches(np.load(input_path(f, cache)).astype(np.float32))
        p = p[evenly_spaced(len(p), max_per_cue)]
        xs.append(p)
        idx.append(np.full(len(p), i))
    shape = (0, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    x = np.concatenate(xs) if xs else np.empty(shape, np.float32)
    cue = np.concatenate(idx) if idx else np.empty(0, int)
    y = cues[list(manifest.genres)].to_numpy(np.float32)
    return x, y[cue], cue, cues


#: embedding layers of the pretrained network: name -> Keras layer. ``taggram``: its 50 tag
#: probabilities; ``penultimate``: the 200-d dense layer; ``pool``: mean+max of the mid-end
#: over time (1506-d)
EMBEDDING_LAYERS = {"taggram": "dense_1", "penultimate": "penultimate", "pool": "pool"}

_EMBEDDERS: dict[str, object] = {}


def embedder(model: str = "MTT_musicnn"):
    """The pretrained network with one output per :data:`EMBEDDING_LAYERS` entry."""
    import keras

    if model not in _EMBEDDERS:
        net = musicnn.load_pretrained(model)
        outputs = [net.get_layer(name).output for name in EMBEDDING_LAYERS.values()]
        _EMBEDDERS[model] = keras.Model(net.input, outputs)
    return _EMBEDDERS[model]


def _embedding_file(cache: Path, model: str, layer: str, features_file: str) -> Path:
    return cache / f"musicnn-{SPEC_KEY}-{model}-{layer}" / f"{content_digest(features_file)}.npy"


def patch_embeddings(
    features_file: str, model: str, layer: str, cache: Path, batch_size: int = 32
) -> np.ndarray:
    """(patches x dims) embedding of one cue; every layer of a pass is cached at once."""
    if layer not in EMBEDDING_LAYERS:
        raise ValueError(f"unknown musicnn layer {layer!r}; choose one of {list(EMBEDDING_LAYERS)}")
    target = _embedding_file(cache, model, layer, features_file)
    if target.exists():
        return np.load(target)
    p = musicnn.patches(np.load(input_path(features_file, cache)).astype(np.float32))
    outputs = embedder(model).predict(p, batch_size=batch_size, verbose=0)
    for name, out in zip(EMBEDDING_LAYERS, outputs, strict=True):
        file = _embedding_file(cache, model, name, features_file)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, np.asarray(out, dtype=np.float32))
        os.replace(tmp, file)
    return np.load(target)


def load_embeddings(
    manifest: Manifest,
    split: str | None,
    model: str = "MTT_musicnn",
    layer: str = "penultimate",
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Per-cue musicnn embedding: mean and spread over the cue's 3 s patches.

    Per-patch embeddings are cached by content hash, model and layer, so each cue
    passes through the pretrained network once.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cues = _cues(manifest, split)
    rows = []
    disable = None if progress is None else not progress
    for f in tqdm(cues["features"], desc=f"{model} {layer}", unit="cue", leave=False,
                  disable=disable):  # fmt: skip
        emb = patch_embeddings(f, model, layer, cache)
        rows.append(np.concatenate([emb.mean(0), emb.std(0)]))
    x = np.stack(rows).astype(np.float32) if rows else np.empty((0, 0), np.float32)
    return x, cues[list(manifest.genres)].to_numpy(np.float32), cues


def top_tags(
    manifest: Manifest, n_cues: int = 8, k: int = 5, model: str = "MTT_musicnn", seed: int = 0
) -> pd.DataFrame:
    """What the pretrained tagger hears in a few cues: its top ``k`` of 50 tags per cue."""
    net = musicnn.load_pretrained(model)
    labels = musicnn.PRETRAINED[model]
    cues = manifest.cues.sample(min(n_cues, len(manifest.cues)), random_state=seed)
    rows = []
    for _, cue in cues.iterrows():
        p = musicnn.patches(np.load(input_path(cue["features"], default_cache_dir())).astype(
            np.float32))  # fmt: skip
        scores = np.asarray(net.predict(p, verbose=0)).mean(0)
        top = ", ".join(f"{labels[j]} {scores[j]:.2f}" for j in np.argsort(-scores)[:k])
        rows.append({"film": cue["film"], "cue": cue["cue"], "genres": cue["genres"], model: top})
    return pd.DataFrame(rows)
