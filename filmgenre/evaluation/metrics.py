"""Metrics of multi-label genre predictions: ROC-AUC, AP, LRAP, precision@1, recall@3,
film-bootstrap intervals, paired differences, thresholds chosen on validation cues.

Pure functions of (truth, scores, films): no files, no runs (those are
:mod:`filmgenre.evaluation.evaluate`).
Every metric matches scikit-learn's definition (tested against it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..genres import GENRES

HEADLINE = ("macro_roc_auc", "micro_roc_auc", "macro_ap", "lrap", "precision_at_1", "recall_at_3")


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Binary ROC-AUC by the rank-sum formula (ties get half credit); NaN if one class."""
    y = np.asarray(y, bool)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision as scikit-learn defines it (step-wise, tied scores as one threshold)."""
    y = np.asarray(y, bool)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-np.asarray(s), kind="mergesort")
    s_sorted, y_sorted = np.asarray(s)[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s_sorted)), y.size - 1]
    tp = np.cumsum(y_sorted)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def lrap(y: np.ndarray, s: np.ndarray) -> float:
    """Label ranking average precision (scikit-learn's definition, ties counted pessimistically)."""
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    # rank[i, j] = number of labels of sample i scored >= label j
    geq = s[:, None, :] >= s[:, :, None]
    rank = geq.sum(axis=2)
    pos_rank = (geq & y[:, None, :]).sum(axis=2)
    n_pos = y.sum(axis=1)
    per_label = np.where(y, pos_rank / rank, 0.0)
    scores = np.where(
        (n_pos > 0) & (n_pos < y.shape[1]), per_label.sum(axis=1) / np.maximum(n_pos, 1), 1.0
    )
    return float(scores.mean())


def precision_at_1(y: np.ndarray, s: np.ndarray) -> float:
    """Share of cues whose top-scored genre is one of their genres."""
    top = np.argmax(s, axis=1)
    return float(np.mean(np.asarray(y, bool)[np.arange(len(y)), top]))


def recall_at_k(y: np.ndarray, s: np.ndarray, k: int = 3) -> float:
    """Mean share of a cue's genres found among its k top-scored genres (cues with genres only)."""
    y = np.asarray(y, bool)
    top = np.argsort(-s, axis=1, kind="mergesort")[:, :k]
    hits = np.take_along_axis(y, top, axis=1).sum(axis=1)
    n_pos = y.sum(axis=1)
    keep = n_pos > 0
    return float(np.mean(hits[keep] / n_pos[keep])) if keep.any() else float("nan")


def _nanmean(values: list[float]) -> float:
    """Mean over defined values; NaN (without a warning) when none is defined."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def macro_roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mean of the per-genre ROC-AUCs (genres with one class left out)."""
    return _nanmean([roc_auc(y[:, j], s[:, j]) for j in range(y.shape[1])])


def macro_ap(y: np.ndarray, s: np.ndarray) -> float:
    """Mean of the per-genre average precisions."""
    return _nanmean([average_precision(y[:, j], s[:, j]) for j in range(y.shape[1])])


#: each headline metric as a function of (truth, scores)
METRICS = {
    "macro_roc_auc": macro_roc_auc,
    "micro_roc_auc": lambda y, s: roc_auc(y.ravel(), s.ravel()),
    "macro_ap": macro_ap,
    "lrap": lrap,
    "precision_at_1": precision_at_1,
    "recall_at_3": lambda y, s: recall_at_k(y, s, 3),
}


def headline_metrics(
    y: np.ndarray, s: np.ndarray, metrics: tuple[str, ...] = HEADLINE
) -> dict[str, float]:
    """The threshold-free numbers of a results table's row (or the ``metrics`` named)."""
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    return {name: METRICS[name](y, s) for name in metrics}


def per_genre_metrics(
    y: np.ndarray, s: np.ndarray, genres: tuple[str, ...] = GENRES
) -> pd.DataFrame:
    """ROC-AUC, average precision and positives for each genre."""
    y = np.asarray(y, bool)
    return pd.DataFrame(
        {
            "roc_auc": [roc_auc(y[:, j], s[:, j]) for j in range(len(genres))],
            "ap": [average_precision(y[:, j], s[:, j]) for j in range(len(genres))],
            "positives": y.sum(axis=0).astype(int),
        },
        index=list(genres),
    )


def film_draws(films: np.ndarray, n_boot: int = 1000, seed: int = 0
               ) -> tuple[np.ndarray, list[np.ndarray]]:  # fmt: skip
    """``n_boot`` bootstrap samples that draw films with replacement: the films drawn
    (n_boot x films, indices into the sorted distinct films) and each sample's cue indices."""
    unique, inverse = np.unique(np.asarray(films), return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(unique))]
    draws = np.random.default_rng(seed).integers(0, len(unique), size=(n_boot, len(unique)))
    return draws, [np.concatenate([members[d] for d in row]) for row in draws]


def film_resamples(films: np.ndarray, n_boot: int = 1000, seed: int = 0) -> list[np.ndarray]:
    """Cue indices of ``n_boot`` bootstrap samples that draw films with replacement."""
    return film_draws(films, n_boot, seed)[1]


