"""The listener-labelled collections a mood model learns from, as :class:`MoodData`: every
file decoded once through the project's feature cache, every part of :data:`PARTS`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...config import FeatureParams, shared_dir
from ...data.emotions import EMOTIONS, collection_key, cue_ratings, gems_table
from ..crossval.vectors import cue_vectors
from .study import PARTS, MoodData


def source_folder(name: str | os.PathLike[str]) -> Path:
    """A collection's folder: a folder given as such, else ``../shared/realaudio/<name>``."""
    folder = Path(name)
    if folder.is_dir():
        return folder
    root = shared_dir()
    folder = (root or Path("../shared")) / "realaudio" / str(name)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such collection (../shared/realaudio holds "
                                "emotify and filmscore; see its MANIFEST.md)")  # fmt: skip
    return folder


def _blocks(manifest, progress: bool | None) -> dict[str, np.ndarray]:
    return {part: cue_vectors(manifest, [part], progress=progress) for part in PARTS}


def gems_collection(name: str | os.PathLike[str] = "emotify", limit: int | None = None,
                    progress: bool | None = None) -> MoodData:  # fmt: skip
    """emotify's clips (each its own group) with the share of listeners who chose each GEMS
    emotion (the targets) and the emotions chosen by at least 30% (the labels). ``limit``
    keeps that many clips, spread over the label table (for a smoke run)."""
    folder = source_folder(name)
    table = gems_table(folder / "labels.csv")
    if limit is not None and limit < len(table):
        table = table.iloc[np.linspace(0, len(table) - 1, limit).round().astype(int)]
    manifest = _manifest(folder, table.index, list(table.index), progress)
    keys = [collection_key(p, folder) for p in manifest.cues["path"]]
    rows = table.loc[keys]
    return MoodData(folder.name, keys, np.asarray(keys), _blocks(manifest, progress),
                    rows[list(EMOTIONS)].to_numpy(float),
                    rows[[f"{e}_tag" for e in EMOTIONS]].to_numpy(int),
                    rows["n_listeners"].to_numpy(float),
                    {"skipped": manifest.skipped})  # fmt: skip


def va_collection(name: str | os.PathLike[str] = "filmscore", limit: int | None = None,
                  progress: bool | None = None) -> MoodData:  # fmt: skip
    """filmscore's annotated cues (grouped by film) with their listeners' mean valence and
    arousal; ``limit`` keeps the cues of that many films, spread over the films."""
    folder = source_folder(name)
    ratings = cue_ratings(folder / "emotions.csv")
    film_of = {path: path.split("/")[0] for path in ratings.index}
    if limit is not None:
        films = sorted(set(film_of.values()))
        keep = {films[i] for i in np.linspace(0, len(films) - 1, min(limit, len(films))).round()
                .astype(int)}  # fmt: skip
        ratings = ratings[[film_of[p] in keep for p in ratings.index]]
    manifest = _manifest(folder, ratings.index, [film_of[p] for p in ratings.index], progress)
    keys = [collection_key(p, folder) for p in manifest.cues["path"]]
    rows = ratings.loc[keys]
    return MoodData(folder.name, keys, manifest.cues["film"].astype(str).to_numpy(),
                    _blocks(manifest, progress), rows[["valence", "arousal"]].to_numpy(float),
                    None, rows["n_listeners"].to_numpy(float),
                    {"skipped": manifest.skipped, "ratings_file": folder / "emotions.csv"})


def _manifest(folder: Path, keys, groups: list[str], progress: bool | None):
    """The files ``keys`` of the collection, featurised through the project's cache (what
    cannot be decoded is in the manifest's ``skipped``, with why)."""
    from ...data import dataset, features

    manifest = dataset.Manifest.of_files([folder / k for k in keys], list(groups))
    manifest = features.extract(manifest, FeatureParams(), progress=progress)
    if not len(manifest.cues):
        raise ValueError(f"{folder}: none of its files with listener ratings could be decoded")
    return manifest


def listener_collections(mood_data: str | os.PathLike[str] | None = None,
                         limit: int | None = None, progress: bool | None = None
                         ) -> tuple[MoodData, MoodData] | None:  # fmt: skip
    """(emotify, filmscore) as mood data from ``mood_data``, a folder holding both (None:
    ``../shared/realaudio`` when present; ``"none"``: None, as when it is absent), each cut
    to ``limit`` clips and films when given (a smoke run)."""
    if isinstance(mood_data, str) and mood_data.lower() == "none":
        return None
    if mood_data is None:
        root = shared_dir()
        folder = root / "realaudio" if root is not None else None
        if folder is None or not (folder / "emotify").is_dir():
            return None
    else:
        folder = Path(mood_data)
    return (gems_collection(folder / "emotify", limit, progress),
            va_collection(folder / "filmscore", limit, progress))  # fmt: skip
