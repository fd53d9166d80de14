"""Paths and the feature parameters shared by every stage (the genre names are
:mod:`filmgenre.genres`).

Everything a cache key or a report must record lives in a dataclass here, so one
``asdict`` gives the exact parameters that produced a result.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

#: Name under which the project's Jupyter kernel is registered (papermill uses it).
KERNEL_NAME = "filmgenre"


def project_root() -> Path:
    """The repository root: ``$FILMGENRE_ROOT``, else the nearest parent holding pyproject.toml.

    Notebooks run with their own folder as working directory; resolving paths
    against the root lets the same relative parameters work from Lab, papermill
    and the command line.
    """
    env = os.environ.get("FILMGENRE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file() and (candidate / "filmgenre").is_dir():
            return candidate
    package_parent = Path(__file__).resolve().parent.parent
    if (package_parent / "pyproject.toml").is_file():
        return package_parent
    return here


def resolve(path: str | os.PathLike[str]) -> Path:
    """Resolve ``path`` against the project root unless it is absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root() / p


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a report or a command shows it: relative to the project root when inside
    it or beside it (``../shared/realaudio``, as the README names it), else as given. Pages
    must not carry the absolute paths of the machine that ran them."""
    p = Path(path)
    if not p.is_absolute():
        return str(path)
    root = project_root()
    # as written first, then with links followed (../shared may be a link to elsewhere)
    for where in (Path(os.path.normpath(p)), p.resolve()):
        for base, prefix in ((root, ""), (root.resolve(), ""), (root.parent, ".."),
                             (root.parent.resolve(), "..")):  # fmt: skip
            try:
                rel = str(where.relative_to(base))
            except ValueError:
                continue
            return os.path.join(prefix, rel) if prefix else rel
    shared = root.parent / "shared"
    try:  # a linked ../shared: the link's target, named as the link
        return os.path.join("..", "shared", str(p.resolve().relative_to(shared.resolve())))
    except (ValueError, OSError):
        return str(path)


def data_dir() -> Path:
    """Where generated and cached data live (``$FILMGENRE_DATA`` or ``<root>/data``)."""
    env = os.environ.get("FILMGENRE_DATA")
    return Path(env).resolve() if env else project_root() / "data"


def reports_dir() -> Path:
    """Where pipeline runs are written and looked up (``<root>/reports``)."""
    return project_root() / "reports"


def shared_dir() -> Path | None:
    """The ``../shared`` folder beside the repository (study data, real audio), if present."""
    env = os.environ.get("FILMGENRE_SHARED")
    candidate = Path(env) if env else project_root().parent / "shared"
    return candidate.resolve() if candidate.is_dir() else None


@dataclass(frozen=True)
class FeatureParams:
    """Spectrogram and tiling parameters.

    Defaults follow the study: 40 coefficients x 100 frames per tile, a frame
    every 0.1 s, so a tile covers 10 s of audio.
    """

    sample_rate: int = 22050
    n_fft: int = 4096
    hop_length: int = 2205
    n_mels: int = 40
    n_mfcc: int = 40
    fmin: float = 0.0
    fmax: float | None = None
    tile_frames: int = 100
    tile_hop_frames: int = 50
    #: cues shorter than one tile: "loop" repeats the cue from its start until it fills
    #: one tile (stingers and transitions are kept); "skip" lists them as skipped
    short_cues: str = "loop"
    #: shortest cue that is looped rather than skipped (seconds)
    min_cue_seconds: float = 1.0

    @property
    def tile_seconds(self) -> float:
        """Length of audio one tile covers."""
        return self.tile_frames * self.hop_length / self.sample_rate

    @property
    def min_samples(self) -> int:
        """Shortest decoded signal that still yields one full tile."""
        return (self.tile_frames - 1) * self.hop_length + 1

    @property
    def min_cue_samples(self) -> int:
        """Shortest decoded signal kept as a cue under the ``short_cues`` rule."""
        if self.short_cues == "skip":
            return self.min_samples
        return min(self.min_samples, max(1, int(self.min_cue_seconds * self.sample_rate)))

    def too_short_reason(self, seconds: float) -> str:
        """Why a cue of ``seconds`` cannot be used, in the words of the ``short_cues`` rule."""
        if self.short_cues == "skip":
            return f"shorter than one tile ({seconds:.2f} s < {self.tile_seconds:.1f} s)"
        return f"too short to loop into a tile ({seconds:.2f} s < {self.min_cue_seconds:.1f} s)"

    def __post_init__(self) -> None:
        if self.short_cues not in ("loop", "skip"):
            raise ValueError(f"short_cues must be 'loop' or 'skip', not {self.short_cues!r}")

    def key(self) -> str:
        """Short stable hash of every parameter: part of each cache key."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:12]

    def to_dict(self) -> dict:
        return asdict(self)


def shared_file(relative: str) -> Path | None:
    """A file under the shared folder (``seed/pooling_dict.json``), or None when absent."""
    shared = shared_dir()
    path = shared / relative if shared else None
    return path if path is not None and path.is_file() else None


