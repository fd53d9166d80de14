"""Running folds: out-of-fold predictions of cue-vector families and of Keras models,
their average, and saving them."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from .folds import CVConfig, fold_manifest, groups
from .heads import fit_head, predict_head, select_strength
from .vectors import FAMILIES, Family, SegmentVectors, film_vectors


@dataclass
class CVResult:
    """Out-of-fold predictions of one model (predictions frame shape, ``split`` = "oof")."""

    name: str
    predictions: pd.DataFrame
    info: dict = field(default_factory=dict)


def oof_frame(cues: pd.DataFrame, scores: np.ndarray, genres: tuple[str, ...],
              folds: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """The predictions frame of out-of-fold scores: every cue attribute (composer, song
    flags...), ``split`` "oof" and the first repeat's ``fold``, truth and scores."""
    from ...training.cue_scores import predictions_frame

    keep = [c for c in cues.columns if c not in (*genres, "features", "path", "split")]
    out = predictions_frame(cues.assign(split="oof"), scores, genres, [*keep, "split"])
    out.insert(len(keep) + 1, "fold", folds)
    return out


def fold_problem(manifest: Manifest, cv: CVConfig):
    """What every loop over folds starts from: the cues (renumbered), genres, labels,
    group of each cue and the fold assignment of each repeat."""
    cues = manifest.cues.reset_index(drop=True)
    genres = manifest.genres
    y = cues[list(genres)].to_numpy(dtype=float)
    return cues, genres, y, groups(cues, cv.by), cv.fold_sets(cues, genres)


