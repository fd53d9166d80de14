"""Using a trained model: which model a setting names, loading it, and genre probabilities
for new audio files (``filmgenre tag``; a library is searched through its index,
:mod:`filmgenre.library`).

A model folder (``reports/<run>/models/<name>/``) holds ``model.keras`` and the
``config.json`` that says which features and genres it was trained on, so new
files are featurised exactly as its training cues were (through the same cache).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .config import FeatureParams, reports_dir
from .data import dataset, features
from .models.dense_head import DenseHead, read_dense_head

#: final models that ship inside the package (trained on real film music)
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def _config(model_dir: Path) -> dict:
    path = model_dir / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def is_real(info: dict) -> bool:
    """Whether a model's config says it was trained on real recordings."""
    source = info.get("trained_on") or {}
    return bool(source) and not source.get("synthetic", True)


def training_data(info: dict) -> str:
    """One line saying what a model was trained on, for every place a model is used."""
    source = info.get("trained_on")
    if not source:
        return "not recorded (a model saved before filmgenre recorded its training data)"
    kind = "the SYNTHETIC collection" if source.get("synthetic") else "real recordings"
    return (
        f"{kind} in {source.get('audio_dir')} ({source.get('n_films')} films, "
        f"{source.get('n_cues')} cues; genres: {', '.join(source.get('genres', []))})"
    )


def shipped_models() -> list[Path]:
    """Model folders inside the package, best cross-validated macro ROC-AUC first."""
    found = [p.parent for p in PRETRAINED_DIR.glob("*/model.keras")]
    return sorted(found, key=lambda p: -_cv_auc(_config(p)))


def _cv_auc(info: dict) -> float:
    return float(info.get("cross_validation", {}).get("macro_roc_auc", float("-inf")))


def default_model_dir() -> Path:
    """The model ``tag``, ``search`` and ``index build`` use without ``--model``: the one
    shipped inside the package (film genres, trained on real film music), whatever runs
    have trained since; a run's model is used only when asked for (:func:`resolve_model`)."""
    shipped = shipped_models()
    if not shipped:
        raise FileNotFoundError(f"no model ships in {PRETRAINED_DIR} (a damaged install?): "
                                "reinstall filmgenre or pass --model FOLDER")  # fmt: skip
    return shipped[0]


#: ``--model`` settings that name a rule instead of a folder
MODEL_SETTINGS = {
    "shipped": "the model that ships with filmgenre (the default)",
    "latest-real": "the best cross-validated final model trained on real recordings in the "
                   "newest run under reports/ that has one",
}


