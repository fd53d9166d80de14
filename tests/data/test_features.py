"""Features against direct librosa calls, tiling, and the content+parameter keyed cache."""

from __future__ import annotations

import shutil
from dataclasses import replace

import librosa
import numpy as np
import pytest
import soundfile as sf
from numpy.testing import assert_allclose

from filmgenre.config import FeatureParams
from filmgenre.data import audio, dataset, features

P = FeatureParams()


def _first_cue(tiny_collection):
    return sorted((tiny_collection / "audio").rglob("*.wav"))[0]


def test_features_equal_direct_librosa_calls(tiny_collection):
    path = _first_cue(tiny_collection)
    y_ref, _ = librosa.load(path, sr=P.sample_rate)
    mel = librosa.feature.melspectrogram(
        y=y_ref, sr=P.sample_rate, n_fft=P.n_fft, hop_length=P.hop_length, n_mels=P.n_mels
    )
    mfcc = librosa.feature.mfcc(
        y=y_ref,
        sr=P.sample_rate,
        n_mfcc=P.n_mfcc,
        n_fft=P.n_fft,
        hop_length=P.hop_length,
        n_mels=P.n_mels,
    )
    ours = features.compute_features(audio.load_audio(path, P.sample_rate), P)
    assert_allclose(ours["logmel"], librosa.power_to_db(mel), rtol=1e-4, atol=1e-3)
    assert_allclose(ours["mfcc"], mfcc, rtol=1e-4, atol=1e-2)
    assert ours["mfcc"].shape == (40, 1 + len(y_ref) // P.hop_length)


def test_real_mp3_and_ogg_decode_and_match_librosa(realaudio):
    for path in (
        realaudio / "emotify" / "rock" / "1.mp3",
        realaudio / "librosa" / "sorohanro_-_solo-trumpet-06.ogg",
    ):
        ours = audio.load_audio(path, P.sample_rate)
        ref, _ = librosa.load(path, sr=P.sample_rate, res_type="soxr_hq")
        assert abs(len(ours) - len(ref)) <= 2 * P.sample_rate // 100
        n = min(len(ours), len(ref))
        assert_allclose(ours[:n], ref[:n], atol=2e-3)


def test_tiles_are_windows_of_the_matrix():
    m = np.arange(40 * 260, dtype=np.float32).reshape(40, 260)
    tiles = features.tile(m, P)
    assert tiles.shape == (4, 40, 100)  # starts 0, 50, 100, 150
    assert_allclose(tiles[2], m[:, 100:200])
    assert features.tile(m[:, :99], P).shape == (0, 40, 100)


def test_cache_is_reused_and_keyed_by_content_and_parameters(tmp_path, monkeypatch):
    src = tmp_path / "audio" / "film" / "cue.wav"
    src.parent.mkdir(parents=True)
    t = np.arange(12 * 22050) / 22050
    sf.write(src, 0.2 * np.sin(2 * np.pi * 220 * t), 22050)
    (tmp_path / "labels.csv").write_text("film,genres\nfilm,Drama\n")
    manifest = dataset.build_manifest(tmp_path / "audio", tmp_path / "labels.csv")
    cache = tmp_path / "cache"
    first = features.extract(manifest, cache_dir=cache, n_jobs=1, progress=False)
    cached = first.cues["features"].iloc[0]

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the features are cached")

    monkeypatch.setattr(features, "load_audio", no_decoding)
    second = features.extract(manifest, cache_dir=cache, n_jobs=1, progress=False)
    assert second.cues["features"].iloc[0] == cached
    # same bytes under another name: same cache entry
    shutil.copy(src, src.with_name("renamed.wav"))
    renamed = dataset.build_manifest(tmp_path / "audio", tmp_path / "labels.csv")
    assert set(
        features.extract(renamed, cache_dir=cache, n_jobs=1, progress=False).cues["features"]
    ) == {cached}
    # any parameter change gives another key, so stale features are never reused
    monkeypatch.undo()
    other = features.extract(
        manifest, replace(P, n_mels=32), cache_dir=cache, n_jobs=1, progress=False
    )
    assert other.cues["features"].iloc[0] != cached
    assert features.load_cue(other.cues["features"].iloc[0], "logmel").shape[0] == 32


def test_parallel_extraction_matches_sequential(tiny_manifest, tmp_path):
    subset = dataset.Manifest(tiny_manifest.cues.head(6).drop(columns=["features", "n_tiles"]))
    seq = features.extract(subset, cache_dir=tmp_path / "a", n_jobs=1, progress=False)
    par = features.extract(subset, cache_dir=tmp_path / "b", n_jobs=2, progress=False)
    for a, b in zip(seq.cues["features"], par.cues["features"], strict=True):
        assert_allclose(features.load_cue(a), features.load_cue(b))


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not a wave file", "corrupt or not a .wav"),
    ],
)
def test_bad_files_are_skipped_with_their_reason(tmp_path, content, reason):
    (tmp_path / "audio" / "film").mkdir(parents=True)
    bad = tmp_path / "audio" / "film" / "bad.wav"
    bad.write_bytes(content)
    manifest = dataset.Manifest(
        dataset.pd.DataFrame(
            {
                "film": ["film"],
                "cue": ["bad"],
                "path": [str(bad)],
                "genres": ["Drama"],
                "duration": [None],
            }
        )
    )
    out = features.extract(manifest, cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    assert out.cues.empty
    assert out.skipped["path"].tolist() == [str(bad)]
    assert reason in out.skipped["reason"].iloc[0]


def test_silence_is_rejected(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(22050 * 11), 22050)
    with pytest.raises(audio.AudioError, match="silent"):
        audio.load_audio(path, 22050)


def test_load_tiles_labels_each_tile_with_its_cue(tiny_manifest):
    ts = features.load_tiles(tiny_manifest, "train", "logmel")
    assert ts.x.shape[1:] == (40, 100) and len(ts.x) == len(ts.y) == len(ts.cue)
    assert len(ts.x) == ts.cues["n_tiles"].sum()
    assert_allclose(ts.y, ts.cue_labels()[ts.cue])
    x, y, cues = features.load_summaries(tiny_manifest, "test")
    assert x.shape == (len(cues), 160) and y.shape == (len(cues), 10)