#: Every notebook parameter's default: the fast default run (``make pipeline``, a quarter of an
#: hour on 2 CPU cores). The notebooks' parameter cells hold these same values (a test
#: checks it), so a notebook opened in JupyterLab runs the default profile.
DEFAULTS: dict[str, object] = {
    "seed": 0,
    "progress": None,  # None: progress bars in Lab, hidden when output is captured
    # 01 dataset
    "audio_dir": None,
    "labels": None,
    "genres": None,
    "label_column": None,
    "cue_table": None,
    "scheduler": None,
    "n_films": 100,
    "cues_per_film": [2, 3],
    "cue_seconds": [15.0, 30.0],
    "split_fractions": [0.7, 0.15, 0.15],
    # 02 exploration
    "n_examples": 1,
    "excerpt_seconds": 10.0,
    # 03-06 training
    "resume": False,
    "epochs": 20,
    "patience": 5,
    "batch_size": 64,
    "learning_rate": 0.001,
    "loss": "bce",
    "precision": "auto",
    "feature_kinds": ["mfcc", "logmel"],
    "binary_ensemble": True,
    "ensemble_feature_kind": "mfcc",
    "modern_models": ["resnet_cnn", "fcn_cnn"],
    "feature_kind": "logmel",
    "max_pooling": True,
    "sequence_poolers": ["attention_pooling", "gru_pooling"],
    "finetune_epochs": 3,
    "finetune_learning_rate": 0.001,
    "max_patches_per_cue": 2,
    "pretrained": "MTT_musicnn",
    "n_tag_examples": 4,
    # 07 evaluation
    "n_boot": 1000,
    "study_predictions": None,
    "study_tag_sets": None,
    "n_audio_cues": 12,
    # 08 cross-validation
    "cv_folds": 5,
    "cv_repeats": 1,
    "cv_inner_folds": 4,
    "cv_families": [
        "mfcc_logreg",
        "musicnn_MTT_taggram_logreg",
        "musicnn_MSD_taggram_logreg",
        "musicnn_MTT_penultimate_logreg",
        "musicnn_MSD_penultimate_logreg",
        "musicnn_MTT_pool_logreg",
        "musicnn_MSD_pool_logreg",
        "musicnn_MTT_penultimate_mlp",
        "musicnn_both_penultimate_logreg",
        "combined_logreg",
        "mfcc_meandiff",
        "musicnn_MTT_penultimate_meandiff",
        "combined_meandiff",
        "mir_logreg",
        "mir_meandiff",
        "combined_mir_meandiff",
        "combined_film_meandiff",
        "combined_film_logreg",
        "mfcc_film_logreg",
    ],
    "anchor": "mfcc_logreg",
    # CNNs per fold (with augmentation) cost minutes on a CPU: the real profile runs them
    "cv_keras_models": [],
    "cv_keras_repeats": 1,
    "cv_epochs": 10,
    "cv_patience": 4,
    "cv_batch_size": 32,
    "cv_augment_variants": 1,
    "cv_crop_hop_frames": 25,
    "cv_mixup_alpha": 0.2,
    "cv_precision": "auto",
    "leakage_groupings": ["cue", "film", "composer"],
    "min_films": 3,
    "ensemble": True,
    "cv_nested": True,  # also cross-validate choosing the family inside each outer fold
    # sizes the nested choice may pick: 2 adds the mean of the inner best two families
    "cv_nested_ensembles": [1],
    "save_final": True,
    # 09 library search
    "library_dir": None,  # None: ../shared/realaudio when present, else this run's audio; "run"
    "library_model": None,  # None: the shipped model; or a folder, RUN/NAME, "latest-real"
    "n_players": 3,
    # search quality: the run's collection indexed out of fold (filmgenre.library.quality)
    "quality_folds": 5,
    "quality_repeats": 1,
    "quality_boot": 500,
    # the mood model cross-validated and its words measured (filmgenre.evaluation.moods)
    "mood_data": None,  # None: ../shared/realaudio's emotify and filmscore when present; "none"
    "mood_limit": None,  # None: every clip and film; a number keeps that many of each (smoke)
    "mood_repeats": 3,
    "mood_boot": 1000,
    # 10 what limits the figure: learning curves, the VGG checkpoints, moods as inputs
    "curve_sizes": [10, 20, 30, 45, None],
    "curve_resamples": 5,
    "curve_families": ["combined_meandiff"],
    # CNNs from scratch per fold, size and draw cost an hour and more on a CPU: the real
    # profile runs them
    "curve_keras_models": [],
    "curve_keras_sizes": [10, 20, 30, None],
    "curve_keras_resamples": 1,
    "curve_target": 0.756,
    # the families an input must beat (the first: the one paired with) and the VGG families
    # compared: a logistic regression's inner search costs minutes a family, so the default
    # run compares few; the real profile all
    "inputs_without": ["combined_meandiff", "mfcc_logreg"],
    "vgg_families": ["vgg_MTT_pool5_logreg", "vgg_both_pool5_meandiff", "combined_vgg_meandiff"],
}
