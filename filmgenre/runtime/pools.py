"""Per-file jobs over worker processes that are safe whatever the parent has loaded (started
from a fork server that never ran TensorFlow), with bounded memory and a progress bar."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: how pool workers start. "forkserver": each worker is forked from a small server process
#: that was started fresh (a new interpreter) and never ran TensorFlow; a worker forked
#: straight from a process where TensorFlow had run inherited its runtime and could abort
#: at its first garbage collection (``Fatal Python error: Aborted`` in ``remove_function``).
POOL_START_METHOD = "forkserver"
#: imported once by the fork server, so its workers start with them loaded (none of them
#: imports TensorFlow: tests/test_runtime.py checks every worker of a pool)
POOL_PRELOAD = ("numpy", "scipy.signal", "soundfile", "threadpoolctl", "librosa.core",
                "librosa.feature", "filmgenre.data.audio", "filmgenre.data.features",
                "filmgenre.data.musicnn_input", "filmgenre.data.mir")  # fmt: skip
#: environment variables a worker takes from the process that submits the jobs (the fork
#: server's own environment is the one it started with, perhaps long before)
_PASSED_ENV_PREFIXES = ("FILMGENRE_", "TF_", "KERAS_")


def pool_context():
    """The multiprocessing context every process pool of the package uses: the fork
    server's, except that its workers do not run the parent's main script again (see
    :func:`_workers_without_main`)."""
    import multiprocessing

    context = multiprocessing.get_context(POOL_START_METHOD)
    if POOL_START_METHOD == "forkserver":
        context.set_forkserver_preload(list(POOL_PRELOAD))
        return _workers_without_main(context)
    return context


def _workers_without_main(context):
    """``context`` whose workers skip re-importing the parent's ``__main__``.

    Started from a fork server (or spawned), a worker normally runs the parent's main script
    once more, as on macOS and Windows: a script without an ``if __name__ == "__main__":``
    guard then fails, and one that imports Keras at its top would load TensorFlow in every
    worker. The package's jobs are its own module-level functions and need nothing from
    ``__main__``, so its pools leave it out of what a worker is prepared with. Where this
    Python's multiprocessing is not shaped as expected, the plain context is used.
    """
    return _NoMainContext() if _NoMainContext is not None else context


def _define_no_main_context():
    """The classes behind :func:`_workers_without_main`, at module level (a worker unpickles
    its process object by name), or None where multiprocessing differs from Python 3.10-3.13."""
    import io
    from multiprocessing import context as mp_context
    from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util

    if not (hasattr(popen_forkserver.Popen, "_launch") and hasattr(spawn, "get_preparation_data")
            and hasattr(mp_context, "ForkServerContext")):  # fmt: skip
        return None

    class NoMainPopen(popen_forkserver.Popen):
        def _launch(self, process_obj):  # popen_forkserver.Popen._launch, main left out
            prep_data = spawn.get_preparation_data(process_obj._name)
            prep_data.pop("init_main_from_path", None)
            prep_data.pop("init_main_from_name", None)
            buf = io.BytesIO()
            mp_context.set_spawning_popen(self)
            try:
                reduction.dump(prep_data, buf)
                reduction.dump(process_obj, buf)
            finally:
                mp_context.set_spawning_popen(None)
            self.sentinel, w = forkserver.connect_to_new_process(self._fds)
            parent_w = os.dup(w)
            self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            self.pid = forkserver.read_signed(self.sentinel)

    class NoMainProcess(mp_context.ForkServerProcess):
        @staticmethod
        def _Popen(process_obj):
            return NoMainPopen(process_obj)

    class NoMainContext(mp_context.ForkServerContext):
        Process = NoMainProcess

    for cls in (NoMainPopen, NoMainProcess, NoMainContext):
        cls.__qualname__ = f"_{cls.__name__}"
        globals()[cls.__qualname__] = cls
    return NoMainContext


_NoMainContext = _define_no_main_context()


class _WithEnvironment:
    """``function`` called in a worker with the submitting process's filmgenre settings."""

    def __init__(self, function: Callable[[Any], Any]):
        self.function = function
        self.env = {k: v for k, v in os.environ.items() if k.startswith(_PASSED_ENV_PREFIXES)}

    def __call__(self, job: Any) -> Any:
        for key, value in self.env.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        return self.function(job)


