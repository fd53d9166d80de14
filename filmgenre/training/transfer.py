"""Transfer from the pretrained musicnn tagger: its patches per split for training, and
its per-patch embeddings, cached like the other features.

musicnn listens at 16 kHz through 96 mel bands (its own spec, not the study's): the input
spectrogram is :mod:`filmgenre.data.musicnn_input`'s, cached under
``<cache>/musicnn-<spec>/``; the embeddings of each pretrained model are cached beside it,
keyed by the same content hash as the cue's other features.
"""

from __future__ import annotations

import functools
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
#: the VGG checkpoints' (``MTT_vgg``, ``MSD_vgg``): ``taggram``, its 50 tags; ``pool5``, the
#: last pooling flattened (256-d), the layer under the tags and the extractor's deepest
VGG_EMBEDDING_LAYERS = {"taggram": "dense", "pool5": "pool5"}


def embedding_layers(model: str) -> dict[str, str]:
    """The embedding layers of checkpoint ``model`` (name -> Keras layer), in output order."""
    return VGG_EMBEDDING_LAYERS if musicnn.architecture(model) == "vgg" else EMBEDDING_LAYERS


#: precisions musicnn's pass runs at: "float32" is what every shipped model was trained on;
#: "bfloat16" is 1.5x faster on CPUs with bfloat16 units, within the tolerance that
#: ``tests/models/test_musicnn_openvino.py`` states; its embeddings are cached apart
PRECISIONS = ("float32", "bfloat16")

#: engines for musicnn's pass: Keras (any backend, the GPU's) or OpenVINO (CPU only)
ENGINES = ("keras", "openvino")

_EMBEDDERS: dict[tuple[str, str], object] = {}


def engine() -> str:
    """How musicnn's pass runs in this process: ``FILMGENRE_MUSICNN_ENGINE`` where set,
    else OpenVINO where it is installed and Keras sees no GPU (1.3x Keras's float32 speed
    on CPUs), else Keras."""
    chosen = os.environ.get("FILMGENRE_MUSICNN_ENGINE", "auto")
    if chosen not in (*ENGINES, "auto"):
        raise ValueError(f"FILMGENRE_MUSICNN_ENGINE={chosen!r}: choose one of {ENGINES} or auto")
    return _auto_engine() if chosen == "auto" else chosen


@functools.cache
def _auto_engine() -> str:
    """OpenVINO where it imports and Keras has no GPU, else Keras (asked once a process)."""
    from ..models import musicnn_openvino
    from ..runtime.devices import has_accelerator

    return "openvino" if not has_accelerator() and musicnn_openvino.available() else "keras"


def embedder(model: str = "MTT_musicnn", precision: str = "float32"):
    """The pretrained Keras network with one output per :func:`embedding_layers` entry
    (``bfloat16``: built under Keras's ``mixed_bfloat16`` policy)."""
    import keras

    _check_precision(precision)
    if (model, precision) not in _EMBEDDERS:
        policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32" if precision == "float32" else "mixed_bfloat16")
        try:
            net = musicnn.load_pretrained(model)
        finally:
            keras.config.set_dtype_policy(policy)
        outputs = [net.get_layer(name).output for name in embedding_layers(model).values()]
        _EMBEDDERS[model, precision] = keras.Model(net.input, outputs)
    return _EMBEDDERS[model, precision]


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown musicnn precision {precision!r}; choose one of {PRECISIONS}")


def _embedding_file(cache: Path, model: str, layer: str, features_file: str,
                    precision: str = "float32") -> Path:  # fmt: skip
    kind = model if precision == "float32" else f"{model}-{precision}"
    return cache / f"musicnn-{SPEC_KEY}-{kind}-{layer}" / f"{content_digest(features_file)}.npy"


def patch_embeddings(features_file: str, model: str, layer: str, cache: Path,
                     precision: str = "float32") -> np.ndarray:  # fmt: skip
    """(patches x dims) embedding of one cue; every layer of a pass is cached at once."""
    if layer not in embedding_layers(model):
        raise ValueError(f"unknown {model} layer {layer!r}; choose one of "
                         f"{list(embedding_layers(model))}")  # fmt: skip
    target = _embedding_file(cache, model, layer, features_file, precision)
    if not target.exists():
        embed_many([features_file], model, cache, precision=precision)
    return np.load(target)


def _store(cache: Path, model: str, features_file: str, outputs: list[np.ndarray],
           precision: str) -> None:  # fmt: skip
    for name, out in zip(embedding_layers(model), outputs, strict=True):
        file = _embedding_file(cache, model, name, features_file, precision)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, np.asarray(out, dtype=np.float32))
        os.replace(tmp, file)


#: patches a batched pass sends through the network at once on a CPU: the front-end's
#: widest activation is 9 MB a patch, so 64 keep a pass under 1 GB and within 10% of the
#: throughput of larger batches (55 patches/s on 2 cores, float32)
PASS_BATCH = 64

#: bytes of accelerator memory a patch of a pass takes at most (its activations, float32,
#: with room for the backend's workspace); a GPU's batch is a quarter of its memory over this
PATCH_BYTES = 24 << 20


