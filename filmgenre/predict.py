"""Using a trained model: genre probabilities for new audio, and search by a genre mix.

A model folder (``reports/<run>/models/<name>/``) holds ``model.keras`` and the
``config.json`` that says which features and genres it was trained on, so new
files are featurised exactly as its training cues were (through the same cache).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import dataset, features
from .audio import is_audio_file
from .config import FeatureParams, project_root


def default_model_dir(reports: str | os.PathLike[str] | None = None) -> Path:
    """The best model (macro ROC-AUC on test films) of the newest finished run."""
    folder = Path(reports) if reports else project_root() / "reports"
    runs = sorted(
        (p.parent for p in folder.glob("*/metrics.json")), key=lambda p: p.stat().st_mtime
    )
    for run in reversed(runs):
        models = json.loads((run / "metrics.json").read_text()).get("models", {})
        trained = {
            k: v["metrics"]["macro_roc_auc"]
            for k, v in models.items()
            if (run / "models" / k / "model.keras").is_file()
        }
        if trained:
            return run / "models" / max(trained, key=trained.get)
    raise FileNotFoundError(f"no trained model under {folder}: run `make pipeline` or pass --model")


def load_trained(model_dir: str | os.PathLike[str]):
    """(Keras model, its config.json) from a model folder."""
    import keras

    from . import models  # noqa: F401  (registers the custom layers and losses)

    model_dir = Path(model_dir)
    if not (model_dir / "model.keras").is_file():
        raise FileNotFoundError(f"no model.keras in {model_dir}")
    info = json.loads((model_dir / "config.json").read_text())
    return keras.models.load_model(model_dir / "model.keras"), info


def _collection(paths: list[Path]) -> dataset.Manifest:
    cues = pd.DataFrame(
        {
            "film": [str(p) for p in paths],
            "cue": [p.stem for p in paths],
            "path": [str(p.resolve()) for p in paths],
            "genres": "",
            "duration": np.nan,
        }
    )
    return dataset.Manifest(cues, genres=())


def tag_files(
    paths: list[str | os.PathLike[str]],
    model_dir: str | os.PathLike[str],
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-genre probabilities (rows = files) and the files that could not be used, with why."""
    from . import cue_pooling, transfer
    from .train import load_inputs, predict_cues

    model, info = load_trained(model_dir)
    genres = info["genres"]
    params = FeatureParams(**info["feature_params"])
    manifest = features.extract(
        _collection([Path(p) for p in paths]), params, n_jobs=n_jobs, progress=progress
    )
    if manifest.cues.empty:
        return pd.DataFrame(columns=genres), manifest.skipped
    kind = info["input"]
    if kind == "tile_sequence":
        base_dir = Path(model_dir).parent / info["base_model"]
        scores, cues = cue_pooling.score_with_pooler(model, base_dir, manifest)
    else:
        if kind.startswith("musicnn"):
            transfer.extract_inputs(manifest, n_jobs=n_jobs, progress=progress)
        x, _, idx, cues = load_inputs(manifest, None, kind, info["feature_kind"], params)
        scores = predict_cues(model, x, idx, len(cues))
    table = pd.DataFrame(scores, columns=genres, index=cues["path"].to_list())
    table.index.name = "file"
    return table, manifest.skipped


def parse_genre_query(query: str, genres: list[str] | tuple[str, ...]) -> list[str]:
    """Genres named in a query such as "Romance Comedy Action" or "Romantic-Comedy-Sci-Fi".

    Raises ValueError naming the unknown words and listing the valid genres.
    """
    words = [w for w in re.split(r"[\s,+/&]+|(?<![Ss]ci)-(?![Ff]i)", query) if w]
    chosen, unknown = [], []
    for word in words:
        name = dataset.normalise_genre(word, tuple(genres))
        (chosen if name in genres else unknown).append(name if name in genres else word)
    if unknown or not chosen:
        raise ValueError(
            f"unknown genre(s) {unknown or [query]}; valid genres: {', '.join(genres)}"
        )
    return list(dict.fromkeys(chosen))


def search(
    query: str,
    library: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank the audio files under ``library`` by how well they fit a genre mix.

    Fit = geometric mean of the model's probabilities for the requested genres,
    so a cue must suit every genre of the mix, not just one of them.
    """
    _, info = load_trained(model_dir)
    wanted = parse_genre_query(query, info["genres"])
    library = Path(library)
    if not library.is_dir():
        raise FileNotFoundError(f"library folder not found: {library}")
    files = sorted(p for p in library.rglob("*") if p.is_file() and is_audio_file(p))
    if not files:
        raise FileNotFoundError(f"no audio files under {library}")
    table, skipped = tag_files(files, model_dir, n_jobs, progress)
    fit = np.exp(np.log(np.clip(table[wanted].to_numpy(), 1e-6, 1.0)).mean(axis=1))
    ranked = table[wanted].assign(fit=fit).sort_values("fit", ascending=False)
    return ranked, skipped
