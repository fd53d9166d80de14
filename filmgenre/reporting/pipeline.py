"""Headless reruns: every numbered notebook, in order, through papermill into reports/<run>/.

A run folder holds the executed notebooks, one self-contained HTML per notebook
and an ``index.html``, ``figures/``, the models, ``metrics.json`` (written by the
evaluation notebook), ``parameters.yaml`` and ``versions.json``. A failing cell
stops the run with a :class:`PipelineError` naming the notebook, the cell and
the error; the CLI turns it into a non-zero exit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

from ..config import DEFAULTS, KERNEL_NAME, project_root
from ..config import reports_dir as default_reports_dir

#: Each profile's changes to :data:`DEFAULTS` (see :func:`profile_parameters`).
PROFILES: dict[str, dict] = {
    "default": {},
    "smoke": {
        "n_films": 18,
        "cues_per_film": [2, 2],
        "cue_seconds": [11.0, 16.0],
        "epochs": 2,
        "patience": 2,
        "batch_size": 32,
        "n_boot": 50,
        "finetune_epochs": 1,
        "max_patches_per_cue": 1,
        "n_tag_examples": 2,
        "cv_folds": 3,
        "cv_inner_folds": 2,
        # one family of each head and input kind (the 3012-d pooled and taggram families,
        # and a second family of a head or an input already here, cost the smoke run
        # seconds and test no other code path)
        "cv_families": ["mfcc_logreg", "musicnn_MTT_penultimate_mlp", "combined_logreg",
                        "combined_meandiff", "mir_meandiff", "combined_film_meandiff"],
        "cv_keras_models": [["study_cnn", "mfcc"]],
        "library_dir": "run",  # the run's own cues: their features are cached already
        "quality_folds": 3,
        "quality_boot": 50,
        # 12 emotify clips and the annotated cues of 8 films: the mood study's code paths
        "mood_limit": 12,
        "mood_repeats": 1,
        "mood_boot": 50,
        "cv_epochs": 1,
        "cv_patience": 1,
        # 10: four sizes (a curve is checked on the three smaller), two draws, one family;
        # one VGG family against one without
        "curve_sizes": [2, 4, 6, None],
        "curve_resamples": 2,
        "inputs_without": ["mfcc_meandiff"],
        "vgg_families": ["vgg_both_pool5_meandiff"],
        "progress": False,
    },
    # the long run, for a GPU or a patient CPU (about 1.5 hours on 2 cores)
    "full": {
        "n_films": 320,
        "cues_per_film": [2, 4],
        "cue_seconds": [15.0, 40.0],
        "epochs": 80,
        "patience": 10,
        "n_examples": 2,
        "finetune_epochs": 8,
        "max_patches_per_cue": 3,
        "n_tag_examples": 8,
        # CPU budget: one modern CNN; CNNs are compared on the single split at this size
        "modern_models": ["resnet_cnn"],
        "cv_keras_models": [],
        "cv_epochs": 30,
        "cv_patience": 6,
        "cv_augment_variants": 2,
    },
    # a small real collection (filmscore: 74 films, 292 cues of 15 s): needs -p audio_dir and
    # -p labels; short training, no ten-net ensemble, 5-fold cross-validation repeated 3 times
    "real": {
        "cue_table": "auto",
        "precision": "float32",  # the README's filmscore tables were measured so
        "epochs": 40,
        "patience": 8,
        "batch_size": 32,
        "binary_ensemble": False,
        "modern_models": ["resnet_cnn"],
        "sequence_poolers": ["attention_pooling"],
        "finetune_epochs": 6,
        "max_patches_per_cue": 3,
        "cv_repeats": 3,
        "quality_repeats": 3,
        "cv_keras_models": [["study_cnn", "mfcc"], ["resnet_cnn", "logmel"]],
        "cv_epochs": 12,
        "cv_patience": 4,
        "cv_augment_variants": 2,
        # 10: the anchor's curve too, both CNNs from scratch, and the musicnn-only family
        "curve_families": ["combined_meandiff", "mfcc_logreg"],
        "curve_keras_models": [["study_cnn", "mfcc"], ["resnet_cnn", "logmel"]],
        "inputs_without": ["combined_meandiff", "combined_logreg", "mfcc_logreg",
                           "musicnn_both_penultimate_meandiff"],
        "vgg_families": ["vgg_MTT_pool5_logreg", "vgg_MSD_pool5_logreg",
                         "vgg_MTT_taggram_logreg", "vgg_MSD_taggram_logreg",
                         "vgg_both_pool5_meandiff", "combined_vgg_meandiff",
                         "combined_vgg_logreg"],
    },
}


def profile_parameters(profile: str) -> dict:
    """The notebook parameters of a profile: :data:`DEFAULTS` with the profile's changes."""
    if profile not in PROFILES:
        raise PipelineError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    unknown = set(PROFILES[profile]) - set(DEFAULTS)
    if unknown:
        raise PipelineError(f"profile {profile!r} sets unknown parameters {sorted(unknown)}")
    return {**DEFAULTS, **PROFILES[profile]}


