"""Peak memory of ``filmgenre tag`` with the largest model, against the file count.

Model: ``musicnn_finetuned`` (the musicnn tagger with a genre head: its patches need
megabytes of activations each), built from the pretrained checkpoint and saved as a
model folder. Files: N distinct one-minute recordings (tones, chords and noise, a
different seed each, so none is skipped as a duplicate), written to a temporary folder.

Ours: ``predict.tag_files`` (files in chunks, batches sized to the model). Baseline
(``--baseline``): every file's patches through ``model.predict`` at batch 512 in one go,
as ``tag`` did before. Each measurement runs in a fresh process; peak resident memory is
the largest of that process and its extraction workers.

    python benchmarks/bench_tag_memory.py [--counts 100 300] [--seconds 60] [--baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def write_files(folder: Path, n: int, seconds: float) -> list[Path]:
    """N distinct recordings: a few random partials, an envelope and a little noise."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    paths = []
    for i in range(n):
        path = folder / f"cue{i:04d}.wav"
        if not path.exists():
            rng = np.random.default_rng(i)
            freqs = rng.uniform(80, 2000, size=4)
            y = sum(np.sin(2 * np.pi * f * t) for f in freqs) / 4
            y = y * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 2) * t))
            y = 0.3 * y + 0.01 * rng.normal(size=t.size)
            sf.write(path, y.astype(np.float32), SR, subtype="PCM_16")
        paths.append(path)
    return paths


def save_model(folder: Path) -> Path:
    """The fine-tuning architecture with pretrained weights, saved as a model folder."""
    from filmgenre.config import FeatureParams
    from filmgenre.genres import GENRES
    from filmgenre.models import musicnn, registry

    folder.mkdir(parents=True, exist_ok=True)
    model = registry.build_model("musicnn_finetuned", (musicnn.PATCH_FRAMES, musicnn.N_MELS),
                                 len(GENRES))  # fmt: skip
    model.save(folder / "model.keras")
    info = {
        "input": "musicnn_patches",
        "feature_kind": "musicnn_mel96",
        "genres": list(GENRES),
        "feature_params": FeatureParams().to_dict(),
        "params": int(model.count_params()),
    }
    (folder / "config.json").write_text(json.dumps(info))
    return folder


def measure(files_dir: Path, n: int, model_dir: Path, baseline: bool) -> dict:
    """Tag the first n files in a fresh process; its peak memory and seconds."""
    code = f"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from filmgenre import predict
from filmgenre.data import dataset, features, musicnn_input
from filmgenre.training import cue_scores, inputs
files = sorted(Path({str(files_dir)!r}).glob("*.wav"))[:{n}]
start = time.perf_counter()
if {baseline!r}:
    model, info = predict.load_trained({str(model_dir)!r})
    m = features.extract(dataset.Manifest.of_files(files), progress=False)
    musicnn_input.extract_inputs(m, progress=False)
    x, _, idx, cues = inputs.load_inputs(m, None, "musicnn_patches")
    tile_scores = np.asarray(model.predict(x, batch_size=512, verbose=0))
    scores = cue_scores.pool_cues(tile_scores, idx, len(cues))
else:
    scores, _ = predict.tag_files(files, {str(model_dir)!r}, progress=False)
seconds = time.perf_counter() - start
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"files": len(scores), "seconds": seconds, "peak_mib": max(own, workers),
                  "main_mib": own, "worker_mib": workers}}))
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each file")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also measure the old all-at-once prediction (smallest count)",
    )
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    if args.quick:
        args.counts, args.seconds = [2], 4.0  # one count: the ratio is 1, the code runs
    with tempfile.TemporaryDirectory(prefix="filmgenre-bench-tag-") as tmp:
        os.environ.setdefault("FILMGENRE_DATA", str(Path(tmp) / "data"))
        started = time.perf_counter()
        write_files(Path(tmp) / "audio", max(args.counts), args.seconds)
        model_dir = save_model(Path(tmp) / "model")
        print(f"wrote {max(args.counts)} files of {args.seconds:.0f} s and the model in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        rows = {}
        for n in args.counts:
            rows[n] = measure(Path(tmp) / "audio", n, model_dir, baseline=False)
            r = rows[n]
            print(f"filmgenre tag, {n} files: peak {r['peak_mib']:.0f} MiB (main "
                  f"{r['main_mib']:.0f}, largest worker {r['worker_mib']:.0f}), "
                  f"{r['seconds']:.0f} s")  # fmt: skip
        small, large = min(args.counts), max(args.counts)
        ratio = rows[large]["peak_mib"] / rows[small]["peak_mib"]
        print(f"peak memory {large} files / {small} files: {ratio:.2f}x "
              f"(bounded when close to 1; target: under 2048 MiB)")  # fmt: skip
        if args.baseline:
            b = measure(Path(tmp) / "audio", small, model_dir, baseline=True)
            print(f"baseline (all patches at batch 512), {small} files: peak "
                  f"{b['peak_mib']:.0f} MiB, {b['seconds']:.0f} s; ours / baseline "
                  f"{rows[small]['peak_mib'] / b['peak_mib']:.2f}x memory")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
