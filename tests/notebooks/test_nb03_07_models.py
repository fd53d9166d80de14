"""Notebooks 03-07 of the smoke run: every model trained and evaluated with intervals,
the paired questions, figures, decisions, the study's reference row."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from filmgenre import predict
from filmgenre.config import shared_dir
from filmgenre.data import dataset
from filmgenre.genres import GENRES


@pytest.mark.slow
def test_every_model_is_evaluated_with_intervals_and_paired_questions(smoke_run):
    run = smoke_run
    metrics = json.loads((run / "metrics.json").read_text())
    models = metrics["models"]
    for name in (
        "study_cnn_mfcc",
        "study_cnn_logmel",
        "binary_ensemble_mfcc",
        "resnet_cnn_logmel",
        "fcn_cnn_logmel",
        "study_cnn_mfcc+max",
        "tile_mlp_mfcc",
        "summary_mlp",
        "musicnn_mlp",
        "musicnn_finetuned",
        "prior (genre frequency)",
    ):
        low, high = models[name]["ci95"]["macro_roc_auc"]
        assert low <= models[name]["metrics"]["macro_roc_auc"] <= high
    assert any(k.endswith("+attention") for k in models) and any(k.endswith("+gru") for k in models)
    questions = {p["comparison"] for p in metrics["paired"]}
    assert {
        "best CNN vs best fully-connected net",
        "ten binary nets vs one multi-label net",
        "best modern CNN vs the study's CNN",
        "fine-tuning vs embeddings + MLP",
        "max pooling vs mean of tiles",
        "attention pooling vs mean of tiles",
    } <= questions
    assert metrics["training"]["musicnn_finetuned"]["params"] > 700_000
    figures = {p.stem for p in (run / "figures").glob("*.png")}
    assert {
        "02_logmel_per_genre",
        "02_mfcc_per_genre",
        "01_genre_cooccurrence",
        "03_cnn_training_curves",
        "04_dense_training_curves",
        "05_modern_training_curves",
        "06_transfer_training_curves",
        "07_macro_auc_intervals",
        "07_per_genre_auc",
        "07_roc_best",
        "07_pr_best",
        "07_calibration",
        "07_cue_panels",
        "07_cooccurrence",
        "07_training_curves",
        "08_calibration",
        "09_library_map",
    } <= figures
    study = "original study (its own 196 cues)"
    if shared_dir() is None:  # the reference row needs ../shared/seed
        assert study not in models
    else:
        assert models[study]["metrics"]["macro_roc_auc"] == pytest.approx(0.7563, abs=5e-5)
    assert {d["genre"] for d in metrics["decisions"]["summary_mlp"]} == set(GENRES)
    assert (run / "models" / "summary_mlp" / "test_predictions_study_schema.json").is_file()
    beside = json.loads((run / "models" / "resnet_cnn_logmel" / "metrics.json").read_text())
    assert beside["metrics"] == models["resnet_cnn_logmel"]["metrics"]
    assert (run / "dataset" / "manifest.csv").is_file()
    assert json.loads((run / "status.json").read_text())["status"] == "ok"


@pytest.mark.slow
def test_max_and_learned_pooling_over_a_cues_tiles(smoke_run):
    """Notebook 05's poolers over its CNN's tiles: max pooling scores every cue at least as
    high as the mean of its tiles (higher somewhere), and a learned pooler tags new files
    through its base model as it scored them in the run."""
    models = smoke_run / "models"
    mean = pd.read_csv(models / "fcn_cnn_logmel" / "predictions.csv")
    maxed = pd.read_csv(models / "fcn_cnn_logmel+max" / "predictions.csv")
    assert maxed[["film", "cue"]].equals(mean[["film", "cue"]])
    gain = maxed.filter(like="p_").to_numpy() - mean.filter(like="p_").to_numpy()
    assert gain.min() >= -1e-6 and gain.max() > 1e-4
    test_files = list(dataset.Manifest.load(smoke_run / "dataset").split("test")["path"])[:2]
    for kind in ("attention", "gru"):
        folder = models / f"fcn_cnn_logmel+{kind}"
        info = json.loads((folder / "config.json").read_text())
        assert info["base_model"] == "fcn_cnn_logmel" and info["input"] == "tile_sequence"
        stored = pd.read_csv(folder / "predictions.csv")
        assert len(stored) == len(mean)
        table, _ = predict.tag_files(test_files, folder, n_jobs=1, progress=False)
        first = stored[stored.split == "test"].filter(like="p_").to_numpy()[:2]
        assert_allclose(table.to_numpy(), first, atol=1e-5)
