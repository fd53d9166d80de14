"""Tiles streamed from the feature caches equal the stacked tiles, shuffled across cues."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from filmgenre.config import FeatureParams
from filmgenre.data import features
from filmgenre.training import augment, cue_scores, streaming
from filmgenre.training import loop as train


def _stacked(batches) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*(batches[i] for i in range(len(batches))), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("kind", ["mfcc", "logmel"])
def test_unshuffled_stream_equals_the_stacked_tiles(tiny_manifest, kind):
    in_memory = features.load_tiles(tiny_manifest, "train", kind)
    index = streaming.tile_index(tiny_manifest, "train", kind)
    x, y = _stacked(streaming.tile_batches(index, batch_size=7, shuffle=False))
    assert_array_equal(x, in_memory.x)
    assert_array_equal(y, in_memory.y)
    assert_array_equal(index.cue, in_memory.cue)


def test_crops_and_the_per_cue_limit_match_the_in_memory_path(tiny_manifest):
    params = FeatureParams()
    crops = replace(params, tile_hop_frames=10)
    ts = features.load_tiles(tiny_manifest, "val", "mfcc", crops)
    keep = streaming.per_cue_subset(ts.cue, 2)
    index = streaming.tile_index(tiny_manifest, "val", "mfcc", params, max_per_cue=2,
                                 crop_hop_frames=10)  # fmt: skip
    x, _ = _stacked(streaming.tile_batches(index, batch_size=5, shuffle=False))
    assert len(ts.x) > len(keep)  # the limit bites
    assert_array_equal(x, ts.x[keep])


def test_standardisation_equals_normalization_adapt_on_the_stacked_tiles(tiny_manifest):
    ts = features.load_tiles(
        tiny_manifest, "train", "logmel", replace(FeatureParams(), tile_hop_frames=30)
    )  # fmt: skip (overlapping tiles)
    index = streaming.tile_index(tiny_manifest, "train", "logmel", crop_hop_frames=30)
    mean, variance = index.standardisation()
    assert_allclose(mean, ts.x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-6)
    assert_allclose(variance, ts.x.astype(np.float64).var(axis=(0, 2)), rtol=1e-5)


def test_shuffled_epochs_cover_every_tile_once_in_a_new_order(tiny_manifest):
    index = streaming.tile_index(tiny_manifest, "train", "mfcc", crop_hop_frames=10)
    batches = streaming.tile_batches(index, batch_size=8, seed=3, block_cues=4)
    orders = []
    for _ in range(2):
        order = batches.order.copy()
        assert sorted(order) == list(range(len(index)))
        orders.append(order)
        first = batches[0][0]
        # a batch mixes tiles of several cues
        assert len(np.unique(index.tile_source[order[:8]])) > 1
        assert first.shape == (8, index.n_bins, index.tile_frames)
        batches.on_epoch_end()
    assert not np.array_equal(orders[0], orders[1])
    assert len(batches._cache) <= 8  # two blocks of cues, whatever the collection's size


def test_shuffle_blocks_span_as_many_cues_as_the_cache_budget_allows(tiny_manifest, monkeypatch):
    """The default block is as wide as two blocks of matrices fit the cache budget: the
    whole split for a collection that fits (the same order as one block holding every
    cue), never fewer than MIN_BLOCK_CUES however large the matrices."""
    index = streaming.tile_index(tiny_manifest, "train", "mfcc", crop_hop_frames=10)
    sizes = index.source_bytes()
    frames = np.array([index.read(s).shape[1] for s in range(len(index.files))])
    assert np.all(sizes <= frames * index.n_bins * 4)
    assert np.all(sizes > (frames - 10 - index.tile_frames) * index.n_bins * 4)
    mean = sizes.mean()
    assert streaming.auto_block_cues(index, cache_bytes=int(2 * mean * 100.5)) == 100
    assert streaming.auto_block_cues(index, cache_bytes=1) == streaming.MIN_BLOCK_CUES
    default = streaming.tile_batches(index, batch_size=8, seed=5)
    whole = streaming.tile_batches(index, batch_size=8, seed=5, block_cues=10**9)
    assert_array_equal(default.order, whole.order)
    narrow = streaming.tile_batches(index, batch_size=8, seed=5, block_cues=2)
    assert not np.array_equal(narrow.order, whole.order)
    # an unshuffled pass (validation, prediction) reads the sources in turn: a small cache
    monkeypatch.setattr(streaming, "MIN_BLOCK_CUES", 2)
    plain = streaming.tile_batches(index, batch_size=8, shuffle=False)
    for i in range(len(plain)):
        plain[i]
        assert len(plain._cache) <= 4


def test_augmented_renderings_join_the_index(tiny_manifest):
    train_only = type(tiny_manifest)(tiny_manifest.split("train"), genres=tiny_manifest.genres)
    augment.extract_variants(train_only, 1, n_jobs=1, progress=False)
    plain = streaming.tile_index(tiny_manifest, "train", "mfcc")
    both = streaming.tile_index(tiny_manifest, "train", "mfcc", augment_variants=1)
    assert len(both.files) == 2 * len(plain.files)
    xa, _ = augment.variant_tiles(tiny_manifest, "train", 1, "mfcc")
    x, _ = _stacked(streaming.tile_batches(both, batch_size=16, shuffle=False))
    assert_array_equal(x[len(plain) :], xa)
    assert_array_equal(both.cue[len(plain):], plain.source_cue[np.repeat(
        np.arange(len(plain.files)), np.bincount(plain.tile_source))])  # fmt: skip


def test_stacking_the_index_gives_the_in_memory_training_and_validation_arrays(tiny_manifest):
    """The in-memory path stacks the tiles of the index (each cache read once): the arrays
    the tile loaders give, crops and augmented renderings included."""
    from filmgenre.training import inputs

    params = FeatureParams()
    config = train.TrainConfig(crop_hop_frames=10, augment_variants=1)
    train_index, val_index = inputs.training_index(tiny_manifest, "mfcc", params, config)
    # the reference, read without the index: crops of the plain cues, then the renderings
    crops = replace(params, tile_hop_frames=10)
    x_plain, y_plain, _, _ = inputs.load_inputs(tiny_manifest, "train", "tiles", "mfcc", crops)
    x_aug, y_aug = augment.variant_tiles(tiny_manifest, "train", 1, "mfcc", params, 10)
    x_ref, y_ref = np.concatenate([x_plain, x_aug]), np.concatenate([y_plain, y_aug])
    x, y = train_index.stack()
    assert_array_equal(x, x_ref)
    assert_array_equal(y, y_ref)
    xv_ref, yv_ref, _, _ = inputs.load_inputs(tiny_manifest, "val", "tiles", "mfcc", params)
    xv, yv = val_index.stack()
    assert_array_equal(xv, xv_ref)
    assert_array_equal(yv, yv_ref)


@pytest.mark.slow
def test_streamed_and_in_memory_training_both_save_a_model(tiny_manifest, tmp_path,
                                                           monkeypatch):  # fmt: skip
    results = {}
    for stream in (True, False, None):
        config = train.TrainConfig(epochs=2, batch_size=16, verbose=0, stream=stream, seed=0)
        results[stream] = train.train_model("study_cnn", tiny_manifest, tmp_path, "mfcc",
                                            config=config, label=f"cnn_{stream}")  # fmt: skip
    streamed, in_memory = results[True], results[False]
    assert streamed.info["train_config"]["stream"] is True and streamed.info["streamed"]
    # the default (None) stacks a collection that fits the budget, streams one that does not
    assert train.TrainConfig().stream is None and results[None].info["streamed"] is False
    monkeypatch.setattr(train, "STREAM_ABOVE_BYTES", 1000)
    over = train.train_model("study_cnn", tiny_manifest, tmp_path, "mfcc", label="cnn_over",
                             config=train.TrainConfig(epochs=1, batch_size=16, verbose=0))
    assert over.info["streamed"] is True
    assert streamed.info["train_examples"] == in_memory.info["train_examples"]
    assert len(streamed.predictions) == len(in_memory.predictions)
    layer, reference = (r.model.get_layer("standardise") for r in (streamed, in_memory))
    assert_allclose(np.asarray(layer.mean), np.asarray(reference.mean), rtol=1e-4, atol=1e-4)
    assert_allclose(np.asarray(layer.variance), np.asarray(reference.variance), rtol=1e-4)
    # the streamed predictions are the model's own on the stacked test tiles
    ts = features.load_tiles(tiny_manifest, "test", "mfcc")
    scores = cue_scores.predict_cues(streamed.model, ts.x, ts.cue, len(ts.cues))
    test = streamed.predictions[streamed.predictions["split"] == "test"]
    assert_allclose(test[[f"p_{g}" for g in tiny_manifest.genres]].to_numpy(), scores,
                    rtol=1e-4, atol=1e-5)  # fmt: skip
