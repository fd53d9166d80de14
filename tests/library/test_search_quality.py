"""Search quality: the retrieval metrics are the textbook ones, the similarity space finds
a film's other tracks where plain PCA is fooled by what varies inside a score, and the
benchmark's rankings are the ones search runs."""

from __future__ import annotations

import numpy as np
import pytest

from filmgenre.library import index as idx
from filmgenre.library import quality, similarity, store
from filmgenre.library.snapshot import RANKINGS, Snapshot, fit_columns


def test_ranking_metrics_are_the_textbook_ones():
    relevant = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1], bool)
    score = -np.arange(len(relevant), dtype=float)  # ranked in row order
    p10, ap, ndcg = quality.ranking_metrics(score, relevant)
    assert p10 == pytest.approx(3 / 10)
    assert ap == pytest.approx(np.mean([1 / 1, 2 / 3, 3 / 6, 4 / 12]))
    gains = 1 / np.log2(np.arange(2, 12))
    assert ndcg == pytest.approx((gains[0] + gains[2] + gains[5]) / gains[:4].sum())
    assert np.isnan(quality.ranking_metrics(score, np.zeros(12, bool))[0])


def test_queries_of_every_kind_and_what_makes_a_hit_right():
    labels = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 1]] * 3, bool)
    queries = quality.query_set(labels, min_relevant=3)
    kinds = {q.kind for q in queries}
    assert kinds == {"one wanted", "two wanted", "three wanted", "wanted + unwanted"}
    q = quality.Query((0,), (2,))
    assert q.relevant(labels).tolist() == [True, True, False, False] * 3
    assert q.text(("A", "B", "C")) == "A -C"


def test_the_benchmark_ranks_mixes_as_search_ranks_an_index():
    rng = np.random.default_rng(0)
    scores = rng.random((50, 4)).astype(np.float32)
    snap = Snapshot(0, ("A", "B", "C", "D"), np.arange(50), scores,
                        np.zeros((50, 2), np.float32), np.zeros(50), np.zeros(50), {})  # fmt: skip
    query = quality.Query((0, 2), (3,))
    for ranking in RANKINGS:
        ours = quality.mix_scores(scores, query, ranking)
        theirs = snap.log_fit({"A": 1, "C": 1, "D": -1}, ranking=ranking)
        assert np.array_equal(np.argsort(-ours, kind="stable"), np.argsort(-theirs, kind="stable"))
    with pytest.raises(ValueError, match="unknown ranking"):
        fit_columns(scores, "best")


def _films(n_films=24, cues=4, seed=0):
    """Cue vectors: a film's signature in 4 dimensions, loud nuisance varying inside every
    film in 40 others; two tracks of two excerpts per film."""
    rng = np.random.default_rng(seed)
    film = np.repeat([f"f{i}" for i in range(n_films)], cues)
    track = np.array([f"{f}/t{j // 2}" for f, j in zip(film, np.tile(np.arange(cues), n_films),
                                                       strict=True)])  # fmt: skip
    signature = rng.normal(size=(n_films, 4))[np.repeat(np.arange(n_films), cues)]
    x = np.hstack([signature + 0.3 * rng.normal(size=signature.shape),
                   3.0 * rng.normal(size=(len(film), 40))])  # fmt: skip
    labels = rng.random((n_films, 3))[np.repeat(np.arange(n_films), cues)] < 0.4
    scores = np.clip(labels * 0.5 + 0.25 + 0.1 * rng.normal(size=labels.shape), 0.01, 0.99)
    return x, film, track, labels, scores


def test_the_similarity_space_finds_a_films_other_track_that_pca_misses(tmp_path):
    x, film, track, labels, scores = _films()
    folds = np.array([int(f[1:]) % 4 for f in film])
    learned = similarity.out_of_fold_vectors(x, film, scores, folds, pca_dims=32, dims=8,
                                             shrink=0.3, genre_weight=0.0)  # fmt: skip
    pca = quality._pca_vectors(x, dims=32)
    ours = similarity.neighbour_quality(learned, film, track, labels)
    before = similarity.neighbour_quality(pca, film, track, labels)
    assert np.nanmean(ours["same_film"]) > np.nanmean(before["same_film"]) + 0.2
    assert np.nanmean(ours["same_film"]) > np.nanmean(ours["random_same_film"]) + 0.3
    # the genre part: with all the weight there, neighbours share genres, not sound
    genre_only = similarity.fit(x, film, scores, genre_weight=1.0).vectors(x, scores)
    agree = similarity.neighbour_quality(genre_only, film, track, labels)
    assert np.mean(agree["agreement"]) > np.mean(agree["random_agreement"]) + 0.2
    space = similarity.fit(x, film, scores, pca_dims=16, dims=8)
    space.save(tmp_path)
    again = similarity.SimilaritySpace.load(tmp_path)
    np.testing.assert_allclose(again.vectors(x, scores), space.vectors(x, scores))
    assert again.settings == space.settings and similarity.SimilaritySpace.load(
        tmp_path / "none") is None  # fmt: skip
    settings, rows = similarity.choose(x, film, scores, track, labels, folds,
                                       {"shrink": (0.3, 0.9), "genre_weight": (0.0, 1.0)})
    best = max(rows, key=lambda r: r["same_film"] + r["agreement"])
    assert len(rows) == 4 and settings == {"shrink": best["shrink"],
                                           "genre_weight": best["genre_weight"]}


@pytest.mark.slow
def test_an_index_of_the_shipped_model_uses_its_similarity_space(built, model_dir):
    space = similarity.SimilaritySpace.load(model_dir)
    assert space is not None, "the shipped model carries its similarity space"
    con = store.connect(built)
    meta = store.get_meta(con, "projection")
    assert meta["method"] == "space" and meta["dims"] == space.dims
    snap = idx.snapshot(con)
    assert snap.vectors.shape == (13, space.dims)
    assert np.allclose(np.linalg.norm(snap.vectors, axis=1), 1.0, atol=1e-4)
