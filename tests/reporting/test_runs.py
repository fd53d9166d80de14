"""Listing past runs and comparing two runs' metrics."""

from __future__ import annotations

import json

import pytest
import yaml

from filmgenre.reporting import runs


def _fake_run(folder, name, auc):
    run = folder / name
    run.mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"status": "ok", "profile": "smoke"}))
    (run / "parameters.yaml").write_text(yaml.safe_dump({"profile": "smoke"}))
    models = {
        "study_cnn_mfcc": {"metrics": {"macro_roc_auc": auc, "lrap": 0.5}, "ci95": {}},
        "original study (its own 196 cues)": {
            "metrics": {"macro_roc_auc": 0.756, "lrap": 0.62},
            "ci95": {},
        },
    }
    (run / "metrics.json").write_text(json.dumps({"models": models}))
    return run


def test_list_and_compare_runs(tmp_path):
    _fake_run(tmp_path, "a", 0.80)
    _fake_run(tmp_path, "b", 0.85)
    (tmp_path / "unfinished").mkdir()
    table = runs.list_runs(tmp_path)
    assert table["run"].tolist() == ["a", "b"]
    assert table["best_model"].tolist() == ["study_cnn_mfcc"] * 2  # the study's row is not ours
    assert table["best_macro_roc_auc"].tolist() == [0.8, 0.85]
    diff = runs.compare_runs("a", "b", tmp_path, metrics=("macro_roc_auc",))
    assert diff.loc[("study_cnn_mfcc", "macro_roc_auc"), "difference"] == pytest.approx(0.05)
    assert diff.loc[("original study (its own 196 cues)", "macro_roc_auc"), "difference"] == 0
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        runs.compare_runs("a", "unfinished", tmp_path)


class _Resources(__import__("html.parser").parser.HTMLParser):
    """Every resource a page would fetch (scripts, styles, images, frames)."""

    def __init__(self):
        super().__init__()
        self.fetched: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "audio", "video", "source") and attrs.get("src"):
            self.fetched.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.fetched.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def page_resources(text: str) -> tuple[list[str], str]:
    """(resources fetched, visible text) of an HTML page, parsed as a browser would."""
    parser = _Resources()
    parser.feed(text)
    return parser.fetched, " ".join(parser.text)


def assert_offline(text: str) -> None:
    fetched, _ = page_resources(text)
    external = [u for u in fetched if u.startswith(("http:", "https:", "//"))]
    assert not external, f"the page fetches {external}"


def test_front_page_opens_on_the_data_and_sorted_results(tmp_path):
    from filmgenre.reporting import report

    run = _fake_run(tmp_path, "r1", 0.80)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["models"]["summary_mlp"] = {"metrics": {"macro_roc_auc": 0.9}, "ci95": {}}
    for entry in metrics["models"].values():
        auc = entry["metrics"]["macro_roc_auc"]
        entry["ci95"] = {"macro_roc_auc": [auc - 0.05, auc + 0.05]}
    metrics["n_boot"] = 100
    metrics["paired"] = [{"comparison": "best CNN vs best fully-connected net", "a": "x",
                          "b": "y", "difference": 0.04, "ci95_low": 0.01, "ci95_high": 0.07,
                          "interval_excludes_zero": True}]  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "dataset").mkdir()
    (run / "dataset" / "manifest.csv").write_text(
        "film,cue,path,duration,split\nA,c1,/x/A/c1.wav,1800,train\nB,c2,/x/B/c2.wav,1800,test\n"
    )
    (run / "dataset" / "skipped.csv").write_text("path,reason\n/x/A/bad.wav,empty file\n")
    status = {"profile": "smoke", "status": "ok",
              "notebooks": [{"name": "01_a.ipynb", "status": "ok", "seconds": 3.0,
                             "html": str(run / "01_a.html")}]}  # fmt: skip
    page = report.write_run_index(run, status).read_text()
    assert_offline(page)
    _, text = page_resources(page)
    assert "2 films, 2 cues, 1.0 hours" in text and "1 file(s) skipped" in text
    assert "/x/A/bad.wav" in text and "empty file" in text  # every skipped file listed
    # the answer first: results sorted by macro ROC-AUC, with intervals, before parameters
    order = [text.index(m) for m in ("summary_mlp", "study_cnn_mfcc", "original study")]
    assert order == sorted(order)
    assert "[0.850, 0.950]" in text and "best CNN vs best fully-connected net" in text
    assert text.index("Results") < text.index("Parameters")
    index = report.write_reports_index(tmp_path).read_text()
    assert_offline(index)
    _, listing = page_resources(index)
    assert "r1" in listing and "smoke" in listing and "summary_mlp" in listing
    assert "2 films, 2 cues" in listing


