"""Notebook 08 of the smoke run: out-of-fold scores at cue and film level, leakage,
the nested model choice, calibration, final models."""

from __future__ import annotations

import json

import pandas as pd
import pytest


@pytest.mark.slow
def test_crossval_scores_every_cue_once_and_ships_final_models(smoke_run):
    run = smoke_run
    front = (run / "index.html").read_text()
    cv = json.loads((run / "crossval" / "metrics.json").read_text())
    assert set(cv["levels"]) == {"cue", "film (mean of cues)", "film (max of cues)"}
    n_cues = len(pd.read_csv(run / "dataset" / "manifest.csv"))
    for level, scores in cv["levels"].items():
        for name, sc in scores.items():
            low, high = sc["ci95"]["macro_roc_auc"]
            assert low <= sc["metrics"]["macro_roc_auc"] <= high, (level, name)
            assert sc["n_cues"] == (n_cues if level == "cue" else sc["n_films"])
    assert {"mfcc_logreg", "combined_logreg", "study_cnn_mfcc", "ensemble_of_all"} <= set(
        cv["levels"]["cue"]
    )
    assert {(r["model"], r["grouping"]) for r in cv["leakage"]} >= {
        ("mfcc_logreg", "cue"), ("mfcc_logreg", "film")}  # fmt: skip
    assert all(p["b"] == "mfcc_logreg" for p in cv["paired"])
    oof = pd.read_csv(run / "crossval" / "combined_logreg" / "oof_predictions.csv")
    assert len(oof) == n_cues and not oof.duplicated(["film", "cue"]).any()
    final = json.loads((run / "models" / "combined_logreg_final" / "config.json").read_text())
    assert final["trained_on"]["synthetic"] is True and final["final"] is True
    assert final["cross_validation"]["macro_roc_auc"] == pytest.approx(
        cv["levels"]["cue"]["combined_logreg"]["metrics"]["macro_roc_auc"])  # fmt: skip
    assert "combined_meandiff" in cv["levels"]["cue"]
    # music-information features decoded from the cues' audio; a film-level family learned
    # from films, scored only at film level and paired with the mean of its counterpart
    assert "mir_meandiff" in cv["levels"]["cue"]
    assert "combined_film_meandiff" not in cv["levels"]["cue"]
    assert "combined_film_meandiff" in cv["levels"]["film (mean of cues)"]
    assert [(r["a"], r["b"]) for r in cv["film_models"]] == [
        ("combined_film_meandiff", "mean of combined_meandiff")]  # fmt: skip
    assert "Film level: learned from a film" in front
    assert not (run / "models" / "combined_film_meandiff_final").exists()
    # the model choice cross-validated as a whole leads the front page
    assert sum(cv["nested"]["chosen_counts"].values()) == 3  # one choice per outer fold
    assert "nested_selection" in cv["levels"]["film (mean of cues)"]
    assert "nested cross-validation of the model choice" in front
    assert {r["model"] for r in cv["calibration"]} >= {"mfcc_logreg", "combined_meandiff"}
    assert final["outputs"] == "calibrated probabilities"
    cnn = json.loads((run / "models" / "study_cnn_mfcc_final" / "config.json").read_text())
    assert cnn["final"] is True and cnn["stopping_films"] > 0
    assert cnn["trained_on"]["n_films"] + cnn["stopping_films"] == cv["levels"]["cue"][
        "mfcc_logreg"]["n_films"]  # fmt: skip

