"""Learning moods from listeners, cross-validated with the selection nested.

- **GEMS** (emotify): ridge regressions of the share of listeners who chose each of the
  nine emotions, on 60 s clips (each clip its own group); scored as ROC-AUC and AP against
  the emotions at least 30% of listeners chose (emotify's ``tags``);
- **valence and arousal** (FME-24): ridge regressions of a film cue's mean listener
  placement, folds by film; scored as the rank correlation (Spearman) with the listeners,
  beside the listeners' own split-half agreement. One family feeds the GEMS model's nine
  outputs (learned on emotify, so never on these cues) to the regression: moods heard by
  emotify's many listeners per clip carry over to film cues that have one or two.

Each outer fold picks the family and its strength by grouped inner cross-validation of its
training groups only (mean AP over the emotions; each dimension its own Spearman), fits it
on them and predicts the held-out groups; the outer figures therefore include the choice.
The MFCC-statistics anchor is run through the same folds. :func:`fit_final` makes the
model that ships: the same choice made on every group, the fit on all of them, the Platt
maps fitted on the out-of-fold outputs of that choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...data.emotions import DIMENSIONS, EMOTIONS
from .. import metrics
from ..calibration import expected_calibration_error, fit_platt
from ..crossval.folds import assign_folds
from .model import LinearMap, MoodModel, average, ridge, total

TAGS = ("musicnn:MTT_musicnn:taggram", "musicnn:MSD_musicnn:taggram")
PENULTIMATE = ("musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate")
POOL = ("musicnn:MTT_musicnn:pool", "musicnn:MSD_musicnn:pool")
MFCC = ("mfcc_stats",)
#: the input of a transfer family: the GEMS model's nine raw outputs
GEMS_INPUT = "gems"
#: every part a mood family may read (all of them computed by the index's one network pass)
PARTS = MFCC + TAGS + PENULTIMATE + POOL


@dataclass(frozen=True)
class MoodFamily:
    """Ridge regressions on one or more input sets, their outputs averaged (an ensemble);
    ``grid``: the penalties per input dimension the inner folds choose from."""

    inputs: tuple[tuple[str, ...], ...]
    grid: tuple[float, ...] = (0.3, 1.0, 3.0)
    description: str = ""

    def fit(self, blocks: dict[str, np.ndarray], y: np.ndarray, strength: float) -> LinearMap:
        return average([ridge({p: blocks[p] for p in parts}, y, strength)
                        for parts in self.inputs])  # fmt: skip


GEMS_FAMILIES = {
    "tags_ridge": MoodFamily((TAGS,), description="both taggers' 100 tag outputs (mean and "
                             "spread over 3 s patches) + ridge"),
    "penultimate_ridge": MoodFamily((PENULTIMATE,), description="both musicnn penultimate "
                                    "embeddings + ridge"),
    "pool_ridge": MoodFamily((POOL,), description="both musicnn pooled mid-end embeddings "
                             "+ ridge"),
    "ensemble_ridge": MoodFamily((TAGS, PENULTIMATE, POOL), description="the mean of the "
                                 "three ridge regressions above"),
}  # fmt: skip
VA_FAMILIES = {
    **{name: MoodFamily(f.inputs, (1.0, 3.0, 10.0), f.description)
       for name, f in GEMS_FAMILIES.items() if name != "ensemble_ridge"},
    "gems_transfer": MoodFamily(((GEMS_INPUT,),), (1.0, 10.0, 100.0), "the GEMS model's "
                                "nine outputs (learned on emotify) + ridge"),
    "ensemble_transfer": MoodFamily(((GEMS_INPUT,), TAGS, PENULTIMATE), (1.0, 3.0, 10.0),
                                    "the mean of the transfer, tag and penultimate "
                                    "regressions"),
}  # fmt: skip
#: the classical anchor beside every figure
ANCHOR = MoodFamily((MFCC,), description="MFCC summary statistics + ridge")


@dataclass
class MoodData:
    """A labelled collection for moods: its cue-vector parts, groups and targets."""

    name: str
    keys: list[str]  # each row's path in the collection
    groups: np.ndarray
    blocks: dict[str, np.ndarray]
    targets: np.ndarray  # shares of listeners (GEMS) or mean placements (valence, arousal)
    labels: np.ndarray | None = None  # GEMS: chosen by at least 30% of listeners
    n_listeners: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def subset(self, rows: np.ndarray) -> MoodData:
        """The rows ``rows`` (indices) of every field."""
        def pick(a):
            return None if a is None else a[rows]

        return MoodData(self.name, [self.keys[i] for i in rows], self.groups[rows],
                        {p: b[rows] for p, b in self.blocks.items()}, self.targets[rows],
                        pick(self.labels), pick(self.n_listeners), self.extra)  # fmt: skip

    def with_transfer(self, gems: LinearMap) -> MoodData:
        """The same data with the GEMS model's outputs as one more input (:data:`GEMS_INPUT`)."""
        return MoodData(self.name, self.keys, self.groups,
                        {**self.blocks, GEMS_INPUT: gems.apply(self.blocks)}, self.targets,
                        self.labels, self.n_listeners, self.extra)  # fmt: skip


