"""Past runs under reports/: list them and compare two runs' metrics side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import yaml

from ..config import reports_dir
from ..evaluation.evaluate import HEADLINE, REFERENCE_ROWS, best_model, read_metrics

# a run's files, read here too
from ..training.artifacts import load_history, load_run_models  # noqa: F401


def _load_metrics(run: Path) -> dict | None:
    path = run / "metrics.json"
    return read_metrics(path) if path.is_file() else None


def headline(run: str | os.PathLike[str]) -> dict | None:
    """A run's headline figure and where it comes from.

    Where the run cross-validated with the model choice nested inside the folds, the
    headline is that procedure's out-of-fold figure (not a best-of-N row); else, where it
    cross-validated, the best cue-level out-of-fold model (every film predicted once, far
    steadier than a single split's dozen test films); else the best model on the test
    films. ``figure`` says which, with the number of films behind it.
    """
    run = Path(run)
    cv_path = run / "crossval" / "metrics.json"
    cv = json.loads(cv_path.read_text()) if cv_path.is_file() else {}
    cue_level = (cv.get("levels") or {}).get("cue") or {}
    nested = (cv.get("nested") or {}).get("levels", {}).get("cue")
    if nested:  # the whole procedure's figure leads: choosing the model is inside the folds
        counts = cv["nested"].get("chosen_counts", {})
        chose = ", ".join(f"{name} {n}x" for name, n in sorted(counts.items(),
                                                              key=lambda kv: -kv[1]))
        folds = (cv.get("cv") or {}).get("folds")
        return {"model": f"nested selection ({chose})",
                "macro_roc_auc": nested["metrics"]["macro_roc_auc"],
                "figure": f"nested cross-validation of the model choice, cue level ({folds} "
                          f"folds, {nested.get('n_films')} films)"}  # fmt: skip
    if cue_level:
        best = cv.get("best") if cv.get("best") in cue_level else max(
            cue_level, key=lambda n: cue_level[n]["metrics"]["macro_roc_auc"])
        entry = cue_level[best]
        folds = (cv.get("cv") or {}).get("folds")
        return {"model": best, "macro_roc_auc": entry["metrics"]["macro_roc_auc"],
                "figure": f"cross-validated, cue level ({folds} folds, "
                          f"{entry.get('n_films')} films)"}  # fmt: skip
    metrics = _load_metrics(run) or {}
    best = best_model(metrics)
    if not best:
        return None
    entry = metrics["models"][best]
    return {"model": best, "macro_roc_auc": entry["metrics"]["macro_roc_auc"],
            "figure": f"test split ({entry.get('n_films')} films)"}  # fmt: skip


def list_runs(folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per run folder: profile, status, models and its headline (the cross-validated
    best where the run has cross-validation, else the best on its test films)."""
    folder = Path(folder) if folder else reports_dir()
    rows = []
    for run in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        if not (run / "status.json").is_file() and not (run / "metrics.json").is_file():
            continue
        status = (
            json.loads((run / "status.json").read_text()) if (run / "status.json").is_file() else {}
        )
        params = (
            yaml.safe_load((run / "parameters.yaml").read_text())
            if (run / "parameters.yaml").is_file()
            else {}
        )
        metrics = _load_metrics(run) or {}
        top = headline(run) or {}
        score = top.get("macro_roc_auc")
        rows.append({
            "run": run.name, "profile": params.get("profile", status.get("profile")),
            "status": status.get("status", "unknown"),
            "models": sum(1 for k in metrics.get("models", {}) if k not in REFERENCE_ROWS),
            "best_model": top.get("model"),
            "best_macro_roc_auc": round(score, 4) if score is not None else None,
            "figure": top.get("figure"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["run", "profile", "status", "models", "best_model",
                                       "best_macro_roc_auc", "figure"])  # fmt: skip


def _resolve_run(run: str | os.PathLike[str], folder: Path) -> Path:
    path = Path(run)
    if not path.is_dir():
        path = folder / str(run)
    if _load_metrics(path) is None:
        raise FileNotFoundError(f"no metrics.json in {path}: not a finished run")
    return path


def compare_runs(a: str | os.PathLike[str], b: str | os.PathLike[str],
                 folder: str | os.PathLike[str] | None = None,
                 metrics: tuple[str, ...] = HEADLINE) -> pd.DataFrame:  # fmt: skip
    """Models x metrics of two runs side by side, with the difference B - A."""
    folder = Path(folder) if folder else reports_dir()
    run_a, run_b = _resolve_run(a, folder), _resolve_run(b, folder)
    ma, mb = _load_metrics(run_a)["models"], _load_metrics(run_b)["models"]
    rows = []
    for model in list(dict.fromkeys([*ma, *mb])):
        for metric in metrics:
            va = ma.get(model, {}).get("metrics", {}).get(metric)
            vb = mb.get(model, {}).get("metrics", {}).get(metric)
            rows.append({"model": model, "metric": metric, run_a.name: va, run_b.name: vb,
                         "difference": None if va is None or vb is None else vb - va})  # fmt: skip
    return pd.DataFrame(rows).set_index(["model", "metric"])
