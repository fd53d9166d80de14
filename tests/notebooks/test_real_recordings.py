"""The notebooks on real recordings (the first 15 s of a third of emotify, conftest's
``real_run``), with only parameters changed: what only real labels test. Their own genres
(emotify's tags, read with ``genres auto``) reach training, evaluation and cross-validation,
and notebook 09 indexes the run's own clips with the run's own final model; the synthetic
smoke run covers every other model and notebook."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from filmgenre.library import store


@pytest.mark.slow
def test_real_labels_reach_every_notebook_of_the_run(real_run):
    metrics = json.loads((real_run / "metrics.json").read_text())
    models = metrics["models"]
    assert not any(name.startswith("original study") for name in models)  # other genres
    genres = [row["genre"] for row in models["study_cnn_logmel"]["per_genre"]]
    assert "tenderness" in genres and "Action" not in genres and len(genres) == 9
    assert models["study_cnn_logmel"]["n_films"] == models["study_cnn_logmel"]["n_cues"]
    assert "binary_ensemble_mfcc" not in models  # the parameter reached notebook 03
    clips = len(pd.read_csv(real_run.parent.parent / "labels.csv"))
    cv = json.loads((real_run / "crossval" / "metrics.json").read_text())
    assert set(cv["levels"]["cue"]) == {"mfcc_logreg", "musicnn_MTT_penultimate_logreg",
                                        "ensemble_of_all", "nested_selection"}  # fmt: skip
    assert cv["levels"]["cue"]["mfcc_logreg"]["n_cues"] == clips == 32  # each predicted once
    # notebook 09 indexed the folder the run's clips come from, not all of ../shared/realaudio
    indexed = store.summary(store.connect(real_run / "library" / "library.sqlite"))
    assert indexed["tracks"] == clips
    assert indexed["model"]["name"] == "mfcc_logreg_final" and "tenderness" in indexed["genres"]
