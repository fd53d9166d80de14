"""Which moods go with which film genres, on real film music, with intervals over films.

For a mood (a listener's valence or arousal, or a mood model's score) and a genre, the
figure is the mean mood of the cues of films with the genre minus the mean of the cues of
films without it. Cues of one film share its genres and often its composer, so the interval
resamples films (each with all its cues), as every other figure of the project does; a
genre with fewer than ``min_films`` films on either side gets no row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from ...data.emotions import DIMENSIONS, EMOTIONS
from ...genres import GENRES
from ..crossval.additions import with_and_without
from ..crossval.folds import CVConfig
from ..crossval.vectors import COMBINED, Family, cue_vectors
from .study import MoodData

#: columns of :func:`mood_genre_table`
COLUMNS = ("mood", "genre", "with", "without", "difference", "low", "high",
           "films_with", "films_without", "excludes_zero")  # fmt: skip


def mood_genre_table(moods: pd.DataFrame, genres: pd.DataFrame, films: np.ndarray | list,
                     n_boot: int = 1000, seed: int = 0, min_films: int = 3,
                     level: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """One row per mood column and genre column (cues as rows in both, in the same order;
    ``films`` names each cue's film): the means with and without the genre, their
    difference and its film-bootstrap interval at ``level``, largest differences first."""
    if len(moods) != len(genres) or len(moods) != len(films):
        raise ValueError(f"{len(moods)} mood rows, {len(genres)} genre rows and "
                         f"{len(films)} films: one of each per cue")  # fmt: skip
    film_codes, film_names = pd.factorize(np.asarray(films))
    n_films = len(film_names)
    # per film: its cues' summed moods and count (a resample of films sums these)
    counts = np.bincount(film_codes, minlength=n_films).astype(float)
    sums = np.stack([np.bincount(film_codes, weights=moods[c].to_numpy(float),
                                 minlength=n_films) for c in moods.columns], 1)  # fmt: skip
    film_genres = pd.DataFrame(genres.to_numpy(), index=film_codes).groupby(level=0).max()
    film_genres = film_genres.reindex(range(n_films)).to_numpy() > 0
    rng = np.random.default_rng(seed)
    draws = np.stack([np.bincount(rng.integers(0, n_films, n_films), minlength=n_films)
                      for _ in range(n_boot)]).astype(float)  # fmt: skip
    alpha = (1 - level) / 2
    rows = []
    for j, genre in enumerate(genres.columns):
        has = film_genres[:, j]
        if has.sum() < min_films or (~has).sum() < min_films:
            continue

        point, with_mean, without_mean = _difference(np.ones(n_films), has, sums, counts)
        with np.errstate(invalid="ignore", divide="ignore"):  # a draw without such films
            boot = _difference(draws, has, sums, counts)[0]
        low, high = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
        for i, mood in enumerate(moods.columns):
            rows.append((mood, genre, with_mean[i], without_mean[i], point[i], low[i],
                         high[i], int(has.sum()), int((~has).sum()),
                         bool(low[i] > 0 or high[i] < 0)))  # fmt: skip
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.sort_values("difference", key=np.abs, ascending=False, ignore_index=True)


def _difference(weights: np.ndarray, has: np.ndarray, sums: np.ndarray, counts: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(difference, mean with, mean without) of each mood, films weighted by ``weights``
    (one row of weights per bootstrap draw, or one vector); ``has``: films with the genre."""
    w_with, w_without = weights * has, weights * ~has
    with_mean = (w_with @ sums) / (w_with @ counts)[..., None]
    without_mean = (w_without @ sums) / (w_without @ counts)[..., None]
    return with_mean - without_mean, with_mean, without_mean


def genre_matrix(labels: pd.DataFrame, films: list[str], genres: tuple[str, ...]
                 ) -> pd.DataFrame:  # fmt: skip
    """0/1 genres of each cue from a collection's ``film,genres`` table (IMDB strings)."""
    from ...genres import split_labels

    named = {row.film: set(split_labels(row.genres, genres)[0])
             for row in labels.itertuples()}  # fmt: skip
    missing = sorted(set(films) - set(named))
    if missing:
        raise ValueError(f"films without genres in the label table: {missing[:5]}")
    return pd.DataFrame([[int(g in named[f]) for g in genres] for f in films],
                        columns=list(genres))  # fmt: skip


def film_genre_moods(va: MoodData, emotions: np.ndarray, n_boot: int = 1000, seed: int = 0,
                     min_films: int = 3) -> pd.DataFrame:  # fmt: skip
    """:func:`mood_genre_table` on the annotated film cues of ``va``: their listeners' mean
    valence and arousal, and ``emotions``, the nine GEMS emotions a model that never heard
    them gives them, against their films' genres (the ``labels.csv`` beside the ratings;
    an empty table where there is none)."""
    labels_file = Path(va.extra.get("ratings_file", "")).parent / "labels.csv"
    if not labels_file.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    films = [str(g) for g in va.groups]
    moods = pd.DataFrame({f"{d} (listeners)": va.targets[:, i] for i, d in enumerate(DIMENSIONS)}
                         | {f"{e} (model)": emotions[:, i] for i, e in enumerate(EMOTIONS)})
    genres = genre_matrix(pd.read_csv(labels_file), films, GENRES)
    return mood_genre_table(moods, genres, films, n_boot, seed, min_films)


#: genre families that read the nine emotions of the shipped mood model (``moods``): its
#: emotion part learned from emotify's clips only, so no fold of a film collection leaks
#: into them through it (its valence and arousal learned from filmscore: not used here)
MOOD_FAMILIES: dict[str, Family] = {
    "moods_logreg": Family(("moods",), description="the nine GEMS emotions of the mood "
                           "model + logistic regression"),  # fmt: skip
    "moods_meandiff": Family(("moods",), head="meandiff", grid=(0.0,),
                             description="the nine GEMS emotions + genre mean difference"),
    "combined_moods_logreg": Family((*COMBINED, "moods"), description="MFCC statistics + "
                                    "both musicnn penultimates + the nine emotions + "
                                    "logistic regression"),  # fmt: skip
    "combined_moods_meandiff": Family((*COMBINED, "moods"), head="meandiff", grid=(0.0,),
                                      description="MFCC statistics + both musicnn "
                                      "penultimates + the nine emotions + mean difference"),
}
#: the families without moods they are compared with (the shipped family first)
WITHOUT_MOODS = ("combined_meandiff", "combined_logreg", "mfcc_logreg")


def emotions_of(manifest: Manifest, progress: bool | None = None) -> np.ndarray:
    """(cues x 9) GEMS emotions the shipped mood model gives each cue of ``manifest``."""
    from .model import load_moods

    model, folder = load_moods("shipped")
    if model is None:
        raise FileNotFoundError("no mood model ships with this install")
    blocks = {part: cue_vectors(manifest, [part], progress=progress) for part in model.parts}
    return model.predict(blocks)[:, : len(EMOTIONS)]


def moods_as_inputs(manifest: Manifest, cv: CVConfig = CVConfig(), n_boot: int = 1000,
                    seed: int = 0, emotions: np.ndarray | None = None,
                    without: tuple[str, ...] = WITHOUT_MOODS,
                    with_moods: dict[str, Family] | None = None,
                    progress: bool | None = None) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Do the emotions the mood model hears help the genre model? The families of ``without``
    against those of ``with_moods`` (default :data:`MOOD_FAMILIES`) as
    :func:`~filmgenre.evaluation.crossval.additions.with_and_without` compares them (rows
    ``nested, without moods`` and ``nested, moods on offer``). ``emotions``: the cues' nine
    emotions (default :func:`emotions_of`)."""
    emotions = emotions_of(manifest, progress) if emotions is None else emotions
    return with_and_without(manifest, without, MOOD_FAMILIES if with_moods is None else with_moods,
                            cv, n_boot, seed, {"moods": emotions}, "moods", progress)
