"""Scoring out-of-fold predictions: cue and film level, per genre, breakdowns by a cue
attribute, paired differences with an anchor, and leakage under other groupings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from .. import evaluate, metrics
from .folds import CVConfig, groups
from .loops import CVResult, cross_validate_vectors
from .vectors import FAMILIES, cue_vectors


def film_level(frame: pd.DataFrame, genres: tuple[str, ...], how: str = "mean") -> pd.DataFrame:
    """A film's genre scores from all of its cues (``mean`` or ``max``); one row per film."""
    y = frame.groupby("film", sort=True)[[f"y_{g}" for g in genres]].max()
    p = frame.groupby("film", sort=True)[[f"p_{g}" for g in genres]].agg(how)
    out = y.join(p).reset_index()
    out.insert(1, "cue", out["film"])
    out.insert(2, "split", "oof")
    return out


#: the levels out-of-fold predictions are scored at, and how a film's cues are pooled
LEVELS: dict[str, str | None] = {"cue": None, "film (mean of cues)": "mean",
                                 "film (max of cues)": "max"}  # fmt: skip


def at_level(frame: pd.DataFrame, genres: tuple[str, ...], level: str) -> pd.DataFrame:
    """An out-of-fold frame at one of :data:`LEVELS`: its cues, or one row per film."""
    how = LEVELS[level]
    return frame if how is None else film_level(frame, genres, how)


def score_frame(frame: pd.DataFrame, genres: tuple[str, ...], n_boot: int = 1000,
                seed: int = 0) -> dict:  # fmt: skip
    """:func:`metrics.score_model` of an out-of-fold frame (intervals resample films)."""
    y, s, rows = evaluate.split_predictions(frame, genres, "oof")
    return metrics.score_model(y, s, rows.film.to_numpy(), genres, n_boot, seed)


