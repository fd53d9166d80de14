"""An index build on a Dask cluster: the whole per-file work (hashing, decoding, features,
musicnn, the genre model, tags, tempo, key) runs on the workers, a task per small group of
files; each worker loads the models once (:class:`ScorerPlugin`), and the results stream
back to the one process that writes the index, a committed chunk at a time.

A worker that dies takes no committed work with it: Dask runs its unfinished tasks again on
the others, and whatever the build had not committed when it stopped is done by the next
``index build`` (a build resumes). Workers must see the audio, the feature cache and the
model at the same paths as the building process (a shared file system).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from .batch import Stages, decode_file, score_part
from .scoring import Scorer

#: the name the model plugin is registered under on every worker
PLUGIN = "filmgenre-scorer"

#: files a task: enough for musicnn to batch their patches, few enough to spread the work
GROUP = 8

#: and at most this many bytes of audio a task (a file larger goes alone): eight 15 s cues
#: or one song, so a library of songs still spreads over every worker
GROUP_BYTES = 4 << 20

#: models loaded in this worker process, by (folder, key): a build registers the plugin
#: again, and a worker that has the model keeps it
_LOADED: dict[tuple[str, str], Scorer] = {}


class ScorerPlugin(WorkerPlugin):
    """Loads the model once per worker (a Dask worker plugin: ``setup`` runs on each
    worker, now and on every worker that joins later), with as many TensorFlow and OpenVINO
    threads as the worker has Dask threads, so a single-threaded worker uses one core."""

    def __init__(self, model_dir: str, cache_dir: str, key: str, precision: str = "float32"):
        self.model_dir, self.cache_dir, self.key = model_dir, cache_dir, key
        self.precision = precision
        self.scorer: Scorer | None = None

    def setup(self, worker) -> None:
        import keras

        from ..training import transfer

        transfer.limit_threads(worker.state.nthreads)  # OpenVINO's pass, as TensorFlow's
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(worker.state.nthreads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:  # TensorFlow already started in this worker: keep its pools
                pass
        scorer = _LOADED.get((self.model_dir, self.key)) or Scorer(Path(self.model_dir),
                                                                  precision=self.precision)
        if scorer.key != self.key:
            raise RuntimeError(f"worker {worker.address}: the model at {self.model_dir} is "
                               f"not the one the build uses (key {scorer.key}, not "
                               f"{self.key}): install the same model on every worker")
        scorer.cache = Path(self.cache_dir)
        self.scorer = _LOADED[(self.model_dir, self.key)] = scorer

    def teardown(self, worker) -> None:
        self.scorer = None


def run_group(part: list, segment_seconds: float) -> tuple[list, dict[str, float]]:
    """On a worker: a group of files decoded, featurised and scored with the worker's
    model; (outcomes as :func:`.batch.score_part` gives them, stage seconds)."""
    from distributed import get_worker

    scorer = get_worker().plugins[PLUGIN].scorer
    stages = Stages()
    decoded = [decode_file((str(path.resolve()), scorer.params, str(scorer.cache)))
               for path, _, _ in part]  # fmt: skip
    for d in decoded:
        stages.add(d.seconds)
    outcomes = score_part(part, decoded, scorer, segment_seconds, stages)
    return outcomes, dict(stages)


def dask_chunks(work: list, chunk: int, client, model_dir: Path, scorer: Scorer,
                segment_seconds: float, stages: Stages | None = None
                ) -> Iterator[list]:  # fmt: skip
    """The build's outcomes from the cluster ``client`` talks to (a
    :func:`filmgenre.runtime.cluster.dask_client`), ``chunk`` at a time in the order groups
    finish."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    stages = Stages() if stages is None else stages
    client.register_plugin(ScorerPlugin(str(model_dir), str(scorer.cache), scorer.key,
                                        scorer.precision), name=PLUGIN)  # fmt: skip
    token = uuid.uuid4().hex[:8]
    groups = _groups(work, max(client.run(_pass_batch).values(), default=0))
    futures = [client.submit(run_group, g, segment_seconds, pure=False,
                             key=f"filmgenre-index-{token}-{i}")
               for i, g in enumerate(groups)]  # fmt: skip
    buffer: list = []
    try:
        # this client's loop: as_completed takes the default client's, perhaps another's
        for future in as_completed(futures, loop=client.loop):
            outcomes, seconds = future.result()
            future.release()
            stages.add(seconds)
            buffer.extend(outcomes)
            if len(buffer) >= chunk:
                yield buffer
                buffer = []
    except KilledWorker as exc:
        raise RuntimeError(f"Dask workers died running the same files again and again "
                           f"({exc}); what was committed stays in the index: run the "
                           "build again to do the rest") from exc  # fmt: skip
    if buffer:
        yield buffer


def _pass_batch() -> int:
    """On a worker: the patches its musicnn pass takes at once (large where it has a GPU)."""
    from ..training.transfer import pass_batch

    return pass_batch()


def _groups(work: list, batch: int = 0) -> list[list]:
    """``work`` in tasks of at most :data:`GROUP` files and :data:`GROUP_BYTES` bytes; where
    a worker's pass takes ``batch`` patches at once (a GPU's: 1,024 or more), tasks as
    many times larger as it takes to fill it with 15 s cues."""
    from ..training.transfer import cues_to_fill

    scale = max(1, math.ceil(cues_to_fill(batch) / GROUP))
    files, size_limit = GROUP * scale, GROUP_BYTES * scale
    groups: list[list] = []
    size = 0
    for item in work:
        try:
            n = item[0].stat().st_size
        except OSError:
            n = 0
        if not groups or len(groups[-1]) >= files or size + n > size_limit:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += n
    return groups
