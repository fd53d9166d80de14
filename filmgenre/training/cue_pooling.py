"""From tile predictions to a cue's genres: mean (the study), max, and learned poolers.

``pool_predictions`` rescores a trained tile model with another fixed pooling;
``train_sequence_pooler`` trains attention or a GRU over the sequence of a cue's
tile embeddings from that model (frozen). Each writes a model folder beside the
base model (``<base>+max``, ``<base>+attention``) so the results table picks it up.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import FeatureParams
from ..data.dataset import Manifest
from ..data.features import load_tiles
from .cue_scores import pool_cues, predictions_frame

if TYPE_CHECKING:
    from .loop import TrainResult
    from .settings import TrainConfig

def _base(base_dir: Path):
    import keras

    info = json.loads((base_dir / "config.json").read_text())
    if info.get("input") != "tiles":
        raise ValueError(f"{base_dir}: pooling needs a tile model, this one reads {info['input']}")
    return keras.models.load_model(base_dir / "model.keras"), info


def pool_predictions(
    base_dir: str | os.PathLike[str], manifest: Manifest, how: str = "max"
) -> pd.DataFrame:
    """Score a trained tile model's val/test cues with another pooling; saved as
    ``<base>+<how>`` with its own ``predictions.csv`` and ``config.json``."""
    base_dir = Path(base_dir)
    model, info = _base(base_dir)
    params = FeatureParams(**info["feature_params"])
    frames = []
    for split in ("val", "test"):
        ts = load_tiles(manifest, split, info["feature_kind"], params)
        tile_scores = np.asarray(model.predict(ts.x, batch_size=512, verbose=0))
        frames.append(predictions_frame(ts.cues, pool_cues(tile_scores, ts.cue, len(ts.cues), how),
                                        manifest.genres))  # fmt: skip
    out = base_dir.parent / f"{base_dir.name}+{how}"
    out.mkdir(exist_ok=True)
    predictions = pd.concat(frames, ignore_index=True)
    predictions.to_csv(out / "predictions.csv", index=False)
    record = {**info, "name": out.name, "pooling": how, "base_model": base_dir.name}
    (out / "config.json").write_text(json.dumps(record, indent=2, default=str))
    return predictions


def embedding_model(model):
    """A tile model cut before its output layer: one embedding vector per tile. For the
    ten-net binary ensemble, the ten networks' last hidden layers side by side."""
    import keras

    head = model.get_layer("genres")
    if not isinstance(head.input, list):
        return keras.Model(model.input, head.input)
    shared = model.get_layer("standardise").output
    parts = [
        keras.Model(net.input, net.get_layer("genres").input)(shared)
        for net in model.layers
        if isinstance(net, keras.Model)
    ]
    return keras.Model(model.input, keras.layers.Concatenate(name="embedding")(parts))


def sequences(
    embeddings: np.ndarray, cue_index: np.ndarray, n_cues: int, length: int
) -> np.ndarray:
    """(cues x length x dim) tile embeddings in time order, zero-padded (masked later).

    Cues longer than ``length`` tiles keep their first ``length``.
    """
    out = np.zeros((n_cues, length, embeddings.shape[1]), np.float32)
    position = np.zeros(n_cues, int)
    for row, c in enumerate(cue_index):
        if position[c] < length:
            out[c, position[c]] = embeddings[row]
            position[c] += 1
    return out


def tile_embeddings(
    base, manifest: Manifest, split: str | None, feature_kind: str, params: FeatureParams
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(embedding per tile, cue index per tile, cues) of a split from a trained tile model."""
    ts = load_tiles(manifest, split, feature_kind, params)
    # a tile embedding of exact zeros would read as padding: shift by a tiny constant
    emb = np.asarray(embedding_model(base).predict(ts.x, batch_size=512, verbose=0)) + 1e-6
    return emb, ts.cue, ts.cues


def score_with_pooler(
    pooler, base_dir: str | os.PathLike[str], manifest: Manifest, split: str | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Cue scores of a trained learned pooler (and its base tile model) for any manifest."""
    base, info = _base(Path(base_dir))
    params = FeatureParams(**info["feature_params"])
    emb, cue, cues = tile_embeddings(base, manifest, split, info["feature_kind"], params)
    seqs = sequences(emb, cue, len(cues), int(pooler.input_shape[1]))
    return np.asarray(pooler.predict(seqs, verbose=0)), cues


def train_sequence_pooler(
    kind: str,
    base_dir: str | os.PathLike[str],
    manifest: Manifest,
    config: TrainConfig | None = None,
    **model_kwargs,
) -> TrainResult:
    """Train ``attention_pooling`` or ``gru_pooling`` on a trained tile model's frozen
    embeddings; saved as ``<base>+attention`` / ``<base>+gru`` with predictions."""
    from ..models import registry
    from ..runtime.devices import set_seed
    from .loop import TrainResult, fit, run_info
    from .settings import TrainConfig

    config = config or TrainConfig()
    base_dir = Path(base_dir)
    base, info = _base(base_dir)
    params = FeatureParams(**info["feature_params"])
    data = {s: tile_embeddings(base, manifest, s, info["feature_kind"], params) for s in
            ("train", "val", "test")}  # fmt: skip
    length = max(int(np.bincount(c).max()) for _, c, _ in data.values() if len(c))
    seqs = {s: sequences(e, c, len(cues), length) for s, (e, c, cues) in data.items()}
    genres = list(manifest.genres)
    labels = {s: cues[genres].to_numpy(np.float32) for s, (_, _, cues) in data.items()}
    short = kind.removesuffix("_pooling")
    label = f"{base_dir.name}+{short}"
    out = base_dir.parent / label
    set_seed(config.seed)
    model = registry.build_model(kind, seqs["train"].shape[1:], len(manifest.genres),
                                 **model_kwargs)  # fmt: skip
    started = time.perf_counter()
    model, history = fit(model, seqs["train"], labels["train"], seqs["val"], labels["val"], out,
                         config)  # fmt: skip
    seconds = time.perf_counter() - started
    frames = [
        predictions_frame(data[s][2], np.asarray(model.predict(seqs[s], verbose=0)), genres)
        for s in ("val", "test")
    ]
    predictions = pd.concat(frames, ignore_index=True)
    predictions.to_csv(out / "predictions.csv", index=False)
    record = run_info(
        label,
        kind,
        history,
        input="tile_sequence",
        feature_kind=info["feature_kind"],
        base_model=base_dir.name,
        pooling=short,
        params=int(model.count_params()),
        base_params=info["params"],
        train_examples=int(len(seqs["train"])),
        train_seconds=round(seconds, 2),
        train_config=asdict(config),
        model_kwargs=model_kwargs,
        feature_params=params.to_dict(),
        genres=list(manifest.genres),
        manifest_digest=manifest.digest(),
    )
    (out / "config.json").write_text(json.dumps(record, indent=2, default=str))
    return TrainResult(label, model, history, predictions, record)
