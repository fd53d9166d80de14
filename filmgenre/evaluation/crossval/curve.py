"""Learning curves: how the out-of-fold figure grows with the number of films a model learns
from, and how many films a target figure would take if the curve went on as fitted.

Each outer fold (grouped by film, as every figure here) is predicted by a model that learned
from ``n`` films drawn at random from that fold's training films, for each ``n`` of
``sizes`` (``None``: all of them), ``resamples`` times with other draws (and, where the
cross-validation has repeats, other fold assignments). A cue's score never averages
several draws: an average of models trained on different films would have learned from
more films than ``n``. The figure at ``n`` is the mean over draws of the macro ROC-AUC per
cue (and per film, the mean of its cues' scores); its interval resamples films and draws
together. Whatever a family chooses inside a fold (its regularisation) is chosen inside
each draw's training films.

The fitted curves are extrapolations, stated as such: a saturating power law
``a - b n^-c`` (its asymptote ``a`` at most 1) and a straight line in ``log n``, the one
that predicts the largest size better from the others chosen; the number of films at
which the target would be reached is read off each resample's fitted curve, infinite where
that curve levels off below the target.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from ...training.settings import TrainConfig
from .. import metrics
from .folds import CVConfig, fold_manifest
from .loops import fold_fitter, keras_fold_scores
from .vectors import Family

#: the study's published figure (macro ROC-AUC per cue): what the curve is read against
STUDY_FIGURE = 0.756


class Learner(Protocol):
    """A model the curve trains once per fold, size and draw."""

    def pool(self, folds: np.ndarray, test_fold: int) -> np.ndarray:
        """The groups (films) a model of this fold may learn from."""

    def fit(self, folds: np.ndarray, test_fold: int, train_groups: np.ndarray) -> np.ndarray:
        """Scores of the test fold's cues (rows in cue order) from a model that learned from
        the cues of ``train_groups``."""


@dataclass
class VectorLearner:
    """A cue-vector family on its cue vectors ``x`` (one row per cue)."""

    family: Family
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    cues: pd.DataFrame
    cv: CVConfig

    def pool(self, folds: np.ndarray, test_fold: int) -> np.ndarray:
        return np.unique(self.group[folds != test_fold])

    def fit(self, folds: np.ndarray, test_fold: int, train_groups: np.ndarray) -> np.ndarray:
        train = (folds != test_fold) & np.isin(self.group, train_groups)
        fit_fold = fold_fitter(self.family, self.x, self.y, self.cues, self.group, self.cv)
        return fit_fold(train, folds == test_fold)[0]


@dataclass
class KerasLearner:
    """A registered Keras model trained with the project's loop; the fold after the test
    fold stops it early, so its films are not in the pool it learns from. Its fits are saved
    as ``out_dir/models/curve<k>``: give each learner a folder of its own."""

    name: str
    manifest: Manifest
    out_dir: Path
    feature_kind: str = "mfcc"
    config: TrainConfig | None = None
    model_kwargs: dict = field(default_factory=dict)
    fits: int = field(default=0, init=False)

    def pool(self, folds: np.ndarray, test_fold: int) -> np.ndarray:
        cues = fold_manifest(self.manifest, folds, test_fold).cues
        return np.unique(cues.loc[cues["split"] == "train", "film"].astype(str))

    def fit(self, folds: np.ndarray, test_fold: int, train_groups: np.ndarray) -> np.ndarray:
        fold = fold_manifest(self.manifest, folds, test_fold)
        cues = fold.cues
        keep = (cues["split"] != "train") | cues["film"].astype(str).isin(train_groups)
        subset = Manifest(cues[keep].reset_index(drop=True), fold.skipped, fold.label_notes,
                          fold.genres)  # fmt: skip
        self.fits += 1
        where, scores = keras_fold_scores(self.name, subset, self.manifest, self.out_dir,
                                          self.feature_kind, self.config,
                                          f"curve{self.fits}", **self.model_kwargs)  # fmt: skip
        test = np.flatnonzero(folds == test_fold)
        order = pd.Series(np.arange(len(test)), index=test)
        out = np.zeros((len(test), scores.shape[1]))
        out[order.loc[where].to_numpy()] = scores
        return out


@dataclass
class CurveResult:
    """Out-of-fold scores of every learner, size and draw, and what they are scored on."""

    y: np.ndarray
    group: np.ndarray
    sizes: list[int | None]
    #: mean number of films learned from at each size (the pool's for ``None``)
    films: dict[str, list[float]]
    scores: dict[str, dict[int, list[np.ndarray]]]
    seconds: dict[str, float]
    unit: str = "films"

    @property
    def levels(self) -> tuple[str, ...]:
        """``cue`` and ``film`` (the mean of its cues' scores); ``cue`` alone where every
        group is one cue (a collection of clips), as the two would be the same."""
        return ("cue", "film") if len(np.unique(self.group)) < len(self.group) else ("cue",)


def learning_curve(cues: pd.DataFrame, genres: tuple[str, ...], learners: dict[str, Learner],
                   cv: CVConfig, sizes: tuple[int | None, ...] = (10, 20, 30, 45, None),
                   resamples: int = 5, seed: int = 0, unit: str = "films",
                   progress: bool | None = None) -> CurveResult:  # fmt: skip
    """Every learner trained on ``n`` of each fold's training groups, for each size and
    ``resamples`` draws, and scored on the fold's test cues (see the module's docstring).
    ``cues``: a ``film`` column (the group: a film, or a clip with ``unit="clips"``) and a
    0/1 column per genre, the cues in the learners' order; folds as ``cv`` deals them."""
    from tqdm.auto import tqdm

    cues = cues.reset_index(drop=True)
    y = cues[list(genres)].to_numpy(float)
    group = cues["film"].astype(str).to_numpy()
    fold_sets = cv.fold_sets(cues, genres)
    scores: dict[str, dict[int, list[np.ndarray]]] = {}
    films: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    steps = len(learners) * len(sizes) * resamples
    bar = tqdm(total=steps, desc="learning curve", unit="fit", leave=False,
               disable=None if progress is None else not progress)  # fmt: skip
    for name, learner in learners.items():
        started = time.perf_counter()
        scores[name], films[name] = {}, []
        for i, size in enumerate(sizes):
            scores[name][i], used = [], []
            for draw in range(resamples):
                folds = fold_sets[draw % len(fold_sets)]
                rng = np.random.default_rng([seed, i, draw])
                out = np.zeros(y.shape)
                for f in range(cv.k):
                    pool = learner.pool(folds, f)
                    n = len(pool) if size is None else min(size, len(pool))
                    chosen = rng.choice(pool, n, replace=False)
                    out[folds == f] = learner.fit(folds, f, chosen)
                    used.append(n)
                scores[name][i].append(out)
                bar.update()
            films[name].append(float(np.mean(used)))
        seconds[name] = round(time.perf_counter() - started, 1)
    bar.close()
    return CurveResult(y, group, list(sizes), films, scores, seconds, unit)