def bootstrap(
    y: np.ndarray,
    s: np.ndarray,
    films: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    resamples: list[np.ndarray] | None = None,
    metrics: tuple[str, ...] = HEADLINE,
) -> pd.DataFrame:
    """Headline metrics (or the ``metrics`` named) on each film resample (rows = resamples)."""
    resamples = resamples if resamples is not None else film_resamples(films, n_boot, seed)
    return pd.DataFrame([headline_metrics(y[idx], s[idx], metrics) for idx in resamples])


def interval(values: np.ndarray | pd.Series, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaN, NaN where none is finite: a figure no
    resample has, such as the AUC of a label no cue of a small subset carries)."""
    alpha = (1 - level) / 2
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return float("nan"), float("nan")
    return float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))


def score_model(
    y: np.ndarray,
    s: np.ndarray,
    films: np.ndarray,
    genres: tuple[str, ...] = GENRES,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Point estimates, 95% film-bootstrap intervals and per-genre metrics of one model."""
    point = headline_metrics(y, s)
    boots = bootstrap(y, s, films, n_boot, seed)
    return {
        "n_cues": int(len(y)),
        "n_films": int(len(np.unique(films))),
        "metrics": point,
        "ci95": {k: interval(boots[k]) for k in HEADLINE},
        "per_genre": per_genre_metrics(y, s, genres).reset_index(names="genre").to_dict("records"),
    }


def excludes_zero(low: float, high: float) -> bool:
    """Whether a difference's interval lies wholly on one side of zero: the one rule every
    paired table (single split, cross-validation, the front page) states "clear of zero" by."""
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def paired_difference(
    y: np.ndarray,
    s_a: np.ndarray,
    s_b: np.ndarray,
    films: np.ndarray,
    metric: str = "macro_roc_auc",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Difference A - B of one metric on the same film resamples, with its 95% interval.

    ``p_not_better`` is the share of resamples in which A does not beat B.
    """
    resamples = film_resamples(films, n_boot, seed)
    a = bootstrap(y, s_a, films, resamples=resamples, metrics=(metric,))[metric].to_numpy()
    b = bootstrap(y, s_b, films, resamples=resamples, metrics=(metric,))[metric].to_numpy()
    diff = a - b
    lo, hi = interval(diff)
    point = (
        headline_metrics(y, s_a, (metric,))[metric] - headline_metrics(y, s_b, (metric,))[metric]
    )
    return {
        "metric": metric,
        "difference": float(point),
        "ci95_low": lo,
        "ci95_high": hi,
        "p_not_better": float(np.mean(diff[np.isfinite(diff)] <= 0)),
        "interval_excludes_zero": excludes_zero(lo, hi),
    }


def prior_scores(train_labels: np.ndarray, n_cues: int) -> np.ndarray:
    """The trivial baseline: every cue scored with each genre's training frequency."""
    return np.repeat(np.asarray(train_labels, float).mean(axis=0)[None], n_cues, axis=0)


# ----------------------------------------------------------------------------- decisions


def choose_thresholds(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Per-genre score threshold that maximises F1 on the given (validation) cues.

    A cue is called positive when its score is >= the threshold. A genre without
    positives gets threshold +inf (never called), since no F1 can be earned there.
    """
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    out = np.full(y.shape[1], np.inf)
    for j in range(y.shape[1]):
        n_pos = int(y[:, j].sum())
        if n_pos == 0:
            continue
        order = np.argsort(-s[:, j], kind="mergesort")
        scores, hits = s[order, j], y[order, j]
        last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
        tp = np.cumsum(hits)[last_of_tie]
        called = last_of_tie + 1
        f1 = 2 * tp / (called + n_pos)
        out[j] = scores[last_of_tie[int(np.argmax(f1))]]
    return out


def f1_table(y: np.ndarray, s: np.ndarray, thresholds: np.ndarray,
             genres: tuple[str, ...] = GENRES) -> pd.DataFrame:  # fmt: skip
    """Precision, recall and F1 per genre when calling scores >= threshold positive."""
    y = np.asarray(y, bool)
    called = np.asarray(s) >= np.asarray(thresholds)[None, :]
    tp = (called & y).sum(axis=0)
    precision = np.divide(tp, called.sum(axis=0), out=np.zeros(len(genres)), where=called.any(0))
    recall = np.divide(tp, y.sum(axis=0), out=np.zeros(len(genres)), where=y.any(0))
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(len(genres)), where=denom > 0)
    return pd.DataFrame({"threshold": thresholds, "precision": precision, "recall": recall,
                         "f1": f1, "positives": y.sum(axis=0)}, index=list(genres))  # fmt: skip


def per_cue_loss(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy of each cue over the genres: low = got it right."""
    s = np.clip(np.asarray(s, float), 1e-7, 1 - 1e-7)
    y = np.asarray(y, float)
    return -(y * np.log(s) + (1 - y) * np.log(1 - s)).mean(axis=1)
