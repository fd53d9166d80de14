"""Tile scores to cue scores, and a model's per-cue prediction table.

Below the training loop (which saves every model's validation and test predictions) and
below :mod:`filmgenre.training.cue_pooling`, which adds pooling with learned models on top.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import FeatureParams
from ..data.dataset import Manifest
from .inputs import load_inputs
from .streaming import tile_batches, tile_index

#: tiles per prediction batch
PREDICT_BATCH = 128


def pool_cues(tile_scores: np.ndarray, cue_index: np.ndarray, n_cues: int, how: str = "mean"):
    """Cue scores from tile scores: ``mean`` (the study's pooling) or ``max`` over its tiles."""
    if how == "mean":
        sums = np.zeros((n_cues, tile_scores.shape[1]))
        np.add.at(sums, cue_index, tile_scores)
        return sums / np.maximum(np.bincount(cue_index, minlength=n_cues), 1)[:, None]
    if how == "max":
        out = np.full((n_cues, tile_scores.shape[1]), -np.inf)
        np.maximum.at(out, cue_index, tile_scores)
        return np.where(np.isfinite(out), out, 0.0)
    raise ValueError(f"unknown pooling {how!r}; choose mean or max")


def predict_cues(
    model, x: np.ndarray, cue_index: np.ndarray, n_cues: int, batch_size: int = 512
) -> np.ndarray:
    """Cue prediction = mean of its tiles' predictions (the study's pooling)."""
    tile_pred = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    return pool_cues(tile_pred, cue_index, n_cues, "mean")


def predictions_frame(
    cues: pd.DataFrame,
    scores: np.ndarray,
    genres: tuple[str, ...],
    keep: list[str] | tuple[str, ...] = ("film", "cue", "split"),
) -> pd.DataFrame:
    """Per-cue truth (``y_<genre>``) and probability (``p_<genre>``) in one table, after
    the cue columns ``keep``."""
    out = cues[list(keep)].copy().reset_index(drop=True)
    for g in genres:
        out[f"y_{g}"] = cues[g].to_numpy(dtype=int)
    for j, g in enumerate(genres):
        out[f"p_{g}"] = scores[:, j]
    return out


def save_predictions(
    model,
    manifest: Manifest,
    out: Path,
    input_kind: str,
    feature_kind: str,
    params: FeatureParams,
    stream: bool = False,
) -> pd.DataFrame:
    """Cue predictions (mean over each cue's examples) for validation and test films;
    ``stream`` reads tiles from the feature caches batch by batch."""
    frames = []
    for split in ("val", "test"):
        if not len(manifest.split(split)) and frames:  # a final model has no test films
            continue
        if stream and input_kind == "tiles":
            index = tile_index(manifest, split, feature_kind, params)
            cues = manifest.split(split).reset_index(drop=True)
            batches = tile_batches(index, PREDICT_BATCH, shuffle=False, with_labels=False)
            tile_scores = np.asarray(model.predict(batches, verbose=0))
            scores = pool_cues(tile_scores, index.cue, len(cues), "mean")
        else:
            x, _, idx, cues = load_inputs(manifest, split, input_kind, feature_kind, params)
            scores = predict_cues(model, x, idx, len(cues))
        frames.append(predictions_frame(cues, scores, manifest.genres))
    predictions = pd.concat(frames, ignore_index=True)
    predictions.to_csv(out / "predictions.csv", index=False)
    return predictions
