"""Shared fixtures: a tiny real synthetic collection, and ../shared when it is there."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from filmgenre.runtime import scratch  # reads no settings at import, so it may precede them

# Keep generated data and caches out of the repository's data/ for the whole session
# (papermill kernels and xdist workers started by the tests inherit this too); the process
# that made the folder deletes it when it exits.
if "FILMGENRE_DATA" not in os.environ:
    os.environ["FILMGENRE_DATA"] = str(scratch.scratch_dir("filmgenre-test-data-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: One compute thread a process for the whole session (workers, the background runs and
#: their kernels, every subprocess): the suite runs five to twelve busy processes on two
#: cores, where the thread pools of TensorFlow, XLA and BLAS each spinning on both cores
#: only take turns (measured in one run: the real-recordings run 154 -> 83 CPU s, the smoke
#: run 288 -> 216, pytest 651 -> 547 s); the parallelism under test is between processes
THREADS_PER_PROCESS = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}  # fmt: skip
for _name, _value in THREADS_PER_PROCESS.items():
    os.environ.setdefault(_name, _value)

from filmgenre.config import project_root, shared_dir  # noqa: E402
from filmgenre.data import assemble, dataset, synth  # noqa: E402
from filmgenre.predict import shipped_models  # noqa: E402

#: where tests leave what a person may want to look at (browser screenshots); git-ignored
TEST_OUTPUT = project_root() / "test-output"

#: Chromium switches for a machine without network or display (see the env notes): no
#: background connections, no sandbox as root, no GPU
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip

TINY = synth.SynthConfig(n_films=16, cues_per_film=(2, 2), cue_seconds=(11.0, 14.0), seed=1)


@pytest.fixture(scope="session")
def tiny_collection(tmp_path_factory) -> Path:
    """A 16-film synthetic collection on disk (audio/<film>/<cue>.wav + labels.csv)."""
    return synth.generate(tmp_path_factory.mktemp("tiny") / "synth", TINY, progress=False)


@pytest.fixture(scope="session")
def tiny_manifest(tiny_collection, tmp_path_factory) -> dataset.Manifest:
    """The tiny collection assembled: manifest with cached features and film splits."""
    return assemble.build_dataset(
        tiny_collection / "audio",
        tiny_collection / "labels.csv",
        tmp_path_factory.mktemp("manifest"),
        progress=False,
    )


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (study data and real recordings); tests that need it skip without it."""
    path = shared_dir()
    if path is None:
        pytest.skip("../shared is absent (study predictions and real recordings live there)")
    return path


@pytest.fixture(scope="session")
def realaudio(shared) -> Path:
    path = shared / "realaudio"
    if not (path / "emotify" / "labels.csv").is_file():
        pytest.skip(f"real recordings not found in {path} (see its MANIFEST.md)")
    return path


# --- whole pipeline runs, started in the background as soon as tests are collected --------
#
# A run of every notebook is minutes of one process; tests that read it wait for it at the
# end of the suite while the workers run everything else (the test items that need a run
# are put last). The first process to claim a run's folder (in the directory every xdist
# worker shares) starts it and, before it exits, waits for it to finish.

#: (real-recordings) clips of each emotify genre the real-recordings run reads
REAL_CLIPS_PER_GENRE = 8
#: (real-recordings) seconds of each clip it reads: the first 15 s, re-encoded as MP3 (the
#: length of a film cue; the run checks where labels go, not how well a minute is heard)
REAL_CLIP_SECONDS = 15.0
#: the notebooks the real-recordings run executes: what only real labels test (their own
#: genres, crossval, the index of a run's own model), and every notebook that trains Keras
#: models, so that each runs under :data:`REAL_BACKEND` (02 and 10 import no Keras: the smoke
#: run's kernel records say so); the synthetic run covers the rest
REAL_NOTEBOOKS = ("01_dataset_assembly", "03_train_cnn", "04_train_dense_baseline",
                  "05_modern_cnn_and_pooling", "06_transfer_musicnn", "07_evaluation",
                  "08_cross_validation", "09_library_search")  # fmt: skip
