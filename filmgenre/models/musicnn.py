"""musicnn and its VGG baseline (Pons & Serra 2019) ported to Keras 3, with their weights.

The ``musicnn`` wheel on PyPI carries TensorFlow-1 checkpoints of networks trained
on MagnaTagATune (``MTT_musicnn``, ``MTT_vgg``: 50 tags) and the Million Song Dataset
(``MSD_musicnn``, ``MSD_vgg``: 50 tags), but its code needs TensorFlow 1. This module
rebuilds the same graphs (``musicnn/models.py`` in the wheel: the musically motivated
musicnn and a five-layer 3x3 VGG) from Keras layers and copies every checkpoint variable
into them, so the networks run under any Keras backend.

Input: log-compressed mel spectrogram, 16 kHz, n_fft 512, hop 256, 96 bands,
``log10(10000 * mel + 1)``, in patches of 187 frames (3 s), time first.
Install the weights with ``pip install --no-deps musicnn==0.1.0`` (``make setup``
does): its pinned dependencies (TensorFlow 1, NumPy < 1.17) are not needed here.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np

from ..data.musicnn_input import (  # noqa: F401  (the input spec, read here too)
    HOP_LENGTH,
    MSD_LABELS,
    MTT_LABELS,
    N_FFT,
    N_MELS,
    PATCH_FRAMES,
    PRETRAINED,
    SAMPLE_RATE,
    input_features,
    patches,
)


class MusicnnUnavailable(RuntimeError):
    """The pretrained checkpoints (the ``musicnn`` wheel) or TensorFlow are missing."""


def checkpoint_dir(model: str = "MTT_musicnn") -> Path:
    """Folder of a pretrained checkpoint inside the installed ``musicnn`` wheel."""
    if model not in PRETRAINED:
        raise KeyError(f"unknown musicnn model {model!r}; choose one of {sorted(PRETRAINED)}")
    spec = importlib.util.find_spec("musicnn")  # finds the files without importing TF-1 code
    if spec is None or not spec.submodule_search_locations:
        raise MusicnnUnavailable(
            "the musicnn checkpoints are not installed: run "
            "`pip install --no-deps musicnn==0.1.0` (make setup does)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / model
    if not (folder / ".index").is_file():
        raise MusicnnUnavailable(f"{folder}: no checkpoint (.index) in the musicnn wheel")
    return folder


def build_musicnn(
    n_outputs: int = 50,
    frames: int = PATCH_FRAMES,
    n_mels: int = N_MELS,
    midend_filters: int = 64,
    backend_units: int = 200,
    output_activation: str | None = "sigmoid",
    name: str = "musicnn",
):
    """The musicnn graph: musically motivated front-end (timbral 7x38/7x67 and temporal
    128/64/32-frame filters, max-pooled over frequency), dense-residual 1-D mid-end,
    mean+max temporal pooling and a dense back-end.

    Layer names follow the checkpoint's variable names so :func:`load_checkpoint`
    can copy them; the 200-unit ``penultimate`` layer and the mean/max ``pool``
    are the embeddings musicnn's extractor offers.
    """
    import keras
    from keras import layers

    from .layers import Interleave, ReduceMax  # Keras layers: imported where Keras is used

    inputs = keras.Input(shape=(frames, n_mels), name="patch")
    x = layers.Reshape((frames, n_mels, 1))(inputs)
    x = layers.BatchNormalization(name="batch_normalization")(x)

    def over_frequency(t, bn: str):
        t = layers.BatchNormalization(name=bn)(t)
        return ReduceMax(axis=2, name=f"{bn}_freqmax")(t)

    padded = layers.ZeroPadding2D(((3, 3), (0, 0)))(x)
    front = []
    for i, width in enumerate((int(0.4 * n_mels), int(0.7 * n_mels))):
        t = layers.Conv2D(204, (7, width), activation="relu", name=f"conv2d{'_1' if i else ''}")(
            padded
        )
        front.append(over_frequency(t, f"batch_normalization_{i + 1}"))
    for i, length in enumerate((128, 64, 32)):
        conv = layers.Conv2D(
            51, (length, 1), padding="same", activation="relu", name=f"conv2d_{i + 2}"
        )
        t = conv(x)
        front.append(over_frequency(t, f"batch_normalization_{i + 3}"))
    frontend = layers.Concatenate(name="frontend")(front)  # (frames, 561)

    def mid(t, i: int):
        conv = layers.Conv1D(
            midend_filters, 7, padding="same", activation="relu", name=f"conv2d_{i + 5}"
        )
        t = conv(t)
        return layers.BatchNormalization(name=f"batch_normalization_{i + 6}")(t)

    m1 = mid(frontend, 0)
    m2 = layers.Add()([mid(m1, 1), m1])
    m3 = layers.Add()([mid(m2, 2), m2])
    midend = layers.Concatenate(name="midend")([frontend, m1, m2, m3])  # (frames, 753)

    # TF-1 stacked max and mean on a trailing axis and flattened: features interleave
    max_pool = layers.GlobalMaxPooling1D(name="max_pool")(midend)
    mean_pool = layers.GlobalAveragePooling1D(name="mean_pool")(midend)
    pooled = Interleave(name="pool")([max_pool, mean_pool])
    x = layers.BatchNormalization(name="batch_normalization_9")(pooled)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(backend_units, activation="relu", name="dense")(x)
    x = layers.BatchNormalization(name="penultimate")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(
        n_outputs, activation=output_activation, name="dense_1", dtype="float32"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def architecture(model: str) -> str:
    """``"vgg"`` or ``"musicnn"``: which graph a checkpoint of the wheel belongs to."""
    if model not in PRETRAINED:
        raise KeyError(f"unknown musicnn model {model!r}; choose one of {sorted(PRETRAINED)}")
    return "vgg" if model.endswith("_vgg") else "musicnn"


#: each VGG checkpoint's max-pooling (window, stride) per layer, (time, frequency), as its
#: saved graph (the checkpoint's ``.meta``) has them: the wheel's ``models.py`` gives MTT's
#: for both, but ``MSD_vgg`` was trained pooling 4x in time, then 4x in frequency, first
VGG_POOLS = {
    "MTT_vgg": (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
                ((4, 4), (4, 4))),
    "MSD_vgg": (((4, 1), (4, 1)), ((1, 4), (1, 4)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
                ((4, 4), (4, 4))),
}  # fmt: skip


def build_vgg(
    pools=VGG_POOLS["MTT_vgg"],
    n_outputs: int = 50,
    frames: int = PATCH_FRAMES,
    n_mels: int = N_MELS,
    filters: int = 128,
    output_activation: str | None = "sigmoid",
    name: str = "vgg",
):
    """The wheel's VGG: five 3x3 convolutions of ``filters`` channels, each batch-normalised
    and max-pooled (``pools``: (window, stride) per layer, :data:`VGG_POOLS`), the last
    pooling (``pool5``: 2 x 1 x 128 for a 3 s patch with either checkpoint's pools, 256
    values flattened) into a dense tag layer. Layer names follow the checkpoint's (``1CNN``
    ... ``5CNN``, ``batch_normalization_<i>``, ``dense``); ``pool5`` is the embedding."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(frames, n_mels), name="patch")
    x = layers.Reshape((frames, n_mels, 1))(inputs)
    x = layers.BatchNormalization(name="batch_normalization")(x)
    for i, (window, stride) in enumerate(pools, start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{i}CNN")(x)
        x = layers.BatchNormalization(name=f"batch_normalization_{i}")(x)
        x = layers.MaxPooling2D(window, strides=stride, name=f"pool{i}_map")(x)
        if i < len(pools):
            x = layers.Dropout(0.25)(x)
    x = layers.Flatten(name="pool5")(x)  # time, frequency, channel: TF-1's flatten order
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(n_outputs, activation=output_activation, name="dense",
                           dtype="float32")(x)  # fmt: skip
    return keras.Model(inputs, outputs, name=name)


#: checkpoint name of each Keras BatchNormalization layer that was renamed for clarity
_BN_ALIASES = {"penultimate": "batch_normalization_10"}


def weights_cache(model: str = "MTT_musicnn") -> Path:
    """Where :func:`read_checkpoint` caches a checkpoint's arrays (``filmgenre weights``
    writes them; copy the folder to a machine without TensorFlow)."""
    from ..config import data_dir

    return data_dir() / "interim" / "pretrained" / f"{model}.npz"


def read_checkpoint(model: str = "MTT_musicnn") -> dict[str, np.ndarray]:
    """Every variable of a pretrained checkpoint (optimiser slots left out), by TF-1 name.

    Reading the TF-1 checkpoint needs TensorFlow; the arrays are cached as ``.npz``
    beside the project data so other backends can load them afterwards.
    """
    cache = weights_cache(model)
    if cache.is_file():
        with np.load(cache) as z:
            return {k.replace("__", "/"): z[k] for k in z.files}
    folder = checkpoint_dir(model)
    try:
        import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MusicnnUnavailable(
            f"reading the TF-1 checkpoint {folder} once needs TensorFlow ({exc}): run "
            f"`filmgenre weights` where TensorFlow is installed and copy {cache.parent} here"
        ) from exc
    # the files' prefix is empty, so the reader takes the folder path with its trailing slash
    reader = tf.compat.v1.train.NewCheckpointReader(str(folder) + os.sep)
    names = [
        n
        for n in reader.get_variable_to_shape_map()
        if "Adam" not in n and not n.startswith("beta")
    ]
    weights = {n: reader.get_tensor(n) for n in names}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **{k.replace("/", "__"): v for k, v in weights.items()})
    os.replace(tmp, cache)
    return weights


