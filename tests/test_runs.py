"""Listing past runs and comparing two runs' metrics."""

from __future__ import annotations

import json

import pytest
import yaml

from filmgenre import runs


def _fake_run(folder, name, auc):
    run = folder / name
    run.mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"status": "ok", "profile": "smoke"}))
    (run / "parameters.yaml").write_text(yaml.safe_dump({"profile": "smoke"}))
    models = {
        "study_cnn_mfcc": {"metrics": {"macro_roc_auc": auc, "lrap": 0.5}},
        "original study (its own 196 cues)": {"metrics": {"macro_roc_auc": 0.756, "lrap": 0.62}},
    }
    (run / "metrics.json").write_text(json.dumps({"models": models}))
    return run


def test_list_and_compare_runs(tmp_path):
    _fake_run(tmp_path, "a", 0.80)
    _fake_run(tmp_path, "b", 0.85)
    (tmp_path / "unfinished").mkdir()
    table = runs.list_runs(tmp_path)
    assert table["run"].tolist() == ["a", "b"]
    assert table["best_model"].tolist() == ["study_cnn_mfcc"] * 2  # the study's row is not ours
    assert table["best_macro_roc_auc"].tolist() == [0.8, 0.85]
    diff = runs.compare_runs("a", "b", tmp_path, metrics=("macro_roc_auc",))
    assert diff.loc[("study_cnn_mfcc", "macro_roc_auc"), "difference"] == pytest.approx(0.05)
    assert diff.loc[("original study (its own 196 cues)", "macro_roc_auc"), "difference"] == 0
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        runs.compare_runs("a", "unfinished", tmp_path)