def folds_of(data: MoodData, k: int, seed: int) -> np.ndarray:
    """Whole groups dealt into ``k`` folds (stratified by the emotions chosen, for GEMS)."""
    labels = data.labels if data.labels is not None else np.zeros((len(data.groups), 1))
    cues = pd.DataFrame({"film": data.groups,
                         **{str(j): labels[:, j] for j in range(labels.shape[1])}})  # fmt: skip
    return assign_folds(cues, tuple(str(j) for j in range(labels.shape[1])), k, seed)


def criterion(data: MoodData, raw: np.ndarray, column: int | None) -> float:
    """What the inner folds maximise: mean AP over the emotions (GEMS), or the Spearman
    correlation of one dimension with the listeners."""
    if column is None:
        return float(np.nanmean([metrics.average_precision(data.labels[:, j], raw[:, j])
                                 for j in range(data.labels.shape[1])]))  # fmt: skip
    return spearman(data.targets[:, column], raw[:, 0])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def _oof(family: MoodFamily, strength: float, data: MoodData, y: np.ndarray,
         fold: np.ndarray) -> np.ndarray:  # fmt: skip
    out = np.zeros((len(y), y.shape[1]))
    for f in np.unique(fold):
        train = fold != f
        fitted = family.fit({p: b[train] for p, b in data.blocks.items()}, y[train], strength)
        out[~train] = fitted.apply({p: b[~train] for p, b in data.blocks.items()})
    return out


def choose(families: dict[str, MoodFamily], data: MoodData, column: int | None, k: int,
           seed: int) -> tuple[str, float, float]:  # fmt: skip
    """(family, strength, inner criterion) with the best grouped ``k``-fold criterion."""
    y = data.targets if column is None else data.targets[:, [column]]
    fold = folds_of(data, k, seed)
    best = ("", 0.0, -np.inf)
    for name, family in families.items():
        for strength in family.grid:
            value = criterion(data, _oof(family, strength, data, y, fold), column)
            if value > best[2]:
                best = (name, strength, value)
    return best


