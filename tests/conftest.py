"""Shared fixtures: a tiny real synthetic collection, and ../shared when it is there."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Keep generated data and caches out of the repository's data/ for the whole session
# (papermill kernels started by the tests inherit this too).
os.environ.setdefault("FILMGENRE_DATA", tempfile.mkdtemp(prefix="filmgenre-test-data-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from filmgenre import build, dataset, synth  # noqa: E402
from filmgenre.config import shared_dir  # noqa: E402

TINY = synth.SynthConfig(n_films=16, cues_per_film=(2, 2), cue_seconds=(11.0, 14.0), seed=1)


@pytest.fixture(scope="session")
def tiny_collection(tmp_path_factory) -> Path:
    """A 16-film synthetic collection on disk (audio/<film>/<cue>.wav + labels.csv)."""
    return synth.generate(tmp_path_factory.mktemp("tiny") / "synth", TINY, progress=False)


@pytest.fixture(scope="session")
def tiny_manifest(tiny_collection, tmp_path_factory) -> dataset.Manifest:
    """The tiny collection assembled: manifest with cached features and film splits."""
    return build.build_dataset(
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
