"""Ingestion of user collections: bad files get named reasons, builds resume, real recordings."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from filmgenre.config import project_root
from filmgenre.data import assemble, audio, dataset, features


def _tone_wav(path, seconds=11.0, sr=22050, freq=330.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), sr, subtype="PCM_16")
    return path


def test_truncated_wav_is_named(tmp_path):
    whole = _tone_wav(tmp_path / "whole.wav", seconds=12)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    with pytest.raises(audio.AudioError, match="truncated: the header declares"):
        audio.load_audio(cut, 22050)


def test_text_with_an_audio_extension_is_named(tmp_path):
    fake = tmp_path / "cue.mp3"
    fake.write_text("this is a cue sheet, not audio\n" * 50)
    with pytest.raises(audio.AudioError, match=r"corrupt or not a \.mp3 file"):
        audio.load_audio(fake, 22050)


def _encode_aac(wav, target):
    """Encode a WAV file to AAC in an MP4 container with PyAV (FFmpeg inside its wheel)."""
    import av

    y, sr = sf.read(wav, dtype="float32")
    with av.open(str(target), "w") as out:
        stream = out.add_stream("aac", rate=sr, layout="mono")
        for start in range(0, len(y), 1024):
            frame = av.AudioFrame.from_ndarray(y[None, start : start + 1024], format="flt",
                                               layout="mono")  # fmt: skip
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


@pytest.mark.slow
def test_m4a_decodes_in_process_without_a_system_ffmpeg(tmp_path, monkeypatch):
    wav = _tone_wav(tmp_path / "cue.wav", seconds=11.0)
    m4a = _encode_aac(wav, tmp_path / "cue.m4a")
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg binary can be found
    y = audio.load_audio(m4a, 22050)
    ref = audio.load_audio(wav, 22050)
    assert abs(len(y) - len(ref)) < 0.1 * 22050
    middle = ref[22050 : 10 * 22050]
    # AAC's encoder delay shifts the signal by up to a few thousand samples
    best = max(np.corrcoef(y[22050 + lag : 22050 + lag + len(middle)], middle)[0, 1]
               for lag in range(-3000, 3001, 4))  # fmt: skip
    assert best > 0.95


def test_undecodable_m4a_is_named_with_the_decoder_error(tmp_path):
    m4a = tmp_path / "cue.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(200))
    with pytest.raises(audio.AudioError, match=r"cue\.m4a: not decodable as audio \("):
        audio.load_audio(m4a, 22050)


def test_a_3_s_cue_is_looped_to_one_tile_and_the_rule_can_be_turned_off(tmp_path):
    short = _tone_wav(tmp_path / "audio" / "Film A" / "stinger.wav", seconds=3.0)
    labels = tmp_path / "labels.csv"
    labels.write_text("film,genres\nFilm A,Thriller\n")
    m = assemble.build_dataset(tmp_path / "audio", labels, progress=False, n_jobs=1,
                            fractions=(1.0, 0.0, 0.0))  # fmt: skip
    assert m.cues["n_tiles"].tolist() == [1] and m.skipped.empty
    params = features.FeatureParams()
    y = audio.load_audio(short, params.sample_rate)
    looped = np.resize(y, params.min_samples)  # the documented rule: repeat from the start
    expected = features.compute_features(looped, params)["logmel"]
    np.testing.assert_allclose(features.load_cue(m.cues.features[0], "logmel"), expected)
    assert features.tile(expected, params).shape == (1, params.n_mels, params.tile_frames)

    off = features.FeatureParams(short_cues="skip")
    with pytest.raises(ValueError, match="no usable cues"):
        assemble.build_dataset(tmp_path / "audio", labels, params=off, progress=False, n_jobs=1)
    manifest = dataset.build_manifest(tmp_path / "audio", labels, params=off)
    assert "shorter than one tile (3.00 s < 10.0 s)" in manifest.skipped["reason"].iloc[0]


def test_stereo_float_and_other_rates_decode_to_mono_at_the_target_rate(tmp_path):
    t = np.arange(48000 * 11) / 48000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1) * 0.3
    for subtype, ext in (("FLOAT", "wav"), ("PCM_24", "flac"), ("PCM_U8", "wav")):
        path = tmp_path / f"s_{subtype}.{ext}"
        sf.write(path, stereo, 48000, subtype=subtype)
        y = audio.load_audio(path, 22050)
        assert y.ndim == 1 and abs(len(y) - 11 * 22050) <= 2
        assert 0.2 < np.max(np.abs(y)) < 0.35


def _mp3(path, seconds=60.0, sr=22050):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr, format="MP3")
    return path


def test_a_cut_mp3_is_skipped_as_truncated_not_looped_into_a_cue(tmp_path):
    """A 60 s MP3 cut to its first 20 kB decodes to a few seconds; its header still says
    60 s. It is skipped with both figures instead of being looped into a whole cue."""
    whole = _mp3(tmp_path / "whole.mp3")
    assert abs(len(audio.load_audio(whole, 22050)) / 22050 - 60.0) < 0.5  # a whole file passes
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[:20_000])
    with pytest.raises(audio.AudioError, match=r"truncated: the header declares 60\.00 s"):
        audio.load_audio(cut, 22050)


def test_decoding_a_damaged_mp3_prints_nothing_to_the_terminal(tmp_path):
    """mpg123 writes "Note: Illegal Audio-MPEG-Header ..." to the process's stderr; the
    reason is in skipped.csv, so a dataset build's terminal stays clean (checked in a fresh
    process, at the file-descriptor level where the C decoder writes)."""
    whole = _mp3(tmp_path / "audio" / "Film" / "whole.mp3", seconds=20.0)
    (tmp_path / "audio" / "Film" / "cut.mp3").write_bytes(whole.read_bytes()[:9_000])
    (tmp_path / "audio" / "Film" / "notes.mp3").write_text("a cue sheet, not audio\n" * 50)
    (tmp_path / "labels.csv").write_text("film,genres\nFilm,Drama\n")
    script = ("import sys\nfrom filmgenre.data import assemble\n"
              "m = assemble.build_dataset(sys.argv[1], sys.argv[2], n_jobs=1, progress=False)\n"
              "print(sorted(m.skipped.reason.str.split(':').str[0]))\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "audio"),
                           str(tmp_path / "labels.csv")], capture_output=True, text=True,
                          env={**os.environ, "FILMGENRE_DATA": str(tmp_path / "data")},
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "['corrupt or not a .mp3 file (the decoder cannot parse its content)', 'truncated" \
        in done.stdout, done.stdout
    assert "Note:" not in done.stderr and "Illegal Audio-MPEG-Header" not in done.stderr
    assert "Xing" not in done.stderr, done.stderr


def test_a_film_whose_every_file_fails_to_decode_is_noted(tmp_path):
    """Film B's only files are a corrupt one and a copy of Film A's: it ends with no cue,
    and label_notes.csv says "no usable audio" for it as for a film without files."""
    first = _tone_wav(tmp_path / "audio" / "Film A" / "theme.wav")
    (tmp_path / "audio" / "Film B").mkdir()
    shutil.copy(first, tmp_path / "audio" / "Film B" / "theme (copy).wav")
    (tmp_path / "audio" / "Film B" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk" * 10)
    (tmp_path / "labels.csv").write_text("film,genres\nFilm A,Drama\nFilm B,Comedy\n"
                                         "Film C,Action\n")  # fmt: skip
    m = dataset.build_manifest(tmp_path / "audio", tmp_path / "labels.csv")
    out = features.extract(m, cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    notes = dict(zip(out.label_notes["film"], out.label_notes["note"], strict=True))
    assert set(out.cues["film"]) == {"Film A"}
    assert notes["Film B"].startswith("no usable audio: every file of the film was skipped")
    assert notes["Film C"].startswith("no usable audio: no audio file")


def test_duplicates_are_skipped_with_the_file_they_copy(tmp_path):
    first = _tone_wav(tmp_path / "audio" / "Film A" / "theme.wav")
    (tmp_path / "audio" / "Film B").mkdir()
    shutil.copy(first, tmp_path / "audio" / "Film B" / "theme (copy).wav")
    _tone_wav(tmp_path / "audio" / "Film B" / "other.wav", freq=500)
    (tmp_path / "labels.csv").write_text("film,genres\nFilm A,Drama\nFilm B,Comedy\n")
    m = dataset.build_manifest(tmp_path / "audio", tmp_path / "labels.csv")
    out = features.extract(m, cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    assert sorted(out.cues["cue"]) == ["other", "theme"]
    (reason,) = out.skipped["reason"]
    assert reason.startswith("duplicate of ") and "Film A/theme.wav" in reason
    assert out.skipped["path"].iloc[0].endswith("theme (copy).wav")


def test_nothing_usable_fails_loudly(tmp_path):
    (tmp_path / "audio" / "Film").mkdir(parents=True)
    (tmp_path / "audio" / "Film" / "a.wav").write_bytes(b"")
    (tmp_path / "labels.csv").write_text("film,genres\nFilm,Drama\n")
    with pytest.raises(ValueError, match="no usable cues"):
        assemble.build_dataset(tmp_path / "audio", tmp_path / "labels.csv", progress=False)


@pytest.mark.slow
def test_an_interrupted_build_resumes_and_redoes_only_what_is_missing(tiny_collection, tmp_path):
    env = {
        **os.environ,
        "FILMGENRE_DATA": str(tmp_path / "data"),
        "FILMGENRE_ROOT": str(project_root()),
    }
    args = [
        sys.executable,
        "-m",
        "filmgenre",
        "dataset",
        "build",
        "--jobs",
        "1",
        "--audio",
        str(tiny_collection / "audio"),
        "--labels",
        str(tiny_collection / "labels.csv"),
        "--out",
        str(tmp_path / "out"),
    ]
    cache = tmp_path / "data" / "interim" / "features"
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    def finished() -> list:  # cache entries written whole (a kill can interrupt a write)
        return [p for p in cache.rglob("*.npz") if not p.name.endswith(".tmp.npz")]

    while len(finished()) < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in finished()}
    assert 4 <= len(done_before) < 32, "the build was not interrupted part way"
    assert not (tmp_path / "out" / "manifest.csv").exists()
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    after = list(cache.rglob("*.npz"))
    assert len(after) == 32 and not list(cache.rglob("*.tmp.npz"))
    assert all(p.stat().st_mtime_ns == t for p, t in done_before.items()), "finished work redone"
    # same result as a build that was never interrupted
    clean = assemble.build_dataset(
        tiny_collection / "audio", tiny_collection / "labels.csv", progress=False
    )
    resumed = pd.read_csv(tmp_path / "out" / "manifest.csv")
    assert resumed["split"].tolist() == clean.cues["split"].tolist()
    for a, b in zip(resumed["features"], clean.cues["features"], strict=True):
        np.testing.assert_array_equal(features.load_cue(a), features.load_cue(b))


@pytest.mark.slow
def test_real_recordings_build_a_dataset_with_their_own_labels(realaudio, tmp_path):
    """Emotify: 120 real MP3 clips, labelled with emotion tags (not film genres); each clip
    is its own group, so a split can never hold one recording on both sides."""
    emotify = realaudio / "emotify"
    m = assemble.build_dataset(
        emotify,
        emotify / "labels.csv",
        tmp_path,
        genres="auto",
        label_column="tags",
        progress=False,
    )
    assert set(m.genres) == {
        "amazement",
        "solemnity",
        "tenderness",
        "nostalgia",
        "calmness",
        "power",
        "joyful_activation",
        "tension",
        "sadness",
    }
    assert len(m.cues) + len(m.skipped) == 120
    assert len(m.cues) >= 110, m.skipped
    assert (m.cues.groupby("film")["split"].nunique() == 1).all()
    assert m.cues["film"].nunique() == len(m.cues)
    summary = dataset.split_summary(m)
    assert (summary.loc[list(m.genres)] > 0).all().all()
    ts = features.load_tiles(m, "train", "logmel")
    assert ts.y.shape[1] == 9 and len(ts.x) > 300


@pytest.mark.slow
def test_dask_cluster_writes_the_same_cache_and_manifest(tiny_manifest, tmp_path):
    from distributed import LocalCluster

    subset = dataset.Manifest(tiny_manifest.cues.head(8).drop(columns=["features", "n_tiles"]))
    local = features.extract(subset, cache_dir=tmp_path / "local", n_jobs=2, progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = features.extract(
            subset, cache_dir=tmp_path / "dask", progress=False, scheduler=cluster.scheduler_address
        )
    assert remote.cues["n_tiles"].tolist() == local.cues["n_tiles"].tolist()
    for a, b in zip(local.cues["features"], remote.cues["features"], strict=True):
        assert a.replace(str(tmp_path / "local"), "") == b.replace(str(tmp_path / "dask"), "")
        np.testing.assert_array_equal(
            features.load_cue(a, "logmel"), features.load_cue(b, "logmel")
        )


def _copy_subset(source, target, table: pd.DataFrame, paths) -> None:
    """Copy ``paths`` (relative to ``source``) and write ``table`` as ``target/labels.csv``."""
    for rel in paths:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target / rel)
    table.to_csv(target / "labels.csv", index=False)


def test_real_collections_are_built_by_name_the_way_scripts_report_them(realaudio, tmp_path):
    """assemble.real_collection: emotify by its emotion tags, filmscore by film genres with its
    per-cue table; a folder without labels.csv is named in the error."""
    emotify = pd.read_csv(realaudio / "emotify" / "labels.csv")
    clips = emotify.groupby("genre").head(2)
    # a renamed copy too: the label table, not the folder's name, says it is emotify
    _copy_subset(realaudio / "emotify", tmp_path / "clips", clips, clips.file)
    m = assemble.real_collection(tmp_path / "clips", n_jobs=1)
    assert len(m.cues) == len(clips) and "power" in m.genres and "Drama" not in m.genres
    assert m.cues.film.nunique() == len(clips)  # every clip its own group

    films = pd.read_csv(realaudio / "filmscore" / "labels.csv").head(2)
    cues = pd.read_csv(realaudio / "filmscore" / "cues.csv")
    cues = cues[cues.film.isin(films.film)].groupby("film").head(2)
    _copy_subset(realaudio / "filmscore", tmp_path / "filmscore", films, cues.path)
    cues.to_csv(tmp_path / "filmscore" / "cues.csv", index=False)
    m = assemble.real_collection(tmp_path / "filmscore", n_jobs=1)
    assert len(m.cues) == len(cues) and set(m.cues.film) == set(films.film)
    assert "Drama" in m.genres and "composer" in m.cues.columns

    with pytest.raises(FileNotFoundError, match="no labels.csv"):
        assemble.real_collection(tmp_path / "nothing-here")


def test_a_constant_bitrate_mp3_cut_mid_frame_is_skipped_by_both_builds(realaudio, tmp_path,
                                                                        model_dir):  # fmt: skip
    """A real CBR MP3 (no VBR header: its decoded length matches what the file size
    suggests) cut to its first 20 kB: its last MPEG frame runs past the end of the file.
    `dataset build` and the library index skip it with that reason; whole files pass."""
    from filmgenre.library.ingest import build as build_index

    whole = realaudio / "emotify" / "rock" / "2.mp3"
    films = tmp_path / "audio" / "Film"
    films.mkdir(parents=True)
    (films / "trunc.mp3").write_bytes(whole.read_bytes()[:20_000])
    shutil.copy(whole, films / "whole.mp3")
    frame = audio.mp3_truncation(films / "trunc.mp3")
    assert frame is not None and frame[0] + frame[2] == 20_000 and frame[1] > frame[2]
    assert audio.mp3_truncation(whole) is None
    assert not [p for p in sorted(realaudio.rglob("*.mp3"))[::10] if audio.mp3_truncation(p)]
    (tmp_path / "labels.csv").write_text("film,genres\nFilm,Drama\n")
    m = assemble.build_dataset(tmp_path / "audio", tmp_path / "labels.csv", tmp_path / "out",
                            n_jobs=1, progress=False, fractions=(1.0, 0.0, 0.0))  # fmt: skip
    assert [p.rsplit("/", 1)[-1] for p in m.cues["path"]] == ["whole.mp3"]
    reason = m.skipped.set_index("path")["reason"][str(films / "trunc.mp3")]
    assert reason.startswith("truncated: the last MPEG frame (at byte ")
    report = build_index(tmp_path / "audio", tmp_path / "index.sqlite", model_dir, n_jobs=1,
                         progress=False)  # fmt: skip
    from filmgenre.library import store

    skipped = dict(store.skipped(store.connect(tmp_path / "index.sqlite")))
    assert report.tracks == 1 and skipped["Film/trunc.mp3"].startswith("truncated: the last")
