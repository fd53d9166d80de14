"""Worker processes are safe whatever the parent has loaded: once TensorFlow has run in the
process, every pool of the package still starts workers that never inherited it, and the
per-file jobs (extraction, MIR, an index build) run over two processes round after round."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from filmgenre.runtime import pools


def _run_a_keras_model() -> None:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((8, 4), np.float32), np.zeros(8, np.float32), epochs=1, verbose=0)
    model.predict(np.zeros((2, 4), np.float32), verbose=0)
    del model  # leaves TensorFlow functions for the garbage collector, as a notebook does


def test_every_pool_starts_workers_that_never_saw_tensorflow(monkeypatch, tmp_path):
    _run_a_keras_model()
    assert "tensorflow" in sys.modules
    monkeypatch.setenv("FILMGENRE_DATA", str(tmp_path))  # set after the fork server started
    facts = list(pools.process_map(pools.worker_facts, list(range(8)), 2, chunksize=1))
    assert len(facts) == 8
    assert {f["start_method"] for f in facts} == {"forkserver"}
    assert not any(f["tensorflow"] or f["keras"] for f in facts), facts
    assert {f["data"] for f in facts} == {str(tmp_path)}  # the submitter's settings
    assert all(f["pid"] != __import__("os").getpid() for f in facts)


def test_no_module_of_the_package_starts_a_pool_of_its_own():
    """Every pool goes through pools.process_map (and so its start method)."""
    package = Path(pools.__file__).parent.parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        for needle in ("ProcessPoolExecutor(", "multiprocessing.Pool(", "mp.Pool("):
            if needle in text:
                assert path == Path(pools.__file__) and "mp_context=pool_context()" in text, path


@pytest.mark.slow
def test_extraction_mir_and_index_build_run_over_two_processes_after_keras(
        realaudio, model_dir, monkeypatch, tmp_path):  # fmt: skip
    """The sequence that aborted workers in CI: a Keras model runs in this process, then
    extraction, MIR and an index build over two processes, three rounds from cold caches."""
    from filmgenre.data import dataset, features, mir
    from filmgenre.library.ingest import build

    _run_a_keras_model()
    library = tmp_path / "library"
    library.mkdir()
    for src in sorted((realaudio / "filmscore").rglob("*.mp3"))[:4]:
        shutil.copy(src, library / src.name)
    reference = None
    for round_ in range(3):
        monkeypatch.setenv("FILMGENRE_DATA", str(tmp_path / f"data{round_}"))
        paths = sorted(str(p) for p in library.iterdir())
        manifest = dataset.Manifest(__import__("pandas").DataFrame({
            "film": paths, "cue": [Path(p).stem for p in paths], "path": paths,
            "genres": "", "duration": np.nan}), genres=())  # fmt: skip
        manifest = features.extract(manifest, n_jobs=2, progress=False)
        assert len(manifest.cues) == 4, manifest.skipped
        vectors = mir.load_mir(manifest, n_jobs=2, progress=False)
        report = build(library, tmp_path / f"index{round_}.sqlite", model_dir, n_jobs=2,
                       progress=False)  # fmt: skip
        assert report.tracks == 4 and report.skipped == 0, report
        _run_a_keras_model()
        if reference is None:
            reference = vectors
        else:
            np.testing.assert_array_equal(vectors, reference)


def test_workers_never_run_the_parents_script_again(tmp_path):
    """A script without an ``if __name__ == "__main__":`` guard, that imports Keras at its
    top, starts a pool: its workers are not prepared with its main module (which would run
    it again in each, or load TensorFlow there), so it runs once and its workers stay light."""
    script = tmp_path / "unguarded.py"
    script.write_text("import keras\nfrom filmgenre.runtime import pools\nprint('SCRIPT RAN')\n"
                      "facts = list(pools.process_map(pools.worker_facts, [1, 2, 3, 4], 2, "
                      "chunksize=1))\nprint('TF IN WORKERS', any(f['keras'] for f in facts))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("SCRIPT RAN") == 1 and "TF IN WORKERS False" in done.stdout


def test_versions_name_the_keras_backend_without_importing_keras(monkeypatch, tmp_path):
    """The pipeline's runner writes versions.json without starting TensorFlow: the backend
    is read as Keras reads it (KERAS_BACKEND, else $KERAS_HOME/keras.json, else TensorFlow)
    and, where Keras runs, it is what Keras says."""
    import keras

    from filmgenre.runtime import versions

    assert versions.library_versions()["keras_backend"] == keras.backend.backend()
    monkeypatch.delitem(sys.modules, "keras")  # as in a process that never imported it
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert versions.keras_backend() == "tensorflow"  # no settings: Keras's default
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    assert versions.keras_backend() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # the variable wins over the file, as in Keras
    assert versions.library_versions()["keras_backend"] == "torch"
    assert "keras" not in sys.modules and os.environ["KERAS_BACKEND"] == "torch"
