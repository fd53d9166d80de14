"""Every ``make bench-*`` target on tiny inputs (``--quick``), one after another: a benchmark
that no longer runs fails here (the suite runs this), not when a user measures.

Reads the targets from the Makefile, so a new target is checked without being listed here.
Writes ``<target>.out``, ``<target>.err`` and ``<target>.rc`` into a folder and prints one
line per target.

    .venv/bin/python benchmarks/run_quick.py [FOLDER] [--only bench-index ...] [--parallel 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: a run of one benchmark may take this long on tiny inputs before it counts as failed
TIMEOUT_S = 600
#: targets by their quick runs' length on 2 cores, longest first (the rest go first of all:
#: a new target's length is not known)
LONGEST_FIRST = ("bench-index", "bench-search", "bench-train", "bench-tag", "bench-stream",
                 "bench-load", "bench", "bench-search-quality")  # fmt: skip


def targets(makefile: Path = ROOT / "Makefile") -> dict[str, list[str]]:
    """``{"bench-index": ["benchmarks/bench_index_build.py", ...], ...}``: each bench target's
    script and arguments, as the Makefile runs it with ``$(PY)``."""
    found: dict[str, list[str]] = {}
    name = None
    for line in makefile.read_text().splitlines():
        head = re.match(r"^(bench[\w-]*):", line)
        if head:
            name = head.group(1)
            continue
        if name and line.startswith("\t$(PY) "):
            found[name] = shlex.split(line[len("\t$(PY) "):])
            name = None
    return found


def run(target: str, argv: list[str], folder: Path) -> tuple[int, float]:
    """(exit status, seconds) of one target's script with ``--quick``; its output in files."""
    started = time.perf_counter()
    with open(folder / f"{target}.out", "w") as out, open(folder / f"{target}.err", "w") as err:
        try:
            code = subprocess.run([sys.executable, *argv, "--quick"], cwd=ROOT, stdout=out,
                                  stderr=err, timeout=TIMEOUT_S,
                                  env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}).returncode
        except subprocess.TimeoutExpired:
            err.write(f"\nrun_quick: {target} ran past {TIMEOUT_S} s\n")
            code = -1
    (folder / f"{target}.rc").write_text(str(code))
    return code, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="where the outputs go (default: a temp folder)")
    parser.add_argument("--only", nargs="+", help="these targets only")
    parser.add_argument("--parallel", type=int, default=1,
                        help="targets run at a time (the suite runs two)")  # fmt: skip
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="filmgenre-bench-quick-"))
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {t: a for t, a in targets().items() if not args.only or t in args.only}
    # the longest first, so that parallel runs end together
    order = sorted(chosen, key=lambda t: LONGEST_FIRST.index(t) if t in LONGEST_FIRST else -1)
    failed = []
    with ThreadPoolExecutor(max(1, args.parallel)) as pool:
        done = pool.map(lambda t: (t, *run(t, chosen[t], folder)), order)
        for target, code, seconds in done:
            print(f"{target:<22} exit {code:>3}  {seconds:6.1f} s  "
                  f"({' '.join(chosen[target])} --quick)", flush=True)  # fmt: skip
            if code:
                failed.append(target)
    print(f"outputs in {folder}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
