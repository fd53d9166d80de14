"""Index build speed on real audio, measured in one run: where the time goes (start-up
included), musicnn's engines and precisions against today's build, and Dask clusters of 1
and 2 workers (whose index must equal the local one).

Libraries (copied into a scratch folder): film cues, the 15 s MP3s of
../shared/realaudio/filmscore (300 by default: all of them); songs of 3.5 min, each made by
joining four one-minute emotify clips of one genre folder end to end and cutting at 210 s
(../shared holds no real track of song length), written as 44.1 kHz stereo MP3. Every build
starts from a cold cache (its own empty data folder) in a fresh process; the process's
start-up (imports, loading the models, compiling musicnn's pass) is timed and shown as rows
of its own. Any Keras backend: the device and backend are printed, so the same command
measures a GPU machine under JAX.

1. Stages: the batched build in one process (``n_jobs=1``), each stage's seconds per minute
   of audio and its share of the process's wall time.
2. ``build()`` with every core for each musicnn engine and precision this machine has
   (Keras float32: the build as it was until 2026-12-05; OpenVINO float32 and bfloat16 on a
   CPU; Keras bfloat16 on a GPU): tracks/s, x realtime, and the largest differences of its
   index from Keras float32's (tolerances :data:`TOLERANCES`).
3. Dask: a ``LocalCluster`` on 127.0.0.1 of 1 and of 2 single-threaded worker processes
   (one thread each for TensorFlow and OpenVINO), the models loaded on them before the
   clock starts; tracks/s and the ratio; the 2-worker index compared with the local one (the
   same tracks, segments, keys and digests; scores / tags / vectors within 1e-5); the single
   writer's commit rate, and the hours a 400,000-track library of 3 min tracks takes.

    .venv/bin/python benchmarks/bench_index_build.py [--cues 300] [--songs 6] [--no-dask]
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

from filmgenre.config import shared_dir

#: the cluster's index against the local one (same engine and precision)
TOLERANCE = 1e-5

#: largest differences from Keras float32 an engine and precision may give (scores and
#: tags are probabilities; vectors the similarity space's); float32 engines agree to
#: rounding, bfloat16 keeps 8 bits of mantissa
TOLERANCES = {"float32": 1e-4, "bfloat16": 0.1}

CHILD = r"""
import time
begun = time.perf_counter()
import json, os, sys
import keras
from filmgenre.library import batch, ingest
from filmgenre.runtime.devices import device_summary
from filmgenre.training import transfer
mode, lib, index_file, precision = sys.argv[1:5]
imported = time.perf_counter() - begun
stages = batch.Stages()
extra = {}
if mode.startswith("dask"):
    from distributed import LocalCluster, Client
    n = int(mode[4:])
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    with Client(cluster) as client:  # the models loaded on every worker first
        from filmgenre.library.cluster import PLUGIN, ScorerPlugin
        from filmgenre.library.scoring import Scorer
        from filmgenre.predict import resolve_model
        path, _ = resolve_model("shipped")
        s = Scorer(path, precision=precision)
        client.register_plugin(ScorerPlugin(str(path), str(s.cache), s.key, precision),
                               name=PLUGIN)
    extra["scheduler"] = cluster.scheduler_address
started = time.perf_counter()
report = ingest.build(lib, index_file, "shipped", progress=False, stages=stages,
                      n_jobs=1 if mode == "stages" else None, precision=precision, **extra)
seconds = time.perf_counter() - started
device = device_summary()
print(json.dumps({"seconds": seconds, "imports": imported, "tracks": report.tracks,
                  "skipped": report.skipped, "stages": dict(stages),
                  "engine": transfer.engine(), "backend": device["backend"],
                  "device": ", ".join(device["gpus"]) or f"CPU ({os.cpu_count()} cores)",
                  "workers": os.cpu_count() if mode != "stages" else 1}))