#: parameters a profile cannot run without
REQUIRED = {"real": ("audio_dir", "labels")}


class PipelineError(RuntimeError):
    """A notebook of the pipeline failed; the message names notebook, cell and error."""


def notebooks_in(folder: str | os.PathLike[str]) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) of a folder, in order."""
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise PipelineError(f"no numbered notebooks (NN_*.ipynb) in {folder}")
    return found


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Register this interpreter as Jupyter kernel ``name`` (idempotent); return its spec dir.

    Papermill then always finds the kernel by name, so a fresh machine never
    hits NoSuchKernel, and the kernel is the Python that has ``filmgenre``. A kernel that is
    already this interpreter's is left as it is, and an install holds a lock: installing
    replaces the spec folder, and two runs at once (two test workers) would otherwise see it
    missing for a moment.
    """
    import fcntl

    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    def ours() -> str | None:
        try:
            spec = KernelSpecManager().get_kernel_spec(name)
        except NoSuchKernel:
            return None
        return spec.resource_dir if Path(spec.argv[0]).resolve() == Path(
            sys.executable).resolve() else None  # fmt: skip

    found = ours()
    if found:
        return found
    kernels = Path(sys.prefix) / "share" / "jupyter" / "kernels"
    kernels.mkdir(parents=True, exist_ok=True)
    with open(kernels / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = ours()
        if found is None:
            install(kernel_name=name, display_name="Python (filmgenre)", prefix=sys.prefix)
            found = ours()
    if found is None:
        spec = KernelSpecManager().get_kernel_spec(name)
        raise PipelineError(
            f"Jupyter kernel '{name}' at {spec.resource_dir} runs {spec.argv[0]}, not this "
            f"interpreter ({sys.executable}); remove it with `jupyter kernelspec remove {name}`"
        )
    return found


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


_EXTERNAL_SCRIPT = re.compile(
    r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>'  # require.js, MathJax
    r'|<script type="module">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>',  # Mermaid
    flags=re.DOTALL,
)


#: stderr lines that are a library's start-up chatter, not a result: TensorFlow's C++ logs
#: (glog/absl lines such as ``I0000 00:00:... port.cc:153] oneDNN custom operations ...``,
#: the absl banner, the CPU-instructions notice) and mpg123's header notes
_LOG_NOISE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-/]+:\d+\]"  # glog prefix
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] (?:tensorflow|external|xla)/"
    r"|Note: Illegal Audio-MPEG-Header|Note: Trying to resync|Note: Skipped \d+ bytes)"
)


def without_log_noise(nb) -> int:
    """Drop library start-up lines (see :data:`_LOG_NOISE`) from a notebook's stderr
    outputs, and outputs left empty; returns how many lines went. Warnings of our own and
    tracebacks stay. Used for the HTML report only: the executed .ipynb keeps everything."""
    dropped = 0
    for cell in nb.cells:
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines = out["text"].splitlines(keepends=True)
                clean = [ln for ln in lines if not _LOG_NOISE.match(ln.strip())]
                dropped += len(lines) - len(clean)
                if not "".join(clean).strip():
                    continue
                out["text"] = "".join(clean)
            kept.append(out)
        if "outputs" in cell:
            cell["outputs"] = kept
    return dropped


