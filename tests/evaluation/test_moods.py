"""The mood model: listener tables and their agreement, ridge maps folded into one matrix on
the raw parts, the nested procedure on data with a known signal, the shipped model; and the
measurement of mood words as search runs them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from filmgenre.data import emotions
from filmgenre.data.moods import DIMENSIONS, EMOTIONS, MOODS
from filmgenre.evaluation.moods import model as mood_model
from filmgenre.evaluation.moods import study


def test_listener_ratings_drop_unmoved_markers_and_average_per_listener(tmp_path):
    table = tmp_path / "emotions.csv"
    table.write_text("path,listener,time_s,valence,arousal\n"
                     "a.mp3,l1,1,0.5,0.5\na.mp3,l1,2,0.1,0.3\na.mp3,l2,1,0,0\n"
                     "a.mp3,l2,2,-0.4,0.1\nb.mp3,l1,1,0,0\n")  # fmt: skip
    per = emotions.listener_ratings(table)
    assert len(per) == 2  # b.mp3's only mark is (0, 0): dropped
    cue = emotions.cue_ratings(table)
    assert cue.loc["a.mp3", "valence"] == pytest.approx((0.3 + -0.4) / 2)
    assert cue.loc["a.mp3", "n_listeners"] == 2
    other = tmp_path / "other.csv"
    other.write_text("path,valence\na.mp3,0.2\n")
    with pytest.raises(ValueError, match=r"other.csv: not a valence-arousal .* listener, arousal"):
        emotions.listener_ratings(other)


def test_split_half_agreement_recovers_a_known_reliability():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=400)
    rows = [{"path": f"c{i}", "listener": f"l{k}", "valence": t + rng.normal()}
            for i, t in enumerate(truth) for k in range(2)]  # fmt: skip
    found = emotions.split_half(pd.DataFrame(rows), "valence", n_splits=20, n_boot=100)
    # one listener each side: the correlation of two noisy copies is var(t)/(var(t)+var(e))
    assert found["cues"] == 400 and found["pearson"] == pytest.approx(0.5, abs=0.08)
    assert found["spearman_95"][0] < found["spearman"] < found["spearman_95"][1]
    assert found["noise_free_ceiling"] == pytest.approx(np.sqrt(found["spearman"]))


def test_ridge_folds_back_onto_raw_parts_and_maps_compose():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    blocks = {"a": rng.normal(3, 5, (40, 6)), "b": rng.normal(size=(40, 4))}
    y = rng.normal(size=(40, 2))
    fitted = mood_model.ridge(blocks, y, 0.5)
    x = np.hstack([blocks["a"], blocks["b"]])
    z = (x - x.mean(0)) / x.std(0)
    reference = Ridge(alpha=0.5 * 10).fit(z, y).predict(z)
    assert np.allclose(fitted.apply(blocks), reference)  # the same numbers from raw parts
    other = mood_model.ridge({"b": blocks["b"]}, y, 2.0)
    both = mood_model.average([fitted, other])
    assert np.allclose(both.apply(blocks), (fitted.apply(blocks) + other.apply(blocks)) / 2)
    then = fitted.then(np.array([[1.0], [2.0]]), np.array([0.5]))
    assert np.allclose(then.apply(blocks)[:, 0], fitted.apply(blocks) @ [1, 2] + 0.5)
    with pytest.raises(KeyError, match="reads b"):
        other.apply({"a": blocks["a"]})


def _synthetic(n: int = 90, seed: int = 0) -> tuple[study.MoodData, study.MoodData]:
    """Clips whose emotions and film cues whose valence/arousal follow their parts."""
    rng = np.random.default_rng(seed)

    def parts(rows: int) -> dict[str, np.ndarray]:
        return {p: rng.normal(size=(rows, 8)) for p in study.PARTS}

    g_blocks = parts(n)
    signal = g_blocks[study.TAGS[0]]
    shares = 1 / (1 + np.exp(-np.hstack([signal, signal[:, :1]]) * 2))
    labels = (shares > 0.6).astype(int)
    gems = study.MoodData("clips", [f"c{i}" for i in range(n)], np.array([f"c{i}" for i in
                          range(n)]), g_blocks, shares, labels)  # fmt: skip
    v_blocks = parts(n)
    va = (v_blocks[study.PENULTIMATE[0]][:, :2] + 0.5 * rng.normal(size=(n, 2))) / 3
    films = np.array([f"f{i // 3}" for i in range(n)])
    return gems, study.MoodData("cues", [f"v{i}" for i in range(n)], films, v_blocks, va)


def test_nested_selection_learns_a_signal_the_anchor_cannot_see():
    gems, va = _synthetic()
    result = study.nested(gems, study.GEMS_FAMILIES, None, k=3, repeats=1, inner_k=3)
    table = study.gems_table(gems, result, n_boot=50)
    mean = table.loc["mean over emotions"]
    assert mean["ROC-AUC (nested)"] > 0.85 and mean["ROC-AUC (MFCC anchor)"] < 0.7
    assert {c["family"] for c in result["choices"]} <= {"tags_ridge", "ensemble_ridge"}
    # valence and arousal: the transfer families read a GEMS map's outputs as one more input
    gems_map, _, _ = study.fit_gems(gems, k=3)
    arousal = study.nested(va.with_transfer(gems_map), study.VA_FAMILIES, 1, k=3, repeats=1,
                           inner_k=3)  # fmt: skip
    assert study.spearman(va.targets[:, 1], arousal["raw"][:, 0]) > 0.6
    assert study.spearman(va.targets[:, 1], arousal["anchor"][:, 0]) < 0.4


def test_the_final_model_is_one_map_that_gives_what_its_parts_give(tmp_path):
    gems, va = _synthetic()
    model, choices = study.fit_final(gems, va, k=3)
    assert set(choices) == {"gems", *DIMENSIONS}
    # the GEMS part: the chosen family fitted on every clip, through its Platt maps
    g = choices["gems"]
    raw = study.GEMS_FAMILIES[g["family"]].fit(gems.blocks, gems.targets, g["strength"])
    expected = 1 / (1 + np.exp(-(model.slope * raw.apply(va.blocks) + model.offset)))
    out = model.predict(va.blocks)
    assert out.shape == (len(va.keys), len(MOODS))
    assert np.allclose(out[:, : len(EMOTIONS)], expected, atol=1e-5)
    # each dimension: its family on the parts, the GEMS outputs as one more input
    with_gems = va.with_transfer(raw)
    for column, dimension in enumerate(DIMENSIONS):
        c = choices[dimension]
        fitted = study.VA_FAMILIES[c["family"]].fit(with_gems.blocks,
                                                    va.targets[:, [column]], c["strength"])
        wanted = np.clip(fitted.apply(with_gems.blocks)[:, 0], -1, 1)
        assert np.allclose(out[:, len(EMOTIONS) + column], wanted, atol=1e-5), dimension
    assert np.corrcoef(out[:, -1], va.targets[:, 1])[0, 1] > 0.6
    model.info = {"name": "synthetic"}
    loaded = mood_model.MoodModel.load(model.save(tmp_path / "m"))
    assert loaded.key == mood_model.MoodModel.load(tmp_path / "m").key
    assert np.allclose(loaded.predict(va.blocks), out, atol=1e-4)
    with pytest.raises(FileNotFoundError, match="no mood model here"):
        mood_model.MoodModel.load(tmp_path)


def test_the_shipped_mood_model_says_what_it_was_trained_on_and_what_it_means():
    model, folder = mood_model.load_moods("shipped")
    assert model is not None and folder.name == "moods_emotify_fme24"
    info = model.info
    assert "emotify" in info["trained_on"]["gems"] and "FME-24" in info["trained_on"][
        "valence_arousal"]  # fmt: skip
    assert set(info["outputs"]) == set(MOODS)
    cv = info["cross_validation"]
    assert "nested" in cv["procedure"] and cv["gems_macro_roc_auc"] > 0.75
    rows = {r["dimension"]: r for r in cv["valence_arousal"]}
    assert rows["valence"]["listeners' split-half Spearman"] > 0
    assert set(model.parts) <= set(study.PARTS)  # the index's one network pass computes them
    assert mood_model.load_moods(None) == (None, None)


def test_mood_words_are_measured_as_search_ranks_them():
    from filmgenre.library import mood_quality

    rng = np.random.default_rng(3)
    n = 60
    labels = (rng.random((n, len(EMOTIONS))) < 0.3).astype(int)
    moods = np.hstack([labels * 0.8 + 0.1 * rng.random(labels.shape), rng.random((n, 2))])
    tags = rng.random((n, 100))
    genres = ["classical"] * 15 + ["pop"] * 15 + ["rock"] * 15 + ["electronic"] * 15
    tags[:15, 1] += 2  # the MTT tagger's 'classical' column knows the classical clips
    rows = {r["word"]: r for r in mood_quality.emotify_rows(
        [f"c{i}" for i in range(n)], labels, genres, tags, moods, n_boot=20)}  # fmt: skip
    for word in ("calm", "tense", "happy", "powerful"):
        assert rows[word]["P@10"] == 1.0 and rows[word]["AP"] == 1.0, rows[word]
        assert rows[word]["P@10 random"] < 0.6
    assert rows["classical"]["P@10"] == 1.0 and rows["calm"]["read as"] == "calmness"
    listeners = rng.normal(size=(n, 2))
    film_moods = np.hstack([rng.random((n, 9)), listeners + 0.01 * rng.normal(size=(n, 2))])
    va = {r["word"]: r for r in mood_quality.filmscore_rows(
        np.array([f"f{i // 2}" for i in range(n)]), listeners, tags, film_moods, n_boot=20)}
    assert va["dark"]["Spearman"] > 0.95 and va["dark"]["P@10"] == 1.0
    assert va["subdued"]["Spearman"] > 0.95


def test_moods_by_genre_resample_films_and_find_a_planted_difference(tmp_path):
    from filmgenre.evaluation.moods.genres import film_genre_moods, mood_genre_table

    rng = np.random.default_rng(0)
    films = np.repeat([f"f{i}" for i in range(30)], 4)  # 30 films of 4 cues
    dark = np.repeat(np.arange(30) < 10, 4)  # the first 10 films are thrillers
    rare = np.repeat(np.arange(30) < 2, 4)  # two films: too few to say anything
    genres = pd.DataFrame({"Thriller": dark.astype(int), "Musical": rare.astype(int),
                           "Drama": np.repeat(rng.random(30) < 0.5, 4).astype(int)})
    film_noise = np.repeat(rng.normal(0, 0.3, 30), 4)  # a film's cues share its sound
    moods = pd.DataFrame({"valence": -0.5 * dark + film_noise + rng.normal(0, 0.1, 120),
                          "noise": film_noise})  # fmt: skip
    table = mood_genre_table(moods, genres, films, n_boot=500, seed=1)
    assert set(table["genre"]) == {"Thriller", "Drama"}  # Musical: 2 films, no row
    row = table[(table["mood"] == "valence") & (table["genre"] == "Thriller")].iloc[0]
    assert row["difference"] == pytest.approx(row["with"] - row["without"])
    assert row["high"] < 0 and row["excludes_zero"] and row["films_with"] == 10
    assert abs(row["difference"] + 0.5) < 0.35
    # cues of one film move together: resampling cues as if each were a film of its own
    # gives a narrower, overconfident interval
    naive = mood_genre_table(moods[["valence"]], genres[["Thriller"]],
                             np.arange(120).astype(str), n_boot=500, seed=1).iloc[0]
    assert row["high"] - row["low"] > 1.3 * (naive["high"] - naive["low"])
    assert table.index[0] == table["difference"].abs().idxmax()
    with pytest.raises(ValueError, match="one of each per cue"):
        mood_genre_table(moods, genres.iloc[:10], films)
    # on an annotated collection: listeners' valence and arousal, the model's emotions
    (tmp_path / "labels.csv").write_text("film,genres\n" + "".join(
        f"f{i},\"{'Thriller, Drama' if i < 10 else 'Comedy'}\"\n" for i in range(30)))
    va = study.MoodData("films", [f"{f}/c.mp3" for f in films], films, {},
                        np.column_stack([moods["valence"], moods["noise"]]),
                        extra={"ratings_file": tmp_path / "emotions.csv"})  # fmt: skip
    emotions_ = np.tile(np.linspace(0, 1, len(EMOTIONS)), (120, 1))
    both = film_genre_moods(va, emotions_, n_boot=200)
    assert {"valence (listeners)", "arousal (listeners)", "tension (model)"} <= set(both["mood"])
    assert set(both["genre"]) == {"Thriller", "Drama", "Comedy"}
    assert film_genre_moods(study.MoodData("x", [], np.array([]), {}, np.zeros((0, 2))),
                            np.zeros((0, 9))).empty  # no label table: no rows


@pytest.mark.slow
def test_moods_as_inputs_of_the_genre_model_are_compared_on_the_same_folds(tiny_manifest):
    """Emotions that carry the genres (planted: each film's genres plus noise) make the
    mood families beat the MFCC anchor, and the nested choice with moods on offer takes
    them; every row is scored on the same folds and paired with the first family (the
    families here are the cheap MFCC ones; the default set is run on filmscore)."""
    from filmgenre.evaluation.crossval.folds import CVConfig
    from filmgenre.evaluation.moods.genres import MOOD_FAMILIES, moods_as_inputs

    y = tiny_manifest.cues[list(tiny_manifest.genres)].to_numpy(float)
    rng = np.random.default_rng(0)
    planted = y[:, :9] + rng.normal(0, 0.1, (len(y), 9))
    moods = {"moods_meandiff": MOOD_FAMILIES["moods_meandiff"]}  # a head without a grid: fast
    out = moods_as_inputs(tiny_manifest, CVConfig(k=3, repeats=1, inner_k=2), n_boot=50,
                          emotions=planted, without=("mfcc_meandiff",), with_moods=moods)
    cue = out["cue"]
    assert set(cue.index) == {"mfcc_meandiff", "moods_meandiff", "nested, without moods",
                              "nested, moods on offer"}  # fmt: skip
    auc = cue.iloc[:, 0].astype(float)  # over the genres with at least 3 films
    assert auc["moods_meandiff"] > auc["mfcc_meandiff"] + 0.1
    assert auc["nested, moods on offer"] > auc["nested, without moods"]
    chosen = out["chosen with moods on offer"]["chosen"]
    assert len(chosen) == 3 and chosen.isin(list(moods)).sum() >= 2
    paired = out["paired with the first family"]
    assert set(paired["b"]) == {"mfcc_meandiff"} and "moods_meandiff" in set(paired["a"])