def load_pretrained(model: str = "MTT_musicnn", output_activation: str | None = "sigmoid"):
    """The pretrained tagger (musicnn or VGG, by the checkpoint's name) as a Keras model,
    every checkpoint variable copied in.

    Fails loudly when a checkpoint variable finds no layer or a layer no variable.
    """
    weights = read_checkpoint(model)
    n_outputs = len(PRETRAINED[model])
    if architecture(model) == "vgg":
        net = build_vgg(VGG_POOLS[model], n_outputs, output_activation=output_activation,
                        name=model)  # fmt: skip
    else:
        net = build_musicnn(n_outputs, output_activation=output_activation, name=model)
    used: set[str] = set()
    unset = []
    for layer in net.layers:
        if not layer.weights:
            continue
        key = _BN_ALIASES.get(layer.name, layer.name)
        kind = "BatchNormalization" if isinstance(layer, keras_bn()) else "dense"
        names = ("gamma", "beta", "moving_mean", "moving_variance") if kind != "dense" else (
            "kernel", "bias")  # fmt: skip
        wanted = [f"{key}/{n}" for n in names]
        if not all(w in weights for w in wanted):
            unset.append(layer.name)
            continue
        layer.set_weights(
            [weights[w].reshape(tuple(v.shape)) for w, v in zip(wanted, layer.weights, strict=True)]
        )
        used.update(wanted)
    missing = sorted(set(weights) - used)
    if missing or unset:
        raise MusicnnUnavailable(
            f"{model}: checkpoint and Keras graph disagree (unused variables {missing}, "
            f"layers left without weights {unset})"
        )
    return net


