"""Every notebook on real recordings (emotify), with only parameters changed.

Named to be collected second: see tests/test_00_smoke_report.py."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import run_cli as _cli


@pytest.mark.slow
def test_notebooks_run_on_real_recordings_with_only_parameters_changed(realaudio, tmp_path):
    # 8 clips of each emotify genre (a third of the collection) keep the suite short
    # copied into a folder of their own, so that notebook 09's library ("run": the run's
    # audio folder) is these 32 clips, not all 120 (about two minutes of musicnn embeddings)
    labels = pd.read_csv(realaudio / "emotify" / "labels.csv")
    subset = labels.groupby("genre", group_keys=False).head(8)
    for rel in subset["file"]:
        (tmp_path / "emotify" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(realaudio / "emotify" / rel, tmp_path / "emotify" / rel)
    subset.to_csv(tmp_path / "labels.csv", index=False)
    # the audio folder relative to where the command runs, as a user types it (README's example)
    done = _cli(
        "pipeline",
        "--profile",
        "smoke",
        "--reports",
        str(tmp_path),
        "--run-id",
        "real",
        "-p",
        "audio_dir",
        "emotify",
        "-p",
        "labels",
        str(tmp_path / "labels.csv"),
        "-p",
        "genres",
        "auto",
        "-p",
        "label_column",
        "tags",
        # the synthetic smoke run covers every model; here the real-data paths, cheaply
        "-p",
        "binary_ensemble",
        "false",
        "-p",
        "modern_models",
        '["fcn_cnn"]',
        "-p",
        "cv_families",
        '["mfcc_logreg", "musicnn_MTT_penultimate_logreg"]',
        "-p",
        "cv_keras_models",
        "[]",
        "-p",
        "feature_kinds",
        '["logmel"]',
        "-p",
        "sequence_poolers",
        "[]",
        # notebook 09 indexes the run's folder (emotify), not all of ../shared/realaudio
        "-p",
        "library_dir",
        "run",
        # and with the run's own final model, whose genres are emotify's tags: its example
        # searches come from the index's genres (the README's emotify command failed there)
        "-p",
        "library_model",
        str(tmp_path / "real" / "models" / "mfcc_logreg_final"),
        # the mood study's code paths run in the synthetic smoke run already
        "-p",
        "mood_data",
        "none",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((tmp_path / "real" / "metrics.json").read_text())
    models = metrics["models"]
    assert not any(name.startswith("original study") for name in models)  # other genres
    genres = [row["genre"] for row in models["study_cnn_logmel"]["per_genre"]]
    assert "tenderness" in genres and "Action" not in genres and len(genres) == 9
    assert models["study_cnn_logmel"]["n_films"] == models["study_cnn_logmel"]["n_cues"]
    assert {"musicnn_mlp", "musicnn_finetuned", "fcn_cnn_logmel"} <= set(models)
    assert "binary_ensemble_mfcc" not in models  # the parameter reached notebook 03
    cv = json.loads((tmp_path / "real" / "crossval" / "metrics.json").read_text())
    assert set(cv["levels"]["cue"]) == {"mfcc_logreg", "musicnn_MTT_penultimate_logreg",
                                        "ensemble_of_all", "nested_selection"}  # fmt: skip
    assert cv["levels"]["cue"]["mfcc_logreg"]["n_cues"] == 32  # every clip predicted once
    from filmgenre.library import store

    # notebook 09 indexed the folder the run's clips come from, not all of ../shared/realaudio
    indexed = store.summary(store.connect(tmp_path / "real" / "library" / "library.sqlite"))
    assert indexed["tracks"] == len(subset) == 32
    assert indexed["model"]["name"] == "mfcc_logreg_final" and "tenderness" in indexed["genres"]


