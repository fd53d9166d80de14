"""Training throughput of every tile model, the project's loop against a plain ``fit``.

For each model and precision, on the same random 40 x 100 tiles: a plain
``model.fit(x, y, batch_size=64)`` (baseline) and ``filmgenre.training.loop.fit`` (ours: early
stopping, checkpoints, CSV and TensorBoard logs, validation ROC-AUC every epoch).
Throughput is training tiles per second of the last epoch (the first compiles), timed
by the same callback in both. Prints tiles/s and the ratio ours / plain per row.

    python benchmarks/bench_train.py [--tiles 4096] [--epochs 3] [--models study_cnn ...]

Runs under any Keras backend (``KERAS_BACKEND=jax`` on a GPU machine without TensorFlow).
Precisions: float32 and the mixed policy the hardware supports (``devices.auto_precision``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from filmgenre.models import registry
from filmgenre.runtime import devices
from filmgenre.training import loop as train


def _timer():
    import keras

    class LastEpoch(keras.callbacks.Callback):
        """Seconds of each epoch's training batches (validation excluded)."""

        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self._end = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(self._end - self._start)

    return LastEpoch()


def plain_fit(name: str, x, y, epochs: int, batch: int) -> float:
    import keras

    devices.set_seed(0)
    model = registry.build_model(name, x.shape[1:], y.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    timer = _timer()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[timer])
    return len(x) / timer.seconds[-1]


def our_fit(name: str, x, y, xv, yv, epochs: int, batch: int) -> float:
    model = registry.build_model(name, x.shape[1:], y.shape[1])
    config = train.TrainConfig(epochs=epochs, batch_size=batch, patience=epochs, verbose=0)
    with tempfile.TemporaryDirectory() as out:
        _, history = train.fit(model, x, y, xv, yv, out, config)
    return float(history["examples_per_s"].iloc[-1])


def main() -> int:
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument(
        "--models", nargs="+", default=["study_cnn", "resnet_cnn", "fcn_cnn", "tile_mlp"]
    )
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    if args.quick:
        args.tiles, args.epochs, args.models = 128, 2, ["study_cnn"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.tiles, 40, 100)).astype(np.float32)
    y = (rng.random((args.tiles, 10)) < 0.25).astype(np.float32)
    xv, yv = x[: args.tiles // 4], y[: args.tiles // 4]
    device = devices.device_summary()
    print(f"backend {keras.backend.backend()}, devices {device['gpus'] or 'CPU'}, "
          f"{args.tiles} tiles, batch {args.batch}")  # fmt: skip
    precisions = list(dict.fromkeys(["float32", devices.auto_precision()]))
    rows = []
    for name in args.models:
        for precision in precisions:
            keras.config.set_dtype_policy(precision)
            try:
                plain = plain_fit(name, x, y, args.epochs, args.batch)
                ours = our_fit(name, x, y, xv, yv, args.epochs, args.batch)
            finally:
                keras.config.set_dtype_policy("float32")
            rows.append({"model": name, "precision": precision, "plain_tiles_per_s": plain,
                         "ours_tiles_per_s": ours, "ratio": ours / plain})  # fmt: skip
            print(f"{name:12s} {precision:15s} plain fit {plain:8.0f} tiles/s | filmgenre "
                  f"{ours:8.0f} tiles/s | ratio {ours / plain:.2f}", flush=True)  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
