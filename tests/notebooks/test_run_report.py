"""The smoke run (every notebook, once for the session: conftest's ``smoke_run``) as a
report: each notebook executed with outputs and rendered as HTML, the front page, the
parameters and versions, a folder that can be shared, its pages in a real browser."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import WatchedPage, screenshots
from conftest import run_cli as _cli

from filmgenre.config import project_root

NOTEBOOKS = sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
def test_every_notebook_ran_into_the_report(smoke_run):
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
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "ok"
    # each kernel's record (the runner's appended cell, gone from the executed copy again):
    # the default backend, and TensorFlow only in kernels that train or load Keras models
    kernels = {e["name"]: e["kernel"] for e in status["notebooks"]}
    assert set(kernels) == {nb.name for nb in NOTEBOOKS}
    for name, record in kernels.items():
        assert record["keras_backend"] in ("tensorflow", None), (name, record)
        assert ("tensorflow" in record["frameworks"]) == (record["keras_backend"] is not None)
        executed = nbformat.read(run / name, as_version=4)
        assert "kernel_record" not in executed.cells[-1].source, name
        assert executed.metadata["papermill"]["input_path"].endswith(f"notebooks/{name}")
    assert kernels["03_train_cnn.ipynb"]["keras_backend"] == "tensorflow"


@pytest.mark.slow
def test_the_run_folder_can_be_shared(smoke_run, tmp_path):
    check_shareable(smoke_run, tmp_path)


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


