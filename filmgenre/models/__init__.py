"""Model builders. Every builder returns an uncompiled Keras 3 model (backend-agnostic).

Inputs are standardised inside the model by a ``Normalization`` layer adapted on
training data, so a saved model carries its own preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from .cnn import study_cnn
from .dense import summary_mlp, tile_mlp

#: name -> (builder, input kind); "tiles" models see (bins x frames) tiles,
#: "summary" models per-cue vectors.
MODELS: dict[str, tuple[Callable[..., keras.Model], str]] = {
    "study_cnn": (study_cnn, "tiles"),
    "tile_mlp": (tile_mlp, "tiles"),
    "summary_mlp": (summary_mlp, "summary"),
}


def build(name: str, input_shape: tuple[int, ...], n_outputs: int, **kwargs) -> keras.Model:
    """Build a registered model by name."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name][0](input_shape=input_shape, n_outputs=n_outputs, **kwargs)


__all__ = ["MODELS", "build", "study_cnn", "summary_mlp", "tile_mlp"]
