"""Reading what a run wrote for each model: its ``config.json`` and its training history.

A leaf below training and evaluation, so both read run folders without importing each
other or :mod:`filmgenre.reporting.runs` (which lists and compares whole runs, above evaluation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd


def load_history(model_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """A saved model's per-epoch history, epochs counted from 1."""
    history = pd.read_csv(Path(model_dir) / "history.csv")
    history["epoch"] = np.arange(1, len(history) + 1)
    return history


def load_run_models(run_dir: str | os.PathLike[str]) -> dict[str, dict]:
    """``config.json`` of every model trained in a run, by model name."""
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted(Path(run_dir).glob("models/*/config.json"))
    }


def load_histories(run_dir: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Every trained model's history in a run, by model name (models without one, such as
    re-pooled or final cue-vector models, are left out)."""
    return {p.parent.name: load_history(p.parent)
            for p in sorted(Path(run_dir).glob("models/*/history.csv"))}  # fmt: skip
