"""Feature extraction speed and memory, measured in one run against a plain baseline.

Baseline: a sequential loop of ``librosa.load`` + ``librosa.feature.mfcc`` over the
same files with the same parameters (what a notebook author would write first).
Ours: ``filmgenre.data.features.extract`` with every core, cold cache, then warm cache.
Files: the real MP3s of ../shared/realaudio/emotify (or --audio DIR).

    python benchmarks/bench_extraction.py [--audio DIR] [--limit N] [--jobs N]

Prints times, the ratio ours/baseline, times-realtime, and peak resident memory
of the main process and of the largest worker. ``--start-methods`` also times a cold
extraction with worker processes forked straight from this process (``fork``, what
filmgenre did before) against the fork server it uses now, after a Keras model has run
here (as in a notebook or ``index build``), and checks the features are the same bit for bit.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import librosa
import pandas as pd
import soundfile as sf

from filmgenre.config import FeatureParams, shared_dir
from filmgenre.data import dataset, features
from filmgenre.data.audio import is_audio_file
from filmgenre.runtime import pools


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def baseline(paths: list[Path], params: FeatureParams) -> float:
    start = time.perf_counter()
    for path in paths:
        y, sr = librosa.load(path, sr=params.sample_rate)
        librosa.feature.mfcc(
            y=y,
            sr=sr,
            n_mfcc=params.n_mfcc,
            n_fft=params.n_fft,
            hop_length=params.hop_length,
            n_mels=params.n_mels,
        )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--audio", help="folder of audio files (default: ../shared/realaudio/emotify)"
    )
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--start-methods", action="store_true",
                        help="also compare pool start methods (fork vs forkserver)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.jobs = 4, 2
    folder = Path(args.audio) if args.audio else None
    if folder is None:
        shared = shared_dir()
        folder = shared / "realaudio" / "emotify" if shared else None
    if folder is None or not folder.is_dir():
        print("no audio to benchmark: ../shared/realaudio/emotify is absent; pass --audio DIR")
        return 2
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_audio_file(p))
    if args.limit:
        paths = paths[: args.limit]
    seconds = sum(sf.info(p).duration for p in paths)
    for p in paths:  # read every file once so both sides start from a warm OS page cache
        p.read_bytes()
    params = FeatureParams()
    cues = pd.DataFrame(
        {
            "film": [str(p) for p in paths],
            "cue": [p.stem for p in paths],
            "path": [str(p) for p in paths],
            "genres": "x",
            "duration": seconds,
        }
    )
    manifest = dataset.Manifest(cues, genres=())

    t_base = baseline(paths, params)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        out = features.extract(manifest, params, cache_dir=cache, n_jobs=args.jobs, progress=False)
        t_cold = time.perf_counter() - start
        start = time.perf_counter()
        features.extract(manifest, params, cache_dir=cache, n_jobs=args.jobs, progress=False)
        t_warm = time.perf_counter() - start
    print(
        f"files: {len(paths)} from {folder}, {seconds / 3600:.2f} h of audio; "
        f"{len(out.skipped)} skipped; {args.jobs} worker processes, {os.cpu_count()} cores"
    )
    print(f"{'run':<42}{'seconds':>9}{'x realtime':>12}")
    for name, t in (
        ("baseline: sequential librosa.load + mfcc", t_base),
        ("filmgenre extract, cold cache", t_cold),
        ("filmgenre extract, warm cache", t_warm),
    ):
        print(f"{name:<42}{t:>9.2f}{seconds / t:>12.0f}")
    print(f"speed-up, cold cache vs baseline: {t_base / t_cold:.2f}x")
    print(f"speed-up, warm vs cold cache:     {t_cold / t_warm:.1f}x")
    print(
        f"peak RSS: main process {_peak_mib(resource.RUSAGE_SELF):.0f} MiB, "
        f"largest worker {_peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
    )
    if args.start_methods:
        compare_start_methods(manifest, params, args.jobs, seconds)
    return 0


def compare_start_methods(manifest, params: FeatureParams, jobs: int, seconds: float) -> None:
    """Cold extraction through pools started by ``fork`` (before) and by the fork server
    (now), each in a fresh cache, after a Keras model ran in this process; the features of
    both must be identical."""
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.predict(np.zeros((2, 4), np.float32), verbose=0)  # TensorFlow has run here now
    times, outputs = {}, {}
    now = pools.POOL_START_METHOD
    with tempfile.TemporaryDirectory() as root:
        for method in ("fork", now):
            pools.POOL_START_METHOD = method
            start = time.perf_counter()
            out = features.extract(manifest, params, cache_dir=Path(root) / method,
                                   n_jobs=jobs, progress=False)  # fmt: skip
            times[method] = time.perf_counter() - start
            outputs[method] = [dict(np.load(f)) for f in out.cues["features"]]
        pools.POOL_START_METHOD = now
        same = len(outputs["fork"]) == len(outputs[now]) and all(
            a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
            for a, b in zip(outputs["fork"], outputs[now], strict=True))  # fmt: skip
    print(f"pool start method, cold cache, after a Keras model ran in this process "
          f"({jobs} workers):")  # fmt: skip
    for method, t in times.items():
        label = "before" if method == "fork" else "now"
        print(f"  {method + ' (' + label + ')':<40}{t:>9.2f}{seconds / t:>12.0f}")
    print(f"  ratio {now} / fork: {times[now] / times['fork']:.3f} "
          f"({times[now] - times['fork']:+.2f} s); features identical bit for bit: {same}")


if __name__ == "__main__":
    sys.exit(main())
