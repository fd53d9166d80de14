"""Fully-connected baselines: the study's foil, sized to the CNN's parameter count."""

from __future__ import annotations

import keras
from keras import layers


def _mlp(
    inputs: keras.KerasTensor,
    x: keras.KerasTensor,
    hidden: tuple[int, ...],
    dropout: float,
    n_outputs: int,
    name: str,
) -> keras.Model:
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def tile_mlp(
    input_shape: tuple[int, int] = (40, 100),
    n_outputs: int = 10,
    hidden: tuple[int, ...] = (96, 50),
    dropout: float = 0.4,
    name: str = "tile_mlp",
) -> keras.Model:
    """MLP on the flattened tile: same input as the CNN, its 2-D structure thrown away."""
    inputs = keras.Input(shape=input_shape, name="tile")
    x = layers.Normalization(axis=1, name="standardise")(inputs)
    x = layers.Flatten()(x)
    return _mlp(inputs, x, hidden, dropout, n_outputs, name)


def summary_mlp(
    input_shape: tuple[int] = (160,),
    n_outputs: int = 10,
    hidden: tuple[int, ...] = (512, 256),
    dropout: float = 0.4,
    name: str = "summary_mlp",
) -> keras.Model:
    """MLP on per-cue MFCC summary statistics (means and spreads): the classic bag-of-frames."""
    inputs = keras.Input(shape=input_shape, name="summary")
    x = layers.Normalization(axis=-1, name="standardise")(inputs)
    return _mlp(inputs, x, hidden, dropout, n_outputs, name)


def embedding_mlp(
    input_shape: tuple[int] = (400,),
    n_outputs: int = 10,
    hidden: tuple[int, ...] = (128,),
    dropout: float = 0.5,
    name: str = "embedding_mlp",
) -> keras.Model:
    """Small classifier on a pretrained network's per-cue embedding (transfer learning)."""
    inputs = keras.Input(shape=input_shape, name="embedding")
    x = layers.Normalization(axis=-1, name="standardise")(inputs)
    return _mlp(inputs, x, hidden, dropout, n_outputs, name)
