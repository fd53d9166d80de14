"""Grouped k-fold cross-validation for small real collections: every film predicted once.

A single 70/15/15 split of 76 films leaves about 11 test films, too few to tell models
apart. Here the films (or larger groups: every film of a composer, or single cues for
the leakage check) are dealt into ``k`` folds by iterative stratification over their
genres, each fold is predicted by models that never saw it, and the out-of-fold
predictions are scored with the same film-bootstrap code as a single split.

Two kinds of model run through the same folds:

- *cue-vector* families (:data:`FAMILIES`): one fixed-length vector per cue (MFCC
  summary statistics, musicnn embeddings of a layer and checkpoint, or several joined)
  with a regularised logistic regression or a small MLP per fold; the regularisation is
  chosen inside each training fold by a grouped inner cross-validation;
- Keras models of :mod:`filmgenre.models` trained on tiles with the project's training
  loop (:func:`cross_validate_keras`), one fold held out for early stopping.
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluate, metrics
from .config import FeatureParams
from .dataset import Manifest, iterative_stratification
from .features import load_summaries

GROUPINGS = ("film", "composer", "cue")

# ----------------------------------------------------------------------------- groups and folds


def composer_names(text: object) -> list[str]:
    """Individual composers in a credit such as "Hans Zimmer & Lorne Balfe" or
    "Soundtree, Luis Almau (as Almau)", normalised for case, accents kept."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    cleaned = re.sub(r"\([^)]*\)", " ", str(text))
    parts = re.split(r"\s*(?:/|,|&|;|\band\b|\bfeat\.?|\bwith\b)\s*", cleaned)
    return sorted({" ".join(p.split()).casefold() for p in parts if p.strip()})


def groups(cues: pd.DataFrame, by: str = "film") -> np.ndarray:
    """Group id of each cue: its film, its single cue, or its composer group.

    A composer group joins every film that shares a credited composer with another
    (connected components of films and composers), so neither a film nor a composer is
    ever on both sides of a split.
    """
    if by == "film":
        return cues["film"].astype(str).to_numpy()
    if by == "cue":
        return np.array([f"{f}/{c}" for f, c in zip(cues["film"], cues["cue"], strict=True)])
    if by != "composer":
        raise ValueError(f"unknown grouping {by!r}; choose one of {GROUPINGS}")
    if "composer" not in cues.columns:
        raise ValueError(
            "grouping by composer needs a 'composer' cue attribute (a cue table such as "
            "filmscore's cues.csv: `--cues` / notebook 01's `cue_table`)"
        )
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for film, credit in zip(cues["film"].astype(str), cues["composer"], strict=True):
        for name in composer_names(credit):
            parent[find("composer:" + name)] = find("film:" + film)
    return np.array([find("film:" + str(f)) for f in cues["film"]])


def assign_folds(
    cues: pd.DataFrame, genres: tuple[str, ...], k: int = 5, seed: int = 0, by: str = "film"
) -> np.ndarray:
    """Fold (0..k-1) of every cue: whole groups dealt by iterative stratification over the
    genres their cues carry, repeatable from ``seed``."""
    group = groups(cues, by)
    labels = pd.DataFrame(cues[list(genres)].to_numpy(), index=group).groupby(level=0).max()
    if len(labels) < k:
        raise ValueError(f"{len(labels)} groups ({by}) cannot fill {k} folds")
    fold = iterative_stratification(labels.to_numpy(), (1.0,) * k, np.random.default_rng(seed))
    for empty in [i for i in range(k) if not (fold == i).any()]:
        largest = np.bincount(fold, minlength=k).argmax()
        fold[np.random.default_rng(seed).choice(np.flatnonzero(fold == largest))] = empty
    return pd.Series(fold, index=labels.index).loc[group].to_numpy()


# ----------------------------------------------------------------------------- cue vectors