def keras_bn() -> type:
    import keras

    return keras.layers.BatchNormalization


#: layers of the front-end (the expensive, most generic part), frozen when fine-tuning
FRONTEND_LAYERS = ("batch_normalization", "conv2d", "conv2d_1", "conv2d_2", "conv2d_3",
                   "conv2d_4", *(f"batch_normalization_{i}" for i in range(1, 6)))  # fmt: skip


def musicnn_tagger(
    input_shape: tuple[int, int] = (PATCH_FRAMES, N_MELS),
    n_outputs: int = 10,
    pretrained: str = "MTT_musicnn",
    train_frontend: bool = False,
    train_batchnorm: bool = False,
    dropout: float = 0.5,
    name: str = "musicnn_finetuned",
):
    """musicnn with its pretrained weights and a new sigmoid head, for fine-tuning.

    The front-end stays frozen unless ``train_frontend``: it holds most of the
    compute and the most generic (timbre/rhythm) filters, and a small labelled set
    would wear its pretrained knowledge away fastest there. Batch-norm layers stay in
    inference mode with their pretrained statistics unless ``train_batchnorm`` (Keras'
    advice for fine-tuning: small batches of new data would shift them under the weights).
    """
    import keras
    from keras import layers

    if architecture(pretrained) != "musicnn":
        raise ValueError(f"fine-tuning starts from a musicnn checkpoint, not {pretrained!r}")
    if tuple(input_shape) != (PATCH_FRAMES, N_MELS):
        raise ValueError(f"musicnn takes ({PATCH_FRAMES}, {N_MELS}) patches, not {input_shape}")
    base = load_pretrained(pretrained)
    if not train_frontend:
        for layer_name in FRONTEND_LAYERS:
            base.get_layer(layer_name).trainable = False
    if not train_batchnorm:
        for layer in base.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = False
    x = layers.Dropout(dropout)(base.get_layer("penultimate").output)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(base.input, outputs, name=name)


def config(model: str = "MTT_musicnn") -> dict:
    """The ``config.json`` the checkpoint was trained with (input spec, optimiser)."""
    return json.loads((checkpoint_dir(model) / "config.json").read_text())
