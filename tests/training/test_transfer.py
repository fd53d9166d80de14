"""musicnn ported to Keras 3: every checkpoint variable in place, sensible tags on real
recordings, and the transfer models (embeddings + classifier, fine-tuning) training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from filmgenre import predict
from filmgenre.data import musicnn_input
from filmgenre.data.audio import load_audio
from filmgenre.models import musicnn
from filmgenre.training import loop as train
from filmgenre.training import transfer


@pytest.fixture(scope="module")
def tagger():
    try:
        musicnn.checkpoint_dir("MTT_musicnn")
    except musicnn.MusicnnUnavailable as exc:
        pytest.skip(str(exc))
    return musicnn.load_pretrained("MTT_musicnn")


CLASSICAL_TAGS = {"classical", "strings", "violin", "cello", "piano", "harpsichord", "flute",
                  "harp", "classic", "choral", "choir", "opera"}  # fmt: skip
ROCK_TAGS = {"rock", "guitar", "metal", "drums", "loud"}


def _tag_mass(scores: np.ndarray, tags: set[str]) -> float:
    return float(sum(scores[musicnn.MTT_LABELS.index(t)] for t in tags))


def test_every_checkpoint_variable_lands_in_the_keras_model(tagger):
    weights = musicnn.read_checkpoint("MTT_musicnn")
    assert len(weights) == 64  # 11 batch norms x 4, 8 convolutions x 2, 2 dense x 2
    assert_allclose(tagger.get_layer("conv2d_5").get_weights()[0],
                    weights["conv2d_5/kernel"].reshape(7, 561, 64))  # fmt: skip
    assert_allclose(tagger.get_layer("penultimate").get_weights()[3],
                    weights["batch_normalization_10/moving_variance"])  # fmt: skip
    assert tagger.output_shape == (None, 50)
    assert musicnn.config("MTT_musicnn")["audio_rep"]["n_mels"] == musicnn.N_MELS


def test_input_follows_musicnn_spec():
    sr = musicnn.SAMPLE_RATE
    y = np.sin(2 * np.pi * 440 * np.arange(3 * sr) / sr).astype(np.float32)
    spec = musicnn.input_features(y)
    assert spec.shape == (1 + 3 * sr // musicnn.HOP_LENGTH, musicnn.N_MELS)
    assert np.isfinite(spec).all() and spec.min() >= 0  # log10(10000 x + 1) of power >= 0
    assert musicnn.patches(spec).shape == (1, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    assert musicnn.patches(spec[:100]).shape[0] == 0


@pytest.mark.slow
def test_ported_tagger_hears_classical_and_rock(tagger, realaudio):
    """Top tags of real classical clips are classical/strings-type, of rock clips
    rock/guitar-type: only true if every weight sits where the TF-1 graph had it."""
    wins = {"classical": 0, "rock": 0}
    top_in_family = {"classical": 0, "rock": 0}
    for genre, own, other in (("classical", CLASSICAL_TAGS, ROCK_TAGS),
                              ("rock", ROCK_TAGS, CLASSICAL_TAGS)):  # fmt: skip
        for n in range(1, 9):
            y = load_audio(realaudio / "emotify" / genre / f"{n}.mp3", musicnn.SAMPLE_RATE)
            patches = musicnn.patches(musicnn.input_features(y))[:4]
            scores = np.asarray(tagger.predict(patches, verbose=0)).mean(0)
            wins[genre] += _tag_mass(scores, own) > _tag_mass(scores, other)
            top_in_family[genre] += musicnn.MTT_LABELS[int(scores.argmax())] in own
    assert wins["classical"] >= 7 and wins["rock"] >= 6, wins
    assert top_in_family["classical"] >= 6 and top_in_family["rock"] >= 6, top_in_family


@pytest.fixture(scope="module")
def musicnn_inputs(tiny_manifest, tagger):
    musicnn_input.extract_inputs(tiny_manifest, progress=False)
    return tiny_manifest


def test_patches_and_embeddings_are_cached_per_cue(musicnn_inputs):
    x, y, cue, cues = transfer.load_patches(musicnn_inputs, "train")
    assert x.shape[1:] == (musicnn.PATCH_FRAMES, musicnn.N_MELS) and len(x) == len(y) == len(cue)
    assert set(cue) == set(range(len(cues)))  # every cue (>= 11 s) gives patches
    x1, _, cue1, _ = transfer.load_patches(musicnn_inputs, "train", max_per_cue=1)
    assert len(x1) == len(cues) and np.array_equal(cue1, np.arange(len(cues)))
    emb, labels, ecues = transfer.load_embeddings(musicnn_inputs, "train", progress=False)
    assert emb.shape == (len(cues), 400) and labels.shape == (len(cues), 10)
    again, _, _ = transfer.load_embeddings(musicnn_inputs, "train", progress=False)
    assert_allclose(emb, again)


def test_vgg_embeddings_are_cached_like_musicnns(musicnn_inputs):
    """A VGG checkpoint's two layers come from one pass, cached per cue; the cue vector of
    ``musicnn:MTT_vgg:pool5`` is their mean and spread (512-d)."""
    from filmgenre.evaluation.crossval import vectors

    emb, _, cues = transfer.load_embeddings(musicnn_inputs, "train", "MTT_vgg", "pool5",
                                            progress=False)  # fmt: skip
    assert emb.shape == (len(cues), 512) and np.isfinite(emb).all()
    tags = transfer.patch_embeddings(cues["features"].iloc[0], "MTT_vgg", "taggram",
                                     transfer.default_cache_dir())  # fmt: skip
    assert tags.shape[1] == 50 and ((tags > 0) & (tags < 1)).all()
    joined = vectors.cue_vectors(musicnn_inputs, ["musicnn:MTT_vgg:pool5"], progress=False)
    assert_allclose(joined[musicnn_inputs.cues["split"].to_numpy() == "train"], emb)
    with pytest.raises(ValueError, match="choose one of \\['taggram', 'pool5'\\]"):
        transfer.patch_embeddings(cues["features"].iloc[0], "MTT_vgg", "penultimate",
                                  transfer.default_cache_dir())  # fmt: skip


def test_segment_vectors_are_the_patches_the_cue_vector_summarises(musicnn_inputs):
    """A segment-level family's rows are each cue's 3 s patch embeddings: as many as the
    cue has patches, and their mean is the mean half of the cue-level vector."""
    from filmgenre.evaluation.crossval import vectors

    part = ["musicnn:MTT_musicnn:penultimate"]
    seg = vectors.segment_vectors(musicnn_inputs, part, progress=False)
    cue_level = vectors.cue_vectors(musicnn_inputs, part, progress=False)
    _, _, patch_cue, cues = transfer.load_patches(musicnn_inputs, None)
    assert len(seg) == len(cues) and seg.rows.shape == (len(patch_cue), 200)
    assert_allclose(np.bincount(seg.cue), np.bincount(patch_cue))
    assert_allclose(seg.per_cue(seg.rows), cue_level[:, :200], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["musicnn_mlp", "musicnn_finetuned"])
def test_transfer_models_train_and_save(musicnn_inputs, tmp_path, name):
    config = train.TrainConfig(epochs=2, batch_size=8, patience=2, verbose=0, max_tiles_per_cue=1)
    result = train.train_model(name, musicnn_inputs, tmp_path, config=config)
    folder = tmp_path / "models" / name
    info = json.loads((folder / "config.json").read_text())
    assert info["input"] in {"musicnn_embedding", "musicnn_patches"}
    preds = pd.read_csv(folder / "predictions.csv")
    n_eval = len(musicnn_inputs.split("val")) + len(musicnn_inputs.split("test"))
    assert len(preds) == n_eval and np.isfinite(preds.filter(like="p_").to_numpy()).all()
    if name == "musicnn_finetuned":
        # the front-end stays as pretrained, the rest moved
        pretrained = musicnn.load_pretrained()
        for layer in ("conv2d", "conv2d_3"):
            assert_allclose(result.model.get_layer(layer).get_weights()[0],
                            pretrained.get_layer(layer).get_weights()[0])  # fmt: skip
        assert not np.allclose(result.model.get_layer("dense").get_weights()[0],
                               pretrained.get_layer("dense").get_weights()[0])  # fmt: skip
        assert info["trainable_params"] < info["params"]
        bn = result.model.get_layer("batch_normalization_6")  # mid-end: statistics as pretrained
        assert_allclose(bn.get_weights()[2], pretrained.get_layer(bn.name).get_weights()[2])
    # `filmgenre tag` works with transfer models: new files get musicnn inputs first
    files = list(musicnn_inputs.split("test")["path"])[:2]
    table, skipped = predict.tag_files(files, folder, n_jobs=1, progress=False)
    assert table.shape == (2, 10) and skipped.empty
    stored = preds.set_index(["film", "cue"]).filter(like="p_")
    for path in files:
        film, cue = musicnn_inputs.cues.set_index("path").loc[path, ["film", "cue"]]
        assert_allclose(table.loc[path].to_numpy(), stored.loc[(film, cue)].to_numpy(), atol=1e-5)


def test_a_gpu_pass_takes_as_many_patches_as_a_quarter_of_its_memory_holds(monkeypatch):
    from filmgenre.runtime import devices

    monkeypatch.setattr(devices, "accelerator_memory", lambda: None)  # a CPU
    assert transfer.pass_batch() == transfer.PASS_BATCH == 64
    monkeypatch.setattr(devices, "accelerator_memory", lambda: 139 << 30)  # an H200
    assert transfer.pass_batch() == (139 << 30) // 4 // transfer.PATCH_BYTES == 1482
    monkeypatch.setattr(devices, "accelerator_memory", lambda: 8 << 30)  # a small card
    assert transfer.pass_batch() == 1024
    # an index build's chunks (and a Dask worker's tasks) fill a GPU's pass with 15 s cues;
    # on a CPU they stay as asked (tests build in chunks of 4)
    assert transfer.cues_to_fill(1482) == 297 and transfer.cues_to_fill(1024) == 205
    assert transfer.cues_to_fill(transfer.PASS_BATCH) == 0