#: cue-vector parts: ``mfcc_stats`` or ``musicnn:<checkpoint>:<layer>``
MUSICNN_PARTS = tuple(
    f"musicnn:{m}:{layer}"
    for m in ("MTT_musicnn", "MSD_musicnn")
    for layer in ("taggram", "penultimate", "pool")
)


def cue_vectors(manifest: Manifest, parts: list[str] | tuple[str, ...],
                progress: bool | None = None) -> np.ndarray:  # fmt: skip
    """One row per cue of the manifest: the named parts side by side.

    ``mfcc_stats`` is the mean and spread of the MFCCs and their deltas (160-d);
    ``musicnn:<checkpoint>:<layer>`` the mean and spread over 3 s patches of a
    pretrained musicnn layer (its musicnn input must be extracted first).
    """
    from . import transfer

    blocks = []
    for part in parts:
        if part == "mfcc_stats":
            blocks.append(load_summaries(manifest, None)[0])
        elif part.startswith("musicnn:"):
            _, model, layer = part.split(":")
            blocks.append(transfer.load_embeddings(manifest, None, model, layer,
                                                   progress=progress)[0])  # fmt: skip
        else:
            raise ValueError(f"unknown cue-vector part {part!r}: mfcc_stats or {MUSICNN_PARTS}")
    return np.hstack(blocks).astype(np.float32)


@dataclass(frozen=True)
class Family:
    """A cue-vector model: which parts make the vector, and the head on top."""

    parts: tuple[str, ...]
    #: "logreg" (one L2 logistic regression per genre), "meandiff" (its limit for the
    #: strongest regularisation, :class:`MeanDifference`) or "mlp"
    head: str = "logreg"
    #: regularisation candidates: inverse L2 strength (logreg) or weight decay (mlp),
    #: picked per training fold by grouped inner cross-validation
    grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    description: str = ""


