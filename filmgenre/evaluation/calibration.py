"""Calibrated genre probabilities: a score of 0.6 should mean about the same in every genre.

A ranking head (the mean difference, a strongly regularised regression) orders cues well
but its numbers are not probabilities: on films it never saw, the shipped model gave Musical
a mean score of 0.21 where 1.3% of cues are Musical. Search combines several genres'
scores, so each genre's score is mapped to a probability by Platt scaling (a logistic
regression on the score's logit, one per genre), fitted on **out-of-fold** scores only:
:func:`cross_fit` calibrates each fold with a map fitted on the other folds, so no cue's
calibrated score has seen its own label. Expected calibration error (ECE, equal-width bins)
measures the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: scores are clipped this far from 0 and 1 before their logit is taken: float64 resolves a
#: probability to about 1e-16 of 1, so logits up to about 34 keep their value (a map fitted
#: on clipped logits would disagree with the head's own pre-activation on confident cues)
EPS = 1e-15


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z); a very negative z overflows e^-z to infinity, which gives exactly 0,
    the right value, so that overflow is not worth a warning on every report page."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(z, float)))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE of one genre: over equal-width probability bins, the share of cues in the bin
    times |mean probability - share of positives|."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return float(total)


@dataclass(frozen=True)
class Platt:
    """Per-genre Platt maps: calibrated = sigmoid(slope * logit(score) + offset)."""

    slope: np.ndarray
    offset: np.ndarray

    def apply(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid(self.slope[None, :] * logit(scores) + self.offset[None, :])

    def to_dict(self, genres: tuple[str, ...]) -> dict[str, dict[str, float]]:
        return {g: {"slope": float(a), "offset": float(b)}
                for g, a, b in zip(genres, self.slope, self.offset, strict=True)}  # fmt: skip


def fit_platt(y: np.ndarray, scores: np.ndarray) -> Platt:
    """One logistic regression per genre of its labels on the logit of its scores (no class
    weights: the aim is the genre's true rate). A genre with one class only keeps the
    ranking and moves to its observed rate (slope 0 would lose the ranking; its rate is all
    the labels say)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y, float)
    z = logit(scores)
    slope, offset = np.ones(y.shape[1]), np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        rate = y[:, j].mean()
        if not 0 < rate < 1:
            target = np.clip(rate, 1 / (2 * len(y) + 2), 1 - 1 / (2 * len(y) + 2))
            offset[j] = np.log(target / (1 - target)) - z[:, j].mean()
            continue
        model = LogisticRegression(C=1e4, max_iter=1000).fit(z[:, [j]], y[:, j])
        slope[j], offset[j] = float(model.coef_[0, 0]), float(model.intercept_[0])
    return Platt(slope, offset)


def cross_fit(y: np.ndarray, scores: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Calibrated out-of-fold scores: each fold mapped by Platt maps fitted on the other
    folds' scores and labels, never its own."""
    out = np.empty_like(np.asarray(scores, float))
    for f in np.unique(folds):
        held = folds == f
        out[held] = fit_platt(y[~held], scores[~held]).apply(scores[held])
    return out


def ece_table(y: np.ndarray, before: np.ndarray, after: np.ndarray, genres: tuple[str, ...],
              bins: int = 10) -> pd.DataFrame:  # fmt: skip
    """Per genre: positive rate, mean score and ECE before and after calibration; a last
    row with the means over genres."""
    rows = []
    for j, g in enumerate(genres):
        rows.append({
            "genre": g, "positive_rate": float(np.mean(y[:, j])),
            "mean_score_before": float(np.mean(before[:, j])),
            "mean_score_after": float(np.mean(after[:, j])),
            "ece_before": expected_calibration_error(y[:, j], before[:, j], bins),
            "ece_after": expected_calibration_error(y[:, j], after[:, j], bins),
        })  # fmt: skip
    table = pd.DataFrame(rows).set_index("genre")
    table.loc["mean over genres"] = table.mean()
    return table
