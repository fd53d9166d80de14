"""Grouped cross-validation: folds keep groups whole, out-of-fold scores cannot leak a
group, film-level pooling, final models that tag new audio and say what they learned."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from film_tables import random_film_cues as _cues
from numpy.testing import assert_allclose

from filmgenre import cli, predict
from filmgenre.data import dataset
from filmgenre.evaluation.crossval import final, folds, heads, loops, nested, oof, vectors
from filmgenre.genres import GENRES


def test_composer_credits_are_split_and_normalised():
    assert folds.composer_names("Hans Zimmer & Lorne Balfe") == ["hans zimmer", "lorne balfe"]
    assert folds.composer_names("Soundtree, Luis Almau (as Almau)") == [
        "luis almau",
        "soundtree",
    ]
    assert folds.composer_names("Nina Simone/ Screamin' Jay Hawkins") == [
        "nina simone", "screamin' jay hawkins"]  # fmt: skip


def test_composer_groups_join_films_that_share_a_composer():
    cues = pd.DataFrame({
        "film": ["a", "a", "b", "c", "d"], "cue": ["1", "2", "1", "1", "1"],
        "composer": ["Hans Zimmer", "The Who", "Hans Zimmer & Lorne Balfe", "Lorne Balfe",
                     "Mica Levi"]})  # fmt: skip
    g = folds.groups(cues, "composer")
    assert g[0] == g[1] == g[2] == g[3]  # a-b through Zimmer, b-c through Balfe
    assert g[4] != g[0]
    with pytest.raises(ValueError, match="needs a 'composer' cue attribute"):
        folds.groups(cues.drop(columns="composer"), "composer")


def test_folds_keep_films_whole_cover_every_cue_and_repeat_from_the_seed():
    cues = _cues()
    fold_of = folds.assign_folds(cues, GENRES, k=5, seed=3)
    assert set(fold_of) == set(range(5))
    assert (cues.assign(fold=fold_of).groupby("film")["fold"].nunique() == 1).all()
    assert (fold_of == folds.assign_folds(cues, GENRES, k=5, seed=3)).all()
    assert (fold_of != folds.assign_folds(cues, GENRES, k=5, seed=4)).any()
    by_cue = folds.assign_folds(cues, GENRES, k=5, seed=3, by="cue")
    assert (cues.assign(fold=by_cue).groupby("film")["fold"].nunique() > 1).any()


def test_grouping_decides_whether_a_model_can_memorise_films():
    """Features that only identify the film, genres drawn per film: grouped by film the
    model cannot know an unseen film (about 0.5); with cues at random it memorises films."""
    cues = _cues(n_films=40, per_film=4, seed=1)
    manifest = dataset.Manifest(cues.assign(path="", genres=""), genres=GENRES)
    films = pd.factorize(cues["film"])[0]
    x = np.eye(films.max() + 1)[films] + 0.01 * np.random.default_rng(0).normal(
        size=(len(films), films.max() + 1))  # fmt: skip
    family = vectors.Family(("film_identity",), grid=(1.0,))
    auc = {}
    for by in ("film", "cue"):
        result = loops.cross_validate_vectors("ident", manifest, x, folds.CVConfig(by=by),
                                                 family)  # fmt: skip
        frame = result.predictions
        assert len(frame) == len(cues) and frame["split"].eq("oof").all()
        auc[by] = oof.score_frame(frame, GENRES, n_boot=20)["metrics"]["macro_roc_auc"]
    assert auc["film"] < 0.62
    assert auc["cue"] > 0.85


def test_mean_difference_is_the_limit_of_ever_stronger_logistic_regression():
    """The meandiff head points where a class-balanced L2 logistic regression goes as its
    regularisation grows (C -> 0), and ranks cues as that regression does there."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    y = (rng.random(120) < 0.2).astype(int)  # an imbalanced genre, as most are
    x = rng.normal(size=(120, 30)) + 0.8 * y[:, None] * rng.normal(size=30)
    z = StandardScaler().fit_transform(x)
    head = heads.MeanDifference(z, y)
    weak = LogisticRegression(C=1e-6, class_weight="balanced").fit(z, y).coef_[0]
    strong = LogisticRegression(C=10.0, class_weight="balanced").fit(z, y).coef_[0]

    def cosine(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cosine(head.coef_[0], weak) > 0.9999
    assert cosine(head.coef_[0], strong) < 0.99  # the limit, not just any linear fit
    p = head.predict_proba(z)
    assert_allclose(p.sum(1), 1.0) and np.all((p > 0) & (p < 1))
    # a cue at the training mean gets the genre's base rate
    assert_allclose(head.predict_proba(np.zeros((1, 30)))[0, 1], y.mean())
    assert roc_auc_score(y, p[:, 1]) > 0.9


def test_meandiff_family_runs_through_folds_and_exports_to_keras(tmp_path):
    """A genre signal spread over many weak features: the meandiff family finds it on
    unseen films, and its final model predicts what the fitted head does."""
    cues = _cues(n_films=40, per_film=3, seed=2)
    manifest = dataset.Manifest(cues.assign(path="", genres=""), genres=GENRES)
    rng = np.random.default_rng(1)
    y = cues[list(GENRES)].to_numpy(float)
    x = rng.normal(size=(len(cues), 200)) + y @ rng.normal(scale=0.3, size=(len(GENRES), 200))
    family = vectors.FAMILIES["combined_meandiff"]
    result = loops.cross_validate_vectors("md", manifest, x, folds.CVConfig(k=4), family)
    assert oof.score_frame(result.predictions, GENRES, 20)["metrics"]["macro_roc_auc"] > 0.8
    folder = final.fit_final("md", manifest, x, tmp_path / "md_final", family=family)
    info = json.loads((folder / "config.json").read_text())
    assert info["architecture"] == "meandiff on cue vectors" and info["params"] > 200 * 10


def test_film_level_scores_pool_a_films_cues():
    frame = pd.DataFrame({"film": ["a", "a", "b"], "cue": ["1", "2", "1"], "split": "oof",
                          "y_Drama": [1, 1, 0], "p_Drama": [0.2, 0.6, 0.3]})  # fmt: skip
    mean = oof.film_level(frame, ("Drama",), "mean").set_index("film")
    top = oof.film_level(frame, ("Drama",), "max").set_index("film")
    assert mean.loc["a", "p_Drama"] == pytest.approx(0.4)
    assert top.loc["a", "p_Drama"] == pytest.approx(0.6)
    assert mean.loc["a", "y_Drama"] == 1 and len(mean) == 2


@pytest.mark.slow
def test_final_model_tags_new_audio_and_is_used_when_asked_for_by_name(
    tiny_manifest, tiny_collection, tmp_path, capsys
):
    run = tmp_path / "reports" / "run1"
    x = vectors.cue_vectors(tiny_manifest, ["mfcc_stats"])
    result = loops.cross_validate_vectors("mfcc_logreg", tiny_manifest, x,
                                             folds.CVConfig(k=3))  # fmt: skip
    scores = oof.score_frame(result.predictions, tiny_manifest.genres, 20)["metrics"]
    folder = final.fit_final("mfcc_logreg", tiny_manifest, x, run / "models" / "final",
                                scores)  # fmt: skip
    info = json.loads((folder / "config.json").read_text())
    assert info["trained_on"]["synthetic"] is True and info["input"] == "cue_vector"
    files = sorted((tiny_collection / "audio").rglob("*.wav"))[:3]
    table, skipped = predict.tag_files(files, folder)
    assert table.shape == (3, len(tiny_manifest.genres)) and skipped.empty
    assert ((table >= 0) & (table <= 1)).all().all()

    # a run's final model is never the default, even trained on real recordings; it is
    # used when asked for by name (latest-real, RUN/NAME or its folder)
    shipped = predict.shipped_models()[0]
    assert predict.resolve_model(None, tmp_path / "reports")[0] == shipped
    with pytest.raises(FileNotFoundError, match="latest-real"):
        predict.resolve_model("latest-real", tmp_path / "reports")  # synthetic: not real
    info["trained_on"]["synthetic"] = False
    (folder / "config.json").write_text(json.dumps(info))
    assert predict.resolve_model(None, tmp_path / "reports")[0] == shipped
    chosen, why = predict.resolve_model("latest-real", tmp_path / "reports")
    assert chosen == folder and "run1" in why
    assert predict.resolve_model("run1/final", tmp_path / "reports")[0] == folder
    with pytest.raises(FileNotFoundError, match="neither a model folder"):
        predict.resolve_model("run1/nothing", tmp_path / "reports")

    # the command says what the model learned (in this process: a fresh one is
    # tests/cli/test_chatter.py's and test_saved_models.py's)
    capsys.readouterr()
    assert cli.main(["tag", str(files[0]), "--model", str(folder)]) == 0
    out = capsys.readouterr()
    assert "trained on: real recordings in" in out.out
    assert "WARNING: this model learned the synthetic" not in out.err
    info["trained_on"]["synthetic"] = True
    (folder / "config.json").write_text(json.dumps(info))
    assert cli.main(["tag", str(files[0]), "--model", str(folder)]) == 0
    out = capsys.readouterr()
    assert "the SYNTHETIC collection" in out.out
    assert "WARNING: this model learned the synthetic collection" in out.err


def test_filmscore_composer_groups_never_straddle_folds(realaudio):
    folder = realaudio / "filmscore"
    if not (folder / "cues.csv").is_file():
        pytest.skip(f"{folder} is absent (see ../shared/realaudio/MANIFEST.md)")
    m = dataset.build_manifest(folder, folder / "labels.csv", cue_table=folder / "cues.csv")
    cues = m.cues
    group = folds.groups(cues, "composer")
    zimmer = np.flatnonzero(cues["composer"].str.contains("Hans Zimmer").to_numpy())
    assert cues["film"].iloc[zimmer].nunique() >= 3 and len(set(group[zimmer])) == 1
    assert len(set(group)) < cues["film"].nunique()
    fold_of = folds.assign_folds(cues, m.genres, k=5, seed=0, by="composer")
    for name in {n for credit in cues["composer"] for n in folds.composer_names(credit)}:
        has = cues["composer"].map(lambda c, n=name: n in folds.composer_names(c))
        assert len(set(fold_of[has.to_numpy()])) == 1, name


@pytest.mark.slow
def test_the_shipped_model_is_trained_on_real_film_music_and_tags_from_a_fresh_clone(
    realaudio, tmp_path
):
    shipped = predict.shipped_models()
    assert shipped, "no final model ships in filmgenre/pretrained"
    info = json.loads((shipped[0] / "config.json").read_text())
    assert predict.is_real(info) and info["trained_on"]["n_films"] >= 70
    assert info["cross_validation"]["macro_roc_auc"] > 0.6
    clip = sorted((realaudio / "filmscore").rglob("*.mp3"))[0]
    env = {"FILMGENRE_ROOT": str(tmp_path), "FILMGENRE_DATA": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "filmgenre", "tag", str(clip)], cwd=tmp_path,
                         capture_output=True, text=True, env={**os.environ, **env})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"model: {shipped[0]}" in out.stdout and "trained on: real recordings" in out.stdout
    assert "WARNING: this model learned the synthetic" not in out.stderr and "Drama" in out.stdout