_LAUNCHED: list[subprocess.Popen] = []


def _shared_folder(config) -> Path:
    """The folder every worker of this session shares (the controller's base temp)."""
    base = config._tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


def _smoke_command(folder: Path) -> tuple[list[str], Path]:
    return ([sys.executable, "-m", "filmgenre", "pipeline", "--profile", "smoke", "--reports",
             str(folder / "reports"), "--run-id", "smoke"], project_root())  # fmt: skip


#: (real-recordings) the run's Keras backend, with TensorFlow hidden from the run and its
#: kernels as on a GPU machine with JAX's wheels only (README: "On an NVIDIA GPU"); musicnn's
#: weights are cached first by ``filmgenre weights``, where TensorFlow is
REAL_BACKEND = "jax"
WITHOUT_TENSORFLOW = Path(__file__).parent / "support" / "without_tensorflow"


def _real_command(folder: Path) -> tuple[list[str], Path] | None:
    """The real-recordings run: a third of emotify (8 clips a genre, their first 15 s) with
    their own labels, the notebooks of :data:`REAL_NOTEBOOKS`, under :data:`REAL_BACKEND`
    without TensorFlow (None without ../shared's recordings)."""
    import pandas as pd

    shared = shared_dir()
    source = None if shared is None else shared / "realaudio" / "emotify"
    if source is None or not (source / "labels.csv").is_file():
        return None
    labels = pd.read_csv(source / "labels.csv")
    subset = labels.groupby("genre", group_keys=False).head(REAL_CLIPS_PER_GENRE)
    for rel in subset["file"]:  # a folder of their own: notebook 09 indexes the run's folder
        (folder / "emotify" / rel).parent.mkdir(parents=True, exist_ok=True)
        with sf.SoundFile(source / rel) as clip:
            excerpt = clip.read(int(REAL_CLIP_SECONDS * clip.samplerate), dtype="float32")
            sf.write(folder / "emotify" / rel, excerpt, clip.samplerate, format="MP3")
    subset.to_csv(folder / "labels.csv", index=False)
    notebooks = folder / "notebooks"
    notebooks.mkdir()
    for name in REAL_NOTEBOOKS:
        shutil.copy(project_root() / "notebooks" / f"{name}.ipynb", notebooks)
    parameters = {
        "audio_dir": "emotify",  # relative to where the command runs, as a user types it
        "labels": str(folder / "labels.csv"), "genres": "auto", "label_column": "tags",
        "binary_ensemble": "false", "feature_kinds": '["logmel"]',
        "cv_families": '["mfcc_logreg", "musicnn_MTT_penultimate_logreg"]',
        "cv_keras_models": "[]",
        # one modern CNN and one learned pooling under JAX (each model compiles anew there)
        "modern_models": '["resnet_cnn"]', "sequence_poolers": '["attention_pooling"]',
        "library_dir": "run",  # the run's folder (these clips), not all of ../shared
        # the run's own final model, whose genres are emotify's tags
        "library_model": str(folder / "reports" / "real" / "models" / "mfcc_logreg_final"),
        "mood_data": "none",  # the mood study's code paths run in the synthetic run
    }  # fmt: skip
    pipeline = [sys.executable, "-m", "filmgenre", "pipeline", "--profile", "smoke",
                "--notebooks", str(notebooks), "--reports", str(folder / "reports"),
                "--run-id", "real"]  # fmt: skip
    for name, value in parameters.items():
        pipeline += ["-p", name, value]
    hidden = os.pathsep.join([str(WITHOUT_TENSORFLOW), os.environ.get("PYTHONPATH", "")])
    script = (f"{shlex.join([sys.executable, '-m', 'filmgenre', 'weights'])} >/dev/null && "
              f"KERAS_BACKEND={REAL_BACKEND} PYTHONPATH={shlex.quote(hidden)} "
              f"exec {shlex.join(pipeline)}")  # fmt: skip
    return ["bash", "-c", script], folder


