"""Benchmarks that cannot rot: every ``make bench-*`` target runs on tiny inputs
(``--quick``, benchmarks/run_quick.py, started in the background at collection) and must
exit 0 with its report printed."""

from __future__ import annotations

import sys

import pytest

from filmgenre.config import project_root, shared_dir

sys.path.insert(0, str(project_root() / "benchmarks"))
import run_quick  # noqa: E402

TARGETS = run_quick.targets()
#: what each target's report prints when it ran through (a line of its table or ratio)
REPORTS = {"bench": "speed-up, cold cache vs baseline", "bench-tag": "peak memory",
           "bench-train": "ratio", "bench-stream": "throughput streamed / stacked",
           "bench-search": "| tracks |", "bench-search-quality": "moods measured in",
           "bench-index": "from Keras float32", "bench-load": "nothing lost"}  # fmt: skip
#: targets that measure real recordings and say so when ../shared is absent (exit 2)
NEED_SHARED = {"bench", "bench-search-quality", "bench-index"}


def test_every_target_is_run_and_has_a_known_report():
    assert set(TARGETS) == set(REPORTS), "a bench target without its expected report line"
    assert all(argv[0].startswith("benchmarks/") for argv in TARGETS.values())


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(REPORTS))
def test_each_benchmark_runs_on_tiny_inputs(quick_benchmarks, target):
    code = int((quick_benchmarks / f"{target}.rc").read_text())
    out = (quick_benchmarks / f"{target}.out").read_text()
    err = (quick_benchmarks / f"{target}.err").read_text()
    if target in NEED_SHARED and shared_dir() is None:
        assert code == 2 and "../shared" in (out + err), (out + err)[-2000:]
        return
    assert code == 0, f"make {target} --quick failed:\n{out[-2000:]}\n{err[-3000:]}"
    assert REPORTS[target] in out, out[-2000:]
