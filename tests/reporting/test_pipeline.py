"""Papermill runs of every notebook on the smoke profile, and loud failures."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import run_cli as _cli

from filmgenre.config import project_root
from filmgenre.reporting import pipeline

ROOT = project_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))




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
        "10_what_limits_the_figure.ipynb",
    ]
    for path in NOTEBOOKS:
        raw = json.loads(path.read_text())["cells"]  # nbformat.read adds missing ids, warning
        assert all("id" in c for c in raw), f"{path.name}: a cell without an id"
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not any(c.outputs or c.execution_count for c in code), f"{path.name} has outputs"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: one cell tagged 'parameters'"
        assert nb.metadata.kernelspec.name == "filmgenre"
        assert "from filmgenre" in "".join(c.source for c in code)
        assert {"run_dir", "seed"} <= pipeline.declared_parameters(path)
        lines = sum(len(c.source.splitlines()) for c in code)
        assert lines <= 80, f"{path.name}: {lines} code lines; a thin notebook has at most 80"


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


def test_relative_path_parameters_are_read_from_where_the_command_runs(tmp_path, monkeypatch):
    from filmgenre.cli.research import _parse_value

    (tmp_path / "cues").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _parse_value("cues") == str(tmp_path / "cues")
    assert _parse_value("[0.5, 0.2, 0.3]") == [0.5, 0.2, 0.3]
    assert _parse_value("auto") == "auto"  # not a path here: left as it is
    assert _parse_value("true") is True


def test_library_defaults_are_the_default_profile():
    from filmgenre.config import DEFAULTS
    from filmgenre.data import synth
    from filmgenre.training import loop as train

    config = train.TrainConfig()
    for name in ("epochs", "patience", "batch_size", "learning_rate", "loss", "precision", "seed"):
        assert getattr(config, name) == DEFAULTS[name], name
    synth_config = synth.SynthConfig()
    assert synth_config.n_films == DEFAULTS["n_films"]
    assert list(synth_config.cue_seconds) == DEFAULTS["cue_seconds"]
    picked = train.TrainConfig.from_parameters({"epochs": 3, "resume": True, "loss": "focal"})
    assert (picked.epochs, picked.loss, picked.patience) == (3, "focal", DEFAULTS["patience"])
    assert train.TrainConfig.from_parameters({"epochs": 3}, epochs=4).epochs == 4


def test_pages_name_folders_relative_to_the_project_never_by_this_machines_path(tmp_path):
    from filmgenre.config import display_path, project_root

    root = project_root()
    assert display_path(root / "data" / "raw" / "synth") == "data/raw/synth"
    assert display_path(root.parent / "shared" / "realaudio") == "../shared/realaudio"
    assert display_path("my/cues") == "my/cues"  # as the user gave it


def _one_cell_notebooks(folder, source: str, count: int = 1) -> list:
    """Notebooks of one parameters cell and one code cell, in the project's kernel."""
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
            "name": "filmgenre", "display_name": "filmgenre", "language": "python"}})  # fmt: skip
        params = nbformat.v4.new_code_cell("run_dir = None\nseed = 0")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(source)]
        nbformat.write(nb, folder / f"{i + 1:02d}_cell.ipynb")
        paths.append(folder / f"{i + 1:02d}_cell.ipynb")
    return paths


def _pipeline_process(notebooks, reports, run_id: str):
    import os
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "filmgenre", "pipeline", "--profile", "smoke", "--notebooks",
         str(notebooks), "--reports", str(reports), "--run-id", run_id],
        env={**os.environ, "FILMGENRE_ROOT": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.slow
def test_kernels_talk_over_private_sockets_so_two_runs_cannot_clash(tmp_path):
    """Every kernel gets Unix sockets in a folder of its own (no TCP port that another
    process could take between being picked and bound): two pipelines at once, each kernel
    checks its own transport."""
    check = ("from ipykernel.connect import get_connection_info\n"
             "info = get_connection_info(unpack=True)\n"
             "assert info['transport'] == 'ipc' and '/fg-kernel-' in info['ip'], info\n"
             "print('transport', info['transport'])")  # fmt: skip
    notebooks = tmp_path / "notebooks"
    _one_cell_notebooks(notebooks, check, count=2)
    runs = [_pipeline_process(notebooks, tmp_path / "reports", f"run{i}") for i in range(2)]
    for i, run in enumerate(runs):
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-3000:]
        status = json.loads((tmp_path / "reports" / f"run{i}" / "status.json").read_text())
        assert [n["status"] for n in status["notebooks"]] == ["ok", "ok"]
        assert "Address already in use" not in err


@pytest.mark.slow
def test_a_kernel_that_dies_fails_the_run_and_says_so(tmp_path):
    notebooks = tmp_path / "notebooks"
    _one_cell_notebooks(notebooks, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    done = _cli("pipeline", "--profile", "smoke", "--notebooks", str(notebooks), "--reports",
                str(tmp_path / "reports"), "--run-id", "dead")  # fmt: skip
    assert done.returncode != 0
    assert "01_cell.ipynb" in done.stderr and "DeadKernelError" in done.stderr, done.stderr[-2000:]
    status = json.loads((tmp_path / "reports" / "dead" / "status.json").read_text())
    assert status["status"] == "failed in 01_cell.ipynb"