def _quick_benchmarks_command(folder: Path) -> tuple[list[str], Path]:
    """Every ``make bench-*`` target on tiny inputs, two at a time, longest first
    (benchmarks/run_quick.py)."""
    return ([sys.executable, str(project_root() / "benchmarks" / "run_quick.py"),
             str(folder / "reports"), "--parallel", "2"], project_root())  # fmt: skip


#: fixture name -> how its run is started in a folder (None: it cannot run here)
BACKGROUND_RUNS = {"smoke_run": _smoke_command, "real_run": _real_command,
                   "quick_benchmarks": _quick_benchmarks_command}  # fmt: skip
#: ``nice`` of the xdist workers once the runs are started: the runs (one long chain of
#: notebooks each) take the cores first and end early, the workers' tests fill the gaps and
#: keep both cores busy to the end (the runs' own niceness stays 0)
WORKER_NICENESS = 5


def _launch(folder: Path, command: list[str], cwd: Path) -> None:
    env = {**os.environ, "FILMGENRE_ROOT": str(project_root())}
    with open(folder / "stdout", "w") as out, open(folder / "stderr", "w") as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
    _LAUNCHED.append(process)

    def record() -> None:
        code = process.wait()
        (folder / "returncode.tmp").write_text(str(code))
        (folder / "returncode.tmp").rename(folder / "returncode")

    threading.Thread(target=record, daemon=True).start()


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what will not run
def pytest_collection_modifyitems(config, items) -> None:
    """Start the pipeline runs the selected tests read (once for all workers) and put those
    tests last, so the workers run everything else meanwhile."""
    def reads_a_run(item) -> bool:
        return any(name in getattr(item, "fixturenames", ()) for name in BACKGROUND_RUNS)

    for name, command_in in BACKGROUND_RUNS.items():
        if config.option.collectonly or not any(name in getattr(i, "fixturenames", ())
                                                 for i in items):  # fmt: skip
            continue
        folder = _shared_folder(config) / name
        try:
            folder.mkdir(parents=True)  # atomic: one process of the session wins
        except FileExistsError:
            continue
        prepared = command_in(folder)
        if prepared is None:
            (folder / "returncode").write_text("skip")
            continue
        _launch(folder, *prepared)
    items.sort(key=reads_a_run)  # stable: the rest keep their order
    if hasattr(config, "workerinput") and not config.option.collectonly:
        os.nice(WORKER_NICENESS)


def pytest_sessionfinish(session) -> None:
    for process in _LAUNCHED:  # a worker done early still waits for the run it started
        process.wait(timeout=3600)


def _wait_for(config, name: str) -> tuple[Path, str]:
    """(folder, exit status as written) of the background run ``name``, once it ended."""
    folder = _shared_folder(config) / name
    done = folder / "returncode"
    deadline = time.monotonic() + 3600
    while not done.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the background run {name} did not finish within an hour")
        time.sleep(1)
    return folder, done.read_text()


def _finished_run(config, name: str, run_id: str) -> Path:
    folder, code = _wait_for(config, name)
    if code == "skip":
        pytest.skip("../shared/realaudio/emotify is absent (see its MANIFEST.md)")
    stdout, stderr = (folder / "stdout").read_text(), (folder / "stderr").read_text()
    assert code == "0", stdout[-3000:] + stderr[-5000:]
    # the command's stderr holds no known start-up line of TensorFlow or the kernels
    from filmgenre.cli.quiet import known_source

    assert not [ln for ln in stderr.splitlines() if known_source(ln)], stderr[-3000:]
    return folder / "reports" / run_id


@pytest.fixture(scope="session")
def smoke_run(request) -> Path:
    """The smoke profile run once for the session (every notebook through papermill, as
    `filmgenre pipeline --profile smoke` runs it); tests read it, none changes it."""
    return _finished_run(request.config, "smoke_run", "smoke")


@pytest.fixture(scope="session")
def quick_benchmarks(request) -> Path:
    """The folder of every benchmark's quick run (``<target>.out/.err/.rc``), once for the
    session; the runner's own exit status is read per target by the tests."""
    return _wait_for(request.config, "quick_benchmarks")[0] / "reports"


