"""Final cue-vector models run with NumPy exactly as Keras runs them, and any other model is
left to Keras."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from filmgenre.evaluation.calibration import Platt
from filmgenre.evaluation.crossval.final import head_to_keras
from filmgenre.evaluation.crossval.heads import fit_head
from filmgenre.models.dense_head import read_dense_head
from filmgenre.predict import load_cue_vector_head, shipped_models


@pytest.mark.parametrize("head", ["logreg", "mlp", "meandiff"])
@pytest.mark.parametrize("calibrated", [False, True])
def test_a_saved_head_predicts_with_numpy_as_keras_does(head, calibrated, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 12)) * rng.uniform(0.1, 30, size=12) + rng.normal(size=12) * 5
    x[:, 4] = 2.5  # a constant feature: its scale is set to 1, not divided by ~0
    y = (x[:, :3] + rng.normal(size=(80, 3)) > 0).astype(float)
    y[:, 2] = 0  # a genre with one class only: a constant head
    platt = Platt(np.array([1.7, 0.4, 2.0]), np.array([-0.3, 0.2, 0.0])) if calibrated else None
    model = head_to_keras(fit_head(head, x, y, 1.0, 0), 12, "head", platt)
    model.save(tmp_path / "model.keras")
    numpy_head = read_dense_head(tmp_path / "model.keras")
    assert numpy_head is not None
    probe = np.vstack([x, rng.normal(size=(20, 12)) * 1e3])  # far outside: saturated sigmoids
    expected = np.asarray(model.predict(probe, verbose=0))
    assert_allclose(numpy_head.predict(probe), expected, atol=2e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="reads"):
        numpy_head.predict(probe[:, :5])


def test_the_shipped_model_is_a_numpy_head_and_other_models_are_not(tmp_path):
    import keras

    from filmgenre.models import registry

    head, info = load_cue_vector_head(shipped_models()[0])
    assert head.n_inputs == 960 and info["input"] == "cue_vector"
    cnn = registry.build_model("study_cnn", (40, 100), 10)
    cnn.save(tmp_path / "cnn.keras")
    assert read_dense_head(tmp_path / "cnn.keras") is None
    inputs = keras.Input(shape=(6,))
    softmax = keras.Model(
        inputs,
        keras.layers.Dense(3, activation="softmax")(
            keras.layers.Normalization(mean=np.zeros(6), variance=np.ones(6))(inputs)
        ),
    )
    softmax.save(tmp_path / "softmax.keras")
    assert read_dense_head(tmp_path / "softmax.keras") is None
