"""The batched index build: one decode for every rate, musicnn batched across files, the
same index whatever the batches; on a Dask cluster whose worker is killed mid-build; a
scheduler that is not there; where a build stands in ``index info``."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from filmgenre.data.audio import load_audio, load_audio_rates
from filmgenre.library import store
from filmgenre.library.progress import build_line


def test_one_decode_gives_what_load_audio_gives_at_each_rate(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(44100 * 4) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), rng.normal(0, 0.1, t.size)], 1) * 0.3
    path = tmp_path / "two channels at 44.1 kHz.wav"
    sf.write(path, stereo.astype(np.float32), 44100)
    seconds: dict[str, float] = {}
    both = load_audio_rates(path, (22050, 16000), seconds)
    for rate in (22050, 16000):
        np.testing.assert_array_equal(both[rate], load_audio(path, rate))
    assert seconds["decode"] > 0 and seconds["resample"] > 0
    (tmp_path / "silent.wav").write_bytes(b"")
    with pytest.raises(Exception, match="empty file"):
        load_audio_rates(tmp_path / "silent.wav", (16000,))


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["keras", "openvino"])
def test_patches_of_many_files_pass_together_with_the_numbers_of_one_at_a_time(
        library_folder, tmp_path, monkeypatch, engine):  # fmt: skip
    """embed_many's shared batches of any size, over several rounds, give what
    patch_embeddings gives a file alone, under each engine; Keras's compiled pass is traced
    once whatever the batch sizes."""
    from filmgenre.data import dataset, features, musicnn_input
    from filmgenre.training import transfer

    monkeypatch.setenv("FILMGENRE_DATA", str(tmp_path))
    monkeypatch.setenv("FILMGENRE_MUSICNN_ENGINE", engine)
    monkeypatch.setattr(transfer, "ROUND_PATCHES", 6)  # several rounds, as hour-long files take
    wavs = sorted(library_folder.rglob("*.wav"))[:5]
    m = dataset.Manifest(pd.DataFrame({
        "film": [str(w) for w in wavs], "cue": [w.stem for w in wavs],
        "path": [str(w) for w in wavs], "genres": "", "duration": np.nan}), genres=())
    m = features.extract(m, progress=False, n_jobs=1)
    musicnn_input.extract_inputs(m, n_jobs=1, progress=False)
    files = list(m.cues["features"])
    cache = features.default_cache_dir()
    together = transfer.embed_many(files, "MTT_musicnn", cache, batch_size=7)
    for f, got in zip(files, together, strict=True):
        for layer in transfer.EMBEDDING_LAYERS:
            transfer._embedding_file(cache, "MTT_musicnn", layer, f).unlink()
        alone = transfer.patch_embeddings(f, "MTT_musicnn", "penultimate", cache)
        np.testing.assert_allclose(got["penultimate"], alone, atol=1e-5)
    if engine == "keras":
        assert transfer.forward_pass("MTT_musicnn").experimental_get_tracing_count() == 1


def _content(path: Path) -> tuple[dict, dict]:
    con = sqlite3.connect(path)
    tracks = {r[0]: r[1:] for r in con.execute(
        "SELECT path, status, reason, digest, duration, key, mode, tempo, scores, tags, vector "
        "FROM tracks")}  # fmt: skip
    segs = {(r[0], r[1]): r[2:] for r in con.execute(
        "SELECT t.path, s.idx, s.start, s.end, s.scores, s.tags FROM segments s "
        "JOIN tracks t ON t.id = s.track_id")}  # fmt: skip
    con.close()
    return tracks, segs


def assert_same_index(a: Path, b: Path, atol: float = 1e-5) -> None:
    """The same files, skips with the same reasons, digests, durations, keys, segments;
    scores, tags and vectors within ``atol``."""
    (ta, sa), (tb, sb) = _content(a), _content(b)
    assert ta.keys() == tb.keys() and sa.keys() == sb.keys()

    def floats(blob):
        return None if blob is None else np.frombuffer(blob, np.float32)

    for path, x in ta.items():
        y = tb[path]
        assert x[:6] == y[:6], path
        assert x[6] == pytest.approx(y[6], abs=0.01) if x[6] else y[6] is None
        for blob_a, blob_b in zip(x[7:], y[7:], strict=True):
            if blob_a is None:
                assert blob_b is None, path
            else:
                np.testing.assert_allclose(floats(blob_a), floats(blob_b), atol=atol)
    for key, x in sa.items():
        y = sb[key]
        assert x[:2] == y[:2], key
        for blob_a, blob_b in zip(x[2:], y[2:], strict=True):
            np.testing.assert_allclose(floats(blob_a), floats(blob_b), atol=atol)


@pytest.mark.slow
def test_batches_of_one_file_make_the_same_index(built, library_folder, model_dir, tmp_path):
    """A file at a time (chunks of one: musicnn, the genre and mood models called for each
    file alone) and the default chunks, from their own cold caches: the same index (scores,
    tags, vectors within 1e-5): how files are batched never moves a number."""
    from filmgenre.library.batch import Stages
    from filmgenre.library.ingest import build

    os.environ["FILMGENRE_DATA"], before = str(tmp_path / "cold"), os.environ["FILMGENRE_DATA"]
    try:
        stages = Stages()
        report = build(library_folder, tmp_path / "one-by-one.sqlite", model_dir, chunk=1,
                       progress=False, stages=stages)  # fmt: skip
    finally:
        os.environ["FILMGENRE_DATA"] = before
    assert report.added == 13
    assert_same_index(tmp_path / "one-by-one.sqlite", built)
    assert set(stages) >= {"file tags", "write", "decode"}


@pytest.fixture
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:  # fmt: skip
        yield c


@pytest.mark.slow
def test_a_dask_build_loses_nothing_when_a_worker_is_killed(cluster, built, library_folder,
                                                           model_dir, tmp_path, monkeypatch):
    """Each file its own task; after the first committed chunk one worker process is
    killed (SIGKILL): the build still ends with every track, the index the local build
    makes, and an update afterwards has nothing to do."""
    from distributed import Client

    from filmgenre.library import cluster as dask_build
    from filmgenre.library.ingest import build

    monkeypatch.setattr(dask_build, "GROUP", 1)
    killed: list[tuple[int, int]] = []
    client = Client(cluster)

    def kill_a_busy_worker(done: int) -> None:
        if killed:
            return
        pids = client.run(os.getpid)
        busy = {w: keys for w, keys in client.processing().items() if keys}
        worker = max(busy, key=lambda w: len(busy[w]))
        os.kill(pids[worker], signal.SIGKILL)
        killed.append((done, len(busy[worker])))

    index_file = tmp_path / "dask.sqlite"
    with client:
        report = build(library_folder, index_file, model_dir, progress=False, chunk=2,
                       scheduler=cluster.scheduler_address, on_chunk=kill_a_busy_worker)
    done_then, its_tasks = killed[0]
    assert done_then < 14 and its_tasks >= 1, killed  # killed holding unfinished files
    assert report.added == 13 and report.tracks == 13, report
    assert_same_index(index_file, built)
    again = build(library_folder, index_file, model_dir, progress=False,
                  scheduler=cluster.scheduler_address)  # fmt: skip
    assert (again.added, again.redone, again.unchanged) == (0, 0, 14)
    assert build_line(store.connect(index_file)).startswith("last build: 0 file(s)")


def test_a_scheduler_that_is_not_there_fails_in_seconds(library_folder, tmp_path):
    pytest.importorskip("distributed")
    from filmgenre.library.ingest import build

    started = time.perf_counter()
    with pytest.raises(ValueError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        build(library_folder, tmp_path / "x.sqlite", scheduler="tcp://127.0.0.1:9")
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "x.sqlite").exists()  # nothing written before the cluster answered


def test_index_info_says_where_a_build_stands(tmp_path):
    import socket

    con = store.connect(tmp_path / "i.sqlite", create=True)
    assert build_line(con) is None
    start = time.time() - 100
    with store.writing(con):  # a build of this host whose process is gone
        store.set_meta(con, "build", {"state": "running", "pid": 2**22 + 12345, "total": 400,
                                    "done": 120, "host": socket.gethostname(),
                                    "started": start, "updated": start + 60})  # fmt: skip
    assert build_line(con) == ("build interrupted: 120 of 400 file(s) done, 280 still to "
                                   "do; run `filmgenre index build` again to resume")
    with store.writing(con):  # this very process, still running: its rate and the time left
        store.set_meta(con, "build", {"state": "running", "pid": os.getpid(), "total": 400,
                                    "done": 120, "host": socket.gethostname(),
                                    "started": start, "updated": start + 60})  # fmt: skip
    assert build_line(con) == (f"build running (process {os.getpid()}): 120 of 400 file(s) "
                                   "done, 2.00 tracks/s, about 2 min left")


def test_tasks_for_a_gpu_worker_are_large_enough_to_fill_its_pass(tmp_path):
    """Groups of 8 files (and 4 MiB) for workers on CPUs; for a worker whose pass takes
    1,482 patches, groups of 15 s cues that fill it, the same files in the same order."""
    from filmgenre.library import cluster
    from filmgenre.training import transfer

    work = []
    for i in range(700):
        (tmp_path / f"{i:03d}.mp3").write_bytes(b"x" * 4000)
        work.append((tmp_path / f"{i:03d}.mp3", "add", None))
    small = cluster._groups(work, transfer.PASS_BATCH)
    assert [len(g) for g in small] == [8] * 87 + [4]
    large = cluster._groups(work, 1482)
    assert len(large[0]) * transfer.CUE_PATCHES >= 1482 and len(large) == 3
    assert [item for g in large for item in g] == work
