"""Grouped k-fold cross-validation for small real collections: every film predicted once.

A single 70/15/15 split of 76 films leaves about 11 test films, too few to tell models
apart. Here the films (or larger groups: every film of a composer, or single cues for
the leakage check) are dealt into ``k`` folds by iterative stratification over their
genres, each fold is predicted by models that never saw it, and the out-of-fold
predictions are scored with the same film-bootstrap code as a single split.

Two kinds of model run through the same folds:

- *cue-vector* families (:data:`FAMILIES`): one fixed-length vector per cue (MFCC
  summary statistics, musicnn embeddings of a layer and checkpoint, or several joined)
  with a regularised logistic regression, its mean-difference limit, a head shared by all
  genres or a small MLP per fold; the regularisation is chosen inside each training fold
  by a grouped inner cross-validation. Some learn from whole films (one row per film) or
  from a cue's 3 s segments (one row per segment) instead of one row per cue;
- Keras models of :mod:`filmgenre.models` trained on tiles with the project's training
  loop (:func:`cross_validate_keras`), one fold held out for early stopping.

The package's modules, each one job, each importing only those listed after it:
:mod:`.study` (a whole study, step by step, as notebook 08 runs it),
:mod:`.final` (final models), :mod:`.nested` (the whole selection cross-validated),
:mod:`.scoring` (levels, tables, paired, leakage),
:mod:`.loops` (running folds), :mod:`.heads` (per-genre heads), :mod:`.vectors` (cue
vectors and families), :mod:`.folds` (groups and folds). Everything public is importable
from ``filmgenre.evaluation.crossval`` itself.
"""

from .final import fit_final, fit_final_keras, head_to_keras
from .folds import GROUPINGS, CVConfig, assign_folds, composer_names, fold_manifest, groups
from .heads import MeanDifference, fit_head, predict_head, select_strength
from .loops import CVResult, average, cross_validate_keras, cross_validate_vectors, save
from .nested import choices_table, nested_cross_validate
from .scoring import (
    LEVELS,
    at_level,
    breakdown,
    film_level,
    film_models_vs_pooling,
    leakage,
    level_tables,
    macro_without_rare,
    paired,
    paired_with,
    per_genre,
    score_frame,
    score_levels,
    scored_at,
)
from .study import CrossValidationRun, keras_config
from .vectors import (
    FAMILIES,
    MUSICNN_PARTS,
    Family,
    SegmentVectors,
    cue_vectors,
    film_vectors,
    segment_vectors,
)

__all__ = [
    "FAMILIES", "GROUPINGS", "CrossValidationRun", "keras_config", "nested_cross_validate",
    "choices_table",
    "LEVELS", "MUSICNN_PARTS", "CVConfig", "CVResult", "Family",
    "MeanDifference", "assign_folds", "at_level", "average", "breakdown", "composer_names",
    "cross_validate_keras", "cross_validate_vectors", "cue_vectors", "film_level", "fit_final",
    "fit_final_keras", "fit_head", "fold_manifest", "groups", "head_to_keras", "leakage",
    "level_tables", "macro_without_rare", "paired", "paired_with", "per_genre", "predict_head",
    "save", "score_frame", "score_levels", "select_strength", "film_models_vs_pooling",
    "scored_at", "film_vectors", "SegmentVectors", "segment_vectors",
]