def nested(data: MoodData, families: dict[str, MoodFamily], column: int | None = None,
           k: int = 5, repeats: int = 3, inner_k: int = 4, seed: int = 0,
           progress: bool | None = None) -> dict:  # fmt: skip
    """Out-of-fold raw outputs of the nested procedure and of the anchor (means over
    ``repeats``), and each outer fold's choice. ``column``: a dimension of the targets (a
    family chosen for it alone), or None for all (GEMS)."""
    from tqdm.auto import tqdm

    y = data.targets if column is None else data.targets[:, [column]]
    raw, anchor = np.zeros(y.shape), np.zeros(y.shape)
    choices = []
    steps = tqdm(total=k * repeats, desc=f"nested {data.name}", leave=False,
                 disable=None if progress is None else not progress)  # fmt: skip
    for r in range(repeats):
        fold = folds_of(data, k, seed + r)
        for f in range(k):
            train = np.flatnonzero(fold != f)
            test = fold == f
            inner = data.subset(train)
            name, strength, value = choose(families, inner, column, inner_k, seed + r)
            fitted = families[name].fit(inner.blocks, y[train], strength)
            raw[test] += fitted.apply({p: b[test] for p, b in data.blocks.items()})
            _, a_strength, _ = choose({"anchor": ANCHOR}, inner, column, inner_k, seed + r)
            a_fit = ANCHOR.fit(inner.blocks, y[train], a_strength)
            anchor[test] += a_fit.apply({p: b[test] for p, b in data.blocks.items()})
            choices.append({"repeat": r, "fold": f, "family": name, "strength": strength,
                            "inner criterion": round(value, 3)})  # fmt: skip
            steps.update()
    steps.close()
    return {"raw": raw / repeats, "anchor": anchor / repeats, "choices": choices,
            "k": k, "repeats": repeats}  # fmt: skip