def latest_real_model(reports: str | os.PathLike[str] | None = None) -> Path:
    """The best cross-validated final model trained on real recordings in the newest run
    that has one (``--model latest-real``)."""
    folder = Path(reports) if reports else reports_dir()
    runs = sorted((p for p in folder.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for run in reversed(runs):
        real = [p.parent for p in run.glob("models/*/model.keras")
                if _config(p.parent).get("final") and is_real(_config(p.parent))]  # fmt: skip
        if real:
            return max(real, key=lambda p: _cv_auc(_config(p)))
    raise FileNotFoundError(f"--model latest-real: no run under {folder} has a final model "
                            "trained on real recordings")  # fmt: skip


def resolve_model(spec: str | os.PathLike[str] | None,
                  reports: str | os.PathLike[str] | None = None) -> tuple[Path, str]:  # fmt: skip
    """(model folder, why it was chosen) for a ``--model`` value: None or ``shipped`` (the
    shipped model), ``latest-real`` (:func:`latest_real_model`), ``RUN/NAME`` (a model of a
    run under reports/), or a model folder. Raises FileNotFoundError naming what is missing."""
    if spec is None or str(spec) == "shipped":
        why = "the default" if spec is None else "--model shipped"
        return default_model_dir(), f"{why}: the model that ships with filmgenre"
    text = str(spec)
    if text == "latest-real":
        model = latest_real_model(reports)
        return model, (f"--model latest-real: the best final model trained on real recordings "
                       f"in the newest run that has one ({model.parent.parent.name})")  # fmt: skip
    folder = Path(text)
    if (folder / "model.keras").is_file():
        return folder, "--model: the folder given"
    in_run = (Path(reports) if reports else reports_dir()) / text.split("/")[0] / "models" / \
        "/".join(text.split("/")[1:])  # fmt: skip
    if "/" in text and (in_run / "model.keras").is_file():
        return in_run, f"--model {text}: model {in_run.name} of run {text.split('/')[0]}"
    raise FileNotFoundError(f"--model {text}: neither a model folder (with model.keras) nor "
                            f"RUN/NAME of a run under reports/, nor one of "
                            f"{', '.join(MODEL_SETTINGS)}")  # fmt: skip


def model_config(model_dir: str | os.PathLike[str]) -> dict:
    """A model folder's ``config.json`` (its input, features and genres)."""
    model_dir = Path(model_dir)
    if not (model_dir / "model.keras").is_file():
        raise FileNotFoundError(f"no model.keras in {model_dir}")
    return json.loads((model_dir / "config.json").read_text())


def load_trained(model_dir: str | os.PathLike[str]):
    """(Keras model, its config.json) from a model folder."""
    import keras

    from .models import registry  # noqa: F401  (registers the custom layers and losses)

    info = model_config(model_dir)
    return keras.models.load_model(Path(model_dir) / "model.keras"), info


def load_cue_vector_head(model_dir: str | os.PathLike[str]) -> tuple[DenseHead, dict]:
    """(the head, its config.json) of a cue-vector model, run with NumPy: no Keras is
    imported (every final cue-vector model is a standardisation and dense layers)."""
    info = model_config(model_dir)
    if info.get("input") != "cue_vector":
        raise ValueError(f"{model_dir}: not a cue-vector model (it reads "
                         f"{info.get('input')!r})")  # fmt: skip
    head = read_dense_head(Path(model_dir) / "model.keras")
    if head is None:
        raise ValueError(f"{model_dir}: model.keras is not a standardisation followed by "
                         "dense layers, which every cue-vector model is")  # fmt: skip
    return head, info


#: examples per prediction batch by input kind: musicnn patches need megabytes of
#: activations each, so a fixed large batch would grow memory past gigabytes
PREDICT_BATCH = {"musicnn_patches": 16, "tiles": 128, "tile_sequence": 16}


def tag_files(
    paths: list[str | os.PathLike[str]],
    model_dir: str | os.PathLike[str],
    n_jobs: int | None = None,
    progress: bool | None = None,
    chunk_size: int = 64,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-genre probabilities (rows = files) and the files that could not be used, with why.

    Files go through in chunks of ``chunk_size`` and each chunk's examples through the
    model in batches sized to its input, so memory stays bounded for any number of files.
    """
    from .data import musicnn_input
    from .evaluation.crossval.vectors import cue_vectors
    from .training import cue_pooling
    from .training.cue_scores import predict_cues
    from .training.inputs import load_inputs

    info = model_config(model_dir)
    # a cue-vector head runs with NumPy (no framework start-up); the rest through Keras
    model = load_cue_vector_head(model_dir)[0] if info["input"] == "cue_vector" else \
        load_trained(model_dir)[0]  # fmt: skip
    genres = info["genres"]
    params = FeatureParams(**info["feature_params"])
    kind = info["input"]
    batch = PREDICT_BATCH.get(kind, 512)
    tables, skipped = [], []
    files = [Path(p) for p in paths]
    for start in range(0, len(files), chunk_size):
        chunk = dataset.Manifest.of_files(files[start : start + chunk_size])
        manifest = features.extract(chunk, params, n_jobs=n_jobs, progress=progress)
        skipped.append(manifest.skipped)
        if manifest.cues.empty:
            continue
        needs_musicnn = kind.startswith("musicnn") or any(
            p.startswith("musicnn") for p in info.get("parts", [])
        )
        if needs_musicnn:
            musicnn_input.extract_inputs(manifest, n_jobs=n_jobs, progress=progress)
        if kind == "tile_sequence":
            base_dir = Path(model_dir).parent / info["base_model"]
            scores, cues = cue_pooling.score_with_pooler(model, base_dir, manifest)
        elif kind == "cue_vector":
            cues = manifest.cues
            x = cue_vectors(manifest, info["parts"], progress=progress)
            scores = model.predict(x)
        else:
            x, _, idx, cues = load_inputs(manifest, None, kind, info["feature_kind"], params)
            scores = predict_cues(model, x, idx, len(cues), batch_size=batch)
        tables.append(pd.DataFrame(scores, columns=genres, index=cues["path"].to_list()))
    table = pd.concat(tables) if tables else pd.DataFrame(columns=genres)
    table.index.name = "file"
    return table, pd.concat(skipped, ignore_index=True)
