"""Notebook 09 of the smoke run: the run's own cues indexed with the shipped model and
searched, and the search quality measured out of fold."""

from __future__ import annotations

import json

import pandas as pd
import pytest


@pytest.mark.slow
def test_the_run_is_indexed_and_its_search_quality_measured(smoke_run):
    run = smoke_run
    front = (run / "index.html").read_text()
    n_cues = len(pd.read_csv(run / "dataset" / "manifest.csv"))
    # notebook 09 indexed the run's own cues with the shipped model and searched them
    from filmgenre.library import store

    run_index = run / "library" / "library.sqlite"
    assert store.summary(store.connect(run_index))["tracks"] == n_cues
    # ... and measured its search quality out of fold, shown on the front page
    quality = json.loads((run / "library" / "quality.json").read_text())
    assert quality["collection"]["cues"] == n_cues and quality["collection"]["folds"] == 3
    kinds = {r["query kind"] for r in quality["genre_queries"]}
    assert {"one wanted", "wanted + unwanted"} <= kinds
    rows = {r["ranking"] for r in quality["genre_queries"]}
    assert "random ranking" in rows and any("anchor" in r for r in rows)
    assert {r["vectors"] for r in quality["more_like_this"]} == {
        "similarity space (learned)", "PCA of the model's input (before)"}
    assert sum(quality["ranking_chosen"].values()) == 3  # a choice in each fold
    assert "Search quality" in front
    # ... and related the listeners' and the model's moods to the films' genres (a table of
    # pairs with film intervals; the smoke run's 8 annotated films leave a few genres)
    moods = json.loads((run / "library" / "moods.json").read_text())
    by_genre = pd.DataFrame(moods["model"]["genres"])
    from filmgenre.evaluation.moods.genres import COLUMNS

    assert list(by_genre.columns) == list(COLUMNS) and len(by_genre)
    assert (by_genre["films_with"] >= 3).all() and (by_genre["films_without"] >= 3).all()
    assert ((by_genre["difference"] - (by_genre["with"] - by_genre["without"])).abs()
            < 1e-9).all()  # fmt: skip
    assert {"valence (listeners)", "tension (model)"} <= set(by_genre["mood"])