def _boot(groups: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    return metrics.film_resamples(groups, n_boot, seed)


def _with_ci(value: float, values: list[float]) -> dict:
    """A figure and its percentile interval (NaN where no resample has one: an emotion no
    clip of a small subset carries)."""
    low, high = metrics.interval(np.asarray(values, float))
    return {"value": round(float(value), 3), "95%": [round(low, 3), round(high, 3)]}


def gems_table(data: MoodData, result: dict, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per emotion: positives, ROC-AUC and AP of the nested procedure and of the anchor with
    95% intervals from resamples of clips; a last row with the means."""
    resamples = _boot(data.groups, n_boot, seed)
    rows = []
    columns = [*range(len(EMOTIONS)), None]
    for j in columns:
        name = "mean over emotions" if j is None else EMOTIONS[j]
        row: dict = {"emotion": name, "positives": int(data.labels.sum() if j is None
                                                       else data.labels[:, j].sum())}
        for who in ("raw", "anchor"):
            s = result[who]
            for metric, fn in (("ROC-AUC", metrics.roc_auc), ("AP", metrics.average_precision)):
                def value(idx, j=j, s=s, fn=fn):
                    cols = range(len(EMOTIONS)) if j is None else [j]
                    found = [fn(data.labels[idx, c], s[idx, c]) for c in cols]
                    return np.nanmean(found) if np.isfinite(found).any() else np.nan
                every = np.arange(len(data.groups))
                found = _with_ci(value(every), [value(idx) for idx in resamples])
                label = "nested" if who == "raw" else "MFCC anchor"
                row[f"{metric} ({label})"] = found["value"]
                row[f"{metric} ({label}) 95%"] = found["95%"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("emotion")


def dimension_row(data: MoodData, column: int, result: dict, ceiling: dict,
                  n_boot: int = 1000, seed: int = 0) -> dict:  # fmt: skip
    """One dimension's rank correlation with the listeners (nested and anchor, intervals
    over films) beside the listeners' split-half agreement and its noise-free ceiling."""
    resamples = _boot(data.groups, n_boot, seed)
    truth = data.targets[:, column]
    row = {"dimension": DIMENSIONS[column], "cues": len(truth),
           "films": int(len(np.unique(data.groups)))}  # fmt: skip
    for who, label in (("raw", "nested"), ("anchor", "MFCC anchor")):
        s = result[who][:, 0]
        found = _with_ci(spearman(truth, s), [spearman(truth[i], s[i]) for i in resamples])
        row[f"Spearman ({label})"], row[f"Spearman ({label}) 95%"] = found["value"], found["95%"]
    row["listeners' split-half Spearman"] = round(ceiling["spearman"], 3)
    row["listeners' split-half 95%"] = [round(v, 3) for v in ceiling["spearman_95"]]
    row["cues with 2+ listeners"] = ceiling["cues"]
    row["noise-free ceiling (sqrt of split-half)"] = round(ceiling["noise_free_ceiling"], 3)
    return row


def calibration_table(data: MoodData, raw: np.ndarray) -> pd.DataFrame:
    """Per emotion: positive rate and ECE of the out-of-fold outputs before (the raw
    regression of the share) and after a Platt map cross-fitted on the other folds."""
    from ..calibration import cross_fit, sigmoid

    fold = folds_of(data, 5, 0)
    after = cross_fit(data.labels.astype(float), sigmoid(raw), fold)
    rows = [{"emotion": e, "positive rate": float(data.labels[:, j].mean()),
             "ECE before (share as probability)": expected_calibration_error(
                 data.labels[:, j], np.clip(raw[:, j], 0, 1)),
             "ECE after (Platt, cross-fitted)": expected_calibration_error(
                 data.labels[:, j], after[:, j])} for j, e in enumerate(EMOTIONS)]  # fmt: skip
    table = pd.DataFrame(rows).set_index("emotion")
    table.loc["mean over emotions"] = table.mean()
    return table


def fit_gems(gems: MoodData, k: int = 5, seed: int = 0) -> tuple[LinearMap, object, dict]:
    """The GEMS part of the shipped model: (map of the raw outputs, Platt maps, choice), the
    family and strength chosen by grouped ``k``-fold cross-validation on every clip, the
    Platt maps fitted on that choice's out-of-fold outputs."""
    from ..calibration import sigmoid

    name, strength, value = choose(GEMS_FAMILIES, gems, None, k, seed)
    family = GEMS_FAMILIES[name]
    raw = _oof(family, strength, gems, gems.targets, folds_of(gems, k, seed))
    platt = fit_platt(gems.labels.astype(float), sigmoid(raw))
    choice = {"family": name, "strength": strength, "inner mean AP": round(value, 3)}
    return family.fit(gems.blocks, gems.targets, strength), platt, choice


def fit_final(gems: MoodData, va: MoodData, k: int = 5, seed: int = 0) -> tuple[MoodModel, dict]:
    """The model that ships: for GEMS and for each dimension the family and strength chosen
    by grouped ``k``-fold cross-validation on every group, fitted on all of them (the
    dimensions may read the GEMS outputs: :data:`GEMS_INPUT`); the Platt maps fitted on the
    GEMS choice's out-of-fold outputs. Returns the model and the choices."""
    gems_map, platt, choice = fit_gems(gems, k, seed)
    choices = {"gems": choice}
    va = va.with_transfer(gems_map)
    maps = []
    for column, dimension in enumerate(DIMENSIONS):
        name, strength, value = choose(VA_FAMILIES, va, column, k, seed)
        fitted = VA_FAMILIES[name].fit(va.blocks, va.targets[:, [column]], strength)
        maps.append(_unfold_gems(fitted, gems_map))
        choices[dimension] = {"family": name, "strength": strength,
                              "inner Spearman": round(value, 3)}  # fmt: skip
    width = len(EMOTIONS) + len(DIMENSIONS)
    combined = total([_pad(gems_map, 0, width)]
                     + [_pad(m, len(EMOTIONS) + i, width) for i, m in enumerate(maps)])
    return MoodModel(combined, platt.slope, platt.offset), choices


def _unfold_gems(fitted: LinearMap, gems_map: LinearMap) -> LinearMap:
    """A map that reads the GEMS model's outputs, rewritten to read the raw parts."""
    if GEMS_INPUT not in fitted.weights:
        return fitted
    rest = LinearMap({p: w for p, w in fitted.weights.items() if p != GEMS_INPUT}, fitted.bias)
    return total([rest, gems_map.then(fitted.weights[GEMS_INPUT], np.zeros_like(fitted.bias))])


def _pad(m: LinearMap, start: int, width: int) -> LinearMap:
    """``m``'s outputs placed at columns ``start...`` of ``width`` outputs (zeros elsewhere)."""
    place = np.zeros((len(m.bias), width))
    place[np.arange(len(m.bias)), start + np.arange(len(m.bias))] = 1.0
    return m.then(place, np.zeros(width))

