"""The smoke profile's run of every notebook (built once, by the session fixture) and the
report it renders: contents, a shareable folder, and its pages in a real browser.

Named to be collected first: `make test` deals test files to two workers (`--dist
loadfile`), and this file and the real-recordings run, the two longest, then start on
different workers."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from conftest import WatchedPage, screenshots
from conftest import run_cli as _cli

from filmgenre.config import project_root, shared_dir
from filmgenre.genres import GENRES

ROOT = project_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))





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
    # music-information features decoded from the cues' audio; a film-level family learned
    # from films, scored only at film level and paired with the mean of its counterpart
    assert "mir_meandiff" in cv["levels"]["cue"]
    assert "combined_film_meandiff" not in cv["levels"]["cue"]
    assert "combined_film_meandiff" in cv["levels"]["film (mean of cues)"]
    assert [(r["a"], r["b"]) for r in cv["film_models"]] == [
        ("combined_film_meandiff", "mean of combined_meandiff")]  # fmt: skip
    assert "Film level: learned from a film" in front
    assert not (run / "models" / "combined_film_meandiff_final").exists()
    # the model choice cross-validated as a whole leads the front page
    assert sum(cv["nested"]["chosen_counts"].values()) == 3  # one choice per outer fold
    assert "nested_selection" in cv["levels"]["film (mean of cues)"]
    assert "nested cross-validation of the model choice" in front
    assert {r["model"] for r in cv["calibration"]} >= {"mfcc_logreg", "combined_meandiff"}
    assert final["outputs"] == "calibrated probabilities"
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
    cnn = json.loads((run / "models" / "study_cnn_mfcc_final" / "config.json").read_text())
    assert cnn["final"] is True and cnn["stopping_films"] > 0
    assert cnn["trained_on"]["n_films"] + cnn["stopping_films"] == cv["levels"]["cue"][
        "mfcc_logreg"]["n_films"]  # fmt: skip

    # the saved model serves `filmgenre tag` without its notebook; an index takes cue-vector
    # models only, and search says so and what to use instead
    model = run / "models" / "study_cnn_logmel"
    cues = pd.read_csv(run / "dataset" / "manifest.csv")["path"].head(3).tolist()
    tagged = _cli("tag", *cues, "--model", str(model))
    assert tagged.returncode == 0, tagged.stderr
    assert "Sci-Fi" in tagged.stdout and all(c in tagged.stdout for c in cues)
    library = Path(cues[0]).parent.parent
    refused = _cli("search", "Romance Comedy", "--library", str(library), "--model", str(model))
    assert refused.returncode == 2 and "`filmgenre tag`" in refused.stderr, refused.stderr
    # every kind of saved model tags from a fresh process (custom layers included); one
    # process for all of them, so the suite pays TensorFlow's start-up once
    folders = sorted((run / "models").iterdir())
    kinds = ("+attention", "+gru", "musicnn_mlp", "musicnn_finetuned", "binary_ensemble",
             "combined_logreg_final", "combined_meandiff_final",
             "study_cnn_mfcc_final")  # fmt: skip
    chosen = [next(p for p in folders if kind in p.name and (p / "model.keras").is_file())
              for kind in kinds]  # fmt: skip
    script = (
        "import sys\nfrom filmgenre.cli import main\n"
        "for folder in sys.argv[2:]:\n"
        "    code = main(['tag', sys.argv[1], '--model', folder, '--format', 'csv'])\n"
        "    print('exit', code, folder, flush=True)\n"
    )
    found = subprocess.run([sys.executable, "-c", script, cues[0], *map(str, chosen)],
                           capture_output=True, text=True, timeout=1200,
                           env={**os.environ, "FILMGENRE_ROOT": str(ROOT)})  # fmt: skip
    assert found.returncode == 0, found.stderr[-2000:]
    for folder in chosen:
        assert f"exit 0 {folder}" in found.stdout, (folder.name, found.stderr[-2000:])
    assert found.stdout.count("Drama") >= len(chosen)  # each printed its genre columns
    check_shareable(run, tmp_path)


_LIBRARY_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
                  "rebuild TensorFlow", "Illegal Audio-MPEG-Header")  # fmt: skip


def check_shareable(run: Path, tmp_path: Path) -> None:
    """A finished run's pages can be shared: no library start-up noise, no path of the
    machine that ran it, no table cut by pandas, "clear of zero" true to each interval,
    and the folder renders again after a move (links relative, every one resolving)."""
    import re
    import shutil

    from filmgenre.config import project_root, shared_dir

    machine_paths = {str(run.resolve()), str(run.parent.resolve()), str(project_root()),
                     *([str(shared_dir())] if shared_dir() else [])}  # fmt: skip
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



class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A static server of ``folder`` on 127.0.0.1 (an ephemeral port): what a colleague
    opening the shared run folder would see, with every request visible to the browser."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.mark.slow
def test_front_page_and_a_notebook_page_render_cleanly_in_chromium(smoke_run, chromium):
    server, base = serve_folder(smoke_run)
    shots = screenshots()
    try:
        watched = WatchedPage(chromium, base, {"width": 1280, "height": 900})
        page = watched.page
        for name in ("index.html", "07_evaluation.html"):
            page.goto(base + name, wait_until="load")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / f"smoke_{Path(name).stem}.png"), full_page=True)
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.src.slice(0, 80))"
            )
            assert broken == [], f"{name}: images that did not load: {broken}"
            if name == "index.html":
                assert page.locator("h2", has_text="Results on test films").count() == 1
                assert page.locator("img").count() >= 1 and page.locator("table").count() >= 3
            else:
                assert page.locator("audio").count() >= 1, "07 embeds audio players"
        assert watched.errors == [], f"console errors: {watched.errors}"
        assert watched.outside == [], f"requests leaving the run folder: {watched.outside}"
        assert watched.missing == [], f"requests the run folder cannot answer: {watched.missing}"
    finally:
        server.shutdown()


