"""Training: seeds, early stopping on validation films, checkpoints, logs, cue predictions.

A trained model is saved with everything needed to trust and reuse it: the
weights (``model.keras``), its training history, the configuration, feature
parameters, manifest digest and library versions (``config.json``), and its
per-cue predictions on validation and test films (``predictions.csv``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import FeatureParams
from ..data.dataset import Manifest, source_summary
from ..runtime.devices import auto_precision, data_parallel, device_summary, set_seed
from ..runtime.versions import library_versions
from .artifacts import load_history
from .cue_scores import PREDICT_BATCH, save_predictions
from .inputs import divisible, feature_label, load_inputs, training_examples, training_index
from .settings import STREAM_ABOVE_BYTES, TrainConfig


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


def make_loss(name: str, y_train: np.ndarray):
    """The training loss by name; ``weighted_bce`` takes its weights from ``y_train``."""
    import keras

    from ..models.losses import WeightedBinaryCrossentropy

    if name == "bce":
        return keras.losses.BinaryCrossentropy()
    if name == "focal":
        return keras.losses.BinaryFocalCrossentropy(gamma=2.0)
    if name == "weighted_bce":
        positives = np.clip(y_train.sum(0), 1, None)
        return WeightedBinaryCrossentropy(((len(y_train) - positives) / positives).tolist())
    raise ValueError(f"unknown loss {name!r}; choose bce, weighted_bce or focal")


def fit(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    out_dir: str | os.PathLike[str],
    config: TrainConfig = TrainConfig(),
    resume: bool = False,
):
    """Adapt the model's normalisation, train with early stopping on validation AUC, save.

    Every epoch saves ``last.keras`` (weights and optimiser state) and, when
    validation AUC improves, ``checkpoint.keras``. With ``resume``, an interrupted
    run continues from ``last.keras`` at the epoch after the last one logged. The
    returned model carries the best weights of the whole run. Returns
    (model, per-epoch history), the history also in ``history.csv``.
    """
    if config.mixup_alpha > 0:
        from .augment import mixup_batches

        def batches(initial_epoch: int):
            seed = config.seed + initial_epoch
            data = mixup_batches(x_train, y_train, config.batch_size, config.mixup_alpha, seed)
            return {"x": data}
    else:

        def batches(initial_epoch: int):
            return {"x": x_train, "y": y_train, "batch_size": config.batch_size, "shuffle": True}

    def adapt(layer) -> None:
        layer.adapt(x_train)

    return _fit(model, batches, (x_val, y_val), y_train, adapt, out_dir, config, resume)


def fit_streamed(
    model,
    train_index,
    val_index,
    out_dir: str | os.PathLike[str],
    config: TrainConfig = TrainConfig(),
    resume: bool = False,
    multiple: int = 1,
):
    """:func:`fit` on tiles read from the feature caches (two
    :class:`filmgenre.training.streaming.TileIndex`): the normalisation is adapted one cue at a
    time in float64, batches are shuffled across cues each epoch and prefetched.
    ``multiple``: batch sizes split evenly over that many devices (JAX data parallelism)."""
    from .streaming import tile_batches

    def batches(initial_epoch: int):
        seed = config.seed + initial_epoch
        data = tile_batches(train_index, config.batch_size, seed=seed,
                            mixup_alpha=config.mixup_alpha, multiple=multiple,
                            block_cues=config.stream_block_cues)  # fmt: skip
        return {"x": data, "shuffle": False}  # batch order is the stream's (cache-friendly)

    def adapt(layer) -> None:
        mean, variance = train_index.standardisation()
        # two rows per bin, mean -+ one standard deviation: their mean and variance are
        # exactly the collection's, and adapt() computes them in NumPy
        layer.adapt(np.stack([mean - np.sqrt(variance), mean + np.sqrt(variance)])[..., None])

    validation = tile_batches(val_index, PREDICT_BATCH - PREDICT_BATCH % multiple,
                              shuffle=False, multiple=multiple)  # fmt: skip
    return _fit(model, batches, validation, train_index.labels, adapt, out_dir, config, resume)


def _fit(model, batches, validation, y_train: np.ndarray, adapt, out_dir, config, resume):
    """The loop behind :func:`fit` and :func:`fit_streamed`: ``batches(initial_epoch)``
    gives ``model.fit``'s data arguments, ``adapt(layer)`` fits the normalisation."""
    import keras

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    last, best_file, log = out / "last.keras", out / "checkpoint.keras", out / "history.csv"
    initial_epoch, best_so_far = 0, None
    if resume and last.is_file() and log.is_file():
        done = pd.read_csv(log)
        initial_epoch = len(done)
        best_so_far = float(done["val_auc"].max()) if len(done) else None
        model = keras.models.load_model(last)  # weights, normalisation and optimiser state
        print(f"resuming {out.name} after epoch {initial_epoch} (best val_auc {best_so_far})")
    else:
        for stale in (last, best_file, log):
            stale.unlink(missing_ok=True)
        if "standardise" in {layer.name for layer in model.layers}:
            adapt(model.get_layer("standardise"))
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss=make_loss(config.loss, y_train),
            metrics=[keras.metrics.AUC(multi_label=True, num_labels=y_train.shape[1], name="auc")],
        )
    callbacks = [
        _throughput_callback()(len(y_train)),
        keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=config.patience),
        keras.callbacks.ModelCheckpoint(
            best_file,
            monitor="val_auc",
            mode="max",
            save_best_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.ModelCheckpoint(last),
        keras.callbacks.CSVLogger(str(log), append=initial_epoch > 0),
    ]
    if config.lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_auc", mode="max", factor=0.5, patience=config.lr_patience, min_lr=1e-5
            )
        )
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(out / "tensorboard"), write_graph=False))
    if initial_epoch < config.epochs:
        model.fit(
            **batches(initial_epoch),
            validation_data=validation,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            verbose=config.verbose,
        )
    if best_file.is_file():  # the best epoch of the whole run, across interruptions
        model.set_weights(keras.models.load_model(best_file, compile=False).get_weights())
    model.save(out / "model.keras")
    history = load_history(out)
    history.attrs["resumed_after_epoch"] = initial_epoch
    return model, history


