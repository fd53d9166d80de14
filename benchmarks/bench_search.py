"""Index scale: query latency, size on disk and memory at 10k, 100k and 1M tracks, and the
build rate on real audio next to plain feature extraction, measured in one run.

The large indexes are rows with random genre probabilities and moods, random 64-d
similarity vectors (the dimension the index stores) and 4 segments per track, written
through the index's own schema and packing: this measures the index, not the model. Each
size is queried in a fresh process (its peak memory is that process's): 300 genre mixes
(two wanted genres, one unwanted), 300 briefs (a mood word of the thesaurus and a genre)
and 300 similarity queries, p50 and p99; from 20,000 tracks
similarity is an exact scan of unit vectors (the index's own path below 5M tracks); at
the largest size the approximate graph is also built and timed, with its recall@10 against
the exact scan. The build rate indexes real recordings from a cold cache (decoding, features,
musicnn, model) against `features.extract` alone on the same files.

    .venv/bin/python benchmarks/bench_search.py [--sizes 10000,100000,1000000] [--real N]
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

from filmgenre.config import shared_dir
from filmgenre.genres import GENRES
from filmgenre.library import index as idx
from filmgenre.library import store

DIM = 64
SEGMENTS = 4


def make_index(path: Path, n: int, seed: int = 0) -> float:
    """An index of ``n`` synthetic tracks; returns the seconds it took to write and pack."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    con = store.connect(path, create=True)
    with store.writing(con):
        store.set_meta(con, "library", str(path.parent / "library"))
        store.set_meta(con, "genres", list(GENRES))
        store.set_meta(con, "segment_seconds", 15.0)
        store.set_meta(con, "vector_dim", DIM)
        store.set_meta(con, "model", {"name": "random rows", "outputs": "random probabilities"})
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        scores = rng.beta(0.6, 2.0, size=(m, len(GENRES))).astype(np.float32)
        vectors = rng.normal(size=(m, DIM)).astype(np.float32)
        durations = rng.uniform(20, 300, m)
        # moods as an index holds them: nine probabilities, then valence and arousal (-1..1)
        moods = np.hstack([rng.beta(0.8, 2.0, (m, 9)), rng.uniform(-1, 1, (m, 2))]
                          ).astype(np.float32)  # fmt: skip
        with store.writing(con):
            con.executemany(
                "INSERT INTO tracks (id, path, status, title, duration, tempo, folder, scores, "
                "vector, moods, model_key) VALUES (?, ?, 'ok', ?, ?, ?, ?, ?, ?, ?, 'bench')",
                ((start + i + 1, f"f{(start + i) % 1000}/t{start + i}.flac", f"track {start + i}",
                  float(durations[i]), float(rng.uniform(60, 180)), f"f{(start + i) % 1000}",
                  scores[i].tobytes(), vectors[i].tobytes(), moods[i].tobytes())
                 for i in range(m)))  # fmt: skip
            seg = np.clip(scores[:, None, :] + rng.normal(0, 0.05, (m, SEGMENTS, len(GENRES))),
                          0.001, 0.999).astype(np.float32)  # fmt: skip
            con.executemany("INSERT INTO segments (track_id, idx, start, end, scores, moods) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            ((start + i + 1, k, 15.0 * k, 15.0 * (k + 1), seg[i, k].tobytes(),
                              moods[i].tobytes())
                             for i in range(m) for k in range(SEGMENTS)))  # fmt: skip
    with store.writing(con):
        idx.pack(con)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - started