def test_runs_compare_writes_html(tmp_path):
    import subprocess
    import sys

    _fake_run(tmp_path, "a", 0.80)
    _fake_run(tmp_path, "b", 0.85)
    out = tmp_path / "compare.html"
    done = subprocess.run([sys.executable, "-m", "filmgenre", "runs", "compare", "a", "b",
                           "--reports", str(tmp_path), "--html", str(out)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert_offline(page)
    _, text = page_resources(page)
    assert "study_cnn_mfcc" in text and "0.0500" in text


def test_clear_of_zero_is_decided_from_the_interval_for_every_paired_table():
    """Cross-validation's paired entries carry no flag: the front page read a missing
    ``interval_excludes_zero`` as "no" on every row. The interval decides, in one place."""
    from filmgenre.reporting import report

    cv_rows = [
        {"level": "cue", "a": "combined_logreg", "b": "mfcc_logreg", "difference": 0.11,
         "ci95_low": 0.087, "ci95_high": 0.137},
        {"level": "cue", "a": "mfcc_meandiff", "b": "mfcc_logreg", "difference": -0.077,
         "ci95_low": -0.098, "ci95_high": -0.055},
        {"level": "film (mean of cues)", "a": "x", "b": "mfcc_logreg", "difference": 0.01,
         "ci95_low": -0.02, "ci95_high": 0.04},
        # a stale flag that contradicts its interval loses to the interval
        {"comparison": "q", "a": "y", "b": "z", "difference": 0.01, "ci95_low": -0.02,
         "ci95_high": 0.04, "interval_excludes_zero": True},
    ]  # fmt: skip
    table = report.paired_frame({"paired": cv_rows})
    assert table["clear of zero"].tolist() == ["yes", "yes", "no", "no"]
    assert table["question"].tolist()[:3] == ["cue", "cue", "film (mean of cues)"]


def test_a_cross_validated_run_is_listed_by_its_cross_validated_headline(tmp_path):
    """A real-profile run's single-split winner (about 11 test films) is not its headline:
    the best cue-level out-of-fold model over every film is, and the listing says so."""
    from filmgenre.reporting import report

    run = _fake_run(tmp_path, "real", 0.666)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["models"]["study_cnn_mfcc"]["n_films"] = 11
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "crossval").mkdir()
    levels = {"cue": {"combined_meandiff": {"metrics": {"macro_roc_auc": 0.672}, "n_films": 74,
                                            "ci95": {"macro_roc_auc": [0.625, 0.712]}},
                      "mfcc_logreg": {"metrics": {"macro_roc_auc": 0.588}, "n_films": 74,
                                      "ci95": {"macro_roc_auc": [0.536, 0.642]}}}}  # fmt: skip
    (run / "crossval" / "metrics.json").write_text(json.dumps(
        {"levels": levels, "best": "combined_meandiff", "cv": {"folds": 5}}))  # fmt: skip
    _fake_run(tmp_path, "plain", 0.8)
    table = runs.list_runs(tmp_path).set_index("run")
    assert table.loc["real", "best_model"] == "combined_meandiff"
    assert table.loc["real", "best_macro_roc_auc"] == pytest.approx(0.672)
    assert table.loc["real", "figure"] == "cross-validated, cue level (5 folds, 74 films)"
    assert table.loc["plain", "best_model"] == "study_cnn_mfcc"
    assert table.loc["plain", "figure"].startswith("test split")
    _, listing = page_resources(report.write_reports_index(tmp_path).read_text())
    assert "combined_meandiff" in listing and "cross-validated, cue level" in listing
    page = report.write_run_index(run, {"profile": "real", "status": "ok", "notebooks": []})
    text = __import__("re").sub(r"<[^>]+>", "", page.read_text())
    assert "Headline: combined_meandiff, macro ROC-AUC 0.672 (cross-validated" in text


def test_library_start_up_lines_are_left_out_of_report_pages_only():
    """TensorFlow's C++ log lines (absl banner, oneDNN notice, CPU-instructions notice) and
    mpg123's notes are dropped from a page's stderr outputs; our own warnings stay."""
    import nbformat

    from filmgenre.reporting.pipeline import without_log_noise

    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796056914.875071    3239 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results.\n"
        "I0000 00:00:1796056919.072869    3258 cpu_feature_guard.cc:227] This TensorFlow binary "
        "is optimized to use available CPU instructions.\n"
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
        "TensorFlow with the appropriate compiler flags.\n"
        "Note: Illegal Audio-MPEG-Header 0x00000000 at offset 2496.\n"
    )
    ours = "UserWarning: this model was trained on the synthetic collection\n"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=noise),
        nbformat.v4.new_output("stream", name="stderr", text=noise + ours),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 stays in stdout\n"),
    ]
    nb.cells.append(cell)
    assert without_log_noise(nb) == 10
    assert [o.get("text") for o in cell.outputs] == [ours, "I0000 stays in stdout\n"]
