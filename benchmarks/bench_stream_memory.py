"""Peak memory and throughput of training on streamed tiles vs tiles stacked in memory.

Writes feature caches shaped like the default collection (the default profile's films,
cues per film and cue lengths; random log-mel values, since only sizes matter here) at
1x and at 4x its size, then trains the study CNN on log-mel tiles for four epochs in a
fresh process per case, streamed (``TrainConfig(stream=True)``) and stacked
(``stream=False``, the old way). Prints each case's peak resident memory (VmHWM), its
growth over the process before training, the median throughput of epochs 2 to 4 (the
first compiles), and the
ratios 4x / 1x and streamed / stacked.

    python benchmarks/bench_stream_memory.py [--scale 4] [--model study_cnn]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def write_collection(folder: Path, scale: int, seed: int = 0, films: int | None = None) -> Path:
    """Feature caches and a manifest of ``scale`` x the default collection's size (or x
    ``films`` films)."""
    import pandas as pd

    from filmgenre.config import FeatureParams
    from filmgenre.data.dataset import Manifest
    from filmgenre.genres import GENRES
    from filmgenre.reporting.pipeline import DEFAULTS

    params = FeatureParams()
    rng = np.random.default_rng(seed)
    lo, hi = DEFAULTS["cues_per_film"]
    rows = []
    for film in range((films or DEFAULTS["n_films"]) * scale):
        labels = rng.random(len(GENRES)) < 0.25
        labels[rng.integers(len(GENRES))] = True
        split = rng.choice(["train", "val", "test"], p=DEFAULTS["split_fractions"])
        for cue in range(rng.integers(lo, hi + 1)):
            seconds = rng.uniform(*DEFAULTS["cue_seconds"])
            frames = int(seconds * params.sample_rate / params.hop_length) + 1
            file = folder / "features" / f"{film:05d}-{cue}.npz"
            file.parent.mkdir(parents=True, exist_ok=True)
            np.savez(
                file,
                logmel=rng.normal(-30, 10, (params.n_mels, frames)).astype(np.float32),
                mfcc=rng.normal(0, 10, (params.n_mfcc, frames)).astype(np.float32),
            )
            rows.append(
                {
                    "film": f"film_{film:05d}",
                    "cue": f"cue_{cue}",
                    "path": str(file),
                    "split": split,
                    "features": str(file),
                    "genres": ", ".join(g for g, on in zip(GENRES, labels, strict=True) if on),
                    **{g: int(on) for g, on in zip(GENRES, labels, strict=True)},
                }
            )
    Manifest(pd.DataFrame(rows)).save(folder / "dataset")
    return folder / "dataset"


def child(dataset_dir: str, stream: bool, model: str, epochs: int = 4) -> None:
    """One case, in its own process: train ``epochs`` epochs, print a JSON line."""
    from filmgenre.data.dataset import Manifest
    from filmgenre.training import loop as train

    manifest = Manifest.load(dataset_dir)
    before = peak_rss_mib()
    config = train.TrainConfig(epochs=epochs, patience=9, batch_size=64, verbose=0, stream=stream,
                               precision="auto")  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        result = train.train_model(model, manifest, out, "logmel", config=config)
    print(json.dumps({
        "peak_mib": peak_rss_mib(),
        "before_mib": before,
        "tiles": result.info["train_examples"],
        "tiles_per_s": float(result.history["examples_per_s"].iloc[1:].median()),
    }))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--model", default="study_cnn")
    parser.add_argument("--child", nargs=2, metavar=("DATASET", "STREAM"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs each case trains")
    args = parser.parse_args()
    films = None
    if args.quick:  # one scale, so two children: the code paths run, the ratios are 1
        args.scale, args.epochs, films = 1, 2, 12
    if args.child:
        child(args.child[0], args.child[1] == "1", args.model, args.epochs)
        return 0
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scale in sorted({1, args.scale}):
            dataset_dir = write_collection(Path(tmp) / f"x{scale}", scale, films=films)
            for stream in (True, False):
                done = subprocess.run(
                    [sys.executable, __file__, "--model", args.model, "--epochs",
                     str(args.epochs), "--child",
                     str(dataset_dir), str(int(stream))],
                    capture_output=True, text=True, check=False,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                )  # fmt: skip
                if done.returncode:
                    print(done.stdout, done.stderr, file=sys.stderr)
                    return 1
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows[scale, stream] = row
                how = "streamed" if stream else "stacked "
                growth = row["peak_mib"] - row["before_mib"]
                print(
                    f"{scale}x {how}: {row['tiles']:6d} training tiles, peak "
                    f"{row['peak_mib']:7.0f} MiB (+{growth:5.0f} MiB while training), "
                    f"{row['tiles_per_s']:6.0f} tiles/s",
                    flush=True,
                )
    s = args.scale
    for stream, how in ((True, "streamed"), (False, "stacked")):
        grow = rows[s, stream]["peak_mib"] / rows[1, stream]["peak_mib"]
        print(f"{how}: peak memory {s}x / 1x = {grow:.2f}")
    for scale in sorted({1, s}):
        speed = rows[scale, True]["tiles_per_s"] / rows[scale, False]["tiles_per_s"]
        print(f"{scale}x: throughput streamed / stacked = {speed:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
