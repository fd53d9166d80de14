"""Float32 against the mixed policy this hardware runs fast, for every tile model.

Trains each tile model of the default profile twice on a run's dataset (the notebooks'
training settings, same seed): in float32 and in ``devices.auto_precision()``
(``mixed_bfloat16`` on CPUs with bfloat16 units, ``mixed_float16`` on GPUs). Prints the
best validation ROC-AUC, the test macro ROC-AUC with its 95% film-bootstrap interval,
the training time of each, and whether the mixed policy's test score lies inside the
float32 interval (the rule for making it the default).

    python benchmarks/bench_precision.py --run reports/RUN [--models study_cnn:mfcc ...]

On a real collection (``--collection filmscore``, ``emotify`` from ../shared/realaudio, or
a folder holding audio and ``labels.csv``), a single split is too small to judge: each
model is cross-validated by film instead (``--folds``, same folds and seed for every
variant), switching one thing at a time: precision (float32 / the mixed policy) and the
training data path (tiles stacked in memory / streamed from the caches). Prints cue- and
film-level macro ROC-AUC with film-bootstrap intervals, the paired difference of each
variant with float32 in memory, the mean best epoch and the training time.
``--train-seeds`` repeats every variant with other training seeds (same folds), which shows
how far a CNN's cross-validated score moves by chance alone.

    python benchmarks/bench_precision.py --collection filmscore --models resnet_cnn:logmel
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from filmgenre.config import DEFAULTS
from filmgenre.data import assemble, dataset
from filmgenre.evaluation import evaluate, metrics
from filmgenre.runtime import devices, scratch
from filmgenre.training import loop as train

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
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--run", help="a run folder with dataset/ (any profile)")
    where.add_argument("--collection", help="filmscore, emotify or a folder with labels.csv: "
                       "cross-validated by film")  # fmt: skip
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS[:4]), choices=VARIANTS)
    parser.add_argument("--models", nargs="+", default=list(TILE_MODELS))
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[DEFAULTS["seed"]],
                        help="training seeds (weights, batch order); the folds stay the same. "
                        "Several seeds show how far a variant moves by chance alone")  # fmt: skip
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if args.collection:
        return cross_validated(args)
    manifest = dataset.Manifest.load(Path(args.run) / "dataset")
    mixed = devices.auto_precision()
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


#: the one-switch-at-a-time variants of the cross-validated comparison
VARIANTS = ("float32/memory", "mixed/memory", "float32/stream", "mixed/stream",
            "float32/stream-32")
#: the training data path of each variant: stacked in memory; streamed with the default
#: shuffle blocks (as many cues as the cache budget holds: a small collection's whole
#: split); streamed in blocks of 32 cues (the default before issue 19)
DATA_PATHS = {"memory": {"stream": False}, "stream": {"stream": True},
              "stream-32": {"stream": True, "stream_block_cues": 32}}


def _best_epochs(folder: Path) -> list[int]:
    """The epoch (1-based) of the best validation ROC-AUC of each fold's training log."""
    import pandas as pd

    best = []
    for log in sorted(folder.rglob("history.csv")):
        history = pd.read_csv(log)
        column = next((c for c in history.columns if c.endswith("val_auc")), None)
        if column is not None and len(history):
            best.append(int(history[column].to_numpy().argmax()) + 1)
    return best


def cross_validated(args: argparse.Namespace) -> int:
    """The variants of every model through the same film-grouped folds (see the docstring)."""
    import time

    import numpy as np

    from filmgenre.evaluation.crossval import folds, loops, oof

    mixed = devices.auto_precision()
    work = scratch.scratch_dir("filmgenre-precision-")
    try:
        manifest = assemble.real_collection(args.collection, work / "dataset")
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    cv = folds.CVConfig(k=args.folds, seed=DEFAULTS["seed"])
    print(f"{args.collection}: {manifest.cues.film.nunique()} films, {len(manifest.cues)} cues, "
          f"{len(manifest.genres)} genres, {cv.k} folds; mixed policy here: {mixed}", flush=True)
    rows = []
    for spec in args.models:
        name, kind = spec.split(":")
        results = {}
        runs = [(variant, seed) for seed in args.train_seeds for variant in args.variants]
        for variant, seed in runs:
            precision, data = variant.split("/")
            config = train.TrainConfig(
                epochs=DEFAULTS["epochs"], patience=DEFAULTS["patience"],
                batch_size=DEFAULTS["batch_size"], learning_rate=DEFAULTS["learning_rate"],
                seed=seed, verbose=0,
                precision="float32" if precision == "float32" else mixed,
                **DATA_PATHS[data],
            )  # fmt: skip
            label = f"{name}_{kind}_{precision}_{data}_seed{seed}"
            started = time.perf_counter()
            results[variant, seed] = loops.cross_validate_keras(
                name, manifest, work / "models", kind, cv, config, label=label)  # fmt: skip
            seconds = time.perf_counter() - started
            epochs = _best_epochs(work / "models" / label)
            scores = {level: oof.score_frame(oof.at_level(
                results[variant, seed].predictions, manifest.genres, level), manifest.genres,
                args.n_boot) for level in ("cue", "film (mean of cues)")}  # fmt: skip
            row = {"model": spec, "variant": variant, "seed": seed, "seconds": round(seconds, 1),
                   "mean_best_epoch": float(np.mean(epochs)) if epochs else None}  # fmt: skip
            for level, sc in scores.items():
                key = "cue" if level == "cue" else "film"
                row[f"{key}_auc"] = sc["metrics"]["macro_roc_auc"]
                row[f"{key}_ci95"] = sc["ci95"]["macro_roc_auc"]
            base = results.get((VARIANTS[0], args.train_seeds[0]))
            if base is not None and (variant, seed) != (VARIANTS[0], args.train_seeds[0]):
                d = oof.paired(results[variant, seed].predictions, base.predictions,
                                    manifest.genres, args.n_boot)  # fmt: skip
                row["cue_minus_float32_memory"] = [d["difference"], d["ci95_low"], d["ci95_high"]]
            rows.append(row)
            diff = row.get("cue_minus_float32_memory")
            diff_text = "" if diff is None else (f" | vs float32/memory seed "
                                                 f"{args.train_seeds[0]} {diff[0]:+.3f} "
                                                 f"[{diff[1]:+.3f}, {diff[2]:+.3f}]")  # fmt: skip
            print(f"{spec:18s} {variant:18s} seed {seed} cue {row['cue_auc']:.3f} "
                  f"[{row['cue_ci95'][0]:.3f}, {row['cue_ci95'][1]:.3f}]  film "
                  f"{row['film_auc']:.3f} [{row['film_ci95'][0]:.3f}, {row['film_ci95'][1]:.3f}]"
                  f"  best epoch {row['mean_best_epoch'] or 0:.1f}  {seconds:5.0f} s{diff_text}",
                  flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"mixed": mixed, "collection": args.collection,
                                               "rows": rows}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
