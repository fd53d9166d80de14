"""Augmentation: audiomentations renderings cached and repeatable, crops and mixup in
training, and a CNN trained with all of them through the project's loop."""

from __future__ import annotations

import io

import numpy as np
import pytest

from filmgenre.data import dataset, features
from filmgenre.training import augment, inputs
from filmgenre.training import loop as train


@pytest.mark.slow
def test_variants_are_cached_repeatable_and_differ_from_the_plain_cue(tiny_manifest):
    two = dataset.Manifest(tiny_manifest.cues.head(2), genres=tiny_manifest.genres)
    params = features.FeatureParams()
    augment.extract_variants(two, 2, params, n_jobs=1, progress=False)
    first = augment.variant_path(two.cues.features[0], 0, params, features.default_cache_dir())
    kept = first.read_bytes()
    first.unlink()
    again = augment._render((two.cues.path[0], two.cues.features[0], 0, params,
                             str(features.default_cache_dir())))  # fmt: skip
    with np.load(io.BytesIO(kept)) as a, np.load(again) as b:
        np.testing.assert_allclose(a["logmel"], b["logmel"])  # same seed, same rendering
        plain = features.load_cue(two.cues.features[0], "logmel")
        assert not np.allclose(a["logmel"][:, : plain.shape[1]], plain[:, : a["logmel"].shape[1]])
    x, y = augment.variant_tiles(
        dataset.Manifest(two.cues.assign(split="train"), genres=two.genres), "train", 2, "mfcc"
    )
    assert x.shape[1:] == (40, 100) and len(x) == len(y) >= 4


def test_mixup_blends_pairs_and_keeps_label_mass():
    x = np.stack([np.zeros((4, 5)), np.ones((4, 5))] * 8).astype(np.float32)
    y = np.tile(np.array([[1, 0], [0, 1]], np.float32), (8, 1))
    batches = augment.mixup_batches(x, y, batch_size=16, alpha=0.4, seed=0)
    bx, by = batches[0]
    assert bx.shape == (16, 4, 5) and by.shape == (16, 2)
    np.testing.assert_allclose(by.sum(axis=1), 1.0, rtol=1e-6)
    assert ((bx > 0) & (bx < 1)).any()  # some pairs mixed a zero and a one example
    assert (by.max(axis=1) >= 0.5).all()  # each example keeps the larger share


@pytest.mark.slow
def test_a_cnn_trains_on_crops_variants_and_mixup(tiny_manifest, tmp_path):
    plain = train.TrainConfig(epochs=1, batch_size=16, verbose=0)
    augmented = train.TrainConfig(epochs=1, batch_size=16, verbose=0, augment_variants=1,
                                  crop_hop_frames=25, mixup_alpha=0.2)  # fmt: skip
    x0, _ = inputs.training_examples(
        tiny_manifest, "tiles", "mfcc", features.FeatureParams(), plain
    )
    x1, y1 = inputs.training_examples(tiny_manifest, "tiles", "mfcc", features.FeatureParams(),
                                     augmented)  # fmt: skip
    assert len(x1) > 2 * len(x0) and len(x1) == len(y1)
    result = train.train_model("study_cnn", tiny_manifest, tmp_path, "mfcc", config=augmented)
    assert result.info["train_examples"] == len(x1)
    assert result.info["train_config"]["mixup_alpha"] == 0.2
    assert np.isfinite(result.history["loss"]).all()
