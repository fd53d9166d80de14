"""Nested cross-validation: one honest figure for the whole procedure of choosing a model.

The cross-validated table ranks many families and heads on the same folds that score them,
so its best row is the best of N: optimistic. Here the choice itself happens inside each
outer fold: every candidate family runs through grouped inner folds of the outer training
films (each with its own strength chosen further inside, as always), the one with the best
inner out-of-fold macro ROC-AUC is the one the pipeline would have shipped, it is fitted on
all outer training films and predicts the outer fold. The outer out-of-fold predictions
score the procedure, not a model; which family each fold chose is recorded.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict

import numpy as np
import pandas as pd

from .. import metrics
from ..dataset import Manifest
from .folds import CVConfig
from .heads import fit_head, predict_head, select_strength
from .loops import CVResult, _frame, cross_validate_vectors, fold_problem
from .vectors import FAMILIES


def nested_cross_validate(manifest: Manifest, vectors: dict[str, np.ndarray],
                          families: list[str], cv: CVConfig = CVConfig(), inner_k: int = 4,
                          name: str = "nested selection") -> CVResult:  # fmt: skip
    """Out-of-fold predictions of "choose the best family by inner cross-validation, then
    fit it" (see the module docstring); repeats of the outer folds are averaged per cue."""
    started = time.perf_counter()
    cues, genres, y, group, fold_sets = fold_problem(manifest, cv)
    total, chosen = np.zeros(y.shape), []
    for r, folds in enumerate(fold_sets):
        for f in range(cv.k):
            tr, te = folds != f, folds == f
            inner = Manifest(cues[tr].reset_index(drop=True), genres=genres)
            inner_cv = CVConfig(k=inner_k, repeats=1, seed=cv.seed + 1000 * (r + 1) + f,
                                by=cv.by)  # fmt: skip
            scores = {}
            for family in families:
                result = cross_validate_vectors(family, inner, vectors[family][tr], inner_cv)
                p = result.predictions[[f"p_{g}" for g in genres]].to_numpy()
                scores[family] = metrics.macro_roc_auc(y[tr], p)
            best = max(scores, key=lambda k: (scores[k], -families.index(k)))
            family = FAMILIES[best]
            x = vectors[best]
            strength = select_strength(family, x[tr], y[tr], group[tr], cv.seed)
            fitted = fit_head(family.head, x[tr], y[tr], strength, cv.seed)
            total[te] += predict_head(fitted, x[te])
            chosen.append({"repeat": r, "fold": f, "chosen": best,
                           "inner_macro_roc_auc": round(scores[best], 4),
                           "runner_up": sorted(scores, key=scores.get)[-2]
                           if len(scores) > 1 else None})  # fmt: skip
    info = {
        "name": name, "kind": "nested", "families": list(families), "cv": asdict(cv),
        "inner_k": inner_k, "chosen": chosen,
        "chosen_counts": dict(Counter(c["chosen"] for c in chosen)),
        "seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip
    return CVResult(name, _frame(cues, total / len(fold_sets), genres, fold_sets[0]), info)


def choices_table(result: CVResult) -> pd.DataFrame:
    """Which family each outer fold chose, with its inner score and the runner-up."""
    return pd.DataFrame(result.info["chosen"])
