"""Multi-task heads (genres learned together), segment-level families (a cue's 3 s
segments as rows) and ensembles chosen inside the nested folds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from film_tables import random_film_cues
from numpy.testing import assert_allclose

from filmgenre.data import dataset
from filmgenre.evaluation.crossval import final, folds, heads, loops, nested, oof, vectors
from filmgenre.evaluation.crossval.heads import shared_directions
from filmgenre.genres import GENRES


def _manifest(n_films: int, per_film: int, seed: int) -> dataset.Manifest:
    cues = random_film_cues(n_films, per_film, seed)
    cues["path"] = [f"{f}/{c}.wav" for f, c in zip(cues.film, cues.cue, strict=True)]
    return dataset.Manifest(cues.assign(genres=""), genres=GENRES)


def _auc(result: loops.CVResult) -> float:
    return oof.score_frame(result.predictions, GENRES, 20)["metrics"]["macro_roc_auc"]


def test_shared_directions_borrow_from_correlated_genres_only_as_far_as_asked():
    """Share 0 keeps each genre's own mean difference; share 1 replaces it by the mean of
    the genres' directions weighted by label correlation, so two genres with the same
    labels get the same direction and one that excludes them is pushed away."""
    rng = np.random.default_rng(0)
    a = (rng.random(200) < 0.4).astype(float)
    y = np.column_stack([a, a, 1 - a, (rng.random(200) < 0.3)])
    z = rng.normal(size=(200, 12)) + a[:, None] * rng.normal(size=12)
    own = shared_directions(z, y, 0.0)
    assert all(d is None for d in own.values())  # each genre's own (MeanDifference default)
    shared = shared_directions(z, y, 1.0)
    assert_allclose(shared[0], shared[1])
    assert_allclose(shared[0], -shared[2], atol=0.35 * np.linalg.norm(shared[0]))
    half = shared_directions(z, y, 0.5)
    mine = z[y[:, 3] > 0].mean(0) - z[y[:, 3] == 0].mean(0)
    assert_allclose(half[3], 0.5 * mine + 0.5 * shared[3])
    constant = shared_directions(z, np.column_stack([y[:, :2], np.ones(200)]), 1.0)
    assert constant[2] is None  # no negatives: no direction, the head becomes a constant


def test_shared_family_chooses_its_share_inside_the_folds():
    """The shared family's share is picked per training fold from its grid (recorded), and
    a share of 0 is exactly the plain mean-difference family. (Whether sharing helps is
    measured on filmscore, README: it did not there.)"""
    manifest = _manifest(n_films=40, per_film=2, seed=3)
    rng = np.random.default_rng(4)
    y = manifest.cues[list(GENRES)].to_numpy(float)
    x = rng.normal(size=(len(y), 100)) + y @ rng.normal(scale=0.3, size=(len(GENRES), 100))
    cv = folds.CVConfig(k=4)
    shared = vectors.FAMILIES["combined_meandiff_shared"]
    result = loops.cross_validate_vectors("shared", manifest, x, cv, shared)
    assert len(result.info["chosen_strength"]) == 4
    assert set(result.info["chosen_strength"]) <= set(shared.grid) and _auc(result) > 0.75
    plain = loops.cross_validate_vectors("combined_meandiff", manifest, x, cv)
    zero = loops.cross_validate_vectors("zero", manifest, x, cv,
                                           vectors.Family(("v",), "meandiff", (0.0,)))  # fmt: skip
    cols = [f"p_{g}" for g in GENRES]
    assert_allclose(zero.predictions[cols], plain.predictions[cols])


def test_shared_components_find_genres_driven_by_few_factors_and_export_to_keras(tmp_path):
    """Ten genres from two hidden factors: partial least squares components shared by all
    genres find them on unseen films, and the final model (a Keras layer) predicts what
    the fitted head does."""
    manifest = _manifest(n_films=48, per_film=3, seed=5)
    cues = manifest.cues
    rng = np.random.default_rng(6)
    factors = rng.normal(size=(cues["film"].nunique(), 2))
    film_index = cues["film"].astype("category").cat.codes.to_numpy()
    latent = factors[film_index]
    labels = (latent @ rng.normal(size=(2, len(GENRES))) > 0.3).astype(int)
    cues[list(GENRES)] = labels
    manifest = dataset.Manifest(cues, genres=GENRES)
    x = rng.normal(size=(len(cues), 150)) + latent @ rng.normal(scale=0.5, size=(2, 150))
    family = vectors.FAMILIES["combined_pls"]
    result = loops.cross_validate_vectors("pls", manifest, x, folds.CVConfig(k=4), family)
    assert _auc(result) > 0.8
    assert set(result.info["chosen_strength"]) <= set(family.grid)
    fitted = heads.fit_head("pls", x, labels.astype(float), 2.0, 0)
    model = final.head_to_keras(fitted, x.shape[1], "pls")
    assert_allclose(model.predict(x[:20], verbose=0), heads.predict_head(fitted, x[:20]),
                    atol=1e-4)  # fmt: skip
    folder = final.fit_final("pls", manifest, x, tmp_path / "pls_final", family=family)
    assert json.loads((folder / "config.json").read_text())["architecture"].startswith("pls")


def _segments(manifest: dataset.Manifest, per_cue: int, seed: int) -> vectors.SegmentVectors:
    """Segments of each cue: noise, plus its genres' pattern in one of its segments only."""
    rng = np.random.default_rng(seed)
    y = manifest.cues[list(GENRES)].to_numpy(float)
    pattern = rng.normal(size=(len(GENRES), 40))
    rows = rng.normal(size=(len(y) * per_cue, 40))
    owner = np.repeat(np.arange(len(y)), per_cue)
    rows[::per_cue] += 2.0 * y @ pattern
    return vectors.SegmentVectors(rows.astype(np.float32), owner, len(y))


