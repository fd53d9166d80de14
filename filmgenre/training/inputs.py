"""What a model sees: a split's examples for each input kind (tiles, MFCC summaries,
musicnn patches or embeddings), with crops and augmented renderings for training."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import FeatureParams
from ..data.dataset import Manifest
from ..data.features import load_summaries, load_tiles
from .streaming import per_cue_subset

if TYPE_CHECKING:
    from .settings import TrainConfig
    from .streaming import TileIndex


#: input kinds: what a model sees and how its cue prediction is formed
INPUT_KINDS = ("tiles", "summary", "musicnn_patches", "musicnn_embedding")


def load_inputs(
    manifest: Manifest,
    split: str | None,
    input_kind: str,
    feature_kind: str = "mfcc",
    params: FeatureParams = FeatureParams(),
    max_per_cue: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """(examples, labels, cue index of each example, cues) of one split (None: every cue)
    for a model input."""
    from . import transfer

    if input_kind == "tiles":
        ts = load_tiles(manifest, split, feature_kind, params)
        keep = per_cue_subset(ts.cue, max_per_cue)
        return ts.x[keep], ts.y[keep], ts.cue[keep], ts.cues
    if input_kind == "musicnn_patches":
        return transfer.load_patches(manifest, split, max_per_cue)
    if input_kind == "summary":
        x, y, cues = load_summaries(manifest, split)
    elif input_kind == "musicnn_embedding":
        x, y, cues = transfer.load_embeddings(manifest, split)
    else:
        raise ValueError(f"unknown input kind {input_kind!r}; choose one of {INPUT_KINDS}")
    return x, y, np.arange(len(cues)), cues


def training_examples(
    manifest: Manifest,
    input_kind: str,
    feature_kind: str,
    params: FeatureParams,
    config: TrainConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The training split's examples; tiles come from :func:`training_index` (the config's
    crops, per-cue limit and augmented renderings, each cached matrix read once), so the
    in-memory and streamed paths train on the same tiles."""
    if input_kind == "tiles":
        return training_index(manifest, feature_kind, params, config)[0].stack()
    x, y, _, _ = load_inputs(manifest, "train", input_kind, feature_kind, params,
                             config.max_tiles_per_cue)  # fmt: skip
    return x, y


def divisible(x: np.ndarray, y: np.ndarray, batch_size: int, multiple: int, pad: bool):
    """Arrays whose last batch also splits over ``multiple`` devices (see
    :func:`filmgenre.training.streaming.divisible_order`); unchanged for one device."""
    from .streaming import divisible_order

    if batch_size % multiple:
        raise ValueError(f"batch size {batch_size} does not split over {multiple} devices")
    rows = divisible_order(np.arange(len(x)), batch_size, multiple, pad)
    return (x, y) if len(rows) == len(x) else (x[rows], y[rows])


def training_index(manifest: Manifest, feature_kind: str, params: FeatureParams,
                   config: TrainConfig) -> tuple[TileIndex, TileIndex]:  # fmt: skip
    """(train, val) :class:`filmgenre.training.streaming.TileIndex` of a tile model: the training
    tiles with the config's crops and augmented renderings (rendered and cached first),
    the validation tiles plain."""
    from . import augment
    from .streaming import tile_index

    if config.augment_variants:
        train_only = Manifest(manifest.split("train"), genres=manifest.genres)
        augment.extract_variants(train_only, config.augment_variants, params, progress=False)
    train_index = tile_index(manifest, "train", feature_kind, params, config.max_tiles_per_cue,
                             config.crop_hop_frames, config.augment_variants)  # fmt: skip
    val_index = tile_index(manifest, "val", feature_kind, params, config.max_tiles_per_cue)
    return train_index, val_index


def feature_label(input_kind: str, feature_kind: str) -> str:
    """What a model's input was, for tables and ``config.json``."""
    return {
        "tiles": feature_kind,
        "summary": "mfcc_summary",
        "musicnn_patches": "musicnn_mel96",
        "musicnn_embedding": "musicnn_embedding",
    }[input_kind]
