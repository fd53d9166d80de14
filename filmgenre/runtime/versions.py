"""Versions of everything that can change a result, for reports and model folders."""

from __future__ import annotations

import platform


def library_versions() -> dict[str, str]:
    """Versions of everything that can change a result, for reports and model folders."""
    from importlib.metadata import PackageNotFoundError, version

    import keras

    out = {"python": platform.python_version(), "keras_backend": keras.backend.backend()}
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
