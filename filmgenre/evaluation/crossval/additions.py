"""Does an input help? Families with it against the same families without it, on the same
folds, and the family choice nested inside each outer fold among those without and among
all: the comparison a new embedding or a mood model's scores must win before a shipped
model changes (the nested row is the procedure's figure; a single family's is not)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from .folds import CVConfig
from .loops import cross_validate_vectors
from .nested import choices_table, nested_cross_validate
from .oof import level_tables, paired_with, score_levels
from .vectors import FAMILIES, Family, cue_vectors


def with_and_without(manifest: Manifest, without: tuple[str, ...], added: dict[str, Family],
                     cv: CVConfig = CVConfig(), n_boot: int = 1000, seed: int = 0,
                     blocks: dict[str, np.ndarray] | None = None, label: str = "it",
                     progress: bool | None = None) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Every family of ``without`` (registered names; the first is the one differences are
    paired with) and of ``added`` cross-validated on the same folds, and the choice of
    family nested inside each outer fold among ``without`` and among all. ``blocks``: cue
    vectors of parts :func:`cue_vectors` does not know (one row per cue), by part name.

    Returns tables per level (cue, film; the nested rows ``nested, without <label>`` and
    ``nested, <label> on offer``), paired film-bootstrap differences from the first family,
    and which family each outer fold chose with ``label`` on offer."""
    catalogue = {**{f: FAMILIES[f] for f in without}, **added}
    given = blocks or {}
    # each part read from the caches once, whatever number of families share it
    parts = dict.fromkeys(p for f in catalogue.values() for p in f.parts if p not in given)
    vectors_of = given | {p: cue_vectors(manifest, [p], progress=progress) for p in parts}
    vectors = {name: np.hstack([vectors_of[p] for p in family.parts])
               for name, family in catalogue.items()}  # fmt: skip
    results = {name: cross_validate_vectors(name, manifest, vectors[name], cv, family)
               for name, family in catalogue.items()}  # fmt: skip
    rows = {f"nested, without {label}": list(without), f"nested, {label} on offer": list(catalogue)}
    for row, names in rows.items():
        results[row] = nested_cross_validate(manifest, vectors, names, cv, name=row,
                                             catalogue=catalogue)  # fmt: skip
    levels = score_levels(results, manifest.genres, n_boot, seed)
    tables = level_tables(levels, results, manifest.genres)
    return {"cue": tables["cue"], "film (mean of cues)": tables["film (mean of cues)"],
            "paired with the first family": paired_with(results, without[0],
                                                        manifest.genres, n_boot, seed),
            f"chosen with {label} on offer": choices_table(results[f"nested, {label} on offer"])}
