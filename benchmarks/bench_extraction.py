"""Feature extraction speed and memory, measured in one run against a plain baseline.

Baseline: a sequential loop of ``librosa.load`` + ``librosa.feature.mfcc`` over the
same files with the same parameters (what a notebook author would write first).
Ours: ``filmgenre.features.extract`` with every core, cold cache, then warm cache.
Files: the real MP3s of ../shared/realaudio/emotify (or --audio DIR).

    python benchmarks/bench_extraction.py [--audio DIR] [--limit N] [--jobs N]

Prints times, the ratio ours/baseline, times-realtime, and peak resident memory
of the main process and of the largest worker.
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

from filmgenre import dataset, features
from filmgenre.audio import is_audio_file
from filmgenre.config import FeatureParams, shared_dir


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
    args = parser.parse_args()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
