"""The mood model's cross-validated figures as plain data (for the training script, the
moods notebook, docs/results.md and the search-quality measurement): per-emotion ROC-AUC
and AP with intervals and the MFCC anchor beside them, calibration, and the valence and
arousal rank correlations beside the listeners' own split-half agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data.emotions import DIMENSIONS, listener_ratings, split_half
from ..calibration import cross_fit, sigmoid
from .genres import film_genre_moods
from .study import (
    GEMS_FAMILIES,
    VA_FAMILIES,
    MoodData,
    calibration_table,
    dimension_row,
    fit_gems,
    folds_of,
    gems_table,
    nested,
)


def study(gems: MoodData, va: MoodData, k: int = 5, repeats: int = 3, inner_k: int = 4,
          n_boot: int = 1000, seed: int = 0, progress: bool | None = None) -> dict:  # fmt: skip
    """Every figure of the mood model, cross-validated with the selection nested: GEMS on
    ``gems`` (each clip its own group), valence and arousal on ``va`` (folds by film; one
    family reads the outputs of a GEMS model fitted on every clip of ``gems``, which holds
    none of ``va``'s cues). Also the out-of-fold moods of both collections (``oof``)."""
    result = nested(gems, GEMS_FAMILIES, None, k, repeats, inner_k, seed, progress)
    probabilities = cross_fit(gems.labels.astype(float), sigmoid(result["raw"]),
                              folds_of(gems, k, seed))  # fmt: skip
    gems_map, platt, _ = fit_gems(gems, inner_k, seed)
    with_gems = va.with_transfer(gems_map)
    ratings = listener_ratings(va.extra["ratings_file"])
    rows, va_choices, va_oof = [], {}, np.zeros(va.targets.shape)
    for column, dimension in enumerate(DIMENSIONS):
        found = nested(with_gems, VA_FAMILIES, column, k, repeats, inner_k, seed, progress)
        try:
            ceiling = split_half(ratings[ratings["path"].isin(va.keys)], dimension, seed=seed,
                                 n_boot=n_boot)  # fmt: skip
        except ValueError:  # a subset with too few cues rated twice: no ceiling to show
            ceiling = {"cues": 0, "pearson": np.nan, "spearman": np.nan,
                       "spearman_95": [np.nan, np.nan], "noise_free_ceiling": np.nan}
        rows.append(dimension_row(with_gems, column, found, ceiling, n_boot, seed))
        va_choices[dimension] = found["choices"]
        va_oof[:, column] = found["raw"][:, 0]
    # the film cues' emotions: the GEMS model of every emotify clip (it never saw them)
    va_gems = platt.apply(sigmoid(with_gems.blocks["gems"]))
    by_genre = film_genre_moods(va, va_gems, n_boot, seed)
    return {
        "collections": {"gems": {"name": gems.name, "clips": len(gems.keys)},
                        "valence-arousal": {"name": va.name, "cues": len(va.keys),
                                            "films": int(len(np.unique(va.groups)))}},
        "folds": k, "repeats": repeats, "inner_folds": inner_k, "n_boot": n_boot,
        "gems": gems_table(gems, result, n_boot, seed).reset_index().to_dict("records"),
        "gems_choices": result["choices"],
        "calibration": calibration_table(gems, result["raw"]).reset_index().to_dict("records"),
        "valence_arousal": rows,
        "valence_arousal_choices": va_choices,
        "genres": by_genre.to_dict("records"),
        "oof": {"gems": {"keys": gems.keys, "moods": _moods(probabilities, None)},
                "valence-arousal": {"keys": va.keys, "groups": list(map(str, va.groups)),
                                    "moods": _moods(va_gems, va_oof),
                                    "listeners": va.targets.tolist()}},
    }  # fmt: skip


def _moods(emotions: np.ndarray, dimensions: np.ndarray | None) -> list[list[float]]:
    """Rows of the eleven moods (NaN where a collection has no figure for one)."""
    dims = np.full((len(emotions), len(DIMENSIONS)), np.nan) if dimensions is None else dimensions
    return np.hstack([emotions, dims]).round(5).tolist()


def _interval(value: float, interval: list[float]) -> str:
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def tables(figures: dict) -> dict[str, pd.DataFrame]:
    """The figures as a person reads them: each value with its 95% interval."""
    gems = pd.DataFrame([{
        "emotion": r["emotion"], "positives": r["positives"],
        **{f"{m} ({who})": _interval(r[f"{m} ({who})"], r[f"{m} ({who}) 95%"])
           for who in ("nested", "MFCC anchor") for m in ("ROC-AUC", "AP")},
    } for r in figures["gems"]]).set_index("emotion")  # fmt: skip
    va = pd.DataFrame([{
        "dimension": r["dimension"], "cues": r["cues"], "films": r["films"],
        "Spearman (nested)": _interval(r["Spearman (nested)"], r["Spearman (nested) 95%"]),
        "Spearman (MFCC anchor)": _interval(r["Spearman (MFCC anchor)"],
                                            r["Spearman (MFCC anchor) 95%"]),
        "listeners' split-half": _interval(r["listeners' split-half Spearman"],
                                           r["listeners' split-half 95%"]),
        "noise-free ceiling": r["noise-free ceiling (sqrt of split-half)"],
    } for r in figures["valence_arousal"]]).set_index("dimension")  # fmt: skip
    calibration = pd.DataFrame(figures["calibration"]).set_index("emotion").round(3)
    chosen = pd.DataFrame(figures["gems_choices"])["family"].value_counts()
    va_chosen = {d: pd.DataFrame(c)["family"].value_counts().to_dict()
                 for d, c in figures["valence_arousal_choices"].items()}  # fmt: skip
    choices = pd.DataFrame({"GEMS": chosen.to_dict(), **va_chosen}).fillna(0).astype(int)
    shown = {"GEMS emotions (emotify, clips cross-validated)": gems,
             "valence and arousal (filmscore, folds by film)": va,
             "calibration of the emotions": calibration,
             "families chosen inside the outer folds": choices}
    by_genre = pd.DataFrame(figures.get("genres", []))
    if len(by_genre):
        found = by_genre[by_genre["excludes_zero"]]
        name = (f"moods and film genres: {len(found)} of {len(by_genre)} pairs whose film "
                f"interval excludes 0 (about {len(by_genre) / 20:.0f} would by chance)")
        shown[name] = pd.DataFrame({
            "mood": found["mood"], "genre": found["genre"],
            "with the genre": found["with"].round(3), "without": found["without"].round(3),
            "difference [95%]": [_interval(d, [lo, hi]) for d, lo, hi in
                                 zip(found["difference"], found["low"], found["high"],
                                     strict=True)],
            "films with": found["films_with"]}).set_index(["mood", "genre"])  # fmt: skip
    return shown


def describe(figures: dict) -> str:
    """All tables as text, with the collections and the procedure in one line."""
    c = figures["collections"]
    head = (f"mood model, nested cross-validation: GEMS on {c['gems']['name']} "
            f"({c['gems']['clips']} clips), valence-arousal on {c['valence-arousal']['name']} "
            f"({c['valence-arousal']['cues']} cues of {c['valence-arousal']['films']} films); "
            f"{figures['folds']} outer folds x {figures['repeats']} repeats, "
            f"{figures['inner_folds']} inner folds, 95% intervals from {figures['n_boot']} "
            "resamples of clips / films")  # fmt: skip
    return "\n\n".join([head] + [f"{name}\n{frame.to_string()}"
                                 for name, frame in tables(figures).items()]) + "\n"


