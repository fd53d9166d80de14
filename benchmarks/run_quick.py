"""Every ``make bench-*`` target on tiny inputs (``--quick``), one after another: a benchmark
that no longer runs fails here (the suite runs this), not when a user measures.

Reads the targets from the Makefile, so a new target is checked without being listed here.
Writes ``<target>.out``, ``<target>.err`` and ``<target>.rc`` into a folder and prints one
line per target.

    .venv/bin/python benchmarks/run_quick.py [FOLDER] [--only bench-index ...]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: a run of one benchmark may take this long on tiny inputs before it counts as failed
TIMEOUT_S = 600


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
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="filmgenre-bench-quick-"))
    folder.mkdir(parents=True, exist_ok=True)
    failed = []
    for target, argv in targets().items():
        if args.only and target not in args.only:
            continue
        code, seconds = run(target, argv, folder)
        print(f"{target:<22} exit {code:>3}  {seconds:6.1f} s  ({' '.join(argv)} --quick)",
              flush=True)  # fmt: skip
        if code:
            failed.append(target)
    print(f"outputs in {folder}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
