"""Past runs under reports/: list them and compare two runs' metrics side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import yaml

from .artifacts import load_history, load_run_models  # noqa: F401  (a run's files, read here too)
from .config import reports_dir
from .evaluate import HEADLINE, REFERENCE_ROWS, best_model, read_metrics


def _load_metrics(run: Path) -> dict | None:
    path = run / "metrics.json"
    return read_metrics(path) if path.is_file() else None


def list_runs(folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per run folder: profile, status, models and the best macro ROC-AUC."""
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
        best = best_model(metrics)
        score = metrics["models"][best]["metrics"]["macro_roc_auc"] if best else None
        rows.append({
            "run": run.name, "profile": params.get("profile", status.get("profile")),
            "status": status.get("status", "unknown"),
            "models": sum(1 for k in metrics.get("models", {}) if k not in REFERENCE_ROWS),
            "best_model": best, "best_macro_roc_auc": round(score, 4) if best else None,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["run", "profile", "status", "models", "best_model",
                                       "best_macro_roc_auc"])  # fmt: skip


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
