"""Final models after cross-validation: every family trained once more (cue-vector
heads on all films, Keras models on all but one fold) and saved for tag and search."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ...config import FeatureParams
from ...data.dataset import Manifest
from ...models.dense_head import read_dense_head
from ..calibration import Platt
from .folds import assign_folds, groups
from .heads import fit_head, predict_head, select_strength
from .vectors import FAMILIES, Family


def head_to_keras(fitted, n_inputs: int, name: str, platt: Platt | None = None):
    """The fitted scaler + head as a Keras model (standardisation, then the same weights),
    so a final model saves, loads and predicts like every other model of the project.

    ``platt`` (per-genre calibration) folds into the sigmoid output layer exactly:
    sigmoid(a * (w.x + c) + b) is that layer with weights a*w and bias a*c + b."""
    import keras
    from keras import layers

    scaler, heads = fitted
    inputs = keras.Input(shape=(n_inputs,), name="cue_vector")
    norm = layers.Normalization(axis=-1, mean=scaler.mean_, variance=scaler.scale_**2,
                                name="standardise")  # fmt: skip
    x = norm(inputs)
    if isinstance(heads, list):  # one logistic regression (or a constant) per genre
        out = layers.Dense(len(heads), activation="sigmoid", name="genres", dtype="float32")
        outputs = out(x)
        kernel = np.zeros((n_inputs, len(heads)), np.float32)
        bias = np.zeros(len(heads), np.float32)
        for j, h in enumerate(heads):
            if isinstance(h, float):
                p = min(max(h, 1e-6), 1 - 1e-6)
                bias[j] = np.log(p / (1 - p))
            else:
                kernel[:, j], bias[j] = h.coef_[0], h.intercept_[0]
        if platt is not None:
            kernel, bias = kernel * platt.slope[None, :], bias * platt.slope + platt.offset
        out.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    else:  # sklearn MLP: relu hidden layers, logistic outputs
        dense = []
        for i, (w, b) in enumerate(zip(heads.coefs_, heads.intercepts_, strict=True)):
            last = i == len(heads.coefs_) - 1
            layer = layers.Dense(len(b), activation="sigmoid" if last else "relu",
                                 name="genres" if last else f"hidden{i}",
                                 dtype="float32" if last else None)  # fmt: skip
            x = layer(x)
            dense.append((layer, w, b))
        outputs = x
        for i, (layer, w, b) in enumerate(dense):
            if platt is not None and i == len(dense) - 1:
                w, b = w * platt.slope[None, :], b * platt.slope + platt.offset
            layer.set_weights([w.astype(np.float32), b.astype(np.float32)])
    return keras.Model(inputs, outputs, name=name)


def fit_final(
    name: str,
    manifest: Manifest,
    x: np.ndarray,
    out_dir: str | os.PathLike[str],
    cv_scores: dict | None = None,
    by: str = "film",
    seed: int = 0,
    family: Family | None = None,
    params: FeatureParams = FeatureParams(),
    platt: Platt | None = None,
    calibration: dict | None = None,
) -> Path:
    """Train a cue-vector family on every cue of the collection and save it as a model
    folder (``model.keras`` + ``config.json``) that ``filmgenre tag`` and ``search`` use.

    The regularisation is chosen by grouped cross-validation over all films, as in each
    fold. ``cv_scores`` (the family's cross-validated metrics) is recorded beside it.
    ``platt`` (fitted on the family's out-of-fold scores) makes the saved model output
    calibrated probabilities; ``calibration`` (its cross-fitted ECE figures) is recorded.
    """
    from ...data.dataset import source_summary
    from ...runtime.devices import device_summary
    from ...runtime.versions import library_versions

    family = family or FAMILIES[name]
    cues = manifest.cues.reset_index(drop=True)
    y = cues[list(manifest.genres)].to_numpy(dtype=float)
    strength = select_strength(family, x, y, groups(cues, by), seed)
    fitted = fit_head(family.head, x, y, strength, seed)
    model = head_to_keras(fitted, x.shape[1], name, platt)
    reference = predict_head(fitted, x[:8])
    if platt is not None:
        reference = platt.apply(reference)
    # float32 sums over ~1000 features, times a calibration slope that can reach tens:
    # agreement to a thousandth of a probability is what matters to a user
    gap = float(np.max(np.abs(np.asarray(model.predict(x[:8], verbose=0)) - reference)))
    if gap > 1e-3:
        raise RuntimeError(f"{name}: the Keras copy of the fitted head predicts differently "
                           f"(largest gap {gap:.2g})")  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    # the index, tag and search run the saved head with NumPy: it must read back the same
    numpy_head = read_dense_head(out / "model.keras")
    if numpy_head is None or np.max(np.abs(numpy_head.predict(x[:8]) - reference)) > 1e-3:
        raise RuntimeError(f"{name}: the saved head does not read back as standardisation "
                           "and dense layers that predict as the fitted head")  # fmt: skip
    info = {
        "name": out.name,
        "architecture": f"{family.head} on cue vectors",
        "input": "cue_vector",
        "parts": list(family.parts),
        "feature_kind": "+".join(family.parts),
        "description": family.description,
        "final": True,
        "strength": strength,
        "params": int(model.count_params()),
        "genres": list(manifest.genres),
        "feature_params": params.to_dict(),
        "trained_on": source_summary(cues, manifest.genres),
        "manifest_digest": manifest.digest(),
        "cross_validation": cv_scores or {},
        "calibration": {"method": "platt", "fitted_on": "out-of-fold scores of every cue",
                        "per_genre": platt.to_dict(manifest.genres), **(calibration or {})}
        if platt is not None else None,  # fmt: skip
        "outputs": "calibrated probabilities" if platt is not None else "scores",
        "device": device_summary(),
        "versions": library_versions(),
    }
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    return out


def fit_final_keras(
    name: str,
    manifest: Manifest,
    run_dir: str | os.PathLike[str],
    feature_kind: str = "mfcc",
    config=None,
    cv_scores: dict | None = None,
    k: int = 5,
    seed: int = 0,
    label: str | None = None,
    **model_kwargs,
) -> Path:
    """Train a registered Keras model once more after its cross-validation and save it as
    ``run_dir/models/<label>_final`` for ``tag`` and ``search``.

    It trains on every film but one fold of them (1/``k``, dealt as in the
    cross-validation), held out to stop training and pick the best epoch: a network needs
    that signal, where the cue-vector families train on all films.
    """
    from ...models.registry import MODELS
    from ...training.loop import TrainConfig, train_model

    label = label or (f"{name}_{feature_kind}" if MODELS[name][1] == "tiles" else name)
    cues = manifest.cues.reset_index(drop=True)
    folds = assign_folds(cues, manifest.genres, k, seed)
    split = np.where(folds == 0, "val", "train")
    final = Manifest(cues.assign(split=split), manifest.skipped, manifest.label_notes,
                     manifest.genres)  # fmt: skip
    result = train_model(name, final, run_dir, feature_kind, config=config or TrainConfig(),
                         label=f"{label}_final", **model_kwargs)  # fmt: skip
    out = Path(run_dir) / "models" / f"{label}_final"
    info = {**result.info, "final": True, "cross_validation": cv_scores or {},
            "stopping_films": int(final.split("val")["film"].nunique())}  # fmt: skip
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    return out
