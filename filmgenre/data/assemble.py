"""Dataset assembly in one call: labels + audio -> manifest, decoded features, splits.

Notebook 01 and ``filmgenre dataset build`` both call :func:`build_dataset`, so a
collection is assembled the same way interactively and headlessly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..config import FeatureParams, data_dir, shared_dir

from ..genres import GENRES
from . import dataset, features, synth


def synthetic_collection(
    config: synth.SynthConfig, progress: bool | None = None, n_jobs: int | None = None
) -> tuple[Path, Path]:
    """Generate (or reuse) the default synthetic collection; returns (audio folder, label table)."""
    out = synth.generate(data_dir() / "raw" / f"synth-{config.key()}", config, n_jobs, progress)
    return out / "audio", out / "labels.csv"


def build_dataset(
    audio_dir: str | os.PathLike[str],
    labels: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    params: FeatureParams = FeatureParams(),
    genres: tuple[str, ...] | str = GENRES,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    n_jobs: int | None = None,
    progress: bool | None = None,
    label_column: str | None = None,
    scheduler: str | None = None,
    cue_table: str | os.PathLike[str] | None = None,
) -> dataset.Manifest:
    """Pair audio with labels, decode and cache features, split by film; save if ``out_dir``.

    Files that cannot be used are in ``manifest.skipped`` with their reason; the
    splits are drawn over the usable cues only. ``genres`` is a tuple, a
    comma-separated string, or "auto" (every genre the label table uses). ``cue_table``
    adds per-cue attributes (composer, score or song ...) keyed by path.
    """
    manifest = dataset.build_manifest(audio_dir, labels, genres, params, label_column, cue_table)
    if len(manifest.cues):
        manifest = features.extract(
            manifest, params, n_jobs=n_jobs, progress=progress, scheduler=scheduler
        )
    if len(manifest.cues) == 0:
        raise ValueError(f"no usable cues in {audio_dir}: {len(manifest.skipped)} file(s) skipped")
    manifest = dataset.assign_splits(manifest, fractions, seed)
    if out_dir is not None:
        manifest.save(out_dir)
    return manifest


def real_collection(
    name: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = False,
    n_jobs: int | None = None,
) -> dataset.Manifest:
    """A real collection's manifest by folder or by name under ``../shared/realaudio``.

    A label table of films (``filmscore``: film, genres; an optional cues.csv) gives the ten
    film genres; a table of clips with a ``tags`` column (``emotify``) gives its emotion tags,
    every clip its own group. For the scripts and benchmarks that report figures on real
    music, so they all build a collection one way.
    """
    source = Path(name)
    if not source.is_dir():
        source = (shared_dir() or Path("../shared")) / "realaudio" / str(name)
    if not (source / "labels.csv").is_file():
        raise FileNotFoundError(f"{source}: no labels.csv (see ../shared/realaudio/MANIFEST.md)")
    columns = set(pd.read_csv(source / "labels.csv", nrows=0).columns)
    if "tags" in columns and "film" not in columns:
        return build_dataset(source, source / "labels.csv", out_dir, genres="auto",
                             label_column="tags", progress=progress, n_jobs=n_jobs)  # fmt: skip
    cues = source / "cues.csv"
    return build_dataset(source, source / "labels.csv", out_dir, progress=progress, n_jobs=n_jobs,
                         cue_table=cues if cues.is_file() else None)  # fmt: skip