def export_html(notebook: Path) -> Path:
    """Render an executed notebook as one HTML report, code hidden, images embedded,
    library start-up chatter left out (:func:`without_log_noise`) and the run folder's
    absolute path shown relative to the run (the page must open from anywhere)."""
    import nbformat
    from nbconvert import HTMLExporter

    # a report: outputs only (the executed .ipynb beside it keeps the code)
    exporter = HTMLExporter(template_name="lab", embed_images=True, exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)  # fmt: skip
    nb = nbformat.read(notebook, as_version=4)
    without_log_noise(nb)
    body, _ = exporter.from_notebook_node(nb)
    run = str(notebook.parent.resolve())
    body = body.replace(run + os.sep, "").replace(run, ".")
    # a warning names its source file: as a path in the project, not on this machine
    body = body.replace(str(project_root()) + os.sep, "")
    # The notebooks use no widgets, maths or diagrams: drop the CDN scripts (require.js,
    # MathJax, Mermaid) so the report opens offline without reaching out to the network.
    body = _EXTERNAL_SCRIPT.sub("", body)
    target = notebook.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def render_run(run_dir: str | os.PathLike[str]) -> Path:
    """Render a finished run's pages again where the folder is now (after a move, a copy,
    an unzip on another machine): every executed notebook's HTML, the front page and the
    list of runs beside it. Returns the front page."""
    run_dir = Path(run_dir)
    status_file = run_dir / "status.json"
    if not status_file.is_file():
        raise PipelineError(f"{run_dir}: no status.json, not a pipeline run folder")
    status = json.loads(status_file.read_text())
    for entry in status.get("notebooks", []):
        executed = run_dir / entry["name"]
        if executed.is_file():
            entry["html"] = export_html(executed).name
    status_file.write_text(json.dumps(status, indent=2))
    _write_index(run_dir, status)
    return run_dir / "index.html"


def _write_index(run_dir: Path, status: dict) -> None:
    from .report import write_reports_index, write_run_index

    write_run_index(run_dir, status)
    write_reports_index(run_dir.parent)


#: the tag of the cell the runner appends to each notebook to hear what its kernel ran
#: under (removed from the executed copy again, its record kept in ``status.json``)
RECORD_TAG = "filmgenre-kernel-record"
_RECORD_MARK = "FILMGENRE-KERNEL "
#: frameworks a kernel's record lists when it imported them
FRAMEWORKS = ("tensorflow", "jax", "torch", "openvino")


def kernel_record() -> dict:
    """What this kernel ran under: Keras's backend (None where Keras was never imported)
    and the frameworks it imported; the runner's appended cell prints it."""
    record = {
        "keras_backend": sys.modules["keras"].backend.backend() if "keras" in sys.modules
        else None,
        "frameworks": [m for m in FRAMEWORKS if m in sys.modules],
    }  # fmt: skip
    print(_RECORD_MARK + json.dumps(record))
    return record


