"""The notebooks on real recordings (the first 15 s of a third of emotify, conftest's
``real_run``), with only parameters changed: what only real labels test. Their own genres
(emotify's tags, read with ``genres auto``) reach training, evaluation and cross-validation,
and notebook 09 indexes the run's own clips with the run's own final model; the synthetic
smoke run covers every other model and notebook. It runs under JAX with TensorFlow hidden
(conftest's ``REAL_BACKEND``), as on a GPU machine with JAX's wheels only, and holds every
notebook that trains Keras models (03-06, 08), so each of them runs under JAX in the suite."""

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


@pytest.mark.slow
def test_every_kernel_of_the_real_run_ran_under_jax_without_tensorflow(real_run, smoke_run):
    from conftest import REAL_BACKEND, REAL_NOTEBOOKS

    status = json.loads((real_run / "status.json").read_text())
    kernels = {e["name"]: e["kernel"] for e in status["notebooks"]}
    assert set(kernels) == {f"{name}.ipynb" for name in REAL_NOTEBOOKS}
    for name, record in kernels.items():
        assert record["keras_backend"] in (REAL_BACKEND, None), (name, record)
        assert "tensorflow" not in record["frameworks"], (name, record)
    trained = [n for n, r in kernels.items() if r["keras_backend"] == REAL_BACKEND]
    assert set(trained) == {"03_train_cnn.ipynb", "04_train_dense_baseline.ipynb",
                            "05_modern_cnn_and_pooling.ipynb", "06_transfer_musicnn.ipynb",
                            "08_cross_validation.ipynb"}, kernels  # fmt: skip
    # the notebooks left out import no Keras under the default backend either
    smoke_kernels = {e["name"]: e["kernel"] for e in json.loads(
        (smoke_run / "status.json").read_text())["notebooks"]}  # fmt: skip
    left_out = set(smoke_kernels) - set(kernels)
    assert left_out and all(smoke_kernels[n]["keras_backend"] is None for n in left_out)
    trained_models = json.loads((real_run / "metrics.json").read_text())["models"]
    for name in ("tile_mlp_logmel", "resnet_cnn_logmel+attention", "musicnn_finetuned"):
        assert name in trained_models, sorted(trained_models)
    assert json.loads((real_run / "versions.json").read_text())["keras_backend"] == REAL_BACKEND
    model = json.loads((real_run / "models" / "study_cnn_logmel" / "config.json").read_text())
    assert model["device"]["backend"] == REAL_BACKEND