def test_segment_vectors_keep_the_segments_of_the_cues_asked_for():
    manifest = _manifest(n_films=6, per_film=2, seed=0)
    seg = _segments(manifest, per_cue=3, seed=0)
    keep = np.zeros(12, bool)
    keep[[1, 4, 11]] = True
    sub = seg[keep]
    assert len(sub) == 3 and sub.rows.shape == (9, 40)
    assert_allclose(sub.rows, seg.rows[np.isin(seg.cue, [1, 4, 11])])
    assert list(sub.cue) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert_allclose(sub.per_cue(sub.rows[:, :2]), [seg.rows[seg.cue == c, :2].mean(0)
                                                   for c in (1, 4, 11)], rtol=1e-6)  # fmt: skip
    with pytest.raises(IndexError, match="mask over the 12 cues"):
        seg[np.ones(5, bool)]
    with pytest.raises(ValueError, match="musicnn layers only"):
        vectors.segment_vectors(manifest, ["mfcc_stats"])


def test_segment_level_family_learns_from_segments_and_takes_part_in_the_nested_choice():
    """A segment-level family fits on the training cues' segments and scores a cue by the
    mean of its segments; each cue is predicted once, and the chosen selection can choose
    it (its vectors are sliced per outer fold like a cue-level family's)."""
    manifest = _manifest(n_films=40, per_film=3, seed=7)
    seg = _segments(manifest, per_cue=5, seed=8)
    cv = folds.CVConfig(k=4)
    result = loops.cross_validate_vectors("musicnn_both_segment_meandiff", manifest, seg, cv)
    assert result.info["kind"] == "segment_vector"
    assert len(result.predictions) == len(manifest.cues)
    assert not result.predictions.duplicated(["film", "cue"]).any()
    assert _auc(result) > 0.8
    levels = oof.score_levels({"seg": result}, GENRES, n_boot=20)
    assert "seg" in levels["cue"]  # one cue's own evidence: scored per cue
    noise = np.random.default_rng(9).normal(size=(len(manifest.cues), 30))
    vectors = {"musicnn_both_segment_meandiff": seg, "mfcc_meandiff": noise}
    chosen = nested.nested_cross_validate(manifest, vectors, list(vectors), cv)
    assert chosen.info["chosen_counts"] == {"musicnn_both_segment_meandiff": 4}
    assert _auc(chosen) == pytest.approx(_auc(result), abs=1e-9)


def test_nested_selection_chooses_an_ensemble_when_inner_folds_say_it_beats_one_family():
    """Three families, each an independent noisy view of the same genre signal: the mean of
    the inner best two or three beats any one inside the folds, so the outer folds choose
    ensembles, and the procedure scores above every single family. Without ensemble sizes
    only single families are candidates."""
    manifest = _manifest(n_films=48, per_film=2, seed=10)
    rng = np.random.default_rng(11)
    y = manifest.cues[list(GENRES)].to_numpy(float)
    signal = y @ rng.normal(scale=0.35, size=(len(GENRES), 60))
    names = ["mfcc_meandiff", "musicnn_MTT_penultimate_meandiff", "combined_meandiff"]
    vectors = {n: signal + rng.normal(size=signal.shape) * 1.5 for n in names}
    cv = folds.CVConfig(k=4)
    singles = {n: _auc(loops.cross_validate_vectors(n, manifest, vectors[n], cv))
               for n in names}  # fmt: skip
    chosen = nested.nested_cross_validate(manifest, vectors, names, cv, ensemble_sizes=(1, 2, 3))
    table = nested.choices_table(chosen)
    assert (table["members"] > 1).sum() >= 3
    assert all(set(c.split("+")) <= set(names) for c in table["chosen"])
    assert _auc(chosen) > max(singles.values()) + 0.01
    plain = nested.nested_cross_validate(manifest, vectors, names, cv)
    assert (nested.choices_table(plain)["members"] == 1).all()
    assert plain.info["ensemble_sizes"] == [1]
