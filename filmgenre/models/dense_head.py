"""A cue-vector head (standardisation, then dense layers) run with NumPy from its ``.keras``.

Every final cue-vector model of the project (the shipped genre model, a run's
``*_final`` logistic, mean-difference or MLP heads) is ``Normalization`` followed by
``Dense`` layers. Reading the saved file's config and weights directly lets the index,
``filmgenre tag`` and search by example score with such a model without starting a
deep-learning framework: importing TensorFlow and Keras alone is about 5 s of a process's
start-up, more than the rest of a small build. Any other architecture returns ``None`` and
is loaded by Keras as before. The arithmetic is Keras's, in float32.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: layers a head may hold (Dropout is the identity at inference)
LAYERS = ("InputLayer", "Normalization", "Dense", "Dropout")
#: Keras's ``backend.epsilon()``: the smallest standard deviation Normalization divides by
EPSILON = 1e-7


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # as evaluation.calibration.sigmoid (a layer above), in the head's float32: a very
    # negative z overflows e^-z to infinity, which gives exactly 0, the right value
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0.0), "sigmoid": _sigmoid}


@dataclass(frozen=True)
class DenseHead:
    """A standardisation (mean, variance) and dense layers (weights, bias, activation)."""

    name: str
    mean: np.ndarray
    variance: np.ndarray
    dense: tuple[tuple[np.ndarray, np.ndarray, str], ...]

    @property
    def n_inputs(self) -> int:
        return int(self.mean.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The model's outputs for rows of cue vectors (float32, as Keras gives them)."""
        x = np.asarray(x, np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"{self.name} reads ({self.n_inputs},) cue vectors, not "
                             f"{x.shape[1:]}")  # fmt: skip
        h = (x - self.mean) / np.maximum(np.sqrt(self.variance), np.float32(EPSILON))
        for kernel, bias, activation in self.dense:
            h = ACTIVATIONS[activation](h @ kernel + bias)
        return h.astype(np.float32, copy=False)


def read_dense_head(model_file: str | os.PathLike[str]) -> DenseHead | None:
    """The head saved in ``model_file`` (a Keras 3 ``.keras`` archive) when it is a chain of
    :data:`LAYERS` with one input and known activations; ``None`` for any other model."""
    import h5py  # Keras's own weights format; h5py comes with Keras

    with zipfile.ZipFile(model_file) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    if config.get("class_name") not in ("Functional", "Sequential"):
        return None
    layers = config["config"]["layers"]
    if any(layer["class_name"] not in LAYERS for layer in layers):
        return None
    if config["class_name"] == "Functional" and not _is_chain(layers, config["config"]):
        return None
    norms = [layer for layer in layers if layer["class_name"] == "Normalization"]
    if len(norms) != 1 or layers.index(norms[0]) > 1 or norms[0]["config"].get("invert"):
        return None
    with h5py.File(io.BytesIO(weights), "r") as h5:
        stored = _layer_variables(h5)
    norm = norms[0]["config"]
    if norm.get("mean") is not None:
        mean, variance = np.asarray(norm["mean"]), np.asarray(norm["variance"])
    else:  # adapted: mean, variance and count are the layer's variables
        mean, variance = stored[norm["name"]][:2]
    dense = []
    for layer in layers:
        if layer["class_name"] != "Dense":
            continue
        cfg = layer["config"]
        if cfg["activation"] not in ACTIVATIONS or not cfg.get("use_bias", True):
            return None
        kernel, bias = stored[cfg["name"]][:2]
        dense.append((np.asarray(kernel, np.float32), np.asarray(bias, np.float32),
                      cfg["activation"]))  # fmt: skip
    if not dense:
        return None
    return DenseHead(config["config"].get("name", Path(model_file).parent.name),
                     np.asarray(mean, np.float32).reshape(-1),
                     np.asarray(variance, np.float32).reshape(-1), tuple(dense))  # fmt: skip


def _is_chain(layers: list[dict], model_config: dict) -> bool:
    """Each layer reads the one before it, and the last is the model's one output."""
    for previous, layer in zip(layers, layers[1:], strict=False):
        nodes = layer.get("inbound_nodes") or []
        if len(nodes) != 1 or len(nodes[0].get("args", [])) != 1:
            return False
        arg = nodes[0]["args"][0]
        history = arg.get("config", {}).get("keras_history", [None])
        if history[0] != previous["name"]:
            return False
    outputs = model_config.get("output_layers")
    return outputs is not None and np.ravel(outputs)[0] == layers[-1]["name"]


def _layer_variables(h5) -> dict[str, list[np.ndarray]]:
    """Each layer's variables by the layer's name (Keras 3 keeps them under
    ``layers/<path>/vars/<i>`` with the layer's name as the ``vars`` group's attribute)."""
    found: dict[str, list[np.ndarray]] = {}

    def visit(path: str, obj) -> None:
        if path.endswith("/vars") and "name" in obj.attrs:
            found[str(obj.attrs["name"])] = [obj[k][()] for k in sorted(obj, key=int)]

    h5.visititems(visit)
    return found
