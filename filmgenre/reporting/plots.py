"""Every figure the notebooks show, and one ``save_fig`` that files them under the run."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..config import FeatureParams
from ..genres import GENRES


def save_fig(
    fig: plt.Figure, name: str, run_dir: str | os.PathLike[str] | None, dpi: int = 110
) -> None:
    """Save ``fig`` as ``<run_dir>/figures/<name>.png`` (no-op when run_dir is None).

    Returns nothing, so a notebook cell that ends with it prints no path."""
    if run_dir is None:
        return
    path = Path(run_dir) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")


def distinct_colours(n: int) -> list:
    """``n`` colours that do not repeat: tab10 up to 10, tab20 up to 20, then a ramp."""
    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    if n <= 20:
        return [plt.get_cmap("tab20")(i) for i in range(n)]
    return [plt.get_cmap("turbo")(i / max(n - 1, 1)) for i in range(n)]


def cooccurrence(labels: np.ndarray) -> np.ndarray:
    """Genre x genre counts: diagonal = films/cues with the genre, off-diagonal = pairs."""
    y = np.asarray(labels, dtype=int)
    return y.T @ y


def plot_cooccurrence(
    counts: np.ndarray,
    genres: tuple[str, ...] = GENRES,
    title: str = "Genre co-occurrence",
    ax: plt.Axes | None = None,
) -> plt.Figure:
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    sns.heatmap(
        pd.DataFrame(counts, index=genres, columns=genres),
        annot=True,
        fmt="d",
        cmap="rocket_r",
        cbar=False,
        ax=ax,
        annot_kws={"size": 8},
    )
    ax.set_title(title)
    return ax.figure


def plot_cooccurrence_pair(films: np.ndarray, genres: tuple[str, ...],
                           study_counts: np.ndarray | None = None) -> plt.Figure:  # fmt: skip
    """This collection's film-level genre co-occurrence (``films``: films x genres) beside
    the study's (``study_counts``, from ``evaluate.study_counts``) when there is one."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    plot_cooccurrence(cooccurrence(films), genres, "This run's films", ax=axes[0])
    if study_counts is not None:
        plot_cooccurrence(study_counts, genres, "The study's films (tag_sets.json)",
                          ax=axes[1])  # fmt: skip
    else:
        axes[1].axis("off")
        axes[1].set_title("the study's co-occurrence: file absent or other genres")
    fig.tight_layout()
    return fig


def plot_library_map(vectors: np.ndarray, scores: np.ndarray, genres: tuple[str, ...],
                     labels: dict[int, str] | None = None) -> plt.Figure:  # fmt: skip
    """A library as a 2-D map: the first two principal components of its similarity
    vectors, each track coloured by its most probable genre; ``labels`` names a few
    tracks (row -> text)."""
    centred = vectors - vectors.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    top = scores.argmax(1)
    colours = distinct_colours(len(genres))
    fig, ax = plt.subplots(figsize=(8.5, 6))
    for j, g in enumerate(genres):
        at = top == j
        if at.any():
            ax.scatter(xy[at, 0], xy[at, 1], s=14, color=colours[j], label=f"{g} ({at.sum()})",
                       alpha=0.8)  # fmt: skip
    for row, text in (labels or {}).items():
        ax.annotate(text, xy[row], fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.set(xlabel="first principal component", ylabel="second principal component",
           title="The library by similarity vector, coloured by top genre")  # fmt: skip
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_feature_grid(
    examples: dict[str, np.ndarray], params: FeatureParams, kind: str, title: str | None = None
) -> plt.Figure:
    """One panel per genre: a (bins x frames) feature matrix of an example cue."""
    n = len(examples)
    cols = min(5, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    seconds_per_frame = params.hop_length / params.sample_rate
    for ax, (name, matrix) in zip(axes.flat, examples.items(), strict=False):
        extent = (0, matrix.shape[1] * seconds_per_frame, 0, matrix.shape[0])
        ax.imshow(matrix, origin="lower", aspect="auto", extent=extent, cmap="magma")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("s")
        ax.set_ylabel("mel band" if kind == "logmel" else "MFCC")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title or f"{kind} per genre")
    fig.tight_layout()
    return fig


def plot_training_curves(histories: dict[str, pd.DataFrame]) -> plt.Figure:
    """Loss and validation ROC-AUC per epoch for each model."""
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(12, 3.8))
    colours = distinct_colours(len(histories))
    for colour, (name, h) in zip(colours, histories.items(), strict=True):
        ax_loss.plot(h["epoch"], h["loss"], color=colour)
        ax_loss.plot(h["epoch"], h["val_loss"], "--", color=colour)
        ax_auc.plot(h["epoch"], h["val_auc"], color=colour, label=name)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss (solid: training, dashed: validation)")
    ax_auc.set(xlabel="epoch", ylabel="macro ROC-AUC (tiles)", title="Validation ROC-AUC")
    # one legend, outside the axes, so it never covers a curve
    ax_auc.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_metric_intervals(
    scores: dict[str, dict], metric: str = "macro_roc_auc", reference: float | None = None
) -> plt.Figure:
    """Point estimate and 95% film-bootstrap interval of one metric for each model, best
    first."""
    names = sorted(scores, key=lambda n: scores[n]["metrics"][metric], reverse=True)
    values = [scores[n]["metrics"][metric] for n in names]
    lows = [values[i] - scores[n]["ci95"][metric][0] for i, n in enumerate(names)]
    highs = [scores[n]["ci95"][metric][1] - values[i] for i, n in enumerate(names)]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.2))
    ax.errorbar(values, range(len(names)), xerr=[lows, highs], fmt="o", capsize=4)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    if reference is not None:
        ax.axvline(reference, color="grey", ls=":", label=f"reference {reference:.3f}")
        ax.legend(fontsize=8)
    ax.set_xlabel(f"{metric} (95% interval, films resampled)")
    fig.tight_layout()
    return fig


