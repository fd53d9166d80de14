"""Metric code against scikit-learn, film-grouped bootstrap, and the study's reference row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from filmgenre.evaluation import evaluate, metrics
from filmgenre.genres import GENRES


def _random_case(seed: int, n: int = 80, k: int = 10):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, k)) < 0.3).astype(int)
    y[0, :] = 1  # a cue with every genre, and
    y[1, :] = 0  # one with none: both are edge cases of LRAP
    s = np.round(0.5 * y + rng.random((n, k)), 1)  # rounded: many ties
    return y, s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_scikit_learn(seed):
    y, s = _random_case(seed)
    for j in range(y.shape[1]):
        assert metrics.roc_auc(y[:, j], s[:, j]) == pytest.approx(
            skm.roc_auc_score(y[:, j], s[:, j])
        )
        assert metrics.average_precision(y[:, j], s[:, j]) == pytest.approx(
            skm.average_precision_score(y[:, j], s[:, j])
        )
    head = metrics.headline_metrics(y, s)
    assert head["macro_roc_auc"] == pytest.approx(skm.roc_auc_score(y, s, average="macro"))
    assert head["micro_roc_auc"] == pytest.approx(skm.roc_auc_score(y, s, average="micro"))
    assert head["macro_ap"] == pytest.approx(skm.average_precision_score(y, s, average="macro"))
    assert head["lrap"] == pytest.approx(skm.label_ranking_average_precision_score(y, s))


def test_ranking_metrics_on_a_hand_made_case():
    y = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 1]])
    s = np.array([[0.9, 0.1, 0.2, 0.3], [0.8, 0.1, 0.0, 0.2], [0.1, 0.2, 0.3, 0.4]])
    assert metrics.precision_at_1(y, s) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(y, s, 3) == pytest.approx((1 + 1 + 1) / 3)
    assert metrics.recall_at_k(y, s, 1) == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_single_class_genre_gives_nan_not_an_error():
    assert np.isnan(metrics.roc_auc(np.zeros(5), np.arange(5)))
    y = np.array([[1, 0], [1, 1], [1, 0]])
    s = np.array([[0.2, 0.1], [0.3, 0.9], [0.1, 0.2]])
    assert metrics.headline_metrics(y, s)["macro_roc_auc"] == pytest.approx(1.0)


def test_bootstrap_resamples_whole_films():
    films = np.array(["a", "a", "a", "b", "c", "c"])
    for idx in metrics.film_resamples(films, n_boot=50, seed=3):
        drawn = films[idx]
        for film in set(drawn):
            # every draw of a film brings all its cues
            assert (drawn == film).sum() % (films == film).sum() == 0
        assert len(set(drawn)) <= 3


def test_paired_difference():
    y, s = _random_case(4, n=120)
    films = np.repeat(np.arange(40), 3)
    same = metrics.paired_difference(y, s, s, films, n_boot=200)
    assert same["difference"] == 0 and same["ci95_low"] == 0 and same["ci95_high"] == 0
    better = metrics.paired_difference(y, y + 0.01 * s, s, films, n_boot=200)
    assert better["difference"] > 0 and better["ci95_low"] > 0 and better["p_not_better"] == 0


def test_score_model_intervals_bracket_the_estimate():
    y, s = _random_case(5, n=150)
    films = np.repeat(np.arange(50), 3)
    sc = metrics.score_model(y, s, films, n_boot=200)
    for k in metrics.HEADLINE:
        low, high = sc["ci95"][k]
        assert low <= sc["metrics"][k] <= high
    assert [r["positives"] for r in sc["per_genre"]] == y.sum(axis=0).tolist()


def test_study_predictions_reproduce_the_published_numbers(shared, tmp_path):
    frame = evaluate.load_study_predictions(shared / "seed" / "pooling_dict.json")
    y, s, rows = evaluate.split_predictions(frame)
    assert len(rows) == 196 and rows.film.nunique() == 141
    head = metrics.headline_metrics(y, s)
    assert round(head["macro_roc_auc"], 3) == 0.756
    assert round(head["micro_roc_auc"], 3) == 0.753
    assert round(head["macro_ap"], 3) == 0.471
    assert round(head["lrap"], 3) == 0.619
    published = {
        "Action": (0.775, 0.518, 50),
        "Adventure": (0.689, 0.485, 62),
        "Comedy": (0.789, 0.496, 53),
        "Crime": (0.690, 0.329, 42),
        "Drama": (0.630, 0.504, 74),
        "Fantasy": (0.789, 0.380, 30),
        "Musical": (0.914, 0.656, 30),
        "Romance": (0.691, 0.344, 40),
        "Sci-Fi": (0.856, 0.616, 34),
        "Thriller": (0.739, 0.380, 44),
    }
    per = metrics.per_genre_metrics(y, s, GENRES)
    for genre, (auc, ap, pos) in published.items():
        assert (
            round(per.loc[genre, "roc_auc"], 3),
            round(per.loc[genre, "ap"], 3),
            per.loc[genre, "positives"],
        ) == (auc, ap, pos), genre
    low, high = metrics.score_model(y, s, rows.film.to_numpy(), n_boot=1000, seed=0)["ci95"][
        "macro_roc_auc"
    ]
    assert abs(low - 0.722) < 0.01 and abs(high - 0.791) < 0.01
    # our own predictions written in the study's schema read back through the same loader
    path = evaluate.export_study_schema(frame, tmp_path / "ours.json")
    again = evaluate.split_predictions(evaluate.load_study_predictions(path))
    assert np.array_equal(again[0], y) and np.allclose(again[1], s)


def test_thresholds_maximise_validation_f1_and_f1_matches_scikit_learn():
    y, s = _random_case(6, n=60)
    thresholds = metrics.choose_thresholds(y, s)
    for j in range(y.shape[1]):
        best = max(skm.f1_score(y[:, j], s[:, j] >= t, zero_division=0) for t in np.unique(s[:, j]))
        assert skm.f1_score(y[:, j], s[:, j] >= thresholds[j]) == pytest.approx(best)
    table = metrics.f1_table(y, s, thresholds, GENRES)
    for j, genre in enumerate(GENRES):
        called = s[:, j] >= thresholds[j]
        assert table.loc[genre, "f1"] == pytest.approx(skm.f1_score(y[:, j], called))
        assert table.loc[genre, "precision"] == pytest.approx(skm.precision_score(y[:, j], called))
    none = metrics.choose_thresholds(np.zeros((5, 2)), np.random.default_rng(0).random((5, 2)))
    assert np.isinf(none).all()


def test_per_cue_loss_ranks_right_before_wrong():
    y = np.array([[1, 0], [1, 0]])
    s = np.array([[0.9, 0.1], [0.1, 0.9]])
    loss = metrics.per_cue_loss(y, s)
    assert loss[0] < loss[1]
    assert loss[0] == pytest.approx(skm.log_loss(y[0], s[0], labels=[0, 1]))


def test_study_cooccurrence_matches_the_counts_the_generator_embeds(shared):
    from filmgenre.data import synth

    counts = evaluate.study_cooccurrence(shared / "seed" / "tag_sets.json")
    for i, a in enumerate(GENRES):
        assert counts[i, i] == synth.STUDY_GENRE_COUNTS[a]
        for j, b in enumerate(GENRES):
            if i < j:
                assert counts[i, j] == synth._pair_count(a, b), (a, b)


def test_standard_pairs_ask_the_studys_questions_from_each_models_config():
    # names say nothing here: families and pairs come from config.json
    infos = {
        "baseline_net": {"architecture": "study_cnn", "feature_kind": "mfcc"},
        "other_net": {"architecture": "study_cnn", "feature_kind": "logmel"},
        "ten_nets": {"architecture": "binary_ensemble", "feature_kind": "mfcc"},
        "deep": {"architecture": "resnet_cnn", "feature_kind": "logmel"},
        "baseline_max": {"architecture": "study_cnn", "feature_kind": "mfcc", "pooling": "max",
                         "base_model": "baseline_net"},
        "deep_att": {"architecture": "attention_pooling", "feature_kind": "logmel",
                     "pooling": "attention", "base_model": "deep"},
        "flat": {"architecture": "tile_mlp", "feature_kind": "mfcc"},
        "stats": {"architecture": "summary_mlp", "feature_kind": "mfcc_summary"},
        "emb": {"architecture": "musicnn_mlp", "input": "musicnn_embedding"},
        "tuned": {"architecture": "musicnn_finetuned", "input": "musicnn_patches"},
    }  # fmt: skip
    macro = {"baseline_net": 0.90, "other_net": 0.88, "ten_nets": 0.86, "deep": 0.93,
             "baseline_max": 0.89, "deep_att": 0.94, "flat": 0.78, "stats": 0.87, "emb": 0.91,
             "tuned": 0.92}  # fmt: skip
    pairs = {q: (a, b) for q, a, b in evaluate.standard_pairs(macro, infos)}
    assert pairs["best model vs the study's CNN architecture"] == ("deep_att", "baseline_net")
    assert pairs["best CNN vs best fully-connected net"] == ("deep", "stats")
    assert pairs["ten binary nets vs one multi-label net"] == ("ten_nets", "baseline_net")
    assert pairs["best modern CNN vs the study's CNN"] == ("deep", "baseline_net")
    assert pairs["attention pooling vs mean of tiles"] == ("deep_att", "deep")
    assert pairs["max pooling vs mean of tiles"] == ("baseline_max", "baseline_net")
    assert pairs["fine-tuning vs embeddings + MLP"] == ("tuned", "emb")
    assert evaluate.model_family(infos["emb"]) == "transfer"  # not a fully-connected baseline
    assert evaluate.standard_pairs({"stats": 0.8}, infos) == []


def test_metrics_schema_and_the_best_model():
    payload = {"models": {evaluate.STUDY_ROW: {"metrics": {"macro_roc_auc": 0.99}, "ci95": {}},
                          "a": {"metrics": {"macro_roc_auc": 0.7}, "ci95": {}},
                          "b": {"metrics": {"macro_roc_auc": 0.8}, "ci95": {}}}}  # fmt: skip
    assert evaluate.best_model(payload) == "b"  # the reference row never counts
    assert evaluate.best_model(payload, available={"a"}) == "a"


def test_read_metrics_names_the_file_and_what_is_missing(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"models": {"a": {"metrics": {}}}}))
    with pytest.raises(ValueError, match=r"metrics.json: model 'a' lacks \['ci95'\]"):
        evaluate.read_metrics(path)
    path.write_text(json.dumps({"schema_version": 99, "models": {}}))
    with pytest.raises(ValueError, match="schema version 99"):
        evaluate.read_metrics(path)


def test_paired_table_refuses_models_scored_on_different_cues():
    rng = np.random.default_rng(0)
    y = (rng.random((30, 3)) < 0.4).astype(int)
    rows = pd.DataFrame({"film": np.repeat(np.arange(10), 3).astype(str), "cue": list(range(30))})
    good = y + rng.normal(0, 0.3, y.shape)
    bad = rng.random(y.shape)
    sets = {"a": (y, good, rows), "b": (y, bad, rows), "c": (y, bad, rows.iloc[::-1])}
    table = evaluate.paired_table(sets, [("a vs b", "a", "b")], n_boot=200)
    assert table.loc[0, "difference"] > 0 and table.loc[0, "interval_excludes_zero"]
    assert table.loc[0, "ci95_low"] <= table.loc[0, "difference"] <= table.loc[0, "ci95_high"]
    with pytest.raises(ValueError, match="different test cues"):
        evaluate.paired_table(sets, [("a vs c", "a", "c")], n_boot=10)
