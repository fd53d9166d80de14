"""Current music-tagging CNNs on log-mel tiles: batch-normalised residual blocks, global pooling.

Modelled on the short-chunk ResNet of Won et al. (2020, "Evaluation of CNN-based
automatic music tagging models"): 3x3 convolutions with batch normalisation,
residual shortcuts, 2x2 max-pooling after each block, then global max pooling
over what is left of frequency and time, a dense layer and sigmoid outputs.
Sized to the study CNN's compute on a 40 x 100 tile so the comparison is fair.
"""

from __future__ import annotations

import keras
from keras import layers


def _res_block(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    shortcut = x
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    if shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = layers.Activation("relu")(layers.Add()([y, shortcut]))
    return layers.MaxPooling2D(2, padding="same")(y)


def resnet_cnn(
    input_shape: tuple[int, int] = (40, 100),
    n_outputs: int = 10,
    filters: tuple[int, ...] = (24, 48, 96, 128),
    dense_units: int = 128,
    dropout: float = 0.5,
    name: str = "resnet_cnn",
) -> keras.Model:
    """Short-chunk ResNet: residual 3x3 blocks with batch norm and 2x2 pooling, global
    max-pooling over frequency and time, dense + dropout, sigmoid outputs."""
    inputs = keras.Input(shape=input_shape, name="tile")
    x = layers.Normalization(axis=1, name="standardise")(inputs)
    x = layers.Reshape((*input_shape, 1))(x)
    for i, f in enumerate(filters):
        x = _res_block(x, f, f"block{i + 1}")
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    x = layers.Dense(dense_units, use_bias=False, name="embedding")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def fcn_cnn(
    input_shape: tuple[int, int] = (40, 100),
    n_outputs: int = 10,
    filters: tuple[int, ...] = (32, 64, 128, 192),
    pools: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (2, 3), (5, 8)),
    dropout: float = 0.3,
    name: str = "fcn_cnn",
) -> keras.Model:
    """Fully-convolutional tagger (Choi et al. 2016): 3x3 conv + batch norm + ReLU blocks whose
    pooling shrinks frequency and time to one cell, no dense hidden layer."""
    inputs = keras.Input(shape=input_shape, name="tile")
    x = layers.Normalization(axis=1, name="standardise")(inputs)
    x = layers.Reshape((*input_shape, 1))(x)
    for i, (f, pool) in enumerate(zip(filters, pools, strict=True)):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(pool, padding="same")(x)
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="genres", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
