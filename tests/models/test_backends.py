"""Model code is plain Keras 3: the same models train, save and reload under JAX or
PyTorch, and the ported musicnn gives the same tags there as under TensorFlow."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

SCRIPT = r"""
import json, sys
import numpy as np
import keras
from filmgenre.models import musicnn, registry
from filmgenre.runtime import devices
from filmgenre.training import loop as train
assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
out = sys.argv[2]
rng = np.random.default_rng(0)
x = rng.normal(size=(48, 40, 100)).astype("float32")
y = (rng.random((48, 10)) < 0.3).astype("float32")
result = {}
for name in ("study_cnn", "resnet_cnn"):
    model = registry.build_model(name, (40, 100), 10)
    config = train.TrainConfig(epochs=2, batch_size=16, verbose=0, loss="weighted_bce")
    model, history = train.fit(model, x, y, x, y, f"{out}/{name}", config)
    again = keras.models.load_model(f"{out}/{name}/model.keras")
    diff = float(np.abs(again.predict(x, verbose=0) - model.predict(x, verbose=0)).max())
    result[name] = {"loss": history["loss"].tolist(), "reload_diff": diff}
seq = rng.normal(size=(12, 5, 50)).astype("float32")
pooled = registry.build_model("attention_pooling", (5, 50), 10)
result["attention_pooling"] = np.asarray(pooled(seq)).shape[1]
patches = np.load(f"{out}/patches.npy")
tagger = musicnn.load_pretrained()
result["musicnn"] = np.asarray(tagger.predict(patches, verbose=0)).tolist()
result["device"] = devices.device_summary()
if len(sys.argv) > 3:  # and data parallel over the two devices XLA_FLAGS made (JAX)
    from filmgenre.data import dataset

    manifest = dataset.Manifest.load(sys.argv[3])
    config = train.TrainConfig(epochs=2, batch_size=8, verbose=0, parallel="all", stream=False)
    trained = train.train_model("study_cnn", manifest, f"{out}/run", "mfcc", config=config,
                                label="cnn_parallel")
    result["parallel"] = {
        "devices": trained.info["data_parallel_devices"], "loss": trained.history["loss"].tolist(),
        "replicas": len(trained.model.trainable_variables[0].value.sharding.device_set),
        "predicted": len(trained.predictions)}
print("RESULT" + json.dumps(result))
"""


def _assert_data_parallel(result: dict, manifest) -> None:
    """Two devices held the weights, the loss stayed finite, every val/test cue scored."""
    assert len(result["devices"]) == 2 and result["replicas"] == 2, result
    assert all(np.isfinite(result["loss"])), result
    assert result["predicted"] == len(manifest.split("val")) + len(manifest.split("test"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_models_train_and_musicnn_agrees_under_another_backend(backend, tiny_manifest, tmp_path):
    """Under JAX the same process also trains data parallel over two CPU devices standing in
    for two GPUs (one start-up of the backend for both)."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed: `pip install {backend}` to test that backend")
    from filmgenre.models import musicnn

    try:
        tagger = musicnn.load_pretrained()  # under TensorFlow, this process's backend
    except musicnn.MusicnnUnavailable as exc:
        pytest.skip(str(exc))
    rng = np.random.default_rng(1)
    patches = rng.gamma(1.0, 0.5, size=(3, musicnn.PATCH_FRAMES, musicnn.N_MELS)).astype(np.float32)
    np.save(tmp_path / "patches.npy", patches)
    env, extra = {**os.environ, "KERAS_BACKEND": backend}, []
    if backend == "jax":
        # the session's XLA flags (conftest.THREADS_PER_PROCESS) and two CPU devices
        flags = os.environ.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=2".strip()
        tiny_manifest.save(tmp_path / "dataset")
        extra = [str(tmp_path / "dataset")]
    proc = subprocess.run([sys.executable, "-c", SCRIPT, backend, str(tmp_path), *extra],
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    result = json.loads(line.removeprefix("RESULT"))
    assert result["device"]["backend"] == backend
    for name in ("study_cnn", "resnet_cnn"):
        losses = result[name]["loss"]
        assert len(losses) == 2 and all(np.isfinite(losses)), (name, losses)
        assert result[name]["reload_diff"] < 1e-5, name
    assert result["attention_pooling"] == 10
    reference = np.asarray(tagger.predict(patches, verbose=0))
    assert_allclose(np.asarray(result["musicnn"]), reference, atol=2e-4)
    if backend == "jax":
        _assert_data_parallel(result["parallel"], tiny_manifest)


PARALLEL_SCRIPT = r"""
import json, sys
import tensorflow as tf

manifest_dir, out = sys.argv[1:3]
cpu = tf.config.list_physical_devices("CPU")[0]  # two logical devices, before TF starts
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from filmgenre.data import dataset
from filmgenre.training import loop as train

manifest = dataset.Manifest.load(manifest_dir)
config = train.TrainConfig(epochs=2, batch_size=8, verbose=0, parallel="all", stream=True)
trained = train.train_model("study_cnn", manifest, out, "mfcc", config=config, label="cnn")
print("RESULT" + json.dumps({
    "devices": trained.info["data_parallel_devices"], "loss": trained.history["loss"].tolist(),
    "replicas": trained.model.distribute_strategy.num_replicas_in_sync,
    "predicted": len(trained.predictions)}))
"""


@pytest.mark.slow
def test_training_runs_data_parallel_over_two_devices_streamed(tiny_manifest, tmp_path):
    """TensorFlow, streamed: the CPU split into two logical devices stands in for two GPUs
    (JAX from arrays: test_models_train_and_musicnn_agrees_under_another_backend)."""
    tiny_manifest.save(tmp_path / "dataset")
    proc = subprocess.run(
        [sys.executable, "-c", PARALLEL_SCRIPT, str(tmp_path / "dataset"), str(tmp_path / "run")],
        env={**os.environ, "KERAS_BACKEND": "tensorflow"}, capture_output=True, text=True,
        timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    _assert_data_parallel(json.loads(line.removeprefix("RESULT")), tiny_manifest)


def test_one_device_means_no_distribution():
    from filmgenre.runtime import devices

    assert devices.parallel_devices("none") == []
    if len(devices.device_summary()["gpus"]) < 2:  # "auto" spreads over GPUs only
        assert devices.parallel_devices("auto") == []
    with pytest.raises(ValueError, match="unknown parallel mode"):
        devices.parallel_devices("many")