def _film_level(y: np.ndarray, s: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each film's labels and the mean of its cues' scores, films in sorted order."""
    _, inverse = np.unique(group, return_inverse=True)
    count = np.bincount(inverse)
    mean = np.stack([np.bincount(inverse, s[:, j]) / count for j in range(s.shape[1])], 1)
    labels = np.zeros((len(count), y.shape[1]))
    np.maximum.at(labels, inverse, y)
    return labels, mean


def curve_samples(result: CurveResult, n_boot: int = 1000, seed: int = 0
                  ) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """``{level: {learner: (n_boot x sizes) macro ROC-AUC}}``: each resample draws films
    with replacement and one of the draws of training films (the same for every size, so a
    resample's curve is one curve), at the cue level and the film level."""
    draws, cue_rows = metrics.film_draws(result.group, n_boot, seed)
    out: dict[str, dict[str, np.ndarray]] = {level: {} for level in result.levels}
    for name, by_size in result.scores.items():
        cue = np.zeros((n_boot, len(result.sizes)))
        film = np.zeros_like(cue)
        for i, per_draw in by_size.items():
            levels = [_film_level(result.y, s, result.group) for s in per_draw] if (
                "film" in out) else []  # fmt: skip
            for b in range(n_boot):
                k = b % len(per_draw)
                cue[b, i] = metrics.macro_roc_auc(result.y[cue_rows[b]], per_draw[k][cue_rows[b]])
                if "film" in out:
                    labels, mean = levels[k]
                    film[b, i] = metrics.macro_roc_auc(labels[draws[b]], mean[draws[b]])
        out["cue"][name] = cue
        if "film" in out:
            out["film"][name] = film
    return out


def point_figures(result: CurveResult) -> dict[str, dict[str, np.ndarray]]:
    """``{level: {learner: per-size figure}}``: the mean over draws of the macro ROC-AUC."""
    out: dict[str, dict[str, np.ndarray]] = {level: {} for level in result.levels}
    for name, by_size in result.scores.items():
        out["cue"][name] = np.array([np.mean([metrics.macro_roc_auc(result.y, s) for s in
                                              by_size[i]]) for i in range(len(result.sizes))])
        if "film" in out:
            out["film"][name] = np.array([np.mean([metrics.macro_roc_auc(*_film_level(
                result.y, s, result.group)) for s in by_size[i]])
                for i in range(len(result.sizes))])  # fmt: skip
    return out


# --- fitted curves -------------------------------------------------------------------------


def power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """A saturating power law: ``a`` at infinitely many films, ``b`` below it at one."""
    return a - b * np.power(n, -c)


def log_line(n: np.ndarray, a: float, b: float) -> np.ndarray:
    """A straight line in the logarithm of the number of films (it never levels off)."""
    return a + b * np.log(n)


#: the curves tried: function, start, bounds
CURVES = {
    "power law a - b n^-c": (power_law, (0.8, 0.5, 0.5), ((0.5, 0.0, 0.01), (1.0, 10.0, 3.0))),
    "log-linear a + b ln n": (log_line, (0.5, 0.05), ((-np.inf, -np.inf), (np.inf, np.inf))),
}


def fit_curve(kind: str, n: np.ndarray, auc: np.ndarray) -> np.ndarray | None:
    """Least-squares parameters of curve ``kind`` through (n, auc); None where it fails or
    where there are no more points than parameters (a curve through every point says
    nothing about the next)."""
    from scipy.optimize import curve_fit

    fn, start, bounds = CURVES[kind]
    if len(n) <= len(start):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = curve_fit(fn, n, auc, p0=start, bounds=bounds, maxfev=5000)
    except (RuntimeError, ValueError):
        return None
    return params


def films_to_reach(kind: str, params: np.ndarray | None, target: float) -> float:
    """The number of films at which the fitted curve reaches ``target``: infinite where it
    levels off below it (or falls), NaN where the fit failed."""
    if params is None:
        return float("nan")
    if kind.startswith("power"):
        a, b, c = params
        return float((b / (a - target)) ** (1 / c)) if a > target and b > 0 else float("inf")
    a, b = params
    exponent = (target - a) / b if b > 0 else np.inf
    return float(np.exp(exponent)) if exponent < 700 else float("inf")


def choose_curve(n: np.ndarray, auc: np.ndarray) -> tuple[str | None, dict[str, float]]:
    """The curve of :data:`CURVES` whose fit to every size but the largest predicts the
    largest best (the question asked of it is an extrapolation), None where no curve can be
    fitted to the smaller sizes (too few of them); the errors of each."""
    errors = {}
    for kind, (fn, _, _) in CURVES.items():
        params = fit_curve(kind, n[:-1], auc[:-1])
        errors[kind] = float("inf") if params is None else float(abs(fn(n[-1], *params) - auc[-1]))
    best = min(errors, key=errors.get)
    return (best if np.isfinite(errors[best]) else None), errors


def curve_table(result: CurveResult, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                samples: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per learner, level and size: the figure and its interval (``samples``: the
    :func:`curve_samples` of ``result`` where already drawn)."""
    points = point_figures(result)
    samples = samples or curve_samples(result, n_boot, seed)
    rows = []
    for lvl, by_learner in points.items():
        for name, figure in by_learner.items():
            for i, size in enumerate(result.sizes):
                low, high = metrics.interval(samples[lvl][name][:, i], level)
                rows.append({"learner": name, "level": lvl, "size": "all" if size is None
                             else size, result.unit: round(result.films[name][i], 1),
                             "macro_roc_auc": figure[i], "low": low, "high": high})  # fmt: skip
    return pd.DataFrame(rows)


def _quantiles(values: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of values that may be infinite (a curve that never reaches the
    target), taken by rank; NaN values (failed fits) left out."""
    v = np.sort(values[~np.isnan(values)])
    if not v.size:
        return float("nan"), float("nan")
    at = np.round(np.array([(1 - level) / 2, (1 + level) / 2]) * (len(v) - 1)).astype(int)
    return float(v[at[0]]), float(v[at[1]])


def extrapolation(result: CurveResult, target: float | None = STUDY_FIGURE, n_boot: int = 1000,
                  seed: int = 0, level: float = 0.95, levels: tuple[str, ...] = ("cue",),
                  samples: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """Per learner (and level of ``levels``: the study's figure is per cue): the chosen
    curve, its parameters, how well its fit to the other sizes predicted the largest, and
    the films at which ``target`` would be reached, with an interval over the resamples of
    films and draws (the curve refitted on each; infinite where it levels off below).
    ``target`` None: the fits and their errors only; ``samples`` as :func:`curve_table`."""
    points = point_figures(result)
    samples = samples or curve_samples(result, n_boot, seed)
    rows = []
    for lvl in levels:
        for name, figure in points[lvl].items():
            n = np.asarray(result.films[name])
            kind, errors = choose_curve(n, figure)
            if kind is None:
                rows.append({"learner": name, "level": lvl,
                             "curve": f"none: {len(n)} sizes are too few to check one"})
                continue
            params = fit_curve(kind, n, figure)
            row = {"learner": name, "level": lvl, "curve": kind,
                   "parameters": None if params is None else np.round(params, 4).tolist(),
                   "error predicting the largest size": errors[kind],
                   "error of the other curve": min(e for k, e in errors.items() if k != kind),
                   "at largest size": figure[-1]}
            if target is not None:
                reach = np.array([films_to_reach(kind, fit_curve(kind, n, curve), target)
                                  for curve in samples[lvl][name]])  # fmt: skip
                low, high = _quantiles(reach, level)
                row |= {f"{result.unit} to reach {target}": films_to_reach(kind, params, target),
                        "low": low, "high": high,
                        "resamples never reaching it": float(np.mean(np.isinf(reach)))}
            rows.append(row)
    return pd.DataFrame(rows)


# --- a whole study, as notebook 10 runs it --------------------------------------------------


def film_curves(manifest: Manifest, cv: CVConfig, families: list[str],
                keras_models: list[list[str]] | None = None, out_dir: Path | None = None,
                config=None, sizes: tuple[int | None, ...] = (10, 20, 30, 45, None),
                keras_sizes: tuple[int | None, ...] = (10, 20, 30, None), resamples: int = 5,
                keras_resamples: int = 1, seed: int = 0,
                progress: bool | None = None) -> list[CurveResult]:  # fmt: skip
    """The learning curves of a collection: each cue-vector family of ``families`` (its
    vectors read once) and each ``[model, features]`` of ``keras_models`` trained from
    scratch per fold, size and draw (models under ``out_dir``; fewer sizes and draws, as a
    CNN costs minutes a fold on a CPU)."""
    from .vectors import FAMILIES, cue_vectors

    cues = manifest.cues.reset_index(drop=True)
    y = cues[list(manifest.genres)].to_numpy(float)
    group = cues["film"].astype(str).to_numpy()
    vector_learners = {name: VectorLearner(FAMILIES[name], cue_vectors(
        manifest, list(FAMILIES[name].parts), progress=progress), y, group, cues, cv)
        for name in families}  # fmt: skip
    results = [learning_curve(cues, manifest.genres, vector_learners, cv, sizes, resamples,
                              seed, progress=progress)]  # fmt: skip
    # each model's fits in a folder of its own (``curve/<model>_<features>/models/curve<k>``)
    keras_learners = {f"{name} ({kind}) from scratch": KerasLearner(
        name, manifest, Path(out_dir or ".") / "curve" / f"{name}_{kind}", kind, config)
        for name, kind in keras_models or []}  # fmt: skip
    if keras_learners:
        results.append(learning_curve(cues, manifest.genres, keras_learners, cv, keras_sizes,
                                      keras_resamples, seed, progress=progress))  # fmt: skip
    return results


def clip_curves(groups: np.ndarray, labels: np.ndarray, tags: tuple[str, ...],
                blocks: dict[str, np.ndarray], families: list[str], cv: CVConfig,
                sizes: tuple[int | None, ...] = (10, 20, 30, 45, None), resamples: int = 5,
                seed: int = 0, progress: bool | None = None) -> CurveResult:  # fmt: skip
    """The same curves on a collection of clips with listeners' tags (emotify's emotions):
    a check of the method where the figure is higher and more clips exist per fold.
    ``blocks``: cue-vector parts by name, one row per clip."""
    from .vectors import FAMILIES

    cues = pd.DataFrame(labels, columns=list(tags)).assign(film=np.asarray(groups, str))
    learners = {name: VectorLearner(FAMILIES[name], np.hstack(
        [blocks[p] for p in FAMILIES[name].parts]), labels.astype(float), cues["film"].to_numpy(),
        cues, cv) for name in families}  # fmt: skip
    return learning_curve(cues, tags, learners, cv, sizes, resamples, seed, unit="clips",
                          progress=progress)  # fmt: skip


def curve_tables(results: list[CurveResult], target: float | None = STUDY_FIGURE,
                 n_boot: int = 1000, seed: int = 0) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The figure at each size (cue and film level) and the fitted cue-level curves with the
    extrapolation to ``target`` (None: none), every learner of ``results`` in one table each."""
    fits = "fitted curves" if target is None else f"to reach {target} per cue (an extrapolation)"
    samples = [curve_samples(r, n_boot, seed) for r in results]
    return {"learning curve": pd.concat([curve_table(r, n_boot, seed, samples=s)
                                         for r, s in zip(results, samples, strict=True)],
                                        ignore_index=True),
            fits: pd.concat([extrapolation(r, target, n_boot, seed, samples=s)
                             for r, s in zip(results, samples, strict=True)],
                            ignore_index=True)}  # fmt: skip


def save_tables(tables: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write named tables as JSON records (a named index as a ``model`` field; an infinite
    number of films as ``"inf"``: strict JSON has no infinity)."""
    import json

    def clean(value):
        if isinstance(value, float) and np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value

    def rows(t: pd.DataFrame) -> list[dict]:
        t = t if isinstance(t.index, pd.RangeIndex) else t.reset_index(names="model")
        return [{k: clean(v) for k, v in row.items()} for row in t.to_dict("records")]

    records = {name: rows(t) for name, t in tables.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1, default=str))
    return path
