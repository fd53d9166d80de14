"""Papermill runs of every notebook on the smoke profile, and loud failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from filmgenre import pipeline
from filmgenre.config import GENRES, project_root, shared_dir

ROOT = project_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "FILMGENRE_ROOT": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "filmgenre", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_notebooks_are_numbered_clean_and_parameterised():
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01_dataset_assembly.ipynb",
        "02_spectrogram_exploration.ipynb",
        "03_train_cnn.ipynb",
        "04_train_dense_baseline.ipynb",
        "05_modern_cnn_and_pooling.ipynb",
        "06_transfer_musicnn.ipynb",
        "07_evaluation.ipynb",
        "08_cross_validation.ipynb",
        "09_library_search.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not any(c.outputs or c.execution_count for c in code), f"{path.name} has outputs"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: one cell tagged 'parameters'"
        assert nb.metadata.kernelspec.name == "filmgenre"
        assert "from filmgenre import" in "".join(c.source for c in code)
        assert {"run_dir", "seed"} <= pipeline.declared_parameters(path)


@pytest.mark.slow
def test_smoke_pipeline_runs_every_notebook_into_a_report(smoke_run, tmp_path):
    run = smoke_run
    for nb in NOTEBOOKS:
        executed = nbformat.read(run / nb.name, as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        results = [o for c in executed.cells for o in c.get("outputs", [])]
        shown = [o.get("data", {}).get("text/plain", "") for o in results
                 if o.get("output_type") == "execute_result"]  # fmt: skip
        assert not [t for t in shown if "PosixPath(" in t], f"{nb.name} prints a path repr"
        html = (run / nb.name).with_suffix(".html").read_text()
        assert "<html" in html and "data:image/png;base64" in html, nb.name
        assert "https://cdnjs" not in html  # opens offline, no network needed
        assert "from filmgenre import" not in html, nb.name  # a report: code hidden
    assert "data:audio/wav;base64" in (run / "02_spectrogram_exploration.html").read_text()
    front = (run / "index.html").read_text()
    assert "films," in front and "hours</b>" in front and "Results on test films" in front
    assert "07_macro_auc_intervals.png" in front and "Paired questions" in front
    assert front.index("Results on test films") < front.index("<h2>Parameters")
    assert "smoke" in (run.parent / "index.html").read_text()  # the list of every run
    params = yaml.safe_load((run / "parameters.yaml").read_text())
    assert params["profile"] == "smoke" and params["epochs"] == 2
    assert "keras" in json.loads((run / "versions.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    models = metrics["models"]
    for name in (
        "study_cnn_mfcc",
        "study_cnn_logmel",
        "binary_ensemble_mfcc",
        "resnet_cnn_logmel",
        "fcn_cnn_logmel",
        "study_cnn_mfcc+max",
        "tile_mlp_mfcc",
        "summary_mlp",
        "musicnn_mlp",
        "musicnn_finetuned",
        "prior (genre frequency)",
    ):
        low, high = models[name]["ci95"]["macro_roc_auc"]
        assert low <= models[name]["metrics"]["macro_roc_auc"] <= high
    assert any(k.endswith("+attention") for k in models) and any(k.endswith("+gru") for k in models)
    questions = {p["comparison"] for p in metrics["paired"]}
    assert {
        "best CNN vs best fully-connected net",
        "ten binary nets vs one multi-label net",
        "best modern CNN vs the study's CNN",
        "fine-tuning vs embeddings + MLP",
        "max pooling vs mean of tiles",
        "attention pooling vs mean of tiles",
    } <= questions
    assert metrics["training"]["musicnn_finetuned"]["params"] > 700_000
    figures = {p.stem for p in (run / "figures").glob("*.png")}
    assert {
        "02_logmel_per_genre",
        "02_mfcc_per_genre",
        "01_genre_cooccurrence",
        "03_cnn_training_curves",
        "04_dense_training_curves",
        "05_modern_training_curves",
        "06_transfer_training_curves",
        "07_macro_auc_intervals",
        "07_per_genre_auc",
        "07_roc_best",
        "07_pr_best",
        "07_calibration",
        "07_cue_panels",
        "07_cooccurrence",
        "07_training_curves",
        "08_calibration",
        "09_library_map",
    } <= figures
    study = "original study (its own 196 cues)"
    if shared_dir() is None:  # the reference row needs ../shared/seed
        assert study not in models
    else:
        assert models[study]["metrics"]["macro_roc_auc"] == pytest.approx(0.7563, abs=5e-5)
    assert {d["genre"] for d in metrics["decisions"]["summary_mlp"]} == set(GENRES)
    assert (run / "models" / "summary_mlp" / "test_predictions_study_schema.json").is_file()
    beside = json.loads((run / "models" / "resnet_cnn_logmel" / "metrics.json").read_text())
    assert beside["metrics"] == models["resnet_cnn_logmel"]["metrics"]
    assert (run / "dataset" / "manifest.csv").is_file()
    assert json.loads((run / "status.json").read_text())["status"] == "ok"

    # notebook 08: out-of-fold scores at cue and film level, leakage, final models
    cv = json.loads((run / "crossval" / "metrics.json").read_text())
    assert set(cv["levels"]) == {"cue", "film (mean of cues)", "film (max of cues)"}
    n_cues = len(pd.read_csv(run / "dataset" / "manifest.csv"))
    for level, scores in cv["levels"].items():
        for name, sc in scores.items():
            low, high = sc["ci95"]["macro_roc_auc"]
            assert low <= sc["metrics"]["macro_roc_auc"] <= high, (level, name)
            assert sc["n_cues"] == (n_cues if level == "cue" else sc["n_films"])
    assert {"mfcc_logreg", "combined_logreg", "study_cnn_mfcc", "ensemble_of_all"} <= set(
        cv["levels"]["cue"]
    )
    assert {(r["model"], r["grouping"]) for r in cv["leakage"]} >= {
        ("mfcc_logreg", "cue"), ("mfcc_logreg", "film")}  # fmt: skip
    assert all(p["b"] == "mfcc_logreg" for p in cv["paired"])
    oof = pd.read_csv(run / "crossval" / "combined_logreg" / "oof_predictions.csv")
    assert len(oof) == n_cues and not oof.duplicated(["film", "cue"]).any()
    final = json.loads((run / "models" / "combined_logreg_final" / "config.json").read_text())
    assert final["trained_on"]["synthetic"] is True and final["final"] is True
    assert final["cross_validation"]["macro_roc_auc"] == pytest.approx(
        cv["levels"]["cue"]["combined_logreg"]["metrics"]["macro_roc_auc"])  # fmt: skip
    assert "combined_meandiff" in cv["levels"]["cue"]
    # the model choice cross-validated as a whole leads the front page
    assert sum(cv["nested"]["chosen_counts"].values()) == 3  # one choice per outer fold
    assert "nested_selection" in cv["levels"]["film (mean of cues)"]
    assert "nested cross-validation of the model choice" in front
    assert {r["model"] for r in cv["calibration"]} >= {"mfcc_logreg", "combined_meandiff"}
    assert final["outputs"] == "calibrated probabilities"
    # notebook 09 indexed the run's own cues with the shipped model and searched them
    from filmgenre import index as idx

    run_index = run / "library" / "library.sqlite"
    assert idx.summary(idx.connect(run_index))["tracks"] == n_cues
    cnn = json.loads((run / "models" / "study_cnn_mfcc_final" / "config.json").read_text())
    assert cnn["final"] is True and cnn["stopping_films"] > 0
    assert cnn["trained_on"]["n_films"] + cnn["stopping_films"] == cv["levels"]["cue"][
        "mfcc_logreg"]["n_films"]  # fmt: skip

    # the saved model serves `filmgenre tag` and `filmgenre search` without its notebook
    model = run / "models" / "study_cnn_logmel"
    cues = pd.read_csv(run / "dataset" / "manifest.csv")["path"].head(3).tolist()
    tagged = _cli("tag", *cues, "--model", str(model))
    assert tagged.returncode == 0, tagged.stderr
    assert "Sci-Fi" in tagged.stdout and all(c in tagged.stdout for c in cues)
    library = Path(cues[0]).parent.parent
    found = _cli(
        "search", "Romance Comedy Action", "--library", str(library), "--model", str(model)
    )
    assert found.returncode == 0, found.stderr
    assert "fit" in found.stdout
    refused = _cli("search", "Romance Western", "--library", str(library), "--model", str(model))
    assert refused.returncode == 1 and "valid genres: Action" in refused.stderr
    # every kind of saved model serves search from a fresh process (custom layers included);
    # one process for all of them, so the suite pays TensorFlow's start-up once
    folders = sorted((run / "models").iterdir())
    kinds = ("+attention", "+gru", "musicnn_mlp", "musicnn_finetuned", "binary_ensemble",
             "combined_logreg_final", "combined_meandiff_final",
             "study_cnn_mfcc_final")  # fmt: skip
    chosen = [next(p for p in folders if kind in p.name and (p / "model.keras").is_file())
              for kind in kinds]  # fmt: skip
    script = (
        "import sys\nfrom filmgenre.cli import main\n"
        "for folder in sys.argv[2:]:\n"
        "    code = main(['search', 'Drama', '--library', sys.argv[1], '--model', folder])\n"
        "    print('exit', code, folder, flush=True)\n"
    )
    found = subprocess.run([sys.executable, "-c", script, str(library), *map(str, chosen)],
                           capture_output=True, text=True, timeout=1200,
                           env={**os.environ, "FILMGENRE_ROOT": str(ROOT)})  # fmt: skip
    assert found.returncode == 0, found.stderr[-2000:]
    for folder in chosen:
        assert f"exit 0 {folder}" in found.stdout, (folder.name, found.stderr[-2000:])
    check_shareable(run, tmp_path)


_LIBRARY_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
                  "rebuild TensorFlow", "Illegal Audio-MPEG-Header")  # fmt: skip


def check_shareable(run: Path, tmp_path: Path) -> None:
    """A finished run's pages can be shared: no library start-up noise, no path of the
    machine that ran it, no table cut by pandas, "clear of zero" true to each interval,
    and the folder renders again after a move (links relative, every one resolving)."""
    import re
    import shutil

    machine_paths = {str(run.resolve()), str(run.parent.resolve())}
    pages = sorted(run.glob("*.html"))
    assert len(pages) == len(NOTEBOOKS) + 1
    for page in pages:
        text = page.read_text()
        assert not [n for n in _LIBRARY_NOISE if n in text], (page.name, "library noise")
        assert not [m for m in machine_paths if m in text], (page.name, "a machine path")
        assert "rows ×" not in text, f"{page.name}: a table elided by pandas"
        assert "interval_excludes_zero" not in text, page.name
    status = (run / "status.json").read_text()
    assert not [m for m in machine_paths if m in status]
    front = (run / "index.html").read_text()
    rows = re.findall(r"<td>\[([+-]\d\.\d+), ([+-]\d\.\d+)\]</td><td>(yes|no)</td>", front)
    assert len(rows) >= 6, "the paired tables of the front page"
    for low, high, said in rows:
        assert said == ("yes" if float(low) > 0 or float(high) < 0 else "no"), (low, high)
    moved = tmp_path / "elsewhere" / "shared-copy"  # as if unzipped on another machine
    shutil.copytree(run, moved)
    done = _cli("runs", "render", str(moved))
    assert done.returncode == 0, done.stderr
    for page in sorted(moved.glob("*.html")):
        text = page.read_text()
        assert not [m for m in (*machine_paths, str(moved)) if m in text], page.name
        for link in re.findall(r"(?:href|src)='([^'#]+)'", text):
            assert (moved / link).exists(), (page.name, link)


@pytest.mark.slow
def test_a_failing_cell_stops_the_run_and_names_notebook_cell_and_error(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('raise ValueError("cue table is broken")'))
    nbformat.write(nb, notebooks / "01_broken.ipynb")
    nbformat.write(nbformat.read(NOTEBOOKS[1], as_version=4), notebooks / "02_never_run.ipynb")
    done = _cli(
        "pipeline",
        "--profile",
        "smoke",
        "--notebooks",
        str(notebooks),
        "--reports",
        str(tmp_path / "reports"),
        "--run-id",
        "broken",
    )
    assert done.returncode != 0
    assert "01_broken.ipynb" in done.stderr and "ValueError: cue table is broken" in done.stderr
    # index 4 in the executed copy: papermill adds its injected-parameters cell after cell 1
    assert "cell 4 of the executed copy" in done.stderr
    assert 'starting `raise ValueError("cue table is broken")`' in done.stderr
    run = tmp_path / "reports" / "broken"
    assert (run / "01_broken.html").is_file() and not (run / "02_never_run.ipynb").exists()
    assert json.loads((run / "status.json").read_text())["status"] == "failed in 01_broken.ipynb"


def test_notebook_parameter_cells_hold_the_default_profile():
    # one source for every default: a notebook opened in JupyterLab runs the default profile
    import ast

    import papermill

    declared: dict[str, object] = {}
    for path in NOTEBOOKS:
        for name, info in papermill.inspect_notebook(str(path)).items():
            if name == "run_dir":
                continue
            value = ast.literal_eval(info["default"])
            assert name in pipeline.DEFAULTS, f"{path.name}: {name} is not in pipeline.DEFAULTS"
            assert value == pipeline.DEFAULTS[name], (
                f"{path.name}: {name} = {value!r}, pipeline.DEFAULTS has "
                f"{pipeline.DEFAULTS[name]!r}"
            )
            declared[name] = value
    assert set(pipeline.DEFAULTS) == set(declared), "a default no notebook declares"
    assert pipeline.profile_parameters("default") == pipeline.DEFAULTS


def test_profiles_change_only_known_parameters():
    for name in pipeline.PROFILES:
        assert set(pipeline.profile_parameters(name)) == set(pipeline.DEFAULTS), name
    assert pipeline.profile_parameters("smoke")["epochs"] == 2
    assert pipeline.profile_parameters("full")["n_films"] > pipeline.DEFAULTS["n_films"]


def test_cli_profile_choices_come_from_the_profiles():
    done = _cli("pipeline", "--help")
    assert done.returncode == 0
    for name in pipeline.PROFILES:
        assert name in done.stdout
    done = _cli("pipeline", "--profile", "huge")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_unknown_profile_is_refused():
    with pytest.raises(pipeline.PipelineError, match="unknown profile"):
        pipeline.run_pipeline("huge")


def test_the_real_profile_asks_for_the_collection():
    with pytest.raises(pipeline.PipelineError, match="needs -p audio_dir ... and -p labels"):
        pipeline.run_pipeline("real", overrides={"labels": None})


def test_dataset_build_command_lists_skipped_files_and_honours_strict(tiny_collection, tmp_path):
    audio = tmp_path / "audio"
    import shutil

    shutil.copytree(tiny_collection / "audio", audio)
    (audio / "film_0000" / "broken.wav").write_bytes(b"RIFF....WAVE not really")
    args = [
        "dataset",
        "build",
        "--audio",
        str(audio),
        "--labels",
        str(tiny_collection / "labels.csv"),
        "--out",
        str(tmp_path / "out"),
        "--jobs",
        "2",
    ]
    done = _cli(*args)
    assert done.returncode == 0, done.stderr
    assert "broken.wav" in done.stdout and "corrupt" in done.stdout
    skipped = (tmp_path / "out" / "skipped.csv").read_text()
    assert "broken.wav" in skipped
    assert _cli(*args, "--strict").returncode == 2


@pytest.mark.slow
def test_notebooks_run_on_real_recordings_with_only_parameters_changed(realaudio, tmp_path):
    # 8 clips of each emotify genre (a third of the collection) keep the suite short
    labels = pd.read_csv(realaudio / "emotify" / "labels.csv")
    subset = labels.groupby("genre", group_keys=False).head(8)
    subset.to_csv(tmp_path / "labels.csv", index=False)
    # the audio folder relative to where the command runs, as a user types it (README's example)
    done = _cli(
        "pipeline",
        "--profile",
        "smoke",
        "--reports",
        str(tmp_path),
        "--run-id",
        "real",
        "-p",
        "audio_dir",
        "realaudio/emotify",
        "-p",
        "labels",
        str(tmp_path / "labels.csv"),
        "-p",
        "genres",
        "auto",
        "-p",
        "label_column",
        "tags",
        # the synthetic smoke run covers every model; here the real-data paths, cheaply
        "-p",
        "binary_ensemble",
        "false",
        "-p",
        "modern_models",
        '["fcn_cnn"]',
        "-p",
        "cv_families",
        '["mfcc_logreg", "musicnn_MTT_penultimate_logreg"]',
        "-p",
        "cv_keras_models",
        "[]",
        "-p",
        "feature_kinds",
        '["logmel"]',
        "-p",
        "sequence_poolers",
        "[]",
        cwd=realaudio.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((tmp_path / "real" / "metrics.json").read_text())
    models = metrics["models"]
    assert not any(name.startswith("original study") for name in models)  # other genres
    genres = [row["genre"] for row in models["study_cnn_logmel"]["per_genre"]]
    assert "tenderness" in genres and "Action" not in genres and len(genres) == 9
    assert models["study_cnn_logmel"]["n_films"] == models["study_cnn_logmel"]["n_cues"]
    assert {"musicnn_mlp", "musicnn_finetuned", "fcn_cnn_logmel"} <= set(models)
    assert "binary_ensemble_mfcc" not in models  # the parameter reached notebook 03
    cv = json.loads((tmp_path / "real" / "crossval" / "metrics.json").read_text())
    assert set(cv["levels"]["cue"]) == {"mfcc_logreg", "musicnn_MTT_penultimate_logreg",
                                        "ensemble_of_all", "nested_selection"}  # fmt: skip
    assert cv["levels"]["cue"]["mfcc_logreg"]["n_cues"] == 32  # every clip predicted once


def test_relative_path_parameters_are_read_from_where_the_command_runs(tmp_path, monkeypatch):
    from filmgenre.cli import _parse_value

    (tmp_path / "cues").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _parse_value("cues") == str(tmp_path / "cues")
    assert _parse_value("[0.5, 0.2, 0.3]") == [0.5, 0.2, 0.3]
    assert _parse_value("auto") == "auto"  # not a path here: left as it is
    assert _parse_value("true") is True


def test_library_defaults_are_the_default_profile():
    from filmgenre import synth, train
    from filmgenre.config import DEFAULTS

    config = train.TrainConfig()
    for name in ("epochs", "patience", "batch_size", "learning_rate", "loss", "precision", "seed"):
        assert getattr(config, name) == DEFAULTS[name], name
    synth_config = synth.SynthConfig()
    assert synth_config.n_films == DEFAULTS["n_films"]
    assert list(synth_config.cue_seconds) == DEFAULTS["cue_seconds"]
    picked = train.TrainConfig.from_parameters({"epochs": 3, "resume": True, "loss": "focal"})
    assert (picked.epochs, picked.loss, picked.patience) == (3, "focal", DEFAULTS["patience"])
    assert train.TrainConfig.from_parameters({"epochs": 3}, epochs=4).epochs == 4
