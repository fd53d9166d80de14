"""The embedded default data: a synthetic soundtrack collection.

Films get multi-label genre sets drawn with the study's genre frequencies and
pair co-occurrences; each film has several cues; each cue mixes one musical
*motif* per genre of its film. Motifs differ in time-frequency pattern (rhythm,
pitch contour, harmony, timbre, onsets), not in a single spectral colour, so a
model that sees the 2-D structure of a spectrogram has an edge over one that
averages it away. Key, tempo, loudness, timing and coverage are randomised,
layers are mixed with room reverb and noise, and some cues carry a quiet motif of
a genre their film does not have, so the task is learnable but not trivial.

Output looks exactly like a user's collection: ``audio/<film>/<cue>.wav`` plus
``labels.csv`` (one row per film with an IMDB-style genre string), so the rest of
the pipeline cannot tell synthetic from real data. Every cue is generated from
its own seed, so results are identical however many processes generate them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy.signal import fftconvolve
from tqdm.auto import tqdm

from ..config import DEFAULTS

from ..genres import GENRES
from ..runtime.pools import process_map

SR = 22050

# The study's genre counts and pair counts over its films (../shared/seed/tag_sets.json),
# embedded so that a fresh clone without ../shared draws label sets with the same shape.
STUDY_GENRE_COUNTS: dict[str, int] = {
    "Drama": 223,
    "Comedy": 87,
    "Romance": 81,
    "Adventure": 70,
    "Thriller": 65,
    "Action": 55,
    "Crime": 53,
    "Musical": 47,
    "Sci-Fi": 40,
    "Fantasy": 36,
}
STUDY_PAIR_COUNTS: dict[tuple[str, str], int] = {
    ("Action", "Adventure"): 23,
    ("Action", "Comedy"): 2,
    ("Action", "Crime"): 10,
    ("Action", "Drama"): 11,
    ("Action", "Fantasy"): 3,
    ("Action", "Musical"): 0,
    ("Action", "Romance"): 3,
    ("Action", "Sci-Fi"): 18,
    ("Action", "Thriller"): 18,
    ("Adventure", "Comedy"): 12,
    ("Adventure", "Crime"): 5,
    ("Adventure", "Drama"): 17,
    ("Adventure", "Fantasy"): 19,
    ("Adventure", "Musical"): 3,
    ("Adventure", "Romance"): 5,
    ("Adventure", "Sci-Fi"): 13,
    ("Adventure", "Thriller"): 6,
    ("Comedy", "Crime"): 10,
    ("Comedy", "Drama"): 32,
    ("Comedy", "Fantasy"): 8,
    ("Comedy", "Musical"): 25,
    ("Comedy", "Romance"): 26,
    ("Comedy", "Sci-Fi"): 3,
    ("Comedy", "Thriller"): 2,
    ("Crime", "Drama"): 34,
    ("Crime", "Fantasy"): 1,
    ("Crime", "Musical"): 1,
    ("Crime", "Romance"): 3,
    ("Crime", "Sci-Fi"): 0,
    ("Crime", "Thriller"): 17,
    ("Drama", "Fantasy"): 10,
    ("Drama", "Musical"): 14,
    ("Drama", "Romance"): 57,
    ("Drama", "Sci-Fi"): 9,
    ("Drama", "Thriller"): 28,
    ("Fantasy", "Musical"): 4,
    ("Fantasy", "Romance"): 3,
    ("Fantasy", "Sci-Fi"): 1,
    ("Fantasy", "Thriller"): 0,
    ("Musical", "Romance"): 16,
    ("Musical", "Sci-Fi"): 0,
    ("Musical", "Thriller"): 0,
    ("Romance", "Sci-Fi"): 2,
    ("Romance", "Thriller"): 2,
    ("Sci-Fi", "Thriller"): 13,
}
#: Share of films with 1, 2 and 3 genres (IMDB lists at most three); mean 2.34 as in the study.
GENRE_COUNT_PROBS = (0.16, 0.34, 0.50)


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Deterministic: the same config gives the same bytes."""

    n_films: int = DEFAULTS["n_films"]
    cues_per_film: tuple[int, int] = tuple(DEFAULTS["cues_per_film"])
    cue_seconds: tuple[float, float] = tuple(DEFAULTS["cue_seconds"])
    seed: int = 0
    sample_rate: int = SR
    #: Probability that a cue also carries a quiet motif of a genre its film lacks.
    distractor_prob: float = 0.2
    #: Signal-to-noise ratio range (dB) of the background noise bed.
    snr_db: tuple[float, float] = (10.0, 24.0)

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        """Short hash of the settings: names the folder the collection is written to."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:10]


# ----------------------------------------------------------------------------- labels


def _pair_count(a: str, b: str) -> int:
    return STUDY_PAIR_COUNTS.get((a, b), STUDY_PAIR_COUNTS.get((b, a), 0))


def sample_genre_sets(n_films: int, rng: np.random.Generator) -> list[list[str]]:
    """Draw ``n_films`` genre sets with the study's frequencies and pair overlaps.

    The first genre is drawn by the study's genre counts; each further genre by
    the product of its conditional co-occurrence with the genres already chosen,
    so common pairs (Romance+Drama) are common and absent ones (Action+Musical)
    stay (almost) absent.
    """
    counts = np.array([STUDY_GENRE_COUNTS[g] for g in GENRES], dtype=float)
    cond = np.array(
        [[(_pair_count(a, b) + 0.25) / STUDY_GENRE_COUNTS[a] for b in GENRES] for a in GENRES]
    )
    sets = []
    for _ in range(n_films):
        size = rng.choice(3, p=GENRE_COUNT_PROBS) + 1
        chosen = [int(rng.choice(len(GENRES), p=counts / counts.sum()))]
        while len(chosen) < size:
            weight = np.prod(cond[chosen], axis=0)
            weight[chosen] = 0.0
            chosen.append(int(rng.choice(len(GENRES), p=weight / weight.sum())))
        sets.append([GENRES[i] for i in sorted(chosen)])
    return sets


# ----------------------------------------------------------------------------- sound primitives


def _midi_hz(midi: float | np.ndarray) -> float | np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi) - 69.0) / 12.0)


@lru_cache(maxsize=64)
def _wavetable(partials: tuple[float, ...], size: int = 4096) -> np.ndarray:
    """One period of a harmonic waveform with the given partial amplitudes."""
    phase = np.arange(size) / size * 2 * np.pi
    table = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(partials))
    return (table / np.max(np.abs(table))).astype(np.float32)


def _partials(kind: str, max_freq: float, sr: int) -> tuple[float, ...]:
    """Partial amplitudes of a timbre, cut below Nyquist for the note's highest pitch."""
    limit = max(1, int((sr / 2 - 200) // max(max_freq, 1.0)))
    shapes = {
        "sine": [1.0],
        "flute": [1.0, 0.35, 0.12, 0.05],
        "saw": [1.0 / k for k in range(1, 13)],
        "brass": [1.0 / k**0.7 for k in range(1, 13)],
        "square": [1.0 / k if k % 2 else 0.0 for k in range(1, 14)],
        "pluck": [1.0 / k**1.4 for k in range(1, 9)],
        "strings": [1.0 / k**1.1 for k in range(1, 11)],
        # vowel-like: harmonics weighted by formants near 600, 1200 and 2600 Hz (set per note)
    }
    return tuple(round(a, 4) for a in shapes[kind][:limit])


def _tone(freq: float | np.ndarray, n: int, kind: str, sr: int, phase0: float = 0.0) -> np.ndarray:
    """A harmonic tone of ``n`` samples; ``freq`` may be a per-sample trajectory (glides)."""
    f = np.broadcast_to(np.asarray(freq, dtype=np.float64), (n,))
    table = _wavetable(_partials(kind, float(np.max(f)), sr))
    phase = (phase0 + np.cumsum(f) / sr) % 1.0
    return table[(phase * len(table)).astype(np.int64) % len(table)]


def _env_pluck(n: int, decay: float, sr: int, attack: float = 0.004) -> np.ndarray:
    t = np.arange(n) / sr
    return (np.minimum(1.0, t / attack) * np.exp(-t / decay)).astype(np.float32)


def _env_pad(n: int, attack: float, release: float, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    rise = np.minimum(1.0, t / max(attack, 1e-3))
    fall = np.minimum(1.0, (n / sr - t) / max(release, 1e-3))
    return (rise * np.clip(fall, 0.0, 1.0)).astype(np.float32)


def _noise_band(n: int, lo: float, hi: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    spec[(freqs < lo) | (freqs > hi)] = 0.0
    out = np.fft.irfft(spec, n)
    return (out / (np.max(np.abs(out)) + 1e-9)).astype(np.float32)


def _pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    spec[1:] /= np.sqrt(np.arange(1, len(spec)))
    spec[0] = 0.0
    out = np.fft.irfft(spec, n)
    return (out / (np.std(out) + 1e-9)).astype(np.float32)


class _Track:
    """A mono buffer that notes are mixed into at given times."""

    def __init__(self, seconds: float, sr: int):
        self.sr = sr
        self.buf = np.zeros(int(seconds * sr), dtype=np.float32)

    @property
    def seconds(self) -> float:
        return len(self.buf) / self.sr

    def add(self, start: float, signal: np.ndarray, gain: float = 1.0) -> None:
        i = int(round(start * self.sr))
        if i >= len(self.buf) or i + len(signal) <= 0:
            return
        j0 = max(0, -i)
        i = max(i, 0)
        m = min(len(signal) - j0, len(self.buf) - i)
        self.buf[i : i + m] += gain * signal[j0 : j0 + m]

    def note(
        self,
        start: float,
        midi: float,
        dur: float,
        kind: str,
        env: str = "pluck",
        decay: float = 0.2,
        gain: float = 1.0,
    ) -> None:
        n = int(dur * self.sr)
        if n <= 8:
            return
        sig = _tone(_midi_hz(midi), n, kind, self.sr)
        if env == "pluck":
            sig = sig * _env_pluck(n, decay, self.sr)
        else:
            sig = sig * _env_pad(n, min(decay, dur / 2), min(0.3, dur / 3), self.sr)
        self.add(start, sig, gain)


# ----------------------------------------------------------------------------- genre motifs
# Each motif takes (rng, track, style) and writes its pattern over the whole track.
# ``style`` holds the film's key (MIDI root offset) and tempo factor, shared by its cues.

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
PENTATONIC = np.array([0, 2, 4, 7, 9])


TIMBRES = ("sine", "flute", "saw", "brass", "square", "pluck", "strings")


def _root(base: int, style: dict, low: int = 30, high: int = 84) -> int:
    """A motif's root note: its usual register moved by the film's key and octave choice."""
    root = base + style["key"] + style["octave"]
    while root < low:
        root += 12
    while root > high:
        root -= 12
    return root


def _beats(
    rng: np.random.Generator,
    bpm_range: tuple[float, float],
    style: dict,
    seconds: float,
    subdivision: int = 1,
) -> tuple[np.ndarray, float]:
    bpm = rng.uniform(*bpm_range) * style["tempo"]
    step = 60.0 / bpm / subdivision
    start = -rng.uniform(0, step * subdivision)
    return np.arange(start, seconds, step), step


def _motif_action(rng, tr: _Track, st: dict) -> None:
    """Driving drums on every beat and a low staccato ostinato on eighths: dense vertical lines."""
    times, step = _beats(rng, (140, 172), st, tr.seconds, subdivision=2)
    root = _root(38, st)
    pattern = [0, 0, 12, 0, 0, 7, 0, 12]
    for i, t in enumerate(times):
        if i % 2 == 0:
            n = int(0.18 * tr.sr)
            sweep = np.geomspace(170.0, 45.0, n)
            tr.add(t, _tone(sweep, n, "sine", tr.sr) * _env_pluck(n, 0.07, tr.sr), 1.0)
        if i % 4 == 2:
            n = int(0.15 * tr.sr)
            tr.add(t, _noise_band(n, 1500, 6500, rng, tr.sr) * _env_pluck(n, 0.05, tr.sr), 0.6)
        tr.note(t, root + pattern[i % 8], step * 0.8, st["timbre"], decay=0.06, gain=0.45)


def _motif_adventure(rng, tr: _Track, st: dict) -> None:
    """Brass fanfares: rising major arpeggios held at the top, a staircase up the spectrum."""
    times, step = _beats(rng, (96, 126), st, tr.seconds, subdivision=2)
    root = _root(52, st)
    climb = [0, 4, 7, 12, 16, 19]
    i = 0
    while i < len(times):
        base = root + rng.choice([0, 5, 7, -3])
        for k, interval in enumerate(climb):
            if i + k < len(times):
                held = 4 if k == len(climb) - 1 else 1
                tr.note(
                    times[i + k],
                    base + interval,
                    step * held * 0.95,
                    st["timbre"],
                    env="pad",
                    decay=0.03,
                    gain=0.8,
                )
        tr.note(
            times[i], base - 12, step * (len(climb) + 3), "brass", env="pad", decay=0.1, gain=0.35
        )
        i += len(climb) + 4


def _motif_comedy(rng, tr: _Track, st: dict) -> None:
    """Pizzicato oom-pah (low bass on the beat, high chord off the beat) and leaping staccato."""
    times, step = _beats(rng, (112, 140), st, tr.seconds, subdivision=2)
    root = _root(55, st)
    for i, t in enumerate(times):
        if i % 2 == 0:
            tr.note(t, root - 24 + (7 if i % 4 else 0), 0.25, "pluck", decay=0.08, gain=0.9)
        else:
            for interval in (12, 16, 19):
                tr.note(t, root + interval, 0.2, "pluck", decay=0.06, gain=0.35)
        if rng.random() < 0.6:
            leap = MAJOR[rng.integers(7)] + 12 * rng.integers(1, 3)
            tr.note(t + step / 2, root + leap, 0.15, st["timbre"], decay=0.05, gain=0.5)


def _motif_crime(rng, tr: _Track, st: dict) -> None:
    """A walking bass stepping on each beat plus swung hi-hat ticks high up."""
    times, step = _beats(rng, (84, 116), st, tr.seconds)
    root = _root(36, st)
    degree = 7
    dorian = np.array([0, 2, 3, 5, 7, 9, 10])
    for t in times:
        degree = int(np.clip(degree + rng.choice([-2, -1, 1, 1, 2]), 0, 13))
        midi = root + dorian[degree % 7] + 12 * (degree // 7)
        tr.note(t, midi, step * 0.9, st["timbre"], decay=0.3, gain=1.0)
        for offset, gain in ((0.0, 0.3), (2 * step / 3, 0.2)):
            n = int(0.05 * tr.sr)
            tick = _noise_band(n, 6500, 10500, rng, tr.sr) * _env_pluck(n, 0.02, tr.sr)
            tr.add(t + offset, tick, gain)


def _motif_drama(rng, tr: _Track, st: dict) -> None:
    """Slow minor string chords with long swells: wide horizontal bands that change rarely."""
    root = _root(48, st)
    t = -rng.uniform(0, 2)
    progression = [0, 8, 5, 7, 3, 10]
    while t < tr.seconds:
        dur = rng.uniform(2.5, 4.5)
        base = root + progression[rng.integers(len(progression))]
        for interval in (0, 3, 7, 12):
            for detune in (-0.04, 0.04):
                tr.note(
                    t,
                    base + interval + detune,
                    dur + 0.6,
                    st["timbre"],
                    env="pad",
                    decay=0.8,
                    gain=0.3,
                )
        t += dur
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * np.arange(len(tr.buf)) / tr.sr / rng.uniform(5, 8))
    tr.buf *= swell.astype(np.float32)


def _motif_fantasy(rng, tr: _Track, st: dict) -> None:
    """Celesta and bells: sparse high notes with inharmonic partials and long ringing tails."""
    root = _root(81, st, high=100)
    t = rng.uniform(0, 0.3)
    ratios, amps = (1.0, 2.76, 5.40), (1.0, 0.45, 0.2)
    while t < tr.seconds:
        midi = (
            root + PENTATONIC[rng.integers(5)] + 12 * rng.integers(0, 2) - 12 * (rng.random() < 0.3)
        )
        n = int(rng.uniform(1.0, 1.8) * tr.sr)
        f0 = float(_midi_hz(midi))
        bell = sum(
            a * _tone(f0 * r, n, "sine", tr.sr)
            for r, a in zip(ratios, amps, strict=True)
            if f0 * r < tr.sr / 2 - 200
        )
        tr.add(t, bell * _env_pluck(n, rng.uniform(0.4, 0.8), tr.sr), 0.5)
        t += rng.choice([0.18, 0.18, 0.36, 0.54])


def _motif_musical(rng, tr: _Track, st: dict) -> None:
    """A waltz (bass on one, chords on two and three) under a sung vibrato melody."""
    times, step = _beats(rng, (150, 186), st, tr.seconds)
    root = _root(55, st)
    for i, t in enumerate(times):
        if i % 3 == 0:
            tr.note(t, root - 12, step * 0.9, "pluck", decay=0.25, gain=0.8)
        else:
            for interval in (4, 7, 12):
                tr.note(t, root + interval, step * 0.6, "pluck", decay=0.1, gain=0.25)
    degree, i = 7, 0
    while i < len(times):
        beats = int(rng.choice([1, 2, 3, 3]))
        degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), 3, 13))
        midi = root + 12 + MAJOR[degree % 7] + 12 * (degree // 7) - 12
        n = int(step * beats * tr.sr)
        if n > 32:
            tt = np.arange(n) / tr.sr
            f = float(_midi_hz(midi)) * (1 + 0.012 * np.sin(2 * np.pi * 5.5 * tt))
            voice = _tone(f, n, st["timbre"], tr.sr) * _env_pad(n, 0.06, 0.08, tr.sr)
            tr.add(times[i], voice, 0.6)
        i += beats


def _motif_romance(rng, tr: _Track, st: dict) -> None:
    """A slow legato melody that glides between notes, over rolling harp arpeggios."""
    times, step = _beats(rng, (56, 76), st, tr.seconds)
    root = _root(67, st, high=90)
    path, t, degree = [], float(times[0]), 4
    while t < tr.seconds:
        degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2, 3]), 0, 11))
        dur = step * rng.choice([1, 1.5, 2])
        path.append((t, root + MAJOR[degree % 7] + 12 * (degree // 7)))
        t += dur
    n0 = max(0, int(path[0][0] * tr.sr))
    grid = np.arange(n0, len(tr.buf)) / tr.sr
    xs, ys = [path[0][0]], [path[0][1]]
    for (_, previous), (start, midi) in zip(path[:-1], path[1:], strict=True):
        xs += [start, start + 0.2]  # a 0.2 s portamento into each new note
        ys += [previous, midi]
    midi_curve = np.interp(grid, xs, ys)
    freq = _midi_hz(midi_curve) * (1 + 0.008 * np.sin(2 * np.pi * 5.0 * grid))
    tr.add(grid[0], _tone(freq, len(grid), st["timbre"], tr.sr), 0.55)
    for bar_start in times[:: int(rng.choice([3, 4]))]:
        for k, interval in enumerate((0, 4, 7, 11, 12, 16, 19, 23)):
            tr.note(bar_start + k * 0.11, root - 19 + interval, 1.2, "pluck", decay=0.5, gain=0.3)


def _motif_scifi(rng, tr: _Track, st: dict) -> None:
    """Synth chirps sweeping across octaves (diagonals) and a fast square-wave arpeggio."""
    t = rng.uniform(0, 0.5)
    while t < tr.seconds:
        dur = rng.uniform(0.4, 1.4)
        n = int(dur * tr.sr)
        lo, hi = rng.uniform(180, 600), rng.uniform(1800, 5000)
        sweep = np.geomspace(lo, hi, n) if rng.random() < 0.5 else np.geomspace(hi, lo, n)
        tr.add(t, _tone(sweep, n, "flute", tr.sr) * _env_pad(n, 0.05, 0.1, tr.sr), 0.6)
        t += dur + rng.uniform(0.1, 0.8)
    times, step = _beats(rng, (100, 130), st, tr.seconds, subdivision=4)
    root = _root(57, st)
    for i, t in enumerate(times):
        tr.note(t, root + (0, 7, 12, 19)[i % 4], step * 0.5, st["timbre"], decay=0.05, gain=0.3)


def _motif_thriller(rng, tr: _Track, st: dict) -> None:
    """A dissonant tremolo drone, a heartbeat, and sudden high stingers at random times."""
    n = len(tr.buf)
    tt = np.arange(n) / tr.sr
    root = _root(33, st, low=28)
    drone = sum(_tone(float(_midi_hz(root + iv)), n, st["timbre"], tr.sr) for iv in (0, 1, 6))
    tremolo = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * tt)
    tr.add(0.0, (drone / 3 * tremolo).astype(np.float32), 0.7)
    times, step = _beats(rng, (56, 80), st, tr.seconds)
    for t in times:
        for offset, gain in ((0.0, 0.9), (0.22, 0.6)):
            m = int(0.12 * tr.sr)
            tr.add(t + offset, _tone(55.0, m, "sine", tr.sr) * _env_pluck(m, 0.05, tr.sr), gain)
    t = rng.uniform(0.5, 3.0)
    while t < tr.seconds:
        m = int(0.5 * tr.sr)
        hit = _noise_band(m, 3000, 8000, rng, tr.sr) * 0.5
        for midi in rng.uniform(88, 100, size=4):
            hit = hit + _tone(float(_midi_hz(midi)), m, "sine", tr.sr) * 0.4
        tr.add(t, hit * _env_pluck(m, 0.15, tr.sr, attack=0.002), 1.2)
        t += rng.exponential(3.0) + 1.0


def _score_bed(rng, tr: _Track) -> None:
    """Genre-free material every cue carries: sustained tones and hits at random times.

    With it, the mere presence of drums, pads or high notes says nothing about the
    genre; only their arrangement in time and pitch (the motifs' patterns) does.
    """
    t = rng.uniform(0, 1)
    while t < tr.seconds:
        dur = rng.uniform(0.8, 3.5)
        tr.note(
            t,
            rng.uniform(40, 92),
            dur,
            TIMBRES[rng.integers(len(TIMBRES))],
            env="pad",
            decay=rng.uniform(0.05, 0.8),
            gain=rng.uniform(0.2, 0.6),
        )
        t += rng.exponential(1.2)
    t = rng.uniform(0, 1)
    while t < tr.seconds:
        m = int(rng.uniform(0.05, 0.3) * tr.sr)
        lo = rng.uniform(40, 6000)
        hit = _noise_band(m, lo, lo * rng.uniform(1.5, 4), rng, tr.sr)
        tr.add(t, hit * _env_pluck(m, rng.uniform(0.02, 0.12), tr.sr), rng.uniform(0.3, 1.0))
        t += rng.exponential(0.7)


MOTIFS: dict[str, Callable[[np.random.Generator, _Track, dict], None]] = {
    "Action": _motif_action,
    "Adventure": _motif_adventure,
    "Comedy": _motif_comedy,
    "Crime": _motif_crime,
    "Drama": _motif_drama,
    "Fantasy": _motif_fantasy,
    "Musical": _motif_musical,
    "Romance": _motif_romance,
    "Sci-Fi": _motif_scifi,
    "Thriller": _motif_thriller,
}


# ----------------------------------------------------------------------------- cues and films


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def _coverage_window(
    rng: np.random.Generator, n: int, sr: int, share: tuple[float, float]
) -> np.ndarray:
    """A 0..1 gain curve that is on over a random stretch of ``share`` of the cue, with fades."""
    length = int(n * rng.uniform(*share))
    start = int(rng.integers(0, n - length + 1))
    curve = np.zeros(n, dtype=np.float32)
    curve[start : start + length] = 1.0
    fade = min(int(0.5 * sr), length // 4)
    if fade > 1:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        curve[start : start + fade] *= ramp
        curve[start + length - fade : start + length] *= ramp[::-1]
    return curve


def render_cue(
    genres: list[str],
    seconds: float,
    film_style: dict,
    seed: tuple[int, ...],
    config: SynthConfig = SynthConfig(),
) -> np.ndarray:
    """Render one cue as float32 mono audio; deterministic in ``seed``."""
    rng = np.random.default_rng(list(seed))
    sr = config.sample_rate
    n = int(seconds * sr)
    mix = np.zeros(n, dtype=np.float32)
    layers = [(g, film_style["gain_db"][g] + rng.uniform(-2, 2), (0.8, 1.0)) for g in genres]
    if rng.random() < config.distractor_prob:
        others = [g for g in GENRES if g not in genres]
        layers.append((others[rng.integers(len(others))], rng.uniform(-16, -9), (0.2, 0.5)))
    for genre, gain_db, share in layers:
        style = {
            "key": film_style["key"] + int(rng.integers(-1, 2)),
            "tempo": film_style["tempo"] * rng.uniform(0.96, 1.04),
            "octave": film_style["octave"][genre],
            "timbre": film_style["timbre"][genre],
        }
        track = _Track(seconds, sr)
        MOTIFS[genre](rng, track, style)
        layer = track.buf / _rms(track.buf) * 10 ** (gain_db / 20)
        mix += layer * _coverage_window(rng, n, sr, share)
    bed = _Track(seconds, sr)
    _score_bed(rng, bed)
    mix += bed.buf / _rms(bed.buf) * _rms(mix) * 10 ** (rng.uniform(-14, -6) / 20)
    impulse_len = int(rng.uniform(0.3, 1.2) * sr)
    impulse = rng.standard_normal(impulse_len) * np.exp(-np.arange(impulse_len) / sr / 0.25)
    wet = fftconvolve(mix, impulse.astype(np.float32))[:n]
    mix = mix + rng.uniform(0.1, 0.35) * wet / (_rms(wet) + 1e-9) * _rms(mix)
    snr = rng.uniform(*config.snr_db)
    mix += _pink_noise(n, rng) * _rms(mix) * 10 ** (-snr / 20)
    mix *= 10 ** (rng.uniform(-28, -14) / 20) / _rms(mix)
    peak = float(np.max(np.abs(mix)))
    if peak > 0.98:
        mix *= 0.98 / peak
    return mix.astype(np.float32)


def film_name(index: int) -> str:
    return f"film_{index:04d}"


def plan(config: SynthConfig) -> pd.DataFrame:
    """The collection's films, their genres and cue lengths, before any audio is rendered."""
    rng = np.random.default_rng([config.seed, 0xF11])
    genre_sets = sample_genre_sets(config.n_films, rng)
    rows = []
    for f, genres in enumerate(genre_sets):
        n_cues = int(rng.integers(config.cues_per_film[0], config.cues_per_film[1] + 1))
        for c in range(n_cues):
            rows.append(
                {
                    "film": film_name(f),
                    "film_index": f,
                    "cue": f"cue_{c + 1:02d}",
                    "cue_index": c,
                    "genres": ", ".join(genres),
                    "seconds": round(float(rng.uniform(*config.cue_seconds)), 2),
                }
            )
    return pd.DataFrame(rows)


def _film_style(config: SynthConfig, film_index: int) -> dict:
    rng = np.random.default_rng([config.seed, film_index, 0x57])
    return {
        "key": int(rng.integers(-5, 7)),
        "tempo": float(rng.uniform(0.88, 1.12)),
        "gain_db": {g: float(rng.uniform(-6, 0)) for g in GENRES},
        "octave": {g: int(rng.choice([-12, 0, 12])) for g in GENRES},
        "timbre": {g: TIMBRES[rng.integers(len(TIMBRES))] for g in GENRES},
    }


def _render_to_file(job: tuple[dict, SynthConfig, str]) -> str:
    row, config, path = job
    audio = render_cue(
        row["genres"].split(", "),
        row["seconds"],
        _film_style(config, row["film_index"]),
        (config.seed, row["film_index"], row["cue_index"]),
        config,
    )
    tmp = path + ".part"
    sf.write(tmp, audio, config.sample_rate, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)
    return path


def generate(
    out_dir: str | os.PathLike[str],
    config: SynthConfig = SynthConfig(),
    n_jobs: int | None = None,
    progress: bool | None = None,
) -> Path:
    """Write the collection into ``out_dir`` (audio/<film>/<cue>.wav + labels.csv).

    Reuses files already there from the same config, so an interrupted or repeated
    call only renders what is missing. Returns ``out_dir``.
    """
    out = Path(out_dir)
    stamp = out / "synth.json"
    if stamp.exists() and json.loads(stamp.read_text()) != json.loads(json.dumps(config.to_dict())):
        raise FileExistsError(
            f"{out} holds a synthetic collection made with other settings ({stamp}); "
            "choose another folder or delete it"
        )
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(config.to_dict(), indent=2))
    cues = plan(config)
    jobs = []
    for row in cues.to_dict("records"):
        path = out / "audio" / row["film"] / f"{row['cue']}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            jobs.append((row, config, str(path)))
    disable = None if progress is None else not progress
    bar = tqdm(total=len(jobs), desc="synthesising cues", unit="cue", disable=disable, leave=False)
    for _ in process_map(_render_to_file, jobs, 1 if len(jobs) <= 2 else n_jobs, bar, 2):
        pass
    bar.close()
    films = cues.drop_duplicates("film")[["film", "genres"]]
    films.to_csv(out / "labels.csv", index=False)
    return out
