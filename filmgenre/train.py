"""Training: seeds, early stopping on validation films, checkpoints, logs, cue predictions.

A trained model is saved with everything needed to trust and reuse it: the
weights (``model.keras``), its training history, the configuration, feature
parameters, manifest digest and library versions (``config.json``), and its
per-cue predictions on validation and test films (``predictions.csv``).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import FeatureParams
from .dataset import Manifest
from .features import load_summaries, load_tiles


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and stopping settings (Adam; the study's SGD schedule is not the default).

    The learning rate halves after ``lr_patience`` epochs without a better validation
    ROC-AUC (0 turns that off); training stops after ``patience`` such epochs.
    """

    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 10
    lr_patience: int = 4
    seed: int = 0
    verbose: int = 2


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend in one call."""
    import keras

    keras.utils.set_random_seed(seed)


def library_versions() -> dict[str, str]:
    """Versions of everything that can change a result, for reports and model folders."""
    from importlib.metadata import PackageNotFoundError, version

    import keras

    out = {"python": platform.python_version(), "keras_backend": keras.backend.backend()}
    for pkg in (
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "librosa",
        "soundfile",
        "keras",
        "tensorflow-cpu",
        "tensorflow",
        "jax",
        "torch",
        "papermill",
        "matplotlib",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def device_summary() -> dict[str, object]:
    """Which backend and accelerators training will use."""
    import keras

    backend = keras.backend.backend()
    gpus: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
    elif backend == "torch":
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "backend": backend,
        "gpus": gpus,
        "device": "GPU" if gpus else "CPU",
        "cpu_count": os.cpu_count(),
    }


def _throughput_callback():
    import keras

    class Throughput(keras.callbacks.Callback):
        """Adds training examples per second of each epoch to the logs."""

        def __init__(self, n_examples: int):
            super().__init__()
            self.n_examples = n_examples

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self._train_end = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["examples_per_s"] = self.n_examples / (self._train_end - self._start)

    return Throughput


def fit(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    out_dir: str | os.PathLike[str],
    config: TrainConfig = TrainConfig(),
) -> pd.DataFrame:
    """Adapt the model's normalisation, train with early stopping on validation AUC, save.

    Returns the per-epoch history (also in ``history.csv``).
    """
    import keras

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    model.get_layer("standardise").adapt(x_train)
    n_genres = y_train.shape[1]
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(multi_label=True, num_labels=n_genres, name="auc")],
    )
    callbacks = [
        _throughput_callback()(len(x_train)),
        keras.callbacks.EarlyStopping(
            monitor="val_auc", mode="max", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            out / "checkpoint.keras", monitor="val_auc", mode="max", save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(out / "history.csv")),
    ]
    if config.lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_auc", mode="max", factor=0.5, patience=config.lr_patience, min_lr=1e-5
            )
        )
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(out / "tensorboard"), write_graph=False))
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=config.verbose,
    )
    model.save(out / "model.keras")
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame


def predict_cues(
    model, x: np.ndarray, cue_index: np.ndarray, n_cues: int, batch_size: int = 512
) -> np.ndarray:
    """Cue prediction = mean of its tiles' predictions (the study's pooling)."""
    tile_pred = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    sums = np.zeros((n_cues, tile_pred.shape[1]))
    np.add.at(sums, cue_index, tile_pred)
    counts = np.bincount(cue_index, minlength=n_cues)[:, None]
    return sums / np.maximum(counts, 1)


def predictions_frame(
    cues: pd.DataFrame, scores: np.ndarray, genres: tuple[str, ...]
) -> pd.DataFrame:
    """Per-cue truth (``y_<genre>``) and probability (``p_<genre>``) in one table."""
    out = cues[["film", "cue", "split"]].copy().reset_index(drop=True)
    for g in genres:
        out[f"y_{g}"] = cues[g].to_numpy(dtype=int)
    for j, g in enumerate(genres):
        out[f"p_{g}"] = scores[:, j]
    return out


@dataclass
class TrainResult:
    name: str
    model: object
    history: pd.DataFrame
    predictions: pd.DataFrame
    info: dict


def train_model(
    name: str,
    manifest: Manifest,
    run_dir: str | os.PathLike[str],
    feature_kind: str = "mfcc",
    params: FeatureParams = FeatureParams(),
    config: TrainConfig = TrainConfig(),
    label: str | None = None,
    **model_kwargs,
) -> TrainResult:
    """Train the registered model ``name`` on the manifest's train films, stop on val films,
    and save it with its predictions for val and test cues under ``run_dir/models/<label>``."""
    from . import models

    label = label or name
    out = Path(run_dir) / "models" / label
    builder, input_kind = models.MODELS[name]
    genres = manifest.genres
    set_seed(config.seed)
    splits: dict[str, tuple] = {}
    if input_kind == "tiles":
        for split in ("train", "val", "test"):
            ts = load_tiles(manifest, split, feature_kind, params)
            splits[split] = (ts.x, ts.y, ts.cue, ts.cues)
    else:
        for split in ("train", "val", "test"):
            x, y, cues = load_summaries(manifest, split)
            splits[split] = (x, y, np.arange(len(cues)), cues)
    x_tr, y_tr, _, _ = splits["train"]
    x_va, y_va, _, _ = splits["val"]
    if len(x_tr) == 0 or len(x_va) == 0:
        raise ValueError(
            f"{label}: no training or validation examples; is every cue shorter "
            "than one tile, or are the splits empty?"
        )
    model = models.build(name, x_tr.shape[1:], len(genres), **model_kwargs)
    started = time.perf_counter()
    history = fit(model, x_tr, y_tr, x_va, y_va, out, config)
    train_seconds = time.perf_counter() - started
    frames = []
    for split in ("val", "test"):
        x, _, idx, cues = splits[split]
        scores = predict_cues(model, x, idx, len(cues))
        frames.append(predictions_frame(cues, scores, genres))
    predictions = pd.concat(frames, ignore_index=True)
    predictions.to_csv(out / "predictions.csv", index=False)
    best = int(history["val_auc"].idxmax())
    info = {
        "name": label,
        "architecture": name,
        "input": input_kind,
        "feature_kind": feature_kind if input_kind == "tiles" else "mfcc_summary",
        "params": int(model.count_params()),
        "train_examples": int(len(x_tr)),
        "epochs_run": int(len(history)),
        "best_epoch": best + 1,
        "best_val_auc": float(history["val_auc"].iloc[best]),
        "train_seconds": round(train_seconds, 2),
        "examples_per_s": float(history["examples_per_s"].median()),
        "train_config": asdict(config),
        "model_kwargs": model_kwargs,
        "feature_params": params.to_dict(),
        "genres": list(genres),
        "manifest_digest": manifest.digest(),
        "device": device_summary(),
        "versions": library_versions(),
    }
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    return TrainResult(label, model, history, predictions, info)


def summary_table(results: list[TrainResult]) -> pd.DataFrame:
    """One row per trained model: size, training time, throughput and best validation AUC."""
    keys = (
        "architecture",
        "feature_kind",
        "params",
        "train_examples",
        "epochs_run",
        "best_epoch",
        "best_val_auc",
        "train_seconds",
        "examples_per_s",
    )
    return pd.DataFrame({r.name: {k: r.info[k] for k in keys} for r in results}).T


def load_history(model_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """A saved model's per-epoch history, epochs counted from 1."""
    history = pd.read_csv(Path(model_dir) / "history.csv")
    history["epoch"] = np.arange(1, len(history) + 1)
    return history


def load_run_models(run_dir: str | os.PathLike[str]) -> dict[str, dict]:
    """``config.json`` of every model trained in a run, by model name."""
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted(Path(run_dir).glob("models/*/config.json"))
    }
