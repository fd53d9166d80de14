"""Learned cue-level pooling: from the sequence of a cue's tile embeddings to its genres.

The study averaged its tiles' predictions and named a recurrent model over a cue's
slices as the next step. Both learned poolers here read the embeddings a trained
tile model gives each tile (zero-padded to the longest cue, padding masked).
"""

from __future__ import annotations

import keras
from keras import layers

from .layers import AttentionPooling


def _sequence_input(input_shape: tuple[int, int]) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inputs = keras.Input(shape=input_shape, name="tile_sequence")
    return inputs, layers.Masking(mask_value=0.0, name="padding")(inputs)


def attention_pooling(
    input_shape: tuple[int, int] = (8, 50),
    n_outputs: int = 10,
    units: int = 64,
    dropout: float = 0.3,
    name: str = "attention_pooling",
) -> keras.Model:
    """Attention over a cue's tiles: a learned weight per tile, weighted mean, sigmoid head."""
    inputs, x = _sequence_input(input_shape)
    x = layers.Dropout(dropout)(x)
    x = AttentionPooling(units, name="attention")(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def gru_pooling(
    input_shape: tuple[int, int] = (8, 50),
    n_outputs: int = 10,
    units: int = 64,
    dropout: float = 0.3,
    name: str = "gru_pooling",
) -> keras.Model:
    """A bidirectional GRU over a cue's tiles in time order (the study's suggested next
    step), its last states to a sigmoid head."""
    inputs, x = _sequence_input(input_shape)
    x = layers.Dropout(dropout)(x)
    x = layers.Bidirectional(layers.GRU(units), name="gru")(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
