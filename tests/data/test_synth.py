"""The synthetic soundtrack generator: deterministic, realistic labels, real audio files."""

from __future__ import annotations

import collections
import hashlib

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.stats import spearmanr

from filmgenre.data import synth
from filmgenre.genres import GENRES


def _digest(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_render_is_deterministic_in_its_seed():
    style = synth._film_style(synth.SynthConfig(), 3)
    a = synth.render_cue(["Action", "Drama"], 12.0, style, (0, 3, 1))
    b = synth.render_cue(["Action", "Drama"], 12.0, style, (0, 3, 1))
    c = synth.render_cue(["Action", "Drama"], 12.0, style, (0, 3, 2))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.dtype == np.float32 and len(a) == int(12.0 * synth.SR)
    assert np.all(np.isfinite(a)) and np.max(np.abs(a)) <= 0.98


def test_generate_is_identical_across_runs_and_process_counts(tmp_path):
    config = synth.SynthConfig(n_films=3, cues_per_film=(1, 2), cue_seconds=(10.5, 11.0), seed=7)
    one = synth.generate(tmp_path / "one", config, n_jobs=1, progress=False)
    two = synth.generate(tmp_path / "two", config, n_jobs=2, progress=False)
    files_one = sorted(p.relative_to(one) for p in one.rglob("*.wav"))
    assert files_one == sorted(p.relative_to(two) for p in two.rglob("*.wav"))
    assert len(files_one) >= 3
    for rel in files_one:
        assert _digest(one / rel) == _digest(two / rel), rel
    assert (one / "labels.csv").read_text() == (two / "labels.csv").read_text()
    other = synth.generate(
        tmp_path / "other",
        synth.SynthConfig(n_films=3, cues_per_film=(1, 2), cue_seconds=(10.5, 11.0), seed=8),
        progress=False,
    )
    assert _digest(other / files_one[0]) != _digest(one / files_one[0])


def test_generate_refuses_to_mix_settings_in_one_folder(tmp_path):
    synth.generate(
        tmp_path,
        synth.SynthConfig(n_films=1, cues_per_film=(1, 1), cue_seconds=(10.5, 10.5)),
        progress=False,
    )
    with pytest.raises(FileExistsError, match="other settings"):
        synth.generate(tmp_path, synth.SynthConfig(n_films=2), progress=False)


def test_collection_looks_like_user_data(tiny_collection):
    labels = pd.read_csv(tiny_collection / "labels.csv")
    assert list(labels.columns) == ["film", "genres"]
    assert len(labels) == 16
    for row in labels.itertuples():
        cues = sorted((tiny_collection / "audio" / row.film).glob("*.wav"))
        assert len(cues) == 2
        info = sf.info(cues[0])
        assert info.samplerate == 22050 and info.channels == 1 and 11.0 <= info.duration <= 14.0
        assert set(row.genres.split(", ")) <= set(GENRES)


def test_every_cue_of_a_film_shares_its_genres():
    plan = synth.plan(synth.SynthConfig(n_films=50))
    assert (plan.groupby("film")["genres"].nunique() == 1).all()
    assert plan.groupby("film").size().between(2, 4).all()


def test_label_sets_follow_the_study():
    sets = synth.sample_genre_sets(4000, np.random.default_rng(0))
    sizes = np.array([len(s) for s in sets])
    assert sizes.min() == 1 and sizes.max() == 3
    assert 2.2 <= sizes.mean() <= 2.5  # the study: 2.34 genres per cue
    assert all(len(set(s)) == len(s) for s in sets)
    counts = collections.Counter(g for s in sets for g in s)
    rho = spearmanr([counts[g] for g in GENRES], [synth.STUDY_GENRE_COUNTS[g] for g in GENRES])[0]
    assert rho > 0.9
    pairs = collections.Counter(
        frozenset(p) for s in sets for p in [(a, b) for i, a in enumerate(s) for b in s[i + 1 :]]
    )
    # common pairs of the study are common here, absent ones (nearly) absent
    assert pairs[frozenset({"Drama", "Romance"})] > 20 * max(
        1, pairs[frozenset({"Action", "Musical"})]
    )
    assert pairs[frozenset({"Comedy", "Musical"})] > pairs[frozenset({"Crime", "Musical"})]


def test_genre_motifs_differ_in_time_frequency_pattern():
    """Each motif alone has a distinct log-mel pattern: tiles of the same genre (other seeds,
    other keys) are closer to each other than to other genres' tiles."""
    import librosa

    def pattern(genre: str, seed: int) -> np.ndarray:
        track = synth._Track(10.0, synth.SR)
        style = {"key": seed % 5, "tempo": 1.0, "octave": 0, "timbre": "saw"}
        synth.MOTIFS[genre](np.random.default_rng(seed), track, style)
        mel = librosa.power_to_db(
            librosa.feature.melspectrogram(
                y=track.buf, sr=synth.SR, n_fft=4096, hop_length=2205, n_mels=40
            )
        )
        # temporal modulation profile: how much each band changes from frame to frame
        return np.abs(np.diff(mel, axis=1)).mean(axis=1)

    profiles = {g: [pattern(g, s) for s in (1, 2)] for g in GENRES}
    correct = 0
    for g in GENRES:
        query = profiles[g][0]
        distances = {h: np.linalg.norm(query - profiles[h][1]) for h in GENRES}
        correct += min(distances, key=distances.get) == g
    assert correct >= 8