def pass_batch() -> int:
    """Patches per call of musicnn's pass here: :data:`PASS_BATCH` on a CPU; on a GPU as
    many as a quarter of its memory holds (at least 1,024, as the card is idle below)."""
    from ..runtime.devices import accelerator_memory

    memory = accelerator_memory()
    if memory is None:
        return PASS_BATCH
    return max(1024, min(16384, memory // 4 // PATCH_BYTES))


#: 3 s patches of a 15 s cue, the shortest track a library holds many of: batches of files
#: are sized by it so a GPU's pass is full
CUE_PATCHES = 5


def cues_to_fill(batch: int) -> int:
    """15 s cues that fill a pass of ``batch`` patches on a GPU (a batch above
    :data:`PASS_BATCH`); 0 on a CPU, where a few files' patches already make a batch."""
    return -(-batch // CUE_PATCHES) if batch > PASS_BATCH else 0

_PASSES: dict[tuple[str, str, str], object] = {}

#: threads OpenVINO's pass may use (None: every core); a single-threaded Dask worker sets 1
_THREADS: list[int | None] = [None]


def limit_threads(n: int | None) -> None:
    """Threads musicnn's OpenVINO pass uses in this process from now on (None: all)."""
    _THREADS[0] = n
    _PASSES.clear()


def forward_pass(model: str, precision: str = "float32"):
    """The network's forward pass as one compiled function for any number of patches
    (outputs as :func:`embedding_layers`): OpenVINO's (:mod:`filmgenre.models.musicnn_openvino`);
    under Keras with TensorFlow a ``tf.function`` with an unknown batch size
    (``predict_on_batch`` traced again for every new batch size, and TensorFlow warned
    about it); other backends ``predict_on_batch``. OpenVINO's imports no Keras."""
    _check_precision(precision)
    how = engine()
    if (model, how, precision) not in _PASSES:
        _PASSES[model, how, precision] = _compile_pass(model, how, precision)
    return _PASSES[model, how, precision]


def _compile_pass(model: str, how: str, precision: str):
    if how == "openvino":
        from ..models import musicnn_openvino

        return musicnn_openvino.compile_pass(model, precision, _THREADS[0])
    import keras

    if keras.backend.backend() != "tensorflow":
        return embedder(model, precision).predict_on_batch
    import tensorflow as tf

    net = embedder(model, precision)
    spec = tf.TensorSpec([None, musicnn.PATCH_FRAMES, musicnn.N_MELS], tf.float32)
    fn = tf.function(lambda x: net(x, training=False), input_signature=[spec])
    fn.get_concrete_function()  # traced now, once, not inside the first batch
    return fn


#: patches held in memory at once by :func:`embed_many` (1024 x 72 KB of input) on a CPU,
#: four batches on a GPU: a chunk of hour-long recordings goes through in several rounds,
#: not as gigabytes of patches
ROUND_PATCHES = 1024


def embed_many(features_files: list[str], model: str, cache: Path, batch_size: int | None = None,
               precision: str = "float32") -> list[dict[str, np.ndarray]]:  # fmt: skip
    """Every :func:`embedding_layers` output of many cues, from the cache where it is there;
    the cues not cached yet share batches (one call per ``batch_size`` patches, default
    :func:`pass_batch`, across cues: a 15 s cue has 5 patches, and a ``predict`` per cue
    cost as much as its compute) and are cached."""
    batch_size = batch_size or pass_batch()
    round_patches = max(ROUND_PATCHES, 4 * batch_size)
    out: list[dict[str, np.ndarray] | None] = [None] * len(features_files)
    pending: list[tuple[int, np.ndarray]] = []  # (row, its patches) not cached yet
    for i, f in enumerate(features_files):
        files = {name: _embedding_file(cache, model, name, f, precision)
                 for name in embedding_layers(model)}  # fmt: skip
        if all(file.exists() for file in files.values()):
            out[i] = {name: np.load(file) for name, file in files.items()}
            continue
        pending.append((i, musicnn.patches(np.load(input_path(f, cache)).astype(np.float32))))
        if sum(len(x) for _, x in pending) >= round_patches:
            _embed_round(pending, features_files, model, cache, batch_size, out, precision)
            pending = []
    if pending:
        _embed_round(pending, features_files, model, cache, batch_size, out, precision)
    return out  # type: ignore[return-value]


def _embed_round(pending: list[tuple[int, np.ndarray]], files: list[str], model: str,
                 cache: Path, batch_size: int, out: list, precision: str) -> None:  # fmt: skip
    """One pass over the patches of ``pending`` files; their outputs cached and put in ``out``."""
    forward = forward_pass(model, precision)
    x = np.concatenate([patches for _, patches in pending])
    parts = [[np.asarray(o, np.float32) for o in forward(x[s : s + batch_size])]
             for s in range(0, len(x), batch_size)]  # fmt: skip
    names = embedding_layers(model)
    layers = [np.concatenate([p[k] for p in parts]) for k in range(len(names))]
    start = 0
    for row, patches in pending:
        outputs = [layer[start : start + len(patches)] for layer in layers]
        start += len(patches)
        _store(cache, model, files[row], outputs, precision)
        out[row] = dict(zip(names, outputs, strict=True))


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
