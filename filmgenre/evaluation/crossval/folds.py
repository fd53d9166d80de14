"""Groups and folds: films, composers or single cues dealt into k folds by iterative
stratification over their genres, repeatable from a seed."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...data.dataset import Manifest, iterative_stratification

GROUPINGS = ("film", "composer", "cue")


def composer_names(text: object) -> list[str]:
    """Individual composers in a credit such as "Hans Zimmer & Lorne Balfe" or
    "Soundtree, Luis Almau (as Almau)", normalised for case, accents kept."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    cleaned = re.sub(r"\([^)]*\)", " ", str(text))
    parts = re.split(r"\s*(?:/|,|&|;|\band\b|\bfeat\.?|\bwith\b)\s*", cleaned)
    return sorted({" ".join(p.split()).casefold() for p in parts if p.strip()})


def groups(cues: pd.DataFrame, by: str = "film") -> np.ndarray:
    """Group id of each cue: its film, its single cue, or its composer group.

    A composer group joins every film that shares a credited composer with another
    (connected components of films and composers), so neither a film nor a composer is
    ever on both sides of a split.
    """
    if by == "film":
        return cues["film"].astype(str).to_numpy()
    if by == "cue":
        return np.array([f"{f}/{c}" for f, c in zip(cues["film"], cues["cue"], strict=True)])
    if by != "composer":
        raise ValueError(f"unknown grouping {by!r}; choose one of {GROUPINGS}")
    if "composer" not in cues.columns:
        raise ValueError(
            "grouping by composer needs a 'composer' cue attribute (a cue table such as "
            "filmscore's cues.csv: `--cues` / notebook 01's `cue_table`)"
        )
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for film, credit in zip(cues["film"].astype(str), cues["composer"], strict=True):
        for name in composer_names(credit):
            parent[find("composer:" + name)] = find("film:" + film)
    return np.array([find("film:" + str(f)) for f in cues["film"]])


def assign_folds(
    cues: pd.DataFrame, genres: tuple[str, ...], k: int = 5, seed: int = 0, by: str = "film"
) -> np.ndarray:
    """Fold (0..k-1) of every cue: whole groups dealt by iterative stratification over the
    genres their cues carry, repeatable from ``seed``."""
    group = groups(cues, by)
    labels = pd.DataFrame(cues[list(genres)].to_numpy(), index=group).groupby(level=0).max()
    if len(labels) < k:
        raise ValueError(f"{len(labels)} groups ({by}) cannot fill {k} folds")
    fold = iterative_stratification(labels.to_numpy(), (1.0,) * k, np.random.default_rng(seed))
    for empty in [i for i in range(k) if not (fold == i).any()]:
        largest = np.bincount(fold, minlength=k).argmax()
        fold[np.random.default_rng(seed).choice(np.flatnonzero(fold == largest))] = empty
    return pd.Series(fold, index=labels.index).loc[group].to_numpy()


@dataclass(frozen=True)
class CVConfig:
    """Folds, repeats and grouping of a cross-validation."""

    k: int = 5
    repeats: int = 1
    seed: int = 0
    by: str = "film"
    #: grouped inner folds that choose a head's regularisation (and nested selection's
    #: inner cross-validation) inside each training fold
    inner_k: int = 4

    def fold_sets(self, cues: pd.DataFrame, genres: tuple[str, ...]) -> list[np.ndarray]:
        """Fold assignment of every repeat (seeds ``seed``, ``seed + 1`` ...)."""
        return [assign_folds(cues, genres, self.k, self.seed + r, self.by)
                for r in range(self.repeats)]  # fmt: skip


def fold_manifest(manifest: Manifest, folds: np.ndarray, test_fold: int) -> Manifest:
    """The manifest with ``split`` set for one fold: it is ``test``, the next fold ``val``
    (early stopping), the others ``train``."""
    k = int(folds.max()) + 1
    split = np.where(folds == test_fold, "test",
                     np.where(folds == (test_fold + 1) % k, "val", "train"))  # fmt: skip
    cues = manifest.cues.reset_index(drop=True).assign(split=split)
    return Manifest(cues, manifest.skipped, manifest.label_notes, manifest.genres)