def plot_per_genre(table: pd.DataFrame, metric: str = "ROC-AUC") -> plt.Figure:
    """Annotated heatmap of models (rows, best mean first) x genres (columns, with their
    positives); ``table`` from evaluate.per_genre_table (genres x models). Reads with any
    number of models, where grouped bars ran out of colours."""
    import seaborn as sns

    data = table.drop(columns=["positives"], errors="ignore").T.astype(float)
    data = data.loc[data.mean(axis=1).sort_values(ascending=False).index]
    positives = table["positives"] if "positives" in table else None
    labels = [g if positives is None else f"{g}\n(n={positives[g]})" for g in data.columns]
    fig, ax = plt.subplots(figsize=(0.85 * data.shape[1] + 4, 0.34 * data.shape[0] + 1.6))
    sns.heatmap(data, annot=True, fmt=".2f", annot_kws={"fontsize": 7}, cmap="RdBu_r",
                center=0.5, vmin=0.2, vmax=1.0, linewidths=0.4, xticklabels=labels,
                cbar_kws={"label": metric, "shrink": 0.8}, ax=ax)  # fmt: skip
    ax.set(xlabel="", ylabel="")
    ax.tick_params(axis="x", labelsize=8, rotation=0)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig


def plot_roc_curves(
    y: np.ndarray, s: np.ndarray, genres: tuple[str, ...] = GENRES, title: str = ""
) -> plt.Figure:
    """Per-genre ROC curves of one model."""
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for j, g in enumerate(genres):
        if 0 < y[:, j].sum() < len(y):
            fpr, tpr, _ = roc_curve(y[:, j], s[:, j])
            ax.plot(fpr, tpr, lw=1.2, label=g)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title or "ROC")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_pr_curves(y: np.ndarray, s: np.ndarray, genres: tuple[str, ...] = GENRES,
                   title: str = "") -> plt.Figure:  # fmt: skip
    """Per-genre precision-recall curves of one model, each with its positives' base rate."""
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for j, g in enumerate(genres):
        if 0 < y[:, j].sum() < len(y):
            precision, recall, _ = precision_recall_curve(y[:, j], s[:, j])
            ax.step(
                recall, precision, where="post", lw=1.2, label=f"{g} (base {y[:, j].mean():.2f})"
            )
    ax.set(xlabel="recall", ylabel="precision", title=title or "Precision-recall", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_calibration(
    models: dict[str, tuple[np.ndarray, np.ndarray]], bins: int = 10
) -> plt.Figure:
    """Reliability diagram, genres pooled: mean predicted probability vs observed frequency."""
    from sklearn.calibration import calibration_curve

    fig, ax = plt.subplots(figsize=(8.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=0.8, label="perfectly calibrated")
    for colour, (name, (y, s)) in zip(distinct_colours(len(models)), models.items(),
                                      strict=True):  # fmt: skip
        observed, predicted = calibration_curve(np.ravel(y), np.ravel(s), n_bins=bins,
                                                strategy="quantile")  # fmt: skip
        ax.plot(predicted, observed, marker="o", ms=3, label=name, color=colour)
    ax.set(xlabel="mean predicted probability", ylabel="observed share of positives",
           title="Calibration (all genres pooled)")  # fmt: skip
    # outside the axes, right: inside it covered the curves
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_cue_panels(rows: pd.DataFrame, y: np.ndarray, s: np.ndarray,
                    genres: tuple[str, ...] = GENRES, n_cols: int = 6,
                    title: str = "") -> plt.Figure:  # fmt: skip
    """The study's signature chart: one panel per cue, a bar per genre, true genres highlighted."""
    n = len(rows)
    n_rows = max(1, int(np.ceil(n / n_cols)))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols, 2.1 * n_rows), squeeze=False,
                             sharey=True)  # fmt: skip
    short = [g[:4] for g in genres]
    for ax, (i, row) in zip(axes.flat, enumerate(rows.itertuples()), strict=False):
        colours = ["tab:orange" if y[i, j] else "lightsteelblue" for j in range(len(genres))]
        ax.bar(range(len(genres)), s[i], color=colours)
        ax.set_xticks(range(len(genres)), short, rotation=90, fontsize=6)
        ax.set_ylim(0, 1)
        ax.set_title(f"{row.film}\n{row.cue}", fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title or "Per-cue predictions (orange = the film's genres)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_learning_curve(table: pd.DataFrame, fits: pd.DataFrame | None = None,
                        target: float | None = None, unit: str = "films") -> plt.Figure:
    """Macro ROC-AUC against the number of ``unit`` learned from (log axis), per cue and per
    film, each learner with its 95% intervals; ``fits`` (an extrapolation table) adds each
    learner's fitted cue-level curve, dotted beyond the largest size measured, up to where
    it reaches ``target`` (a grey line)."""
    from ..evaluation.crossval.curve import CURVES

    levels = list(dict.fromkeys(table["level"]))
    fig, axes = plt.subplots(1, len(levels), figsize=(5.5 * len(levels), 4), sharey=True,
                             squeeze=False)  # fmt: skip
    learners = list(dict.fromkeys(table["learner"]))
    colours = dict(zip(learners, distinct_colours(len(learners)), strict=True))
    for ax, level in zip(axes[0], levels, strict=True):
        for name in learners:
            rows = table[(table["learner"] == name) & (table["level"] == level)]
            if rows.empty:
                continue
            n, auc = rows[unit].to_numpy(float), rows["macro_roc_auc"].to_numpy(float)
            err = [auc - rows["low"].to_numpy(float), rows["high"].to_numpy(float) - auc]
            ax.errorbar(n, auc, yerr=err, fmt="o-", capsize=3, color=colours[name], label=name)
            fit = None if fits is None else fits[(fits["learner"] == name)
                                                 & (fits["level"] == level)]  # fmt: skip
            fitted = fit is not None and len(fit) and fit.iloc[0]["curve"] in CURVES
            if fitted and isinstance(fit.iloc[0]["parameters"], list):
                reach = fit.iloc[0].filter(like=f"{unit} to reach")
                reach = float(reach.iloc[0]) if len(reach) else 0.0
                end = min(max(n.max() * 1.5, reach if np.isfinite(reach) else 0), 1e5)
                grid = np.geomspace(n.max(), end, 50)
                fn = CURVES[fit.iloc[0]["curve"]][0]
                ax.plot(grid, fn(grid, *fit.iloc[0]["parameters"]), ":", color=colours[name])
        if target is not None:
            ax.axhline(target, color="grey", ls="--", lw=1, label=f"target {target:.3f}")
        ax.axhline(0.5, color="lightgrey", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(f"{unit} learned from (each fold's, drawn at random)")
        ax.set_title(f"per {level}")
    axes[0][0].set_ylabel("macro ROC-AUC, out of fold (95% interval)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