def cross_validate_vectors(
    name: str,
    manifest: Manifest,
    x: np.ndarray | SegmentVectors,
    cv: CVConfig = CVConfig(),
    family: Family | None = None,
) -> CVResult:
    """Out-of-fold predictions of a cue-vector family; repeats are averaged per cue (each
    repeat's prediction of a cue comes from a model that never saw its group). A
    film-level family (``family.level == "film"``) learns from and predicts whole films
    (:func:`film_vectors`); each cue carries its film's out-of-fold scores. A
    segment-level family takes :class:`SegmentVectors` as ``x``."""
    family = family or FAMILIES[name]
    started = time.perf_counter()
    cues, genres, y, group, fold_sets = fold_problem(manifest, cv)
    total, chosen = np.zeros(y.shape), []
    fit_fold = fold_fitter(family, x, y, cues, group, cv)
    for folds in fold_sets:
        for f in range(cv.k):
            scores, strength = fit_fold(folds != f, folds == f)
            chosen.append(strength)
            total[folds == f] += scores
    scores = total / len(fold_sets)
    info = {
        "name": name,
        "kind": f"{family.level}_vector",
        "family": asdict(family),
        "cv": asdict(cv),
        "chosen_strength": chosen,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return CVResult(name, oof_frame(cues, scores, genres, fold_sets[0]), info)


def fold_fitter(family: Family, x, y: np.ndarray, cues: pd.DataFrame, group: np.ndarray,
                cv: CVConfig):  # fmt: skip
    """``fit_fold(train, test) -> (scores of the test cues, strength chosen)`` for a family
    at its level: boolean masks over cues in, one row of scores per test cue out (``x`` is
    an array of cue vectors, or :class:`SegmentVectors` for a segment-level family)."""
    if family.level == "film":
        return _film_level_fold(family, x, y, cues["film"].astype(str).to_numpy(), cv)
    if family.level == "segment":
        return _segment_level_fold(family, x, y, group, cv)
    if family.level != "cue":
        raise ValueError(f"unknown level {family.level!r}; choose cue, segment or film")

    def fit_fold(tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, float]:
        strength = select_strength(family, x[tr], y[tr], group[tr], cv.seed, cv.inner_k)
        return predict_head(fit_head(family.head, x[tr], y[tr], strength, cv.seed),
                            x[te]), strength  # fmt: skip

    return fit_fold


def _segment_level_fold(family: Family, x: SegmentVectors, y: np.ndarray, group: np.ndarray,
                        cv: CVConfig):  # fmt: skip
    """A fold function for a segment-level family: fit on the training cues' segments (each
    labelled as its cue; inner folds keep a group's segments together), score the test
    cues' segments, give each test cue the mean of its segments' scores."""

    def fit_fold(tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, float]:
        train, test = x[tr], x[te]
        seg_y, seg_group = y[tr][train.cue], group[tr][train.cue]
        strength = select_strength(family, train.rows, seg_y, seg_group, cv.seed,
                                   cv.inner_k)
        fitted = fit_head(family.head, train.rows, seg_y, strength, cv.seed)
        return test.per_cue(predict_head(fitted, test.rows)), strength

    return fit_fold


def _film_level_fold(family: Family, x: np.ndarray, y: np.ndarray, film: np.ndarray,
                     cv: CVConfig):  # fmt: skip
    """A fold function for a film-level family: fit on the training films' rows, score the
    test films, hand each test cue its film's scores."""
    fx, where, names = film_vectors(x, film)
    fy = np.zeros((len(fx), y.shape[1]))
    np.maximum.at(fy, where, y)

    def fit_fold(tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, float]:
        train_films, test_films = np.unique(where[tr]), np.unique(where[te])
        if np.intersect1d(train_films, test_films).size:
            raise ValueError(f"a film-level family needs folds that keep a film's cues "
                             f"together (grouping {cv.by!r} splits films)")  # fmt: skip
        strength = select_strength(family, fx[train_films], fy[train_films],
                                   names[train_films], cv.seed, cv.inner_k)  # fmt: skip
        fitted = fit_head(family.head, fx[train_films], fy[train_films], strength, cv.seed)
        per_film = np.zeros((len(fx), y.shape[1]))
        per_film[test_films] = predict_head(fitted, fx[test_films])
        return per_film[where[te]], strength

    return fit_fold


def cross_validate_keras(
    name: str,
    manifest: Manifest,
    out_dir: str | os.PathLike[str],
    feature_kind: str = "mfcc",
    cv: CVConfig = CVConfig(),
    config=None,
    label: str | None = None,
    **model_kwargs,
) -> CVResult:
    """Out-of-fold predictions of a registered Keras model trained with the project's loop
    (``train.train_model``) on each fold; models land in ``out_dir/<label>/fold<k>``."""
    from ...models.registry import MODELS
    from ...training.loop import TrainConfig

    config = config or TrainConfig()
    label = label or (f"{name}_{feature_kind}" if MODELS[name][1] == "tiles" else name)
    cues = manifest.cues.reset_index(drop=True)
    genres = manifest.genres
    started = time.perf_counter()
    total, fold_sets = np.zeros((len(cues), len(genres))), cv.fold_sets(cues, genres)
    for r, folds in enumerate(fold_sets):
        for f in range(cv.k):
            where, scores = keras_fold_scores(name, fold_manifest(manifest, folds, f), manifest,
                                              Path(out_dir) / label, feature_kind, config,
                                              f"repeat{r}_fold{f}", **model_kwargs)  # fmt: skip
            total[where] += scores
    info = {
        "name": label,
        "kind": "keras",
        "architecture": name,
        "feature_kind": feature_kind,
        "cv": asdict(cv),
        "train_config": asdict(config),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return CVResult(label, oof_frame(cues, total / len(fold_sets), genres, fold_sets[0]), info)


def keras_fold_scores(name: str, fold: Manifest, manifest: Manifest, out_dir: Path,
                      feature_kind: str, config, run_label: str,
                      **model_kwargs) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Train a Keras model on one fold's manifest (splits set, :func:`fold_manifest`) and
    return its test cues' rows in ``manifest`` (renumbered from 0) and their scores."""
    from ...training.loop import train_model

    result = train_model(name, fold, out_dir, feature_kind, config=config, label=run_label,
                         **model_kwargs)  # fmt: skip
    test = result.predictions[result.predictions["split"] == "test"]
    cues = manifest.cues.reset_index(drop=True)
    key = cues["film"].astype(str) + "\0" + cues["cue"].astype(str)
    where = pd.Index(key).get_indexer(test["film"].astype(str) + "\0" + test["cue"].astype(str))
    if (where < 0).any() or len(set(where)) != len(where):
        raise RuntimeError(f"{out_dir.name}: {run_label} predicted cues the manifest lacks")
    return where, test[[f"p_{g}" for g in manifest.genres]].to_numpy()


def average(results: list[CVResult], name: str) -> CVResult:
    """The mean of several models' out-of-fold probabilities (an ensemble of families)."""
    frames = [r.predictions for r in results]
    first = frames[0]
    for other in frames[1:]:
        if not other[["film", "cue"]].equals(first[["film", "cue"]]):
            raise ValueError("out-of-fold frames hold different cues; cannot average them")
    columns = [c for c in first.columns if c.startswith("p_")]
    out = first.copy()
    out[columns] = np.mean([f[columns].to_numpy() for f in frames], axis=0)
    info = {"name": name, "kind": "ensemble", "of": [r.name for r in results],
            "seconds": 0.0}  # fmt: skip
    return CVResult(name, out, info)


def save(result: CVResult, folder: str | os.PathLike[str]) -> Path:
    """Write a result's out-of-fold predictions and info under ``folder/<name>/``."""
    out = Path(folder) / result.name
    out.mkdir(parents=True, exist_ok=True)
    result.predictions.to_csv(out / "oof_predictions.csv", index=False)
    (out / "cv.json").write_text(json.dumps(result.info, indent=2, default=str))
    return out
