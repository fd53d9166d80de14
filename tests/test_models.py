"""Real Keras models: shapes, sizes, a few training steps, and a saved model that reloads."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from filmgenre import features, models, train


@pytest.mark.parametrize(
    "name, shape", [("study_cnn", (40, 100)), ("tile_mlp", (40, 100)), ("summary_mlp", (160,))]
)
def test_output_shapes(name, shape):
    model = models.build(name, shape, 10)
    assert model.output_shape == (None, 10)
    out = model(np.zeros((3, *shape), np.float32))
    assert tuple(out.shape) == (3, 10)
    assert np.all((np.asarray(out) >= 0) & (np.asarray(out) <= 1))


def test_study_cnn_follows_the_paper_and_baselines_are_comparable():
    cnn = models.build("study_cnn", (40, 100), 10)
    convs = [layer for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128, 256]
    assert [c.kernel_size for c in convs] == [(5, 5), (4, 4), (2, 2), (2, 2)]
    dense = [layer.units for layer in cnn.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [50, 50, 10]
    tile_mlp = models.build("tile_mlp", (40, 100), 10)
    assert 0.5 < tile_mlp.count_params() / cnn.count_params() < 1.5
    with pytest.raises(KeyError, match="unknown model"):
        models.build("resnet9000", (40, 100), 10)


def test_a_few_training_steps_lower_the_loss(tiny_manifest, tmp_path):
    ts = features.load_tiles(tiny_manifest, "train", "logmel")
    model = models.build("study_cnn", ts.x.shape[1:], 10)
    config = train.TrainConfig(epochs=6, batch_size=16, patience=10, verbose=0)
    history = train.fit(model, ts.x, ts.y, ts.x, ts.y, tmp_path, config)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    for name in ("model.keras", "checkpoint.keras", "history.csv"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "tensorboard").is_dir()


def test_train_model_saves_a_model_that_reloads_and_scores_again(tiny_manifest, tmp_path):
    config = train.TrainConfig(epochs=2, batch_size=16, patience=2, verbose=0)
    result = train.train_model("tile_mlp", tiny_manifest, tmp_path, "mfcc", config=config)
    folder = tmp_path / "models" / "tile_mlp"
    info = json.loads((folder / "config.json").read_text())
    assert info["manifest_digest"] == tiny_manifest.digest()
    assert info["params"] == result.model.count_params() and info["examples_per_s"] > 0
    assert {"keras", "numpy", "librosa"} <= set(info["versions"])
    preds = pd.read_csv(folder / "predictions.csv")
    assert set(preds["split"]) == {"val", "test"}
    n_eval = len(tiny_manifest.split("val")) + len(tiny_manifest.split("test"))
    assert len(preds) == n_eval
    reloaded = keras.models.load_model(folder / "model.keras")
    ts = features.load_tiles(tiny_manifest, "test", "mfcc")
    again = train.predict_cues(reloaded, ts.x, ts.cue, len(ts.cues))
    stored = preds[preds.split == "test"].filter(like="p_").to_numpy()
    assert_allclose(again, stored, rtol=1e-4, atol=1e-5)


def test_cue_prediction_is_the_mean_of_its_tiles():
    class Fixed:
        def predict(self, x, batch_size=None, verbose=0):
            return x[:, :2]

    x = np.array([[0.1, 0.2], [0.3, 0.4], [0.9, 0.0]])
    out = train.predict_cues(Fixed(), x, np.array([0, 0, 1]), 2)
    assert_allclose(out, [[0.2, 0.3], [0.9, 0.0]])


def test_same_seed_gives_the_same_predictions(tiny_manifest, tmp_path):
    config = train.TrainConfig(epochs=2, batch_size=16, patience=2, verbose=0, seed=3)
    runs = [
        train.train_model("study_cnn", tiny_manifest, tmp_path / str(i), "logmel", config=config)
        for i in range(2)
    ]
    a, b = (r.predictions.filter(like="p_").to_numpy() for r in runs)
    assert_allclose(a, b, rtol=0, atol=1e-6)
    other = train.train_model(
        "study_cnn",
        tiny_manifest,
        tmp_path / "other",
        "logmel",
        config=train.TrainConfig(epochs=2, batch_size=16, verbose=0, seed=4),
    )
    assert not np.allclose(other.predictions.filter(like="p_").to_numpy(), a, atol=1e-4)
