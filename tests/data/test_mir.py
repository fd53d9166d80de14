"""Music-information features: each measures what its name says on signals whose answer
is known, and real recordings are decoded once and cached by content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from filmgenre.data import dataset, mir

SR = mir.SAMPLE_RATE


def _value(vector: np.ndarray, name: str) -> float:
    return float(vector[mir.NAMES.index(name)])


def _chord(midi: list[int], seconds: float = 6.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tones = [np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) for m in midi]
    return (0.2 * np.sum(tones, axis=0)).astype(np.float32)


def test_major_and_minor_chords_fall_on_their_side_of_the_mode_feature():
    major = mir.mir_vector(_chord([60, 64, 67, 72]))  # C major
    minor = mir.mir_vector(_chord([57, 60, 64, 69]))  # A minor
    assert _value(major, "major_minus_minor") > 0 > _value(minor, "major_minus_minor")
    assert _value(major, "key_clarity") > 0.6
    assert len(major) == len(mir.NAMES) and np.isfinite(major).all()


def test_a_click_track_gives_its_tempo_onset_rate_and_a_clear_pulse():
    seconds, bpm = 12.0, 120
    y = np.zeros(int(seconds * SR), np.float32)
    click = np.hanning(256).astype(np.float32) * np.sin(np.arange(256) * 0.9).astype(np.float32)
    for start in np.arange(0, seconds, 60 / bpm):
        i = int(start * SR)
        y[i : i + 256] += click[: len(y) - i]
    noise = 0.01 * np.random.default_rng(0).normal(size=y.size).astype(np.float32)
    v, quiet = mir.mir_vector(y), mir.mir_vector(noise)
    assert _value(v, "tempo_bpm") == pytest.approx(bpm, rel=0.05)
    assert _value(v, "onset_rate_per_s") == pytest.approx(bpm / 60, rel=0.2)
    assert _value(v, "pulse_clarity") > _value(quiet, "pulse_clarity")


def test_a_crescendo_has_a_rising_loudness_and_a_wide_dynamic_range():
    t = np.arange(8 * SR) / SR
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    rising, steady = mir.mir_vector(tone * np.geomspace(0.01, 1.0, t.size)), mir.mir_vector(tone)
    assert _value(rising, "rms_db_slope_per_s") > 3 > abs(_value(steady, "rms_db_slope_per_s"))
    assert _value(rising, "rms_db_range_p90_p10") > 20 > _value(steady, "rms_db_range_p90_p10")


def test_real_recordings_are_decoded_once_and_cached_by_content(realaudio, tmp_path):
    files = sorted((realaudio / "filmscore").glob("*/*.mp3"))[:3]
    cues = pd.DataFrame({"film": [f.parent.name for f in files], "cue": [f.stem for f in files],
                         "path": [str(f) for f in files],
                         "features": [f"/x/{i:02d}digest.npz" for i in range(3)]})  # fmt: skip
    manifest = dataset.Manifest(cues.assign(Drama=1, genres="Drama"), genres=("Drama",))
    first = mir.load_mir(manifest, tmp_path, n_jobs=2, progress=False)
    cached = sorted(tmp_path.rglob("*.npy"))
    assert first.shape == (3, len(mir.NAMES)) and len(cached) == 3 and np.isfinite(first).all()
    # a second call reads the cache: even with the audio gone, the same vectors come back
    moved = manifest.cues.assign(path="/gone.mp3")
    again = mir.load_mir(dataset.Manifest(moved, genres=("Drama",)), tmp_path, progress=False)
    np.testing.assert_array_equal(first, again)
    assert len({round(float(v), 3) for v in first[:, 0]}) > 1  # tempos differ between cues