@pytest.mark.slow
def test_keras_models_run_through_the_same_folds_with_numeric_cue_names(tiny_manifest, tmp_path):
    from filmgenre.training import loop as train

    cues = tiny_manifest.cues.copy()
    cues["cue"] = np.arange(len(cues))  # emotify-style names read back from CSV as integers
    manifest = dataset.Manifest(cues, genres=tiny_manifest.genres)
    config = train.TrainConfig(epochs=1, batch_size=16, verbose=0)
    result = loops.cross_validate_keras("tile_mlp", manifest, tmp_path, "mfcc",
                                           folds.CVConfig(k=3), config)  # fmt: skip
    frame = result.predictions
    assert result.name == "tile_mlp_mfcc" and len(frame) == len(cues)
    assert frame[[f"p_{g}" for g in manifest.genres]].gt(0).all().all()  # every cue predicted
    fold_of = folds.assign_folds(cues, manifest.genres, k=3)
    assert (frame["fold"].to_numpy() == fold_of).all()
    assert sorted(p.name for p in (tmp_path / "tile_mlp_mfcc" / "models").iterdir()) == [
        "repeat0_fold0", "repeat0_fold1", "repeat0_fold2"]  # fmt: skip


@pytest.mark.slow
def test_tag_and_search_write_csv_and_json_for_other_tools(
    tiny_collection, tmp_path, monkeypatch, capsys
):
    import io

    import pandas as pd

    files = sorted((tiny_collection / "audio").rglob("*.wav"))[:2]
    env = {**os.environ, "FILMGENRE_ROOT": str(tmp_path)}  # no runs: the shipped model
    done = subprocess.run([sys.executable, "-m", "filmgenre", "tag", *map(str, files),
                           "--format", "csv"], cwd=tmp_path, capture_output=True, text=True,
                          env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(io.StringIO(done.stdout))  # a fresh process's stdout: only the CSV
    assert list(table.columns) == ["file", *GENRES] and len(table) == 2
    assert "trained on: real recordings" in done.stderr

    monkeypatch.setenv("FILMGENRE_ROOT", str(tmp_path))  # the rest in this process
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> str:
        capsys.readouterr()
        assert cli.main(list(args)) == 0
        return capsys.readouterr().out

    out = tmp_path / "tags" / "tags.json"
    run("tag", *map(str, files), "--format", "json", "--out", str(out))
    record = json.loads(out.read_text())
    assert record["trained_on"]["n_films"] >= 70 and len(record["results"]) == 2
    assert set(record["results"][0]) == {"file", *GENRES}
    assert_allclose([r["Drama"] for r in record["results"]], table["Drama"], atol=1e-6)
    found = run("search", "Drama Romance", "--library", str(files[0].parent), "--format", "json")
    ranked = json.loads(found)["results"]  # --library: the folder's index, built first
    assert ranked and all((files[0].parent / r["path"]).is_file() for r in ranked)
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    # the index holds the scores `tag` gives (the whole track through the same model)
    tagged = dict(zip(table["file"].map(lambda f: Path(f).name), table["Drama"], strict=True))
    for r in ranked:
        if r["path"] in tagged:
            assert r["Drama"] == pytest.approx(tagged[r["path"]], abs=1e-4)


def test_nested_selection_chooses_inside_each_fold_and_scores_the_procedure():
    """Two candidate families: one carries the genres, one is noise. The choice made inside
    every outer fold picks the informative one; the procedure's out-of-fold score is close
    to that family's own row (and no better than the best single row by more than chance),
    and every cue is predicted once by a model whose choice never saw its film."""
    cues = _cues(n_films=36, per_film=2, seed=4)
    manifest = dataset.Manifest(cues.assign(path="", genres=""), genres=GENRES)
    rng = np.random.default_rng(5)
    y = cues[list(GENRES)].to_numpy(float)
    vectors = {"mfcc_meandiff": rng.normal(size=(len(cues), 60))
               + y @ rng.normal(scale=0.6, size=(len(GENRES), 60)),
               "musicnn_MTT_penultimate_meandiff": rng.normal(size=(len(cues), 60))}  # fmt: skip
    cv = folds.CVConfig(k=4)
    chosen = nested.nested_cross_validate(manifest, vectors, list(vectors), cv)
    assert chosen.info["chosen_counts"] == {"mfcc_meandiff": 4}
    assert len(chosen.predictions) == len(cues) and not chosen.predictions.duplicated(
        ["film", "cue"]).any()  # fmt: skip
    single = loops.cross_validate_vectors("mfcc_meandiff", manifest, vectors["mfcc_meandiff"],
                                             cv)  # fmt: skip
    auc = {name: oof.score_frame(r.predictions, GENRES, 20)["metrics"]["macro_roc_auc"]
           for name, r in (("nested", chosen), ("single", single))}  # fmt: skip
    assert auc["nested"] > 0.75 and auc["nested"] == pytest.approx(auc["single"], abs=1e-9)
    table = nested.choices_table(chosen)
    assert list(table["chosen"]) == ["mfcc_meandiff"] * 4
    assert (table["inner_macro_roc_auc"] > 0.6).all()


def test_film_level_model_learns_what_averaging_cue_scores_cannot():
    """A genre that shows only in how much a film's cues differ from one another (each
    cue's vector has mean zero in every genre): a head on single cues, averaged per film,
    sees nothing; the film-level family, learning from the spread of a film's cues, finds
    it on unseen films. Each cue carries its film's scores, and the family is left out of
    the cue level and refused on folds that split films."""
    cues = _cues(n_films=48, per_film=4, seed=6)
    manifest = dataset.Manifest(cues.assign(path="", genres=""), genres=GENRES)
    rng = np.random.default_rng(7)
    y = cues[list(GENRES)].to_numpy(float)
    scale = 1.0 + 1.5 * (y @ (rng.random((len(GENRES), 80)) < 0.3))
    x = rng.normal(size=(len(cues), 80)) * scale
    cue_family = vectors.Family(("v",), grid=(1e-2,))
    film_family = vectors.Family(("v",), grid=(1e-2,), level="film",
                                  pooled_counterpart="per_cue")  # fmt: skip
    cv = folds.CVConfig(k=4)
    results = {"per_cue": loops.cross_validate_vectors("per_cue", manifest, x, cv, cue_family),
               "per_film": loops.cross_validate_vectors("per_film", manifest, x, cv,
                                                           film_family)}  # fmt: skip
    frame = results["per_film"].predictions
    assert frame.groupby("film")[[f"p_{g}" for g in GENRES]].nunique().eq(1).all().all()
    table = oof.film_models_vs_pooling(results, GENRES, n_boot=200)
    row = table.set_index("film model").loc["per_film"]
    assert row["mean of cue scores of"] == "per_cue"
    assert row["film model macro ROC-AUC"] > 0.75 > 0.65 > row["mean of cues macro ROC-AUC"]
    assert row["ci95_low"] > 0
    levels = oof.score_levels(results, GENRES, n_boot=20)
    assert "per_film" not in levels["cue"] and "per_film" in levels["film (mean of cues)"]
    with pytest.raises(ValueError, match="keep a film's cues together"):
        loops.cross_validate_vectors("per_film", manifest, x, folds.CVConfig(k=4, by="cue"),
                                        film_family)  # fmt: skip


@pytest.mark.slow
def test_a_run_trained_on_other_labels_does_not_change_the_default_model(
        tiny_manifest, tiny_collection, tmp_path, monkeypatch, capsys):  # fmt: skip
    """The README's emotify run (nine emotion tags, real recordings) used to become what
    `tag` and `index build` used by default; the default is the shipped model whatever
    runs exist, and every command says which model it used and why."""
    renamed = {g: f"mood{i}" for i, g in enumerate(tiny_manifest.genres)}
    cues = tiny_manifest.cues.rename(columns=renamed)
    other = dataset.Manifest(cues, genres=tuple(renamed.values()))
    x = vectors.cue_vectors(tiny_manifest, ["mfcc_stats"])
    root = tmp_path / "project"  # the project root: its reports/ hold the other run
    folder = final.fit_final("mfcc_logreg", other, x,
                                root / "reports" / "emotify-run" / "models" / "mood_final")
    info = json.loads((folder / "config.json").read_text())
    info["trained_on"]["synthetic"] = False  # as the emotify run's final model says
    (folder / "config.json").write_text(json.dumps(info))
    wav = sorted((tiny_collection / "audio").rglob("*.wav"))[0]
    monkeypatch.setenv("FILMGENRE_ROOT", str(root))
    monkeypatch.chdir(root)

    def run(*args: str):
        capsys.readouterr()
        assert cli.main(list(args)) == 0
        return capsys.readouterr()

    done = run("tag", str(wav), "--format", "csv")
    assert done.out.splitlines()[0].split(",")[1:] == list(GENRES)
    assert "the default: the model that ships with filmgenre" in done.err
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(wav, library / wav.name)
    built = run("index", "build", str(library), "--index", str(tmp_path / "i.sqlite"))
    assert "the model that ships with filmgenre" in built.out
    from filmgenre.library import store

    assert store.get_meta(store.connect(tmp_path / "i.sqlite"), "genres") == list(GENRES)
    asked = run("tag", str(wav), "--model", "latest-real", "--format", "csv")
    assert asked.out.splitlines()[0].split(",")[1:] == list(renamed.values())
    assert "latest-real" in asked.err and "emotify-run" in asked.err
