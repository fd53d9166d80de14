"""Float32 against the mixed policy this hardware runs fast, for every tile model.

Trains each tile model of the default profile twice on a run's dataset (the notebooks'
training settings, same seed): in float32 and in ``runtime.auto_precision()``
(``mixed_bfloat16`` on CPUs with bfloat16 units, ``mixed_float16`` on GPUs). Prints the
best validation ROC-AUC, the test macro ROC-AUC with its 95% film-bootstrap interval,
the training time of each, and whether the mixed policy's test score lies inside the
float32 interval (the rule for making it the default).

    python benchmarks/bench_precision.py --run reports/RUN [--models study_cnn:mfcc ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from filmgenre import dataset, evaluate, metrics, runtime, train
from filmgenre.config import DEFAULTS

TILE_MODELS = (
    "study_cnn:mfcc",
    "study_cnn:logmel",
    "binary_ensemble:mfcc",
    "resnet_cnn:logmel",
    "fcn_cnn:logmel",
    "tile_mlp:mfcc",
    "tile_mlp:logmel",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a run folder with dataset/ (any profile)")
    parser.add_argument("--models", nargs="+", default=list(TILE_MODELS))
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    manifest = dataset.Manifest.load(Path(args.run) / "dataset")
    mixed = runtime.auto_precision()
    rows = []
    for spec in args.models:
        name, kind = spec.split(":")
        result = {}
        for precision in ("float32", mixed):
            config = train.TrainConfig(
                epochs=DEFAULTS["epochs"], patience=DEFAULTS["patience"],
                batch_size=DEFAULTS["batch_size"], learning_rate=DEFAULTS["learning_rate"],
                seed=DEFAULTS["seed"], verbose=0, precision=precision,
            )  # fmt: skip
            with tempfile.TemporaryDirectory() as out:
                trained = train.train_model(name, manifest, out, kind, config=config)
            y, s, cues = evaluate.split_predictions(trained.predictions, manifest.genres)
            score = metrics.score_model(y, s, cues.film.to_numpy(), manifest.genres, args.n_boot)
            result[precision] = {
                "val_auc": trained.info["best_val_auc"],
                "test_auc": score["metrics"]["macro_roc_auc"],
                "test_ci95": score["ci95"]["macro_roc_auc"],
                "train_seconds": trained.info["train_seconds"],
                "epochs": trained.info["epochs_run"],
            }
        f32, low = result["float32"], result[mixed]
        inside = f32["test_ci95"][0] <= low["test_auc"] <= f32["test_ci95"][1]
        rows.append({"model": spec, **{f"{p}_{k}": v for p, r in result.items()
                                       for k, v in r.items()}, "inside": inside})  # fmt: skip
        ci = f"[{f32['test_ci95'][0]:.3f}, {f32['test_ci95'][1]:.3f}]"
        print(f"{spec:22s} float32 val {f32['val_auc']:.3f} test {f32['test_auc']:.3f} "
              f"{ci} {f32['train_seconds']:5.0f} s"
              f" | {mixed} val {low['val_auc']:.3f} test {low['test_auc']:.3f} "
              f"{low['train_seconds']:5.0f} s | inside the float32 interval: {inside} | "
              f"speed-up {f32['train_seconds'] / low['train_seconds']:.2f}x",
              flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"mixed": mixed, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
