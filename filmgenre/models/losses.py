"""Losses for rare genres, registered so saved models reload with their training setup."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="filmgenre")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy whose positive term for genre j is multiplied by
    ``pos_weight[j]`` (negatives / positives on the training films), so a genre on
    one film in twenty counts as much as a common one."""

    def __init__(self, pos_weight: list[float], name: str = "weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = list(pos_weight)

    def call(self, y_true, y_pred):
        eps = keras.config.epsilon()
        y_pred = ops.clip(ops.cast(y_pred, "float32"), eps, 1 - eps)
        y_true = ops.cast(y_true, "float32")
        w = ops.convert_to_tensor(self.pos_weight, dtype="float32")
        terms = w * y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred)
        return -ops.mean(terms, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "pos_weight": self.pos_weight}
