"""Learning curves: each draw learns from exactly ``n`` of its fold's training films and is
scored alone; the figure grows where there is signal to learn; the fitted curves give back
the parameters they were drawn from and the number of films at which a target is reached."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from filmgenre.evaluation.crossval import curve, folds
from filmgenre.evaluation.crossval.vectors import FAMILIES

GENRES = ("a", "b", "c")


def _planted(n_films: int = 60, cues: int = 2, seed: int = 0):
    """Films with three genres; each cue's 40-d vector holds its genres weakly, in noise,
    so a mean difference learns them better from more films."""
    rng = np.random.default_rng(seed)
    film_y = (rng.random((n_films, len(GENRES))) < 0.35).astype(float)
    film_y[np.arange(n_films), rng.integers(0, len(GENRES), n_films)] = 1
    y = np.repeat(film_y, cues, axis=0)
    x = y @ rng.normal(0, 1, (len(GENRES), 40)) * 0.25 + rng.normal(0, 1, (len(y), 40))
    table = pd.DataFrame(y, columns=list(GENRES)).assign(
        film=np.repeat([f"film{i:02d}" for i in range(n_films)], cues))
    return table, x, y


class Spy:
    """A learner that records what it was given and scores cues by chance."""

    def __init__(self, group: np.ndarray) -> None:
        self.group, self.calls = group, []

    def pool(self, fold_of: np.ndarray, test_fold: int) -> np.ndarray:
        return np.unique(self.group[fold_of != test_fold])

    def fit(self, fold_of, test_fold, train_groups) -> np.ndarray:
        self.calls.append((fold_of.copy(), test_fold, np.array(train_groups)))
        return np.random.default_rng(len(self.calls)).random(((fold_of == test_fold).sum(), 3))


def test_each_draw_learns_from_exactly_n_films_of_its_training_folds():
    table, _, _ = _planted(30)
    spy = Spy(table["film"].to_numpy())
    cv = folds.CVConfig(k=3, repeats=2)
    result = curve.learning_curve(table, GENRES, {"spy": spy}, cv, sizes=(5, None),
                                  resamples=3, progress=False)  # fmt: skip
    assert len(spy.calls) == 2 * 3 * 3  # sizes x draws x folds
    for fold_of, f, chosen in spy.calls:
        training = set(table["film"][fold_of != f])
        assert set(chosen) <= training and len(set(chosen)) == len(chosen)
        assert len(chosen) in (5, len(training))
    # the draws cycle through the repeats' fold assignments
    assert not np.array_equal(spy.calls[0][0], spy.calls[3][0])
    assert result.films["spy"] == [5.0, 20.0] and len(result.scores["spy"][0]) == 3
    # a cue's score is one draw's, never their mean
    assert not np.allclose(result.scores["spy"][0][0], result.scores["spy"][0][1])


def test_the_figure_grows_with_films_where_there_is_signal():
    table, x, y = _planted(80)
    cv = folds.CVConfig(k=4)
    learner = curve.VectorLearner(FAMILIES["mfcc_meandiff"], x, y, table["film"].to_numpy(),
                                  table, cv)  # fmt: skip
    result = curve.learning_curve(table, GENRES, {"meandiff": learner}, cv,
                                  sizes=(3, 10, 25, None), resamples=4, progress=False)  # fmt: skip
    rows = curve.curve_table(result, n_boot=200).query("level == 'cue'")
    auc = rows["macro_roc_auc"].to_numpy()
    assert auc[0] < auc[1] < auc[3] and auc[3] > 0.75, auc
    assert ((rows["low"] <= rows["macro_roc_auc"]) & (rows["macro_roc_auc"] <= rows["high"])).all()
    assert rows["films"].tolist() == [3.0, 10.0, 25.0, 60.0]
    # a target the curve passes is reached within the films it was measured on
    reached = curve.extrapolation(result, target=float(auc[1]), n_boot=100)
    assert reached.iloc[0]["films to reach " + str(float(auc[1]))] <= 60


@pytest.mark.parametrize("kind,truth", [("power law a - b n^-c", (0.9, 0.6, 0.45)),
                                        ("log-linear a + b ln n", (0.45, 0.05))])
def test_fitted_curves_give_back_their_parameters_and_where_they_reach_a_target(kind, truth):
    fn = curve.CURVES[kind][0]
    n = np.array([10.0, 20, 30, 45, 60])
    params = curve.fit_curve(kind, n, fn(n, *truth))
    np.testing.assert_allclose(params, truth, rtol=1e-3)
    reach = curve.films_to_reach(kind, params, 0.756)
    assert fn(reach, *truth) == pytest.approx(0.756, abs=1e-4)
    # asked which curve extrapolates its own data better, it names itself
    assert curve.choose_curve(n, fn(n, *truth))[0] == kind


def test_no_curve_is_chosen_from_too_few_sizes_to_check_it():
    n, auc = np.array([10.0, 30, 44]), np.array([0.50, 0.50, 0.53])
    assert curve.fit_curve("power law a - b n^-c", n, auc) is None  # 3 points, 3 parameters
    assert curve.choose_curve(n, auc)[0] is None  # neither fits the 2 smaller sizes' check
    assert curve.choose_curve(np.array([10.0, 20, 30, 44]), np.array([0.5, 0.52, 0.55, 0.56])
                              )[0] == "log-linear a + b ln n"  # fmt: skip


def test_a_curve_that_levels_off_below_the_target_never_reaches_it():
    assert curve.films_to_reach("power law a - b n^-c", np.array([0.7, 0.5, 0.5]), 0.756) == np.inf
    assert curve.films_to_reach("log-linear a + b ln n", np.array([0.6, -0.01]), 0.756) == np.inf
    assert np.isnan(curve.films_to_reach("log-linear a + b ln n", None, 0.756))


@pytest.mark.slow
def test_keras_models_learn_from_the_drawn_films_and_stop_on_the_next_fold(tiny_manifest,
                                                                           tmp_path):  # fmt: skip
    from filmgenre.training import loop as train

    cv = folds.CVConfig(k=4)
    config = train.TrainConfig(epochs=1, batch_size=16, verbose=0)
    results = curve.film_curves(tiny_manifest, cv, [], [["tile_mlp", "mfcc"],
                                                        ["tile_mlp", "logmel"]],
                                tmp_path, config, keras_sizes=(3,), progress=False)  # fmt: skip
    cues = tiny_manifest.cues.reset_index(drop=True)
    fold_of = cv.fold_sets(cues, tiny_manifest.genres)[0]
    for kind in ("mfcc", "logmel"):
        scores = results[1].scores[f"tile_mlp ({kind}) from scratch"][0][0]
        assert scores.shape == (len(cues), len(tiny_manifest.genres)) and (scores > 0).all()
        # each model's fits in a folder of its own: one learner never overwrites another's
        trained = sorted((tmp_path / "curve" / f"tile_mlp_{kind}" / "models").iterdir())
        assert len(trained) == cv.k
        for f, run in enumerate(trained):  # 3 training films; the next fold stops it
            info = json.loads((run / "config.json").read_text())
            assert info["trained_on"]["n_films"] == 3 and info["feature_kind"] == kind
            predicted = pd.read_csv(run / "predictions.csv")
            assert set(predicted.query("split == 'val'")["film"]) == set(
                cues["film"][fold_of == (f + 1) % cv.k])
            assert set(predicted.query("split == 'test'")["film"]) == set(
                cues["film"][fold_of == f])
