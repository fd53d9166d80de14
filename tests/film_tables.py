"""Labelled film tables for the cross-validation tests: films with random genres (each film
also gets one genre by its number, so every genre has films), several cues per film."""

from __future__ import annotations

import numpy as np
import pandas as pd

from filmgenre.genres import GENRES


def random_film_cues(n_films: int = 30, per_film: int = 4, seed: int = 0) -> pd.DataFrame:
    """One row per cue: film, cue and a 0/1 column per genre (about 30% of genres a film)."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_films):
        genres = rng.random(len(GENRES)) < 0.3
        genres[f % len(GENRES)] = True
        for c in range(per_film):
            rows.append({"film": f"film{f:02d}", "cue": f"cue{c}",
                         **{g: int(v) for g, v in zip(GENRES, genres, strict=True)}})  # fmt: skip
    return pd.DataFrame(rows)