def breakdown(frame: pd.DataFrame, genres: tuple[str, ...], column: str, n_boot: int = 1000,
              seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Macro ROC-AUC with its film-bootstrap interval for each value of a cue attribute."""
    rows = []
    for value, part in frame.groupby(column, sort=True):
        sc = score_frame(part, genres, n_boot, seed)
        lo, hi = sc["ci95"]["macro_roc_auc"]
        rows.append({column: value, "cues": sc["n_cues"], "films": sc["n_films"],
                     "macro_roc_auc": sc["metrics"]["macro_roc_auc"], "ci95_low": lo,
                     "ci95_high": hi})  # fmt: skip
    return pd.DataFrame(rows)


def per_genre(frame: pd.DataFrame, genres: tuple[str, ...], min_films: int = 3) -> pd.DataFrame:
    """Per-genre ROC-AUC and AP with positive cues and films; genres with fewer than
    ``min_films`` positive films are flagged as too rare to rank models on."""
    y, s, rows = evaluate.split_predictions(frame, genres, "oof")
    table = metrics.per_genre_metrics(y, s, genres)
    films = pd.DataFrame(y, index=rows.film).groupby(level=0).max().sum().to_numpy()
    table = table.rename(columns={"positives": "positive_cues"})
    table["positive_films"] = films.astype(int)
    table["too_rare_to_rank"] = table["positive_films"] < min_films
    return table


def macro_without_rare(frame: pd.DataFrame, genres: tuple[str, ...], min_films: int = 3) -> float:
    """Macro ROC-AUC over the genres with at least ``min_films`` positive films."""
    table = per_genre(frame, genres, min_films)
    return float(table.loc[~table["too_rare_to_rank"], "roc_auc"].mean())


def paired(a: pd.DataFrame, b: pd.DataFrame, genres: tuple[str, ...], n_boot: int = 1000,
           seed: int = 0) -> dict[str, float]:  # fmt: skip
    """Paired film-bootstrap difference of macro ROC-AUC, A - B, on the same cues."""
    ya, sa, ra = evaluate.split_predictions(a, genres, "oof")
    yb, sb, rb = evaluate.split_predictions(b, genres, "oof")
    if not ra[["film", "cue"]].equals(rb[["film", "cue"]]):
        raise ValueError("the two out-of-fold frames hold different cues; cannot pair them")
    return metrics.paired_difference(ya, sa, sb, ra.film.to_numpy(), n_boot=n_boot, seed=seed)


def scored_at(result: CVResult, level: str) -> bool:
    """Whether a result belongs at ``level``: a film-level model scores a cue from its whole
    film, so it is left out of the cue level (not comparable with one cue's evidence)."""
    return level != "cue" or result.info.get("kind") != "film_vector"


def score_levels(results: dict[str, CVResult], genres: tuple[str, ...], n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict[str, dict]]:  # fmt: skip
    """Every result scored at every level of :data:`LEVELS` it belongs at
    (``{level: {model: scores}}``)."""
    return {level: {name: score_frame(at_level(r.predictions, genres, level), genres, n_boot,
                                      seed) for name, r in results.items() if scored_at(r, level)}
            for level in LEVELS}  # fmt: skip


def level_tables(
    levels: dict[str, dict[str, dict]],
    results: dict[str, CVResult],
    genres: tuple[str, ...],
    min_films: int = 3,
) -> dict[str, pd.DataFrame]:
    """One results table per level, best macro ROC-AUC first, with the macro ROC-AUC over
    the genres that have at least ``min_films`` positive films in front."""
    tables = {}
    for level, scores in levels.items():
        order = sorted(scores, key=lambda n: -scores[n]["metrics"]["macro_roc_auc"])
        table = evaluate.results_table({n: scores[n] for n in order})
        without = [macro_without_rare(at_level(results[n].predictions, genres, level), genres,
                                      min_films) for n in table.index]  # fmt: skip
        table.insert(0, f"macro ROC-AUC without genres under {min_films} films", without)
        tables[level] = table
    return tables


def paired_with(
    results: dict[str, CVResult],
    anchor: str,
    genres: tuple[str, ...],
    n_boot: int = 1000,
    seed: int = 0,
    levels: tuple[str, ...] = ("cue", "film (mean of cues)"),
) -> pd.DataFrame:
    """Every model against ``anchor`` on the same film resamples, per level, largest
    difference first (empty when the anchor was not run)."""
    rows = []
    for level in levels if anchor in results else ():
        base = at_level(results[anchor].predictions, genres, level)
        for name, result in results.items():
            if name != anchor and scored_at(result, level):
                a = at_level(result.predictions, genres, level)
                rows.append({"level": level, "a": name, "b": anchor,
                             **paired(a, base, genres, n_boot, seed)})  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["level", "difference"], ascending=[True, False])
    return table.reset_index(drop=True)


def film_models_vs_pooling(results: dict[str, CVResult], genres: tuple[str, ...],
                           n_boot: int = 1000, seed: int = 0,
                           levels: dict[str, dict[str, dict]] | None = None,
                           ) -> pd.DataFrame:  # fmt: skip
    """Each film-level model against the mean of cue scores of its cue-level counterpart
    (same parts and head), paired on the same film resamples: does learning at the film
    level beat averaging cues? ``levels`` (:func:`score_levels`' output) saves scoring
    both again."""
    level = "film (mean of cues)"
    done = (levels or {}).get(level, {})
    rows = []
    for name, result in results.items():
        counterpart = result.info.get("family", {}).get("pooled_counterpart")
        if result.info.get("kind") != "film_vector" or counterpart not in results:
            continue
        a = at_level(result.predictions, genres, level)
        b = at_level(results[counterpart].predictions, genres, level)
        sa = done.get(name) or score_frame(a, genres, n_boot, seed)
        sb = done.get(counterpart) or score_frame(b, genres, n_boot, seed)
        rows.append({"comparison": "film level: learned vs mean of cue scores", "a": name,
                     "b": f"mean of {counterpart}", "film model": name,
                     "mean of cue scores of": counterpart,
                     "film model macro ROC-AUC": sa["metrics"]["macro_roc_auc"],
                     "mean of cues macro ROC-AUC": sb["metrics"]["macro_roc_auc"],
                     **paired(a, b, genres, n_boot, seed)})  # fmt: skip
    return pd.DataFrame(rows)


def leakage(manifest: Manifest, names: list[str], groupings: list[str] | tuple[str, ...],
            cv: CVConfig = CVConfig(), n_boot: int = 1000,
            vectors: dict[str, np.ndarray] | None = None,
            done: dict[str, CVResult] | None = None) -> pd.DataFrame:  # fmt: skip
    """The same cue-vector families under several groupings (cues at random, films,
    composers): how much a split that lets a film or composer into both sides adds.
    ``done`` (results already run under ``cv``) are reused for its own grouping.
    A grouping the collection cannot support is left out with its reason printed."""
    rows = []
    for name in dict.fromkeys(n for n in names if n in FAMILIES):
        x = (vectors or {}).get(name)
        x = cue_vectors(manifest, FAMILIES[name].parts) if x is None else x
        for by in groupings:
            try:
                if by == cv.by and name in (done or {}):
                    frame = done[name].predictions
                else:
                    split_cv = replace(cv, by=by)
                    frame = cross_validate_vectors(name, manifest, x, split_cv).predictions
            except ValueError as exc:
                print(f"{name}, grouped by {by}: left out ({exc})")
                continue
            sc = score_frame(frame, manifest.genres, n_boot, cv.seed)
            lo, hi = sc["ci95"]["macro_roc_auc"]
            rows.append({"model": name, "grouping": by,
                         "groups": len(set(groups(manifest.cues, by))),
                         "macro_roc_auc": sc["metrics"]["macro_roc_auc"],
                         "ci95_low": lo, "ci95_high": hi})  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        film = table[table.grouping == "film"].set_index("model")["macro_roc_auc"]
        table["minus_grouped_by_film"] = table["macro_roc_auc"] - table["model"].map(film)
    return table
