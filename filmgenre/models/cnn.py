"""The study's CNN: four conv blocks on a (coefficients x frames) tile, two dense layers."""

from __future__ import annotations

import keras
from keras import layers


def study_cnn(
    input_shape: tuple[int, int] = (40, 100),
    n_outputs: int = 10,
    filters: tuple[int, ...] = (32, 64, 128, 256),
    kernels: tuple[int, ...] = (5, 4, 2, 2),
    dropout: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4),
    dense_units: int = 50,
    dense_dropout: float = 0.5,
    name: str = "study_cnn",
    standardise: bool = True,
) -> keras.Model:
    """Conv(32,5)-Conv(64,4)-Conv(128,2)-Conv(256,2), each with 2x2 max-pooling and
    dropout rising 0.1 -> 0.4, then dense 50, dropout 0.5, dense 50, sigmoid outputs."""
    inputs = keras.Input(shape=input_shape, name="tile")
    x = layers.Normalization(axis=1, name="standardise")(inputs) if standardise else inputs
    x = layers.Reshape((*input_shape, 1))(x)
    for i, (f, k, d) in enumerate(zip(filters, kernels, dropout, strict=True)):
        x = layers.Conv2D(f, k, padding="same", activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
        x = layers.Dropout(d)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, activation="relu")(x)
    x = layers.Dropout(dense_dropout)(x)
    x = layers.Dense(dense_units, activation="relu")(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def binary_ensemble(
    input_shape: tuple[int, int] = (40, 100),
    n_outputs: int = 10,
    name: str = "binary_ensemble",
    **study_kwargs,
) -> keras.Model:
    """The study's other set-up: one binary study CNN per genre, no weights shared.

    The ten networks sit side by side in one model so they train in one loop on the
    same batches; each sees every input tile and only its own genre's loss term
    (the summed loss separates, so each net's gradient is its own binary one).
    """
    inputs = keras.Input(shape=input_shape, name="tile")
    x = layers.Normalization(axis=1, name="standardise")(inputs)
    outputs = [
        study_cnn(input_shape, 1, name=f"genre{j}", standardise=False, **study_kwargs)(x)
        for j in range(n_outputs)
    ]
    merged = layers.Concatenate(name="genres", dtype="float32")(outputs)
    return keras.Model(inputs, merged, name=name)
