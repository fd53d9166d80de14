"""Load and faults: concurrent searches and audio range requests against `filmgenre serve`
while an index update runs, on 127.0.0.1 only, bounded in time and count.

A library of real recordings (../shared/realaudio/emotify when present, else synthetic
cues) is indexed, the page's server starts in its own process, and ``--clients`` threads
(default 50) send requests for ``--seconds`` (default 30, at most ``--max-requests``):
genre mixes, negative weights, "more like this", malformed queries (which must answer
400) and audio range requests (which must answer 206 with the bytes asked for). Part-way,
``filmgenre index build`` adds files to the index from another process. Printed: requests
per second, p50/p99 latency per kind, every error, and whether the added tracks became
searchable without a restart (nothing lost).

    .venv/bin/python benchmarks/bench_serve_load.py [--clients 50] [--seconds 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

import numpy as np

from filmgenre.config import shared_dir
from filmgenre.library.query import QueryError, parse_query

#: a query word no vocabulary holds (no letters a genre, mood or word has in that order), and
#: the page's answer to it, taken from the query language itself: the check follows the code
UNKNOWN = "xqzvw"
try:
    parse_query(UNKNOWN)
    raise SystemExit(f"bench_serve_load: {UNKNOWN!r} became a word of the vocabulary")
except QueryError as error:
    UNKNOWN_ERROR = str(error)


def library_files(n: int, folder: Path) -> list[Path]:
    """``n`` audio files for the library: emotify's MP3s, else synthetic cues."""
    shared = shared_dir()
    source = shared / "realaudio" / "emotify" if shared else None
    if source is not None and source.is_dir():
        return sorted(source.rglob("*.mp3"))[:n]
    from filmgenre.data import synth

    out = synth.generate(folder / "synth", synth.SynthConfig(n_films=max(4, n // 2), seed=5),
                         progress=False)  # fmt: skip
    return sorted((out / "audio").rglob("*.wav"))[:n]


def build(library: Path, index_file: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "filmgenre", "index", "build", str(library),
                           "--index", str(index_file), "--model", "shipped"],
                          capture_output=True, text=True,
                          timeout=3600)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])


class Client(threading.Thread):
    """One user: keeps a connection open and sends a mix of requests until time is up."""

    def __init__(self, port: int, ids: list[int], deadline: float, budget, results, seed):
        super().__init__(daemon=True)
        self.port, self.ids, self.deadline, self.budget = port, ids, deadline, budget
        self.results, self.rng = results, random.Random(seed)

    def request(self, kind: str, path: str, headers: dict | None = None,
                expect: tuple[int, ...] = (200,), check=None) -> None:  # fmt: skip
        started = time.perf_counter()
        problem = None
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers=headers or {})
                answer = self.conn.getresponse()
                body = answer.read()
                ok = answer.status in expect and (check is None or check(answer, body))
                problem = None if ok else f"{kind} {path}: {answer.status} {body[:120]!r}"
                break
            except (OSError, http.client.HTTPException) as exc:
                # a kept-alive connection the server closed in between: reconnect and send
                # the (idempotent) request again, as browsers do; a second failure counts
                problem = f"{kind} {path}: {type(exc).__name__}: {exc}"
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2 or not isinstance(exc, (http.client.RemoteDisconnected,
                                                        ConnectionResetError,
                                                        BrokenPipeError)):  # fmt: skip
                    break
        self.results[kind].append((time.perf_counter() - started) * 1000)
        if problem:
            self.results["errors"].append(problem)

    def run(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        mixes = ["Romance Comedy", "Drama -Thriller", "Action=1,Adventure=0.5,Romance=-1",
                 "Sci-Fi Fantasy", "Crime Thriller -Comedy"]  # fmt: skip
        while time.time() < self.deadline and self.budget.acquire(blocking=False):
            roll = self.rng.random()
            if roll < 0.45:
                q = urllib.parse.quote(self.rng.choice(mixes))
                self.request("search", f"/api/search?q={q}&top=10",
                             check=lambda a, b: len(json.loads(b)["results"]) > 0)
            elif roll < 0.6:
                self.request("more like this", f"/api/search?like={self.rng.choice(self.ids)}")
            elif roll < 0.65:
                self.request("malformed", f"/api/search?q={UNKNOWN}", expect=(400,),
                             check=lambda a, b: json.loads(b)["error"] == UNKNOWN_ERROR)
            else:
                start = self.rng.randrange(0, 200_000)
                self.request("audio range", f"/audio/{self.rng.choice(self.ids)}",
                             headers={"Range": f"bytes={start}-{start + 65535}"}, expect=(206,),
                             check=lambda a, b: 0 < len(b) <= 65536)  # fmt: skip
        self.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--tracks", type=int, default=40, help="tracks indexed before the load")
    parser.add_argument("--added", type=int, default=12, help="tracks the update adds")
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.tracks, args.added = 4, 4.0, 4, 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["FILMGENRE_DATA"] = str(tmp / "data")  # a cold cache, like a new user
        files = library_files(args.tracks + args.added, tmp)
        library = tmp / "library"
        library.mkdir()
        for f in files[: args.tracks]:
            shutil.copy(f, library / f"{f.parent.name}-{f.name}")
        index_file = tmp / "library.sqlite"
        started = time.perf_counter()
        build(library, index_file)
        print(f"indexed {args.tracks} tracks in {time.perf_counter() - started:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "filmgenre", "serve", "--index",
                                   str(index_file), "--port", str(port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        try:
            for _ in range(300):  # bounded wait for the server: 30 s
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/search?q=Drama&top=500")
            ids = [h["id"] for h in json.loads(conn.getresponse().read())["results"]]
            results: dict[str, list] = defaultdict(list)
            budget = threading.BoundedSemaphore(args.max_requests)
            deadline = time.time() + args.seconds
            clients = [Client(port, ids, deadline, budget, results, seed=i)
                       for i in range(args.clients)]  # fmt: skip
            began = time.perf_counter()
            for c in clients:
                c.start()
            time.sleep(args.seconds / 4)
            for f in files[args.tracks :]:
                shutil.copy(f, library / f"{f.parent.name}-{f.name}")
            update_started = time.perf_counter()
            build(library, index_file)  # the update, from another process, under load
            update_seconds = time.perf_counter() - update_started
            for c in clients:
                c.join(timeout=args.seconds + 60)
            elapsed = time.perf_counter() - began
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/info")
            after = json.loads(conn.getresponse().read())["tracks"]
        finally:
            server.terminate()
            server.wait(timeout=30)
    kinds = [k for k in results if k != "errors"]
    total = sum(len(results[k]) for k in kinds)
    print(f"{args.clients} clients for {elapsed:.1f} s on 127.0.0.1: {total} requests, "
          f"{total / elapsed:.0f} requests/s; an index update adding {args.added} tracks ran "
          f"{update_seconds:.1f} s of it")  # fmt: skip
    print("| request | count | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for k in kinds:
        t = np.array(results[k])
        print(f"| {k} | {len(t)} | {np.percentile(t, 50):.1f} | {np.percentile(t, 99):.1f} |")
    errors = results["errors"]
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:20]))
    expected = args.tracks + args.added
    print(f"tracks searchable after the update, without a restart: {after} of {expected} "
          f"({'nothing lost' if after == expected else 'MISSING TRACKS'})")
    sys.exit(1 if errors or after != expected else 0)


if __name__ == "__main__":
    main()
