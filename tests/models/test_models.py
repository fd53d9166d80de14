"""Real Keras models: shapes, sizes, a few training steps, and a saved model that reloads."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from filmgenre.data import features
from filmgenre.models import registry
from filmgenre.reporting import runs
from filmgenre.training import cue_pooling, cue_scores
from filmgenre.training import loop as train


@pytest.mark.parametrize(
    "name, shape",
    [
        ("study_cnn", (40, 100)),
        ("binary_ensemble", (40, 100)),
        ("resnet_cnn", (40, 100)),
        ("fcn_cnn", (40, 100)),
        ("tile_mlp", (40, 100)),
        ("summary_mlp", (160,)),
        ("musicnn_mlp", (400,)),
        ("attention_pooling", (5, 50)),
        ("gru_pooling", (5, 50)),
    ],
)
def test_output_shapes(name, shape):
    model = registry.build_model(name, shape, 10)
    assert model.output_shape == (None, 10)
    out = model(np.zeros((3, *shape), np.float32))
    assert tuple(out.shape) == (3, 10)
    assert np.all((np.asarray(out) >= 0) & (np.asarray(out) <= 1))


def test_study_cnn_follows_the_paper_and_baselines_are_comparable():
    cnn = registry.build_model("study_cnn", (40, 100), 10)
    convs = [layer for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128, 256]
    assert [c.kernel_size for c in convs] == [(5, 5), (4, 4), (2, 2), (2, 2)]
    dense = [layer.units for layer in cnn.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [50, 50, 10]
    tile_mlp = registry.build_model("tile_mlp", (40, 100), 10)
    assert 0.5 < tile_mlp.count_params() / cnn.count_params() < 1.5
    with pytest.raises(KeyError, match="unknown model"):
        registry.build_model("resnet9000", (40, 100), 10)


def test_a_few_training_steps_lower_the_loss(tiny_manifest, tmp_path):
    ts = features.load_tiles(tiny_manifest, "train", "logmel")
    model = registry.build_model("study_cnn", ts.x.shape[1:], 10)
    config = train.TrainConfig(epochs=6, batch_size=16, patience=10, verbose=0)
    _, history = train.fit(model, ts.x, ts.y, ts.x, ts.y, tmp_path, config)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    for name in ("model.keras", "checkpoint.keras", "last.keras", "history.csv"):
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
    again = cue_scores.predict_cues(reloaded, ts.x, ts.cue, len(ts.cues))
    stored = preds[preds.split == "test"].filter(like="p_").to_numpy()
    assert_allclose(again, stored, rtol=1e-4, atol=1e-5)


def test_cue_prediction_is_the_mean_of_its_tiles():
    class Fixed:
        def predict(self, x, batch_size=None, verbose=0):
            return x[:, :2]

    x = np.array([[0.1, 0.2], [0.3, 0.4], [0.9, 0.0]])
    out = cue_scores.predict_cues(Fixed(), x, np.array([0, 0, 1]), 2)
    assert_allclose(out, [[0.2, 0.3], [0.9, 0.0]])


@pytest.mark.slow
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


def test_modern_cnns_and_baselines_have_comparable_budgets():
    """The fairness the comparison rests on: parameter counts within a factor of 1.6."""
    study = registry.build_model("study_cnn", (40, 100), 10).count_params()
    for name in ("resnet_cnn", "fcn_cnn", "tile_mlp"):
        ratio = registry.build_model(name, (40, 100), 10).count_params() / study
        assert 0.6 < ratio < 1.6, (name, ratio)
    resnet = registry.build_model("resnet_cnn", (40, 100), 10)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in resnet.layers)
    assert any(isinstance(layer, keras.layers.Add) for layer in resnet.layers)


def test_binary_ensemble_is_ten_independent_study_cnns():
    ensemble = registry.build_model("binary_ensemble", (40, 100), 10)
    towers = [layer for layer in ensemble.layers if isinstance(layer, keras.Model)]
    assert len(towers) == 10
    assert all(t.output_shape == (None, 1) for t in towers)
    single = registry.build_model("study_cnn", (40, 100), 1).count_params()
    # one shared (untrained) standardisation, otherwise ten separate study CNNs
    shared_norm = ensemble.get_layer("standardise").count_params()
    norm_single = 2 * 40 + 1
    assert ensemble.count_params() - shared_norm == 10 * (single - norm_single)
    # a genre's output depends on its own tower only: perturbing tower 3 leaves genre 0 alone
    x = np.random.default_rng(0).normal(size=(4, 40, 100)).astype(np.float32)
    before = np.asarray(ensemble(x))
    w = towers[3].get_layer("genres").get_weights()
    towers[3].get_layer("genres").set_weights([w[0] + 1.0, w[1]])
    after = np.asarray(ensemble(x))
    assert_allclose(after[:, [0, 1, 2, 4]], before[:, [0, 1, 2, 4]])
    assert not np.allclose(after[:, 3], before[:, 3])


def _losses_of(name):
    y = np.array([[1, 0], [0, 0], [0, 0], [0, 1]], np.float32)
    p = np.array([[0.6, 0.2], [0.3, 0.1], [0.2, 0.4], [0.5, 0.7]], np.float32)
    return float(train.make_loss(name, y)(y, p)), y, p


def test_weighted_loss_weights_each_genres_positives_by_its_rarity():
    value, y, p = _losses_of("weighted_bce")
    w = np.array([3.0, 3.0])  # each genre: 3 negatives for 1 positive
    terms = w * y * np.log(p) + (1 - y) * np.log(1 - p)
    assert value == pytest.approx(float(-terms.mean()), rel=1e-5)
    assert value > _losses_of("bce")[0]
    assert _losses_of("focal")[0] < _losses_of("bce")[0]
    with pytest.raises(ValueError, match="unknown loss"):
        train.make_loss("hinge", y)


def test_weighted_loss_model_saves_and_reloads(tiny_manifest, tmp_path):
    config = train.TrainConfig(epochs=1, batch_size=16, verbose=0, loss="weighted_bce")
    train.train_model("tile_mlp", tiny_manifest, tmp_path, "mfcc", config=config)
    reloaded = keras.models.load_model(tmp_path / "models" / "tile_mlp" / "model.keras")
    assert reloaded.loss.name == "weighted_bce"


def test_interrupted_training_resumes_where_it_stopped(tiny_manifest, tmp_path):
    """Kill training after two epochs (an exception from a callback, as Ctrl-C would), then
    resume: it continues at epoch 3 from the saved optimiser state, and the log is whole."""

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    ts = features.load_tiles(tiny_manifest, "train", "mfcc")
    config = train.TrainConfig(epochs=4, batch_size=16, patience=10, verbose=0)
    model = registry.build_model("tile_mlp", ts.x.shape[1:], 10)
    original_fit = keras.Model.fit

    def fit_with_interrupt(self, *args, callbacks=None, **kwargs):
        return original_fit(self, *args, callbacks=[*callbacks, Interrupt()], **kwargs)

    keras.Model.fit = fit_with_interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            train.fit(model, ts.x, ts.y, ts.x, ts.y, tmp_path, config)
    finally:
        keras.Model.fit = original_fit
    assert len(runs.load_history(tmp_path)) == 2 and not (tmp_path / "model.keras").exists()
    steps_done = keras.models.load_model(tmp_path / "last.keras").optimizer.iterations
    assert int(steps_done) == 2 * int(np.ceil(len(ts.x) / 16))
    fresh = registry.build_model("tile_mlp", ts.x.shape[1:], 10)
    resumed, history = train.fit(fresh, ts.x, ts.y, ts.x, ts.y, tmp_path, config, resume=True)
    assert history.attrs["resumed_after_epoch"] == 2
    assert list(history["epoch"]) == [1, 2, 3, 4]
    assert int(resumed.optimizer.iterations) == 4 * int(np.ceil(len(ts.x) / 16))
    best = keras.models.load_model(tmp_path / "checkpoint.keras")
    assert_allclose(resumed.predict(ts.x, verbose=0), best.predict(ts.x, verbose=0), atol=1e-6)


def test_resume_reuses_a_finished_model_and_retrains_without_it(tiny_manifest, tmp_path):
    config = train.TrainConfig(epochs=2, batch_size=16, verbose=0)
    first = train.train_model("tile_mlp", tiny_manifest, tmp_path, "mfcc", config=config)
    again = train.train_model(
        "tile_mlp", tiny_manifest, tmp_path, "mfcc", config=config, resume=True
    )
    assert again.info == first.info  # nothing retrained
    assert_allclose(again.predictions.filter(like="p_"), first.predictions.filter(like="p_"))
    (tmp_path / "models" / "tile_mlp" / "config.json").unlink()  # as if killed before the end
    resumed = train.train_model(
        "tile_mlp", tiny_manifest, tmp_path, "mfcc", config=train.TrainConfig(
            epochs=3, batch_size=16, verbose=0), resume=True
    )  # fmt: skip
    assert resumed.info["resumed_after_epoch"] == 2 and resumed.info["epochs_run"] == 3


def test_mixed_precision_option_trains_and_keeps_float32_outputs(tiny_manifest, tmp_path):
    config = train.TrainConfig(epochs=1, batch_size=16, verbose=0, precision="mixed_bfloat16")
    result = train.train_model("study_cnn", tiny_manifest, tmp_path, "mfcc", config=config)
    conv = result.model.get_layer("conv1")
    assert conv.compute_dtype == "bfloat16" and conv.variable_dtype == "float32"
    assert result.model.get_layer("genres").compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert np.isfinite(result.predictions.filter(like="p_").to_numpy()).all()


def test_pooling_functions():
    """Mean, max and padded sequences of a cue's tile scores (notebook 05's poolers over a
    trained CNN: tests/notebooks/test_nb03_07_models.py)."""
    scores = np.array([[0.1, 0.9], [0.5, 0.3], [0.7, 0.2]])
    cue = np.array([0, 0, 1])
    assert_allclose(cue_scores.pool_cues(scores, cue, 2, "mean"), [[0.3, 0.6], [0.7, 0.2]])
    assert_allclose(cue_scores.pool_cues(scores, cue, 2, "max"), [[0.5, 0.9], [0.7, 0.2]])
    seq = cue_pooling.sequences(scores, cue, 2, 2)
    assert_allclose(seq[1], [[0.7, 0.2], [0.0, 0.0]])
    with pytest.raises(ValueError, match="unknown pooling"):
        cue_scores.pool_cues(np.zeros((2, 3)), np.array([0, 1]), 2, "median")


def test_tile_embeddings_of_every_tile_cnn_are_vectors():

    x = np.random.default_rng(0).normal(size=(3, 40, 100)).astype(np.float32)
    for name, width in (("study_cnn", 50), ("binary_ensemble", 10 * 50), ("resnet_cnn", None)):
        model = registry.build_model(name, (40, 100), 10)
        emb = np.asarray(cue_pooling.embedding_model(model).predict(x, verbose=0))
        assert emb.ndim == 2 and emb.shape[0] == 3, name
        assert width is None or emb.shape[1] == width, name


def test_attention_pooling_ignores_padding():
    model = registry.build_model("attention_pooling", (4, 3), 2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 4, 3)).astype(np.float32)
    x[0, 2:] = 0.0  # two real tiles, two padded
    out = np.asarray(model(x))
    unpadded = registry.build_model("attention_pooling", (2, 3), 2)  # same weights, no padding
    unpadded.set_weights(model.get_weights())
    assert_allclose(out, np.asarray(unpadded(x[:, :2])), atol=1e-6)
    x[0, 2:] = 5.0  # were the padding read, this would change the output
    assert not np.allclose(np.asarray(model(x)), out, atol=1e-4)
