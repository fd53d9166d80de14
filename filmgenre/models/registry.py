"""Every model by name: its builder and the input it reads (:data:`MODELS`), and
:func:`build_model`. Importing this registers the package's custom layers and losses, which
loading a saved model needs."""

from __future__ import annotations

from collections.abc import Callable

import keras

from . import layers, losses  # noqa: F401  (registers custom objects for model loading)
from .cnn import binary_ensemble, study_cnn
from .dense import embedding_mlp, summary_mlp, tile_mlp
from .modern import fcn_cnn, resnet_cnn
from .musicnn import musicnn_tagger
from .poolers import attention_pooling, gru_pooling

#: name -> (builder, input kind). "tiles": (bins x frames) tiles of the study's features;
#: "summary": per-cue MFCC statistics; "musicnn_patches": musicnn's 3 s 96-band patches;
#: "musicnn_embedding": per-cue pretrained embeddings; "tile_sequence": a cue's tiles
#: as a sequence of a trained tile model's embeddings (see ``filmgenre.training.cue_pooling``).
MODELS: dict[str, tuple[Callable[..., keras.Model], str]] = {
    "study_cnn": (study_cnn, "tiles"),
    "binary_ensemble": (binary_ensemble, "tiles"),
    "resnet_cnn": (resnet_cnn, "tiles"),
    "fcn_cnn": (fcn_cnn, "tiles"),
    "tile_mlp": (tile_mlp, "tiles"),
    "summary_mlp": (summary_mlp, "summary"),
    "musicnn_finetuned": (musicnn_tagger, "musicnn_patches"),
    "musicnn_mlp": (embedding_mlp, "musicnn_embedding"),
    "attention_pooling": (attention_pooling, "tile_sequence"),
    "gru_pooling": (gru_pooling, "tile_sequence"),
}


def build_model(name: str, input_shape: tuple[int, ...], n_outputs: int, **kwargs) -> keras.Model:
    """Build a registered model by name."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name][0](input_shape=input_shape, n_outputs=n_outputs, **kwargs)
