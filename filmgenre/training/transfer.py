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
    _store(cache, model, features_file, [np.asarray(o, np.float32) for o in outputs])
    return np.load(target)


def _store(cache: Path, model: str, features_file: str, outputs: list[np.ndarray]) -> None:
    for name, out in zip(EMBEDDING_LAYERS, outputs, strict=True):
        file = _embedding_file(cache, model, name, features_file)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, np.asarray(out, dtype=np.float32))
        os.replace(tmp, file)


#: patches a batched pass sends through the network at once: the front-end's widest
#: activation is 9 MB a patch, so 64 keep a pass under 1 GB and within 10% of the
#: throughput of larger batches (55 patches/s on 2 cores, float32)
PASS_BATCH = 64


_PASSES: dict[str, object] = {}


def _pass(model: str):
    """The network's forward pass as one compiled function for any number of patches: under
    TensorFlow a ``tf.function`` with an unknown batch size (``predict_on_batch`` traced
    again for every new batch size, and TensorFlow warned about it); other backends
    ``predict_on_batch``."""
    import keras

    if model not in _PASSES:
        net = embedder(model)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            spec = tf.TensorSpec([None, musicnn.PATCH_FRAMES, musicnn.N_MELS], tf.float32)
            _PASSES[model] = tf.function(lambda x: net(x, training=False), input_signature=[spec])
        else:
            _PASSES[model] = net.predict_on_batch
    return _PASSES[model]


#: patches held in memory at once by :func:`embed_many` (1024 x 72 KB of input): a chunk
#: of hour-long recordings goes through in several rounds, not as gigabytes of patches
ROUND_PATCHES = 1024


def embed_many(features_files: list[str], model: str, cache: Path,
               batch_size: int = PASS_BATCH) -> list[dict[str, np.ndarray]]:  # fmt: skip
    """Every :data:`EMBEDDING_LAYERS` output of many cues, from the cache where it is there;
    the cues not cached yet share batches (one call per ``batch_size`` patches, across
    cues: a 15 s cue has 5 patches, and a ``predict`` per cue cost as much as its compute)
    and are cached as :func:`patch_embeddings` caches them, the same numbers."""
    out: list[dict[str, np.ndarray] | None] = [None] * len(features_files)
    pending: list[tuple[int, np.ndarray]] = []  # (row, its patches) not cached yet
    for i, f in enumerate(features_files):
        if all(_embedding_file(cache, model, name, f).exists() for name in EMBEDDING_LAYERS):
            out[i] = {name: np.load(_embedding_file(cache, model, name, f))
                      for name in EMBEDDING_LAYERS}  # fmt: skip
            continue
        pending.append((i, musicnn.patches(np.load(input_path(f, cache)).astype(np.float32))))
        if sum(len(x) for _, x in pending) >= ROUND_PATCHES:
            _embed_round(pending, features_files, model, cache, batch_size, out)
            pending = []
    if pending:
        _embed_round(pending, features_files, model, cache, batch_size, out)
    return out  # type: ignore[return-value]


def _embed_round(pending: list[tuple[int, np.ndarray]], files: list[str], model: str,
                 cache: Path, batch_size: int, out: list) -> None:  # fmt: skip
    """One pass over the patches of ``pending`` files; their outputs cached and put in ``out``."""
    forward = _pass(model)
    x = np.concatenate([patches for _, patches in pending])
    parts = [[np.asarray(o, np.float32) for o in forward(x[s : s + batch_size])]
             for s in range(0, len(x), batch_size)]  # fmt: skip
    layers = [np.concatenate([p[k] for p in parts]) for k in range(len(EMBEDDING_LAYERS))]
    start = 0
    for row, patches in pending:
        outputs = [layer[start : start + len(patches)] for layer in layers]
        start += len(patches)
        _store(cache, model, files[row], outputs)
        out[row] = dict(zip(EMBEDDING_LAYERS, outputs, strict=True))


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
