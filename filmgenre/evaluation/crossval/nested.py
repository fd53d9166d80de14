"""Nested cross-validation: one honest figure for the whole procedure of choosing a model.

The cross-validated table ranks many families and heads on the same folds that score them,
so its best row is the best of N: optimistic. Here the choice itself happens inside each
outer fold: every candidate family runs through grouped inner folds of the outer training
films (each with its own strength chosen further inside, as always), the one with the best
inner out-of-fold macro ROC-AUC is the one the pipeline would have shipped, it is fitted on
all outer training films and predicts the outer fold. The outer out-of-fold predictions
score the procedure, not a model; which family each fold chose is recorded. Ensembles
(the mean of the inner best few families) can be candidates too, chosen the same way.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from .. import metrics
from .folds import CVConfig
from .loops import CVResult, cross_validate_vectors, fold_fitter, fold_problem, oof_frame
from .vectors import FAMILIES, Family, SegmentVectors


def nested_cross_validate(manifest: Manifest, vectors: dict[str, np.ndarray | SegmentVectors],
                          families: list[str], cv: CVConfig = CVConfig(),
                          inner_k: int | None = None, name: str = "nested selection",
                          ensemble_sizes: tuple[int, ...] = (1,),
                          catalogue: dict[str, Family] | None = None) -> CVResult:  # fmt: skip
    """Out-of-fold predictions of "choose the best family by inner cross-validation, then
    fit it" (see the module docstring); repeats of the outer folds are averaged per cue.

    ``ensemble_sizes`` beyond 1 adds, in each outer fold, the mean of the ``k`` families
    with the best inner scores as a candidate scored on the same inner out-of-fold
    predictions; the choice between one family and an ensemble is then made inside the
    fold too (a tie goes to fewer members). ``catalogue`` names the families (default
    :data:`FAMILIES`; a layer above may add its own)."""
    catalogue = FAMILIES if catalogue is None else catalogue
    started = time.perf_counter()
    inner_k = cv.inner_k if inner_k is None else inner_k
    cues, genres, y, group, fold_sets = fold_problem(manifest, cv)
    fitters = {f: fold_fitter(catalogue[f], vectors[f], y, cues, group, cv) for f in families}
    total, chosen = np.zeros(y.shape), []
    for r, folds in enumerate(fold_sets):
        for f in range(cv.k):
            tr, te = folds != f, folds == f
            inner = Manifest(cues[tr].reset_index(drop=True), genres=genres)
            inner_cv = CVConfig(k=inner_k, repeats=1, seed=cv.seed + 1000 * (r + 1) + f,
                                by=cv.by, inner_k=cv.inner_k)  # fmt: skip
            inner_scores = {}
            for family in families:
                result = cross_validate_vectors(family, inner, vectors[family][tr], inner_cv,
                                                catalogue[family])  # fmt: skip
                inner_scores[family] = result.predictions[[f"p_{g}" for g in genres]].to_numpy()
            scores = {(k,): metrics.macro_roc_auc(y[tr], p) for k, p in inner_scores.items()}
            ranked = sorted(families, key=lambda k: (-scores[(k,)], families.index(k)))
            for size in sorted(set(ensemble_sizes) - {1}):
                if size <= len(families):
                    members = tuple(ranked[:size])
                    mean = np.mean([inner_scores[m] for m in members], axis=0)
                    scores[members] = metrics.macro_roc_auc(y[tr], mean)
            best = max(scores, key=lambda k: (scores[k], -len(k)))  # first listed wins a tie
            total[te] += np.mean([fitters[m](tr, te)[0] for m in best], axis=0)
            chosen.append({"repeat": r, "fold": f, "chosen": "+".join(best),
                           "members": len(best),
                           "inner_macro_roc_auc": round(scores[best], 4),
                           "runner_up": ranked[1] if len(ranked) > 1 else None,
                           "best_single": ranked[0]})  # fmt: skip
    info = {
        "name": name, "kind": "nested", "families": list(families), "cv": asdict(cv),
        "inner_k": inner_k, "ensemble_sizes": sorted(set(ensemble_sizes) | {1}),
        "chosen": chosen, "chosen_counts": dict(Counter(c["chosen"] for c in chosen)),
        "seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip
    return CVResult(name, oof_frame(cues, total / len(fold_sets), genres, fold_sets[0]), info)


def choices_table(result: CVResult) -> pd.DataFrame:
    """Which family (or ensemble of families, joined by "+") each outer fold chose, with its
    inner score, the best single family and the runner-up."""
    return pd.DataFrame(result.info["chosen"])