#: the cue-vector families every real-data cross-validation can run, by name
FAMILIES: dict[str, Family] = {
    "mfcc_logreg": Family(
        ("mfcc_stats",),
        description="MFCC summary statistics + logistic regression (the classical anchor)",
    ),  # fmt: skip
    **{
        f"musicnn_{m[:3]}_{layer}_logreg": Family(
            (f"musicnn:{m}:{layer}",),
            # the 3012-d pooled mid-end: one fixed strength (an inner search costs minutes)
            grid=(1e-3,) if layer == "pool" else (1e-4, 1e-3, 1e-2),
            description=f"musicnn ({m[:3]}) {layer} embedding + logistic regression",
        )
        for m in ("MTT_musicnn", "MSD_musicnn")
        for layer in ("taggram", "penultimate", "pool")
    },
    "musicnn_MTT_penultimate_mlp": Family(
        ("musicnn:MTT_musicnn:penultimate",),
        head="mlp",
        grid=(1e-2, 1e-1, 1.0),
        description="musicnn (MTT) penultimate embedding + MLP (64 units)",
    ),
    "musicnn_both_penultimate_logreg": Family(
        ("musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        description="musicnn MTT + MSD penultimate embeddings + logistic regression",
    ),
    "combined_logreg": Family(
        ("mfcc_stats", "musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        description="MFCC statistics + both musicnn penultimate embeddings + logistic regression",
    ),
    # the inner search picked the grid's strongest regularisation in every fold; these are
    # the same features with the limit of ever stronger regularisation
    "mfcc_meandiff": Family(
        ("mfcc_stats",),
        head="meandiff",
        grid=(0.0,),
        description="MFCC summary statistics + genre mean difference (logistic regression, C -> 0)",
    ),  # fmt: skip
    "musicnn_MTT_penultimate_meandiff": Family(
        ("musicnn:MTT_musicnn:penultimate",),
        head="meandiff",
        grid=(0.0,),
        description="musicnn (MTT) penultimate embedding + genre mean difference (C -> 0)",
    ),  # fmt: skip
    "combined_meandiff": Family(
        ("mfcc_stats", "musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        head="meandiff",
        grid=(0.0,),
        description="MFCC statistics + both musicnn penultimate embeddings + genre mean "
        "difference (logistic regression, C -> 0)",
    ),  # fmt: skip
}


class MeanDifference:
    """One genre's scorer along the difference of its positive and negative cues' mean
    standardised features: the limit of a class-balanced L2 logistic regression as its
    regularisation grows without bound (at zero weights the loss gradient points along
    that difference), so it needs no strength and no iterations.

    Its output is ``sigmoid(logit(base rate) + z . difference / sqrt(n_features))``: the
    genre's training base rate for a cue at the training cues' mean, moved along the
    difference on one fixed scale for every fold, so out-of-fold values of different folds
    rank together and a cue's genres rank as their base rates suggest. It is a ranking
    score, not a calibrated probability. (Tried on filmscore: without the base rate, macro
    ROC-AUC 0.680 instead of 0.672 but LRAP 0.41 instead of 0.58, every genre as likely as
    Drama; a per-fold intercept at the balanced boundary 0.642; a Platt fit on training
    scores saturates, since every cue's own features inflate its score.)
    """

    def __init__(self, z: np.ndarray, y: np.ndarray) -> None:
        pos = y.astype(bool)
        direction = z[pos].mean(0) - z[~pos].mean(0)
        self.coef_ = (direction / np.sqrt(z.shape[1]))[None, :]
        self.intercept_ = np.array([np.log(pos.mean() / (1.0 - pos.mean()))])

    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        p = expit(z @ self.coef_[0] + self.intercept_[0])
        return np.column_stack([1.0 - p, p])


def _fit_head(head: str, x: np.ndarray, y: np.ndarray, strength: float, seed: int):
    """A fitted per-genre head; genres without both classes in ``y`` get a constant."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    # near-constant features (a ReLU unit that never fires leaves float noise of 1e-13)
    # would be amplified to large values; treat them as constant, as sklearn does for zero
    scaler.scale_[scaler.scale_ < 1e-6] = 1.0
    z = scaler.transform(x)
    if head == "mlp":
        net = MLPClassifier((64,), alpha=strength, max_iter=300, early_stopping=False,
                            random_state=seed)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net.fit(z, y.astype(int))
        return scaler, net
    if head not in ("logreg", "meandiff"):
        raise ValueError(f"unknown head {head!r}; choose logreg, meandiff or mlp")
    heads = []
    for j in range(y.shape[1]):
        if not 0 < y[:, j].sum() < len(y):
            heads.append(float(y[:, j].mean()))
        elif head == "meandiff":
            heads.append(MeanDifference(z, y[:, j]))
        else:
            clf = LogisticRegression(C=strength, class_weight="balanced", max_iter=3000)
            heads.append(clf.fit(z, y[:, j]))
    return scaler, heads


def _predict_head(fitted, x: np.ndarray) -> np.ndarray:
    scaler, heads = fitted
    z = scaler.transform(x)
    if not isinstance(heads, list):  # MLP: one multi-label network
        return np.asarray(heads.predict_proba(z), float)
    return np.column_stack(
        [np.full(len(z), h) if isinstance(h, float) else h.predict_proba(z)[:, 1] for h in heads]
    )


def _select_strength(family: Family, x, y, group, seed: int, inner_k: int = 4) -> float:
    """The grid value with the best macro ROC-AUC over grouped inner folds of training data."""
    if len(family.grid) == 1:
        return family.grid[0]
    labels = pd.DataFrame(y, index=group).groupby(level=0).max()
    k = min(inner_k, len(labels))
    inner = iterative_stratification(labels.to_numpy(), (1.0,) * k, np.random.default_rng(seed))
    fold = pd.Series(inner, index=labels.index).loc[group].to_numpy()
    scores = []
    for strength in family.grid:
        s = np.zeros(y.shape)
        for f in range(k):
            tr, te = fold != f, fold == f
            if te.any() and tr.any():
                fitted = _fit_head(family.head, x[tr], y[tr], strength, seed)
                s[te] = _predict_head(fitted, x[te])
        scores.append(metrics.macro_roc_auc(y, s))
    return family.grid[int(np.nanargmax(scores))]


# ----------------------------------------------------------------------------- running folds


@dataclass
class CVResult:
    """Out-of-fold predictions of one model (predictions frame shape, ``split`` = "oof")."""

    name: str
    predictions: pd.DataFrame
    info: dict = field(default_factory=dict)


def _frame(cues: pd.DataFrame, scores: np.ndarray, genres: tuple[str, ...],
           folds: np.ndarray) -> pd.DataFrame:  # fmt: skip
    keep = [c for c in cues.columns if c not in (*genres, "features", "path", "split")]
    out = cues[keep].copy().reset_index(drop=True)
    out["split"] = "oof"
    out["fold"] = folds
    for g in genres:
        out[f"y_{g}"] = cues[g].to_numpy(dtype=int)
    for j, g in enumerate(genres):
        out[f"p_{g}"] = scores[:, j]
    return out


@dataclass(frozen=True)
class CVConfig:
    """Folds, repeats and grouping of a cross-validation."""

    k: int = 5
    repeats: int = 1
    seed: int = 0
    by: str = "film"

    def fold_sets(self, cues: pd.DataFrame, genres: tuple[str, ...]) -> list[np.ndarray]:
        """Fold assignment of every repeat (seeds ``seed``, ``seed + 1`` ...)."""
        return [assign_folds(cues, genres, self.k, self.seed + r, self.by)
                for r in range(self.repeats)]  # fmt: skip


def cross_validate_vectors(
    name: str,
    manifest: Manifest,
    x: np.ndarray,
    cv: CVConfig = CVConfig(),
    family: Family | None = None,
) -> CVResult:
    """Out-of-fold predictions of a cue-vector family; repeats are averaged per cue (each
    repeat's prediction of a cue comes from a model that never saw its group)."""
    family = family or FAMILIES[name]
    cues = manifest.cues.reset_index(drop=True)
    genres = manifest.genres
    y = cues[list(genres)].to_numpy(dtype=float)
    group = groups(cues, cv.by)
    started = time.perf_counter()
    total, chosen, fold_sets = np.zeros(y.shape), [], cv.fold_sets(cues, genres)
    for folds in fold_sets:
        for f in range(cv.k):
            tr, te = folds != f, folds == f
            strength = _select_strength(family, x[tr], y[tr], group[tr], cv.seed)
            chosen.append(strength)
            fitted = _fit_head(family.head, x[tr], y[tr], strength, cv.seed)
            total[te] += _predict_head(fitted, x[te])
    scores = total / len(fold_sets)
    info = {
        "name": name,
        "kind": "cue_vector",
        "family": asdict(family),
        "cv": asdict(cv),
        "chosen_strength": chosen,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return CVResult(name, _frame(cues, scores, genres, fold_sets[0]), info)


def fold_manifest(manifest: Manifest, folds: np.ndarray, test_fold: int) -> Manifest:
    """The manifest with ``split`` set for one fold: it is ``test``, the next fold ``val``
    (early stopping), the others ``train``."""
    k = int(folds.max()) + 1
    split = np.where(folds == test_fold, "test",
                     np.where(folds == (test_fold + 1) % k, "val", "train"))  # fmt: skip
    cues = manifest.cues.reset_index(drop=True).assign(split=split)
    return Manifest(cues, manifest.skipped, manifest.label_notes, manifest.genres)


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
    from .models import MODELS
    from .train import TrainConfig, train_model

    config = config or TrainConfig()
    label = label or (f"{name}_{feature_kind}" if MODELS[name][1] == "tiles" else name)
    cues = manifest.cues.reset_index(drop=True)
    genres = manifest.genres
    started = time.perf_counter()
    total, fold_sets = np.zeros((len(cues), len(genres))), cv.fold_sets(cues, genres)
    key = cues["film"].astype(str) + "\0" + cues["cue"].astype(str)
    for r, folds in enumerate(fold_sets):
        for f in range(cv.k):
            result = train_model(name, fold_manifest(manifest, folds, f), Path(out_dir) / label,
                                 feature_kind, config=config, label=f"repeat{r}_fold{f}",
                                 **model_kwargs)  # fmt: skip
            test = result.predictions[result.predictions["split"] == "test"]
            where = pd.Index(key).get_indexer(
                test["film"].astype(str) + "\0" + test["cue"].astype(str)
            )
            if (where < 0).any() or len(set(where)) != len(where):
                raise RuntimeError(f"{label}: fold {f} predicted cues the manifest lacks")
            total[where] += test[[f"p_{g}" for g in genres]].to_numpy()
    info = {
        "name": label,
        "kind": "keras",
        "architecture": name,
        "feature_kind": feature_kind,
        "cv": asdict(cv),
        "train_config": asdict(config),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return CVResult(label, _frame(cues, total / len(fold_sets), genres, fold_sets[0]), info)


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


# ----------------------------------------------------------------------------- scoring


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


def score_levels(results: dict[str, CVResult], genres: tuple[str, ...], n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict[str, dict]]:  # fmt: skip
    """Every result scored at every level of :data:`LEVELS` (``{level: {model: scores}}``)."""
    return {level: {name: score_frame(at_level(r.predictions, genres, level), genres, n_boot,
                                      seed) for name, r in results.items()}
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
            if name != anchor:
                a = at_level(result.predictions, genres, level)
                rows.append({"level": level, "a": name, "b": anchor,
                             **paired(a, base, genres, n_boot, seed)})  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        table = table.sort_values(["level", "difference"], ascending=[True, False])
    return table.reset_index(drop=True)


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


def save(result: CVResult, folder: str | os.PathLike[str]) -> Path:
    """Write a result's out-of-fold predictions and info under ``folder/<name>/``."""
    out = Path(folder) / result.name
    out.mkdir(parents=True, exist_ok=True)
    result.predictions.to_csv(out / "oof_predictions.csv", index=False)
    (out / "cv.json").write_text(json.dumps(result.info, indent=2, default=str))
    return out


# ----------------------------------------------------------------------------- final models


def head_to_keras(fitted, n_inputs: int, name: str):
    """The fitted scaler + head as a Keras model (standardisation, then the same weights),
    so a final model saves, loads and predicts like every other model of the project."""
    import keras
    from keras import layers

    scaler, heads = fitted
    inputs = keras.Input(shape=(n_inputs,), name="cue_vector")
    norm = layers.Normalization(axis=-1, mean=scaler.mean_, variance=scaler.scale_**2,
                                name="standardise")  # fmt: skip
    x = norm(inputs)
    if isinstance(heads, list):  # one logistic regression (or a constant) per genre
        out = layers.Dense(len(heads), activation="sigmoid", name="genres", dtype="float32")
        outputs = out(x)
        kernel = np.zeros((n_inputs, len(heads)), np.float32)
        bias = np.zeros(len(heads), np.float32)
        for j, h in enumerate(heads):
            if isinstance(h, float):
                p = min(max(h, 1e-6), 1 - 1e-6)
                bias[j] = np.log(p / (1 - p))
            else:
                kernel[:, j], bias[j] = h.coef_[0], h.intercept_[0]
        out.set_weights([kernel, bias])
    else:  # sklearn MLP: relu hidden layers, logistic outputs
        dense = []
        for i, (w, b) in enumerate(zip(heads.coefs_, heads.intercepts_, strict=True)):
            last = i == len(heads.coefs_) - 1
            layer = layers.Dense(len(b), activation="sigmoid" if last else "relu",
                                 name="genres" if last else f"hidden{i}",
                                 dtype="float32" if last else None)  # fmt: skip
            x = layer(x)
            dense.append((layer, w, b))
        outputs = x
        for layer, w, b in dense:
            layer.set_weights([w.astype(np.float32), b.astype(np.float32)])
    return keras.Model(inputs, outputs, name=name)


def fit_final(
    name: str,
    manifest: Manifest,
    x: np.ndarray,
    out_dir: str | os.PathLike[str],
    cv_scores: dict | None = None,
    by: str = "film",
    seed: int = 0,
    family: Family | None = None,
    params: FeatureParams = FeatureParams(),
) -> Path:
    """Train a cue-vector family on every cue of the collection and save it as a model
    folder (``model.keras`` + ``config.json``) that ``filmgenre tag`` and ``search`` use.

    The regularisation is chosen by grouped cross-validation over all films, as in each
    fold. ``cv_scores`` (the family's cross-validated metrics) is recorded beside it.
    """
    from .dataset import source_summary
    from .runtime import device_summary, library_versions

    family = family or FAMILIES[name]
    cues = manifest.cues.reset_index(drop=True)
    y = cues[list(manifest.genres)].to_numpy(dtype=float)
    strength = _select_strength(family, x, y, groups(cues, by), seed)
    fitted = _fit_head(family.head, x, y, strength, seed)
    model = head_to_keras(fitted, x.shape[1], name)
    reference = _predict_head(fitted, x[:8])
    if not np.allclose(np.asarray(model.predict(x[:8], verbose=0)), reference, atol=1e-4):
        raise RuntimeError(f"{name}: the Keras copy of the fitted head predicts differently")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    info = {
        "name": out.name,
        "architecture": f"{family.head} on cue vectors",
        "input": "cue_vector",
        "parts": list(family.parts),
        "feature_kind": "+".join(family.parts),
        "description": family.description,
        "final": True,
        "strength": strength,
        "params": int(model.count_params()),
        "genres": list(manifest.genres),
        "feature_params": params.to_dict(),
        "trained_on": source_summary(cues, manifest.genres),
        "manifest_digest": manifest.digest(),
        "cross_validation": cv_scores or {},
        "device": device_summary(),
        "versions": library_versions(),
    }
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    return out


def fit_final_keras(
    name: str,
    manifest: Manifest,
    run_dir: str | os.PathLike[str],
    feature_kind: str = "mfcc",
    config=None,
    cv_scores: dict | None = None,
    k: int = 5,
    seed: int = 0,
    label: str | None = None,
    **model_kwargs,
) -> Path:
    """Train a registered Keras model once more after its cross-validation and save it as
    ``run_dir/models/<label>_final`` for ``tag`` and ``search``.

    It trains on every film but one fold of them (1/``k``, dealt as in the
    cross-validation), held out to stop training and pick the best epoch: a network needs
    that signal, where the cue-vector families train on all films.
    """
    from .models import MODELS
    from .train import TrainConfig, train_model

    label = label or (f"{name}_{feature_kind}" if MODELS[name][1] == "tiles" else name)
    cues = manifest.cues.reset_index(drop=True)
    folds = assign_folds(cues, manifest.genres, k, seed)
    split = np.where(folds == 0, "val", "train")
    final = Manifest(cues.assign(split=split), manifest.skipped, manifest.label_notes,
                     manifest.genres)  # fmt: skip
    result = train_model(name, final, run_dir, feature_kind, config=config or TrainConfig(),
                         label=f"{label}_final", **model_kwargs)  # fmt: skip
    out = Path(run_dir) / "models" / f"{label}_final"
    info = {**result.info, "final": True, "cross_validation": cv_scores or {},
            "stopping_films": int(final.split("val")["film"].nunique())}  # fmt: skip
    (out / "config.json").write_text(json.dumps(info, indent=2, default=str))
    return out