QUERY_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
from filmgenre.library import index as idx, search, store
path, n_queries, graph = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "graph"
started = time.perf_counter()
con = store.connect(path)
snap = idx.snapshot(con)
opened = time.perf_counter() - started
speed = search.latency(con, snap, n=n_queries, top=10, seed=1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {"open_s": opened, "speed": speed, "peak_mib": peak / 1024}
if graph:  # the approximate alternative, measured beside the exact scan
    from filmgenre.library.neighbours import ann_search, build_ann, restore
    started = time.perf_counter()
    snap.ann = restore(build_ann(snap.vectors, snap.ids))
    out["graph_build_s"] = time.perf_counter() - started
    rng = np.random.default_rng(2)
    rows = rng.integers(len(snap), size=n_queries)
    times, shares = [], []
    for row in rows:
        t = time.perf_counter()
        search.run(con, snap, None, snap.vectors[row], top=10)
        times.append((time.perf_counter() - t) * 1000)
    for row in rows[:100]:
        exact = set(np.argsort(-(snap.unit_vectors @ snap.unit_vectors[row]))[:10])
        keys, _ = ann_search(snap.ann, snap.vectors[row], 10)
        shares.append(len(exact & set(snap.rows(keys))) / 10)
    out["graph"] = {"p50_ms": float(np.percentile(times, 50)),
                    "p99_ms": float(np.percentile(times, 99)),
                    "recall_at_10": float(np.mean(shares)),
                    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print(json.dumps(out))
"""


def query(path: Path, n_queries: int, graph: bool = False) -> dict:
    done = subprocess.run([sys.executable, "-c", QUERY_SCRIPT, str(path), str(n_queries),
                           "graph" if graph else "exact"],
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_rate(n_files: int) -> tuple[float, float, int] | None:
    """(index build tracks/s, plain extraction tracks/s, files) on real recordings from a
    cold cache, each in a fresh process with its own empty data folder."""
    shared = shared_dir()
    if shared is None or not (shared / "realaudio" / "emotify").is_dir():
        return None
    files = sorted((shared / "realaudio" / "emotify").rglob("*.mp3"))[:n_files]
    script = r"""
import sys, time, shutil, pandas as pd, numpy as np
from pathlib import Path
from filmgenre.library import ingest
from filmgenre.data import dataset, features
kind, lib, index_file, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
started = time.perf_counter()
if kind == "index":
    report = ingest.build(lib, index_file, "shipped", progress=False)  # the model, by name
    assert report.tracks == len(files), report
else:
    m = dataset.Manifest(pd.DataFrame({"film": files, "cue": files, "path": files,
                                       "genres": "", "duration": np.nan}), genres=())
    out = features.extract(m, progress=False)
    assert len(out.cues) == len(files)
print(time.perf_counter() - started)
"""
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "library"
        lib.mkdir()
        copies = []
        for f in files:  # emotify names clips 1.mp3, 2.mp3 ... in every genre folder
            copies.append(str(lib / f"{f.parent.name}-{f.name}"))
            Path(copies[-1]).write_bytes(f.read_bytes())
        for kind in ("index", "extract"):
            data = Path(tmp) / f"data-{kind}"
            done = subprocess.run([sys.executable, "-c", script, kind, str(lib),
                                   str(Path(tmp) / "index.sqlite"), *copies],
                                  capture_output=True, text=True, timeout=3600,
                                  env={**os.environ, "FILMGENRE_DATA": str(data)})  # fmt: skip
            if done.returncode:
                raise RuntimeError(done.stderr[-3000:])
            rates.append(len(files) / float(done.stdout.strip().splitlines()[-1]))
    return rates[0], rates[1], len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--graph", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure the approximate graph at the largest size")
    parser.add_argument("--real", type=int, default=60, help="real files for the build rate "
                        "(0: skip)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.queries, args.graph, args.real = "2000", 20, False, 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [int(s) for s in args.sizes.split(",")]
        for n in sizes:
            path = Path(tmp) / f"index-{n}.sqlite"
            seconds = make_index(path, n)
            result = query(path, args.queries, graph=args.graph and n == max(sizes))
            rows.append((n, seconds, path.stat().st_size / 2**20, result))
            path.unlink()
            print(f"{n} tracks done", file=sys.stderr, flush=True)
    print(f"\nindex of random rows: {DIM}-d vectors, {SEGMENTS} segments a track, "
          f"{args.queries} queries of each kind, top 10, a fresh process per size")
    print("| tracks | write + pack s | size on disk MiB | open s | genre mix p50 / p99 ms | "
          "brief (mood word + genre) p50 / p99 ms | similarity (exact scan) p50 / p99 ms | "
          "peak memory MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for n, seconds, mib, r in rows:
        mix, brief = r["speed"]["genre mix"], r["speed"]["brief"]
        like = r["speed"]["like a track"]
        print(f"| {n:,} | {seconds:.1f} | {mib:.0f} | {r['open_s']:.2f} | {mix['p50_ms']:.1f} / "
              f"{mix['p99_ms']:.1f} | {brief['p50_ms']:.1f} / {brief['p99_ms']:.1f} | "
              f"{like['p50_ms']:.1f} / {like['p99_ms']:.1f} | {r['peak_mib']:.0f} |")
    for n, _, _, r in rows:
        if "graph" in r:
            g = r["graph"]
            print(f"\nthe approximate alternative at {n:,} tracks (usearch HNSW, cosine, "
                  f"connectivity 16, expansion 128/256): built in {r['graph_build_s']:.0f} s, "
                  f"similarity p50 / p99 {g['p50_ms']:.1f} / {g['p99_ms']:.1f} ms, recall@10 "
                  f"against the exact scan {g['recall_at_10']:.3f}, peak memory "
                  f"{g['peak_mib']:.0f} MiB with the graph")  # fmt: skip
    if args.real:
        rate = build_rate(args.real)
        if rate is None:
            print("\nbuild rate: ../shared/realaudio/emotify is absent, not measured")
        else:
            index_rate, extract_rate, n = rate
            print(f"\nbuild rate on {n} real MP3s (emotify, 1 min each), cold cache, 2 processes: "
                  f"index build {index_rate:.2f} tracks/s (decode, features, musicnn, model, tags, "
                  f"tempo, segments) vs feature extraction alone {extract_rate:.2f} tracks/s "
                  f"(ratio {index_rate / extract_rate:.2f})")


if __name__ == "__main__":
    main()