def process_map(function: Callable[[Any], Any], jobs: Sequence[Any], n_jobs: int | None,
                bar: Any = None, chunksize: int = 4, ahead: int | None = None
                ) -> Iterator[Any]:  # fmt: skip
    """``function(job)`` for every job, in order: in this process when one process is
    enough, else in a pool of ``n_jobs`` processes (None: every core; never more than there
    are jobs; ``function`` must be picklable, a module-level function) started by
    :data:`POOL_START_METHOD`; ``bar`` (a tqdm bar) ticks once per finished job.

    ``ahead``: at most that many jobs submitted and not yet consumed, so a slow consumer
    (the index build's inference) overlaps with the pool without it running through a
    whole library's jobs at once; None submits every job at once."""
    from concurrent.futures import ProcessPoolExecutor

    n_jobs = min(n_jobs or os.cpu_count() or 1, len(jobs))
    if n_jobs <= 1:
        for job in jobs:
            result = function(job)
            if bar is not None:
                bar.update()
            yield result
        return
    call = _WithEnvironment(function)
    if ahead is not None:
        yield from _bounded_map(call, jobs, n_jobs, bar, max(ahead, n_jobs))
        return
    with ProcessPoolExecutor(n_jobs, mp_context=pool_context(), initializer=_exit_with,
                             initargs=(os.getpid(),)) as pool:
        for result in pool.map(call, jobs, chunksize=chunksize):
            if bar is not None:
                bar.update()
            yield result


def _exit_with(parent: int, every_s: float = 1.0) -> None:
    """Pool worker start-up: end this worker when the process that started the pool is
    gone. A pool's workers hold both ends of its job queue, so they never see it close: a
    SIGKILLed build left them (and the pipes they inherited, a test's stdout among them)
    waiting for jobs forever."""
    import threading

    def gone() -> bool:
        try:  # a killed parent stays a zombie until its own parent reaps it
            return Path(f"/proc/{parent}/stat").read_text().rsplit(") ", 1)[1][0] in "ZX"
        except FileNotFoundError:
            return True
        except (OSError, IndexError):  # no /proc: whether the process id exists
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                pass
            return False

    def watch() -> None:
        while not gone():
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _bounded_map(call: Callable[[Any], Any], jobs: Sequence[Any], n_jobs: int, bar: Any,
                 ahead: int) -> Iterator[Any]:  # fmt: skip
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    pending: deque = deque()
    queue = iter(jobs)
    with ProcessPoolExecutor(n_jobs, mp_context=pool_context(), initializer=_exit_with,
                             initargs=(os.getpid(),)) as pool:
        for job in queue:
            pending.append(pool.submit(call, job))
            if len(pending) >= ahead:
                break
        while pending:
            result = pending.popleft().result()
            job = next(queue, _END)
            if job is not _END:
                pending.append(pool.submit(call, job))
            if bar is not None:
                bar.update()
            yield result


_END = object()


def worker_facts(_job: Any = None) -> dict[str, Any]:
    """What a pool worker runs with (its process id, whether TensorFlow or Keras is loaded
    in it, how it was started), for the tests that check :func:`process_map`'s workers."""
    import multiprocessing
    import sys

    return {"pid": os.getpid(), "tensorflow": "tensorflow" in sys.modules,
            "keras": "keras" in sys.modules,
            "start_method": multiprocessing.get_start_method(allow_none=True),
            "data": os.environ.get("FILMGENRE_DATA")}  # fmt: skip
