"""Versions of everything that can change a result, for reports and model folders."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path


def keras_backend() -> str:
    """The Keras backend this process runs (or would run), read as Keras reads it but without
    importing Keras, which starts TensorFlow: seconds of CPU for a process that only writes
    ``versions.json``, such as the pipeline's runner."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend") or "tensorflow"
    except (OSError, ValueError):
        return "tensorflow"


def library_versions() -> dict[str, str]:
    """Versions of everything that can change a result, for reports and model folders."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "keras_backend": keras_backend()}
    for pkg in (
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "librosa",
        "soundfile",
        "keras",
        "tensorflow-cpu",
        "tensorflow",
        "jax",
        "torch",
        "musicnn",
        "papermill",
        "matplotlib",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out