@dataclass
class TrainResult:
    name: str
    model: object
    history: pd.DataFrame
    predictions: pd.DataFrame
    info: dict


def run_info(label: str, architecture: str, history: pd.DataFrame, **extra) -> dict:
    """The record saved beside a model's weights: what it is, how it trained, on what."""
    best = int(history["val_auc"].idxmax())
    return {
        "name": label,
        "architecture": architecture,
        "epochs_run": int(len(history)),
        "best_epoch": best + 1,
        "best_val_auc": float(history["val_auc"].iloc[best]),
        "examples_per_s": float(history["examples_per_s"].median()),
        **extra,
        "device": device_summary(),
        "versions": library_versions(),
    }


def train_model(
    name: str,
    manifest: Manifest,
    run_dir: str | os.PathLike[str],
    feature_kind: str = "mfcc",
    params: FeatureParams = FeatureParams(),
    config: TrainConfig = TrainConfig(),
    label: str | None = None,
    resume: bool = False,
    **model_kwargs,
) -> TrainResult:
    """Train the registered model ``name`` on the manifest's train films, stop on val films,
    and save it with its predictions for val and test cues under ``run_dir/models/<label>``.

    ``resume`` continues an interrupted run of the same label from its last epoch, and
    reuses a model of that label that had finished (its ``config.json`` is written last).
    """
    import keras

    from ..models import registry

    label = label or name
    out = Path(run_dir) / "models" / label
    _, input_kind = registry.MODELS[name]
    genres = manifest.genres
    if resume and (out / "config.json").is_file() and (out / "model.keras").is_file():
        info = json.loads((out / "config.json").read_text())
        if info.get("manifest_digest") == manifest.digest():
            print(f"{label}: finished in an earlier run, reusing it (resume)")
            return TrainResult(
                label,
                keras.models.load_model(out / "model.keras"),
                load_history(out),
                pd.read_csv(out / "predictions.csv", keep_default_na=False),
                info,
            )
    (out / "config.json").unlink(missing_ok=True)  # written again only when training ends
    set_seed(config.seed)
    stream = False
    if input_kind == "tiles":  # where every tile lives: streamed, or stacked from it
        train_index, val_index = training_index(manifest, feature_kind, params, config)
        n_train, n_val = len(train_index), len(val_index)
        stream = config.stream
        if stream is None:  # in memory when the training tiles fit the budget
            stream = n_train * train_index.n_bins * train_index.tile_frames * 4 > (
                STREAM_ABOVE_BYTES)
    if stream:
        input_shape = (train_index.n_bins, train_index.tile_frames)
    else:
        if input_kind == "tiles":
            (x_tr, y_tr), (x_va, y_va) = train_index.stack(), val_index.stack()
        else:
            x_tr, y_tr = training_examples(manifest, input_kind, feature_kind, params, config)
            x_va, y_va, _, _ = load_inputs(manifest, "val", input_kind, feature_kind, params,
                                           config.max_tiles_per_cue)  # fmt: skip
        n_train, n_val, input_shape = len(x_tr), len(x_va), x_tr.shape[1:]
    if n_train == 0 or n_val == 0:
        raise ValueError(
            f"{label}: no training or validation examples; is every cue shorter "
            "than one tile, or are the splits empty?"
        )
    policy = keras.config.dtype_policy()
    if config.precision == "auto":
        config = replace(config, precision=auto_precision())
    keras.config.set_dtype_policy(config.precision)
    try:
        with data_parallel(config.parallel) as devices:
            # JAX splits each batch into equal parts, one per device; TensorFlow needs not
            multiple = len(devices) if devices and keras.backend.backend() == "jax" else 1
            model = registry.build_model(name, input_shape, len(genres), **model_kwargs)
            started = time.perf_counter()
            if stream:
                model, history = fit_streamed(model, train_index, val_index, out, config,
                                              resume, multiple)  # fmt: skip
            else:
                x_tr, y_tr = divisible(x_tr, y_tr, config.batch_size, multiple, pad=False)
                x_va, y_va = divisible(x_va, y_va, config.batch_size, multiple, pad=True)
                model, history = fit(model, x_tr, y_tr, x_va, y_va, out, config, resume=resume)
            train_seconds = time.perf_counter() - started
    finally:
        keras.config.set_dtype_policy(policy)
    predictions = save_predictions(model, manifest, out, input_kind, feature_kind, params,
                                   stream=stream)  # fmt: skip
    info = run_info(
        label,
        name,
        history,
        input=input_kind,
        feature_kind=feature_label(input_kind, feature_kind),
        params=int(model.count_params()),
        trainable_params=int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        train_examples=int(n_train),
        streamed=bool(stream),
        train_seconds=round(train_seconds, 2),
        data_parallel_devices=devices,
        train_config=asdict(config),
        model_kwargs=model_kwargs,
        feature_params=params.to_dict(),
        genres=list(genres),
        manifest_digest=manifest.digest(),
        trained_on=source_summary(manifest.split("train"), genres),
        resumed_after_epoch=int(history.attrs.get("resumed_after_epoch", 0)),
    )
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    return TrainResult(label, model, history, predictions, info)


def summary_table(results: list[TrainResult]) -> pd.DataFrame:
    """One row per trained model: size, training time, throughput and best validation AUC,
    best validation AUC first."""
    keys = (
        "architecture",
        "feature_kind",
        "params",
        "trainable_params",
        "train_examples",
        "epochs_run",
        "best_epoch",
        "best_val_auc",
        "train_seconds",
        "examples_per_s",
    )
    table = pd.DataFrame({r.name: {k: r.info.get(k) for k in keys} for r in results}).T
    return table.sort_values("best_val_auc", ascending=False)  # best first, not by name