"""

WRITER = r"""
import json, sys, time
import numpy as np
from filmgenre.library import store, ingest
from pathlib import Path
folder, n = Path(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
(folder / "lib").mkdir(parents=True)
files = [folder / "lib" / f"t{i}.mp3" for i in range(n)]
for f in files:
    f.write_bytes(b"x")
con = store.connect(folder / "w.sqlite", create=True)
started = time.perf_counter()
for start in range(0, n, 64):
    with store.writing(con):
        for f in files[start:start + 64]:
            track = {"title": f.stem, "artist": None, "album": None, "track_number": None,
                     "duration": 180.0, "tempo": 100.0, "scores": rng.random(10),
                     "tags": rng.random(100), "moods": rng.random(11), "key": 0,
                     "mode": "major", "vector": rng.random(64),
                     "features_file": f"/c/{f.stem}0000.npz",
                     "segments": [(15.0 * k, 15.0 * k + 15, rng.random(10), rng.random(100),
                                   rng.random(11)) for k in range(12)]}
            ingest._record_track(con, f.name, f, track, "bench")
print(json.dumps({"tracks_per_s": n / (time.perf_counter() - started)}))
"""


def _run(script: str, args: list[str], data: Path | None = None, engine: str | None = None
         ) -> dict:  # fmt: skip
    env = {**os.environ, **({"FILMGENRE_DATA": str(data)} if data else {}),
           **({"FILMGENRE_MUSICNN_ENGINE": engine} if engine else {})}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=3600, env=env)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_libraries(folder: Path, n_cues: int, n_songs: int) -> dict[str, tuple[Path, float]]:
    """{name: (folder, minutes of audio)} of the two libraries."""
    import soundfile as sf

    shared = shared_dir()
    if shared is None:
        print("bench_index_build needs ../shared/realaudio (filmscore, emotify): absent")
        raise SystemExit(2)
    every = sorted((shared / "realaudio" / "filmscore").rglob("*.mp3"))
    cues = [every[i] for i in np.linspace(0, len(every) - 1, min(n_cues, len(every))).astype(int)]
    out = {}
    lib = folder / "cues"
    lib.mkdir()
    for f in cues:
        (lib / f"{f.parent.name}-{f.name}").write_bytes(f.read_bytes())
    (folder / "cue-films.json").write_text(json.dumps({f"{f.parent.name}-{f.name}": f.parent.name
                                                       for f in cues}))  # fmt: skip
    out["film cues (15 s)"] = (lib, sum(sf.info(f).duration for f in cues) / 60)
    if n_songs == 0:
        return out
    lib = folder / "songs"
    lib.mkdir()
    clips = sorted((shared / "realaudio" / "emotify").rglob("*.mp3"))
    by_genre: dict[str, list[Path]] = {}
    for c in clips:
        by_genre.setdefault(c.parent.name, []).append(c)
    groups = [g[i : i + 4] for g in by_genre.values() for i in range(0, len(g) - 3, 4)]
    order = [groups[i] for i in np.random.default_rng(0).permutation(len(groups))][:n_songs]
    minutes = 0.0
    for i, group in enumerate(order):
        parts = [sf.read(c, always_2d=True) for c in group]
        rate = parts[0][1]
        y = np.concatenate([p for p, _ in parts])[: int(210 * rate)]
        sf.write(lib / f"song{i:02d}-{group[0].parent.name}.mp3", y, rate, format="MP3")
        minutes += len(y) / rate / 60
    out["songs (3.5 min)"] = (lib, minutes)
    return out


def compare(a: Path, b: Path) -> dict[str, float]:
    """Max abs differences of two indexes of the same library; raises on any mismatch of
    tracks, segments, digests, keys or modes."""
    import sqlite3

    def load(path: Path):
        con = sqlite3.connect(path)
        tracks = {r[0]: r[1:] for r in con.execute(
            "SELECT path, digest, key, mode, duration, tempo, scores, tags, vector FROM tracks "
            "WHERE status = 'ok'")}  # fmt: skip
        segs = {(r[0], r[1]): r[2:] for r in con.execute(
            "SELECT t.path, s.idx, s.start, s.end, s.scores, s.tags FROM segments s "
            "JOIN tracks t ON t.id = s.track_id")}  # fmt: skip
        return tracks, segs

    (ta, sa), (tb, sb) = load(a), load(b)
    if ta.keys() != tb.keys() or sa.keys() != sb.keys():
        raise AssertionError(f"the indexes hold different tracks or segments: {a}, {b}")
    diff = {"scores": 0.0, "tags": 0.0, "vectors": 0.0, "segment scores": 0.0,
            "segment tags": 0.0, "tempo": 0.0}  # fmt: skip

    def gap(x: bytes, y: bytes) -> float:
        return float(np.abs(np.frombuffer(x, np.float32) - np.frombuffer(y, np.float32)).max())

    for path, x in ta.items():
        y = tb[path]
        if x[:4] != y[:4]:
            raise AssertionError(f"{path}: digest/key/mode/duration differ: {x[:4]} vs {y[:4]}")
        diff["tempo"] = max(diff["tempo"], abs((x[4] or 0) - (y[4] or 0)))
        for j, name in ((5, "scores"), (6, "tags"), (7, "vectors")):
            diff[name] = max(diff[name], gap(x[j], y[j]))
    for k, x in sa.items():
        y = sb[k]
        if x[:2] != y[:2]:
            raise AssertionError(f"{k}: segment bounds differ")
        diff["segment scores"] = max(diff["segment scores"], gap(x[2], y[2]))
        diff["segment tags"] = max(diff["segment tags"], gap(x[3], y[3]))
    return diff


STAGE_NAMES = {"start-up: loading the models": "start-up: loading the models",
               "start-up: compiling musicnn": "start-up: compiling musicnn's pass",
               "hash": "hashing the file (SHA-1)", "decode": "reading and decoding",
               "resample": "resampling (22.05 and 16 kHz)",
               "log-mel, MFCC, chroma": "log-mel, MFCC, chroma (22.05 kHz)",
               "musicnn mel": "musicnn's mel patches (16 kHz)",
               "musicnn MTT_musicnn": "musicnn inference, MTT checkpoint",
               "musicnn MSD_musicnn": "musicnn inference, MSD checkpoint",
               "cue vectors": "cue vectors of tracks and segments",
               "genre scores": "the model's genre scores", "tags": "tags (both taggers)",
               "tempo": "tempo", "key": "key and mode", "file tags": "file tags (title, artist)",
               "write": "writing to SQLite", "similarity": "similarity vectors"}  # fmt: skip


def engine_arms() -> list[tuple[str, str]]:
    """(engine, precision) of the builds compared, Keras float32 (the reference) first:
    OpenVINO's float32 and bfloat16 on a CPU where it is installed, Keras bfloat16 on a GPU."""
    from filmgenre.models import musicnn_openvino
    from filmgenre.runtime.devices import device_summary

    if device_summary()["gpus"]:
        return [("keras", "float32"), ("keras", "bfloat16")]
    arms = [("keras", "float32")]
    if musicnn_openvino.available():
        arms += [("openvino", "float32"), ("openvino", "bfloat16")]
    return arms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cues", type=int, default=300, help="15 s film cues (max 300)")
    parser.add_argument("--songs", type=int, default=6, help="3.5 min songs")
    parser.add_argument("--dask", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    writes = 2000
    arms = engine_arms()
    if args.quick:  # the film cues only, no cluster (its workers start TensorFlow each: the
        # suite's tests/library/test_batch.py builds on one), today's engine and the
        # default one; the writer's rate from a few
        args.cues, args.songs, writes, args.dask, arms = 3, 0, 64, False, arms[:2]
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        tmp = Path(tmp)
        libraries = make_libraries(tmp, args.cues, args.songs)
        results: dict[str, dict] = {}
        for name, (lib, minutes) in libraries.items():
            got: dict = {"builds": {}, "diffs": {}}
            got["stages"] = build(tmp, name, lib, "stages", "stages")
            for engine, precision in arms:
                label = f"{engine} {precision}"
                got["builds"][label] = build(tmp, name, lib, "new", label, precision, engine)
                if label != "keras float32":
                    got["diffs"][label] = compare(tmp / f"{lib.name}-keras-float32.sqlite",
                                                  tmp / f"{lib.name}-{label.replace(' ', '-')}"
                                                  ".sqlite")  # fmt: skip
            if name.startswith("film cues"):
                got["genres"] = genre_figures(tmp, shared_dir() / "realaudio" / "filmscore"
                                              / "labels.csv", list(got["builds"]))  # fmt: skip
            if args.dask:
                for mode in ("dask1", "dask2"):
                    got[mode] = build(tmp, name, lib, mode, mode)
                got["diff"] = compare(tmp / f"{lib.name}-{default_label(got)}.sqlite",
                                      tmp / f"{lib.name}-dask2.sqlite")  # fmt: skip
            results[name] = {"minutes": minutes, **got}
        writer = _run(WRITER, [str(tmp / "writer"), str(writes)])
    report(results, writer)


def genre_figures(tmp: Path, labels: Path, arms: list[str]) -> dict[str, dict]:
    """The shipped model's genre scores in each arm's index of the film cues against the
    films' genres: macro ROC-AUC per cue with its film-bootstrap 95% interval, and each
    arm's paired difference from Keras float32 (the same film resamples)."""
    import pandas as pd

    from filmgenre.evaluation import metrics
    from filmgenre.genres import split_labels
    from filmgenre.library import store

    films_of = json.loads((tmp / "cue-films.json").read_text())
    table = pd.read_csv(labels).set_index("film")["genres"]
    scores, genres = {}, ()
    for arm in arms:
        con = store.connect(tmp / f"cues-{arm.replace(' ', '-')}.sqlite")
        genres = tuple(store.get_meta(con, "genres"))
        rows = dict(con.execute("SELECT path, scores FROM tracks WHERE status = 'ok'"))
        con.close()
        scores[arm] = rows
    paths = sorted(scores[arms[0]])
    films = np.array([films_of[p] for p in paths])
    y = np.array([[g in split_labels(table[f], genres)[0] for g in genres] for f in films],
                 np.float32)  # fmt: skip
    s = {a: np.stack([np.frombuffer(scores[a][p], np.float32) for p in paths]) for a in arms}
    out = {}
    for arm in arms:
        figure = metrics.score_model(y, s[arm], films, genres)
        out[arm] = {"auc": figure["metrics"]["macro_roc_auc"],
                    "ci": figure["ci95"]["macro_roc_auc"], "films": figure["n_films"]}
        if arm != arms[0]:
            out[arm]["paired"] = metrics.paired_difference(y, s[arm], s[arms[0]], films)
    return out


def build(tmp: Path, name: str, lib: Path, mode: str, label: str, precision: str = "float32",
          engine: str | None = None) -> dict:  # fmt: skip
    """One build of ``lib`` in a fresh process with a cold cache (see ``CHILD``); its index
    is ``<tmp>/<lib>-<label>.sqlite``."""
    tag = label.replace(" ", "-")
    out = _run(CHILD, [mode, str(lib), str(tmp / f"{lib.name}-{tag}.sqlite"), precision],
               tmp / f"data-{lib.name}-{tag}", engine)  # fmt: skip
    print(f"{name}: {label} {out['seconds']:.1f} s", file=sys.stderr, flush=True)
    return out


def default_label(got: dict) -> str:
    """The file tag of the every-core build that ran the default engine at float32."""
    return f"{got['stages']['engine']}-float32"


def report(results: dict, writer: dict) -> None:
    names = list(results)
    first = results[names[0]]["stages"]
    print(f"\n## Index build on real audio (cold cache; {first['device']}; Keras backend "
          f"{first['backend']}; musicnn by {first['engine']} unless named)\n")
    print("Where the time goes (batched build in one process, from the process's start: "
          "seconds per minute of audio, share of the wall time):\n")
    print("| stage | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    rows = {"start-up: imports": "start-up: imports (Keras, its backend, filmgenre)"}
    rows.update(STAGE_NAMES)
    rows["other"] = "the rest (pool, scheduling, untimed)"
    for stage, label in rows.items():
        cells = []
        for n in names:
            r = results[n]["stages"]
            wall = r["imports"] + r["seconds"]
            s = {**r["stages"], "start-up: imports": r["imports"]}
            s["other"] = max(0.0, wall - sum(s.values()))
            cells.append(f"{s.get(stage, 0) / results[n]['minutes']:.3f} s "
                         f"({100 * s.get(stage, 0) / wall:.0f}%)")  # fmt: skip
        print(f"| {label} | " + " | ".join(cells) + " |")
    walls = [(results[n]["stages"]["imports"] + results[n]["stages"]["seconds"])
             / results[n]["minutes"] for n in names]  # fmt: skip
    print("| **whole process (wall)** | " + " | ".join(f"{w:.3f} s" for w in walls) + " |")
    print(f"\nThe build with every core ({first['device']}), each engine and precision in a "
          "fresh process (start-up: imports before the build's clock; tracks/s and x realtime "
          "from the build's clock, which includes loading and compiling):\n")
    print("| library | musicnn | tracks | tracks/s | x realtime | start-up imports | largest "
          "difference from Keras float32 (scores, tags, vectors) |")
    print("|---|---|---|---|---|---|---|")
    for n in names:
        r = results[n]
        for label, b in r["builds"].items():
            d = r["diffs"].get(label)
            gap = ("(reference)" if d is None else
                   f"{max(d['scores'], d['segment scores']):.1e}, "
                   f"{max(d['tags'], d['segment tags']):.1e}, {d['vectors']:.1e}")  # fmt: skip
            print(f"| {n} | {label} | {b['tracks']} | {b['tracks'] / b['seconds']:.2f} | "
                  f"{r['minutes'] * 60 / b['seconds']:.0f}x | {b['imports']:.1f} s | {gap} |")
    genres = results[names[0]].get("genres")
    if genres:
        reference = genres["keras float32"]
        print(f"\nThe shipped model's genre scores in each index of the film cues, against their "
              f"films' genres ({reference['films']} films; the model was trained on these films, "
              "so the level is in-sample: what counts is the paired difference over the same "
              "film resamples):\n")
        print("| musicnn | macro ROC-AUC per cue [95%] | difference from Keras float32 [95%] |")
        print("|---|---|---|")
        for label, g in genres.items():
            p = g.get("paired")
            diff = "" if p is None else (f"{p['difference']:+.4f} [{p['ci95_low']:+.4f}, "
                                         f"{p['ci95_high']:+.4f}]")  # fmt: skip
            print(f"| {label} | {g['auc']:.4f} [{g['ci'][0]:.3f}, {g['ci'][1]:.3f}] | {diff} |")
        for label, g in genres.items():
            low, high = reference["ci"]
            if np.isfinite(low) and not low <= g["auc"] <= high:  # NaN: too few films (--quick)
                raise SystemExit(f"{label}: macro ROC-AUC {g['auc']:.4f} leaves Keras "
                                 f"float32's interval [{low:.3f}, {high:.3f}]")  # fmt: skip
    for n in names:
        for label, d in results[n]["diffs"].items():
            limit = TOLERANCES[label.split()[1]]
            if max(d.values()) > limit:
                raise SystemExit(f"{n}: the index of {label} differs from Keras float32's by "
                                 f"{max(d.values()):.2e}, more than {limit:g}")  # fmt: skip
    if "dask1" not in results[names[0]]:
        return
    print("\nOn a Dask LocalCluster (127.0.0.1, single-threaded workers, models loaded first; "
          "musicnn as the local default):\n")
    print("| library | 1 worker | 2 workers | ratio |")
    print("|---|---|---|---|")
    for n in names:
        r = results[n]
        tracks = r["dask1"]["tracks"]
        one, two = (tracks / r[k]["seconds"] for k in ("dask1", "dask2"))
        print(f"| {n} | {one:.2f} tracks/s | {two:.2f} tracks/s | {two / one:.2f}x |")
    for n in names:
        d = results[n]["diff"]
        print(f"\n{n}: the cluster's index and the local one hold the same tracks, segments, "
              "digests, keys and modes; largest differences: "
              + ", ".join(f"{k} {v:.1e}" for k, v in d.items()) + f" (tolerance {TOLERANCE:g})")
        if max(d.values()) > TOLERANCE:
            raise SystemExit(f"{n}: the cluster's index differs from the local one by more "
                             f"than {TOLERANCE:g}")  # fmt: skip
    song = next((n for n in names if n.startswith("songs")), names[0])
    r = results[song]
    per_worker = r["minutes"] / r["dask1"]["seconds"]  # minutes of audio a second, a worker
    rate = writer["tracks_per_s"]
    print(f"\nThe single writer commits {rate:,.0f} tracks/s (12 segments each, 64 a "
          "transaction). A library of 400,000 tracks of 3 min (20,000 h) at the measured "
          f"{per_worker * 60:.1f} s of audio a second per single-threaded worker:\n")
    print("| workers | tracks/s | hours |")
    print("|---|---|---|")
    for workers in (1, 8, 64):
        tps = min(workers * per_worker / 3, rate)
        print(f"| {workers} | {tps:.2f} | {400_000 / tps / 3600:,.1f} |")
    limit = rate * 3 / per_worker
    print(f"\nThe writer would limit a build from about {limit:,.0f} workers on; before that "
          "it is the workers' cores, and reading the audio from the shared file system.")


if __name__ == "__main__":
    main()