def with_record_cell(notebook: Path, folder: Path) -> Path:
    """A copy of ``notebook`` in ``folder`` with a last cell that prints
    :func:`kernel_record`."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cell = nbformat.v4.new_code_cell(
        "from filmgenre.reporting.pipeline import kernel_record\n_ = kernel_record()")
    cell.metadata["tags"] = [RECORD_TAG]
    nb.cells.append(cell)
    target = Path(folder) / notebook.name
    nbformat.write(nb, target)
    return target


def take_record(executed: Path, source: Path) -> dict | None:
    """The record the appended cell printed, removed from the executed copy with its cell
    (None when the run stopped before it); the copy names ``source`` as its input again."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nb.metadata.setdefault("papermill", {})["input_path"] = str(source)
    tagged = [c for c in nb.cells if RECORD_TAG in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        return None
    record = None
    for out in tagged[0].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith(_RECORD_MARK):
                record = json.loads(line[len(_RECORD_MARK):])
    nb.cells = [c for c in nb.cells if c is not tagged[0]]
    nbformat.write(nb, executed)
    return record


def kernel_sockets(folder: str | os.PathLike[str]):
    """Kernel settings for one notebook: the kernel talks over Unix sockets in ``folder``
    (a folder of its own), not TCP ports. A TCP port is picked free by the manager and bound
    later by the kernel, so another process can take it in between (a heartbeat thread died
    with 'Address already in use' while two runs shared the machine); a socket file in a
    private folder cannot be taken."""
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc", "ip": str(Path(folder) / "k")}})


def run_pipeline(
    profile: str = "default",
    run_id: str | None = None,
    overrides: dict | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    reports_dir: str | os.PathLike[str] | None = None,
    kernel_name: str = KERNEL_NAME,
    log_output: bool = False,
    execution_timeout: int | None = None,
) -> Path:
    """Execute every numbered notebook with ``profile`` parameters; return the run folder."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from ..runtime.versions import library_versions

    profile_values = profile_parameters(profile)
    missing = [p for p in REQUIRED.get(profile, ()) if (overrides or {}).get(p) is None]
    if missing:
        raise PipelineError(
            f"profile {profile!r} needs "
            + " and ".join(f"-p {p} ..." for p in missing)
            + " (a folder of <film>/<cue> audio and its film -> genres table)"
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter out of cells
    root = project_root()
    notebooks = notebooks_in(notebooks_dir or root / "notebooks")
    run_id = run_id or f"{datetime.now():%Y%m%d-%H%M%S}-{profile}"
    run_dir = Path(reports_dir or default_reports_dir()) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    parameters = {**profile_values, **(overrides or {}), "run_dir": str(run_dir.resolve())}
    # run_dir as the folder's own name: the file travels with the folder, whose absolute
    # path on this machine means nothing elsewhere
    recorded = {"profile": profile, **parameters, "run_dir": run_dir.name}
    (run_dir / "parameters.yaml").write_text(yaml.safe_dump(recorded))
    (run_dir / "versions.json").write_text(json.dumps(library_versions(), indent=2))
    ensure_kernel(kernel_name)
    os.environ.setdefault("FILMGENRE_ROOT", str(root))
    status = {"profile": profile, "status": "running", "notebooks": []}
    for nb in notebooks:
        target = run_dir / nb.name
        wanted = declared_parameters(nb)
        started = time.perf_counter()
        entry = {"name": nb.name, "status": "running", "seconds": 0.0, "html": None}
        status["notebooks"].append(entry)
        print(f"[filmgenre] {nb.name} ...", flush=True)
        sockets = tempfile.mkdtemp(prefix="fg-kernel-")  # short: a socket path has ~100 bytes
        try:
            papermill.execute_notebook(
                str(with_record_cell(nb, Path(sockets))),
                str(target),
                parameters={k: v for k, v in parameters.items() if k in wanted},
                kernel_name=kernel_name,
                cwd=str(nb.parent),
                progress_bar=False,
                log_output=log_output,
                execution_timeout=execution_timeout,
                config=kernel_sockets(sockets),
            )
        except PapermillExecutionError as exc:
            entry["status"] = "failed"
            status["status"] = f"failed in {nb.name}"
            first_line = next((ln for ln in (exc.source or "").splitlines() if ln.strip()), "")
            raise PipelineError(
                f"{nb.name}: cell {exc.cell_index} of the executed copy (execution count "
                f"{exc.exec_count}, starting `{first_line[:80]}`) failed with "
                f"{exc.ename}: {exc.evalue}\n  executed copy: {target}"
            ) from exc
        except Exception as exc:  # dead kernel, timeout, missing kernel ...
            entry["status"] = "failed"
            status["status"] = f"failed in {nb.name}"
            raise PipelineError(
                f"{nb.name}: the run stopped: {type(exc).__name__}: {exc}\n"
                f"  executed copy: {target}"
            ) from exc
        else:
            entry["status"] = "ok"
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
            entry["seconds"] = time.perf_counter() - started
            if target.exists():
                entry["kernel"] = take_record(target, nb)
                entry["html"] = export_html(target).name  # relative: the run folder can move
            (run_dir / "status.json").write_text(json.dumps(status, indent=2))
            _write_index(run_dir, status)
        print(f"[filmgenre] {nb.name} done in {entry['seconds']:.0f} s", flush=True)
    status["status"] = "ok"
    (run_dir / "status.json").write_text(json.dumps(status, indent=2))
    _write_index(run_dir, status)
    return run_dir
