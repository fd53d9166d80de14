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
:mod:`.study` (a whole study, step by step, as notebook 08 runs it), :mod:`.additions`
(families with an input against the same without it, nested both ways),
:mod:`.final` (final models), :mod:`.nested` (the whole selection cross-validated),
:mod:`.oof` (levels, tables, paired, leakage),
:mod:`.loops` (running folds), :mod:`.heads` (per-genre heads), :mod:`.vectors` (cue
vectors and families), :mod:`.folds` (groups and folds). Callers import the module they
need; nothing is re-exported here.
"""
