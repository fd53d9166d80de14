"""Calibrated probabilities: cross-fitted Platt maps, ECE, and final models that output them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from filmgenre.data import dataset
from filmgenre.evaluation import calibration, metrics
from filmgenre.evaluation.crossval import final, folds, loops
from filmgenre.genres import GENRES


def _miscalibrated(n: int = 1500, seed: int = 0):
    """Three genres with known positive rates (0.05, 0.2, 0.5) and scores that rank well
    but are far from probabilities (squashed towards 0.5 and shifted), in 5 folds."""
    rng = np.random.default_rng(seed)
    rates = np.array([0.05, 0.2, 0.5])
    y = (rng.random((n, 3)) < rates).astype(float)
    signal = y * 1.5 + rng.normal(size=(n, 3))
    scores = calibration.sigmoid(0.4 * signal + 0.3)
    folds = rng.integers(0, 5, n)
    return y, scores, folds, rates


def test_cross_fitted_probabilities_match_held_out_positive_rates():
    """On held-out folds, each genre's mean calibrated probability lies inside the
    bootstrap interval of its positive rate; before calibration it does not."""
    y, scores, folds, _ = _miscalibrated()
    calibrated = calibration.cross_fit(y, scores, folds)
    rng = np.random.default_rng(1)
    boots = np.stack([y[rng.integers(0, len(y), len(y))].mean(0) for _ in range(1000)])
    low, high = np.percentile(boots, [2.5, 97.5], axis=0)
    mean_after, mean_before = calibrated.mean(0), scores.mean(0)
    assert np.all((low <= mean_after) & (mean_after <= high)), (low, mean_after, high)
    assert not np.all((low <= mean_before) & (mean_before <= high))
    ece = calibration.ece_table(y, scores, calibrated, ("a", "b", "c"))
    assert ece.loc["mean over genres", "ece_after"] < 0.05
    assert ece.loc["mean over genres", "ece_before"] > 0.1
    # one monotone map per genre (the final model's): the ranking within a genre is unchanged
    single = calibration.fit_platt(y, scores).apply(scores)
    assert metrics.macro_roc_auc(y, single) == pytest.approx(metrics.macro_roc_auc(y, scores))


def test_each_fold_is_calibrated_without_its_own_labels():
    """Flipping the labels of one fold changes the calibrated scores of the others only."""
    y, scores, folds, _ = _miscalibrated(n=600)
    flipped = y.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]
    a = calibration.cross_fit(y, scores, folds)
    b = calibration.cross_fit(flipped, scores, folds)
    assert_allclose(a[folds == 0], b[folds == 0])
    assert not np.allclose(a[folds != 0], b[folds != 0])


def test_ece_is_zero_for_perfect_bins_and_large_for_overconfident_scores():
    y = np.array([0, 0, 0, 1] * 50, float)
    assert calibration.expected_calibration_error(y, np.full(200, 0.25)) == pytest.approx(0.0)
    assert calibration.expected_calibration_error(y, np.full(200, 0.95)) == pytest.approx(0.7)


def test_a_genre_with_one_class_keeps_its_ranking_at_its_rate():
    y = np.zeros((50, 1))
    scores = np.linspace(0.3, 0.9, 50)[:, None]
    platt = calibration.fit_platt(y, scores)
    out = platt.apply(scores)
    assert np.all(np.diff(out[:, 0]) > 0) and out.mean() < 0.05


def test_final_model_outputs_the_calibrated_probabilities(tmp_path):
    """The Platt map folds into the final model's output layer exactly: the saved Keras
    model predicts what head + map predict, and its config says its outputs are calibrated."""
    rng = np.random.default_rng(3)
    films = [f"f{i}" for i in range(30) for _ in range(2)]
    y = (rng.random((30, len(GENRES))) < 0.3).astype(int).repeat(2, axis=0)
    cues = dataset.pd.DataFrame(y, columns=list(GENRES)).assign(
        film=films, cue=[f"c{i}" for i in range(60)], path="", genres="")
    manifest = dataset.Manifest(cues, genres=GENRES)
    x = rng.normal(size=(60, 40)) + y @ rng.normal(scale=0.5, size=(len(GENRES), 40))
    result = loops.cross_validate_vectors("mfcc_meandiff", manifest, x, folds.CVConfig(k=3))
    frame = result.predictions
    oof = frame[[f"p_{g}" for g in GENRES]].to_numpy()
    platt = calibration.fit_platt(frame[[f"y_{g}" for g in GENRES]].to_numpy(float), oof)
    folder = final.fit_final("mfcc_meandiff", manifest, x, tmp_path / "final", platt=platt)
    import keras

    model = keras.models.load_model(folder / "model.keras")
    plain = final.fit_final("mfcc_meandiff", manifest, x, tmp_path / "plain")
    raw = np.asarray(keras.models.load_model(plain / "model.keras").predict(x, verbose=0))
    assert_allclose(np.asarray(model.predict(x, verbose=0)), platt.apply(raw), atol=1e-4)
    info = json.loads((folder / "config.json").read_text())
    assert info["outputs"] == "calibrated probabilities"
    assert set(info["calibration"]["per_genre"]) == set(GENRES)
