"""Small custom layers, registered so saved models reload without their notebook."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="filmgenre")
class ReduceMax(layers.Layer):
    """Max over one axis (musicnn pools its front-end over all frequency bands)."""

    def __init__(self, axis: int, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x):
        return ops.max(x, axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package="filmgenre")
class Interleave(layers.Layer):
    """[a0, b0, a1, b1, ...] from two (batch, n) tensors: how TF-1 musicnn flattened its
    stacked max and mean pools, so the dense weights after it line up."""

    def call(self, pair):
        a, b = pair
        return ops.reshape(ops.stack([a, b], axis=-1), (-1, 2 * a.shape[-1]))


@keras.saving.register_keras_serializable(package="filmgenre")
class AttentionPooling(layers.Layer):
    """Weighted mean over a sequence: a learned score per step, softmax over the unmasked
    steps (a cue's tiles), so a cue's prediction can rest on its most telling tiles."""

    def __init__(self, units: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        self.hidden = layers.Dense(self.units, activation="tanh", name="hidden")
        self.hidden.build(input_shape)
        self.score = layers.Dense(1, name="score")
        self.score.build((*input_shape[:-1], self.units))

    def call(self, x, mask=None):
        scores = ops.squeeze(self.score(self.hidden(x)), -1)  # (batch, steps)
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        return ops.sum(x * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