@pytest.fixture(scope="session")
def real_run(request) -> Path:
    """The real-recordings run (see :func:`_real_command`), once for the session."""
    return _finished_run(request.config, "real_run", "real")


def chromium_executable() -> str | None:
    """Debian's Chromium when installed (`apt-get install chromium`; .ci/run does it)."""
    return next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             "/usr/bin/chromium") if p and Path(p).is_file()), None)  # fmt: skip


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium driven by Playwright (the system browser, no download); skips
    with the reason where either is missing."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium on this machine: `apt-get update && apt-get install -y "
                    "chromium` installs it (.ci/run does so when it can)")  # fmt: skip
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing (pip install -e '.[dev]' brings it)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True,
                                     args=CHROMIUM_ARGS)  # fmt: skip
        yield browser
        browser.close()


def flac_with_tags(path: Path, seconds: float, freq: float, **tags) -> Path:
    from mutagen.flac import FLAC

    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    y = 0.2 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), sr, format="FLAC")
    audio = FLAC(path)
    for key, value in tags.items():
        audio[key] = value
    audio.save()
    return path


@pytest.fixture(scope="session")
def library_folder(tiny_collection, tmp_path_factory) -> Path:
    """A small library: 12 synthetic cues in album folders, a 40 s tagged FLAC track, a text
    file, a corrupt MP3, and a link to a file outside the library."""
    root = tmp_path_factory.mktemp("library") / "music"
    cues = sorted((tiny_collection / "audio").rglob("*.wav"))[:12]
    for i, cue in enumerate(cues):
        target = root / f"album{i % 3}" / f"{cue.parent.name}-{cue.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cue, target)
    flac_with_tags(root / "album0" / "long theme.flac", 40.0, 220.0, title="Long Theme",
                    artist="Tester", album="Suite", tracknumber="3/9")  # fmt: skip
    (root / "album1" / "cue sheet.txt").write_text("not audio\n")
    (root / "album1" / "broken.mp3").write_text("a cue sheet, not audio\n" * 40)
    outside = tmp_path_factory.mktemp("outside") / "secret.wav"
    shutil.copy(cues[0], outside)
    os.symlink(outside, root / "album2" / "link-out.wav")
    return root


@pytest.fixture(scope="session")
def model_dir() -> Path:
    shipped = shipped_models()
    assert shipped, "the package ships a model trained on real film music"
    return shipped[0]


@pytest.fixture(scope="session")
def built(library_folder, model_dir, tmp_path_factory) -> Path:
    from filmgenre.library.ingest import build

    index_file = tmp_path_factory.mktemp("index") / "library.sqlite"
    report = build(library_folder, index_file, model_dir, progress=False)
    assert report.added == 13 and report.tracks == 13, report
    return index_file


def index_copy(index_file: Path, folder: Path) -> Path:
    """A private copy of an index (SQLite's backup: the WAL's pages included), for a test
    that writes to it (a shortlist) while others read the session's index."""
    import sqlite3

    target = folder / index_file.name
    source, copy = sqlite3.connect(index_file), sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return target


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m filmgenre ARGS`` in a fresh process, as a user runs it."""
    env = {**os.environ, "FILMGENRE_ROOT": str(project_root())}
    return subprocess.run([sys.executable, "-m", "filmgenre", *args], cwd=cwd or project_root(),
                          env=env, capture_output=True, text=True, timeout=1200)  # fmt: skip


class WatchedPage:
    """A Playwright page that records console errors, page errors, failed responses and any
    request leaving ``base`` (aborted: a page must work offline, from its own server)."""

    def __init__(self, browser, base: str, viewport: dict):
        self.page = browser.new_page(viewport=viewport)
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.missing: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response",
                     lambda r: self.missing.append(r.url) if r.status >= 400 else None)

        def only_base(route) -> None:
            url = route.request.url
            if url.startswith(base) or url.startswith("data:"):
                route.continue_()
            else:
                self.outside.append(url)
                route.abort()

        self.page.route("**/*", only_base)


def screenshots() -> Path:
    """Where browser tests leave their screenshots (test-output/browser/)."""
    folder = TEST_OUTPUT / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
