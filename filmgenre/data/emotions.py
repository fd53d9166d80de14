"""Listeners' judgements of the emotions music carries, and how far listeners agree.

Two sets, both in ``../shared/realaudio`` (its MANIFEST.md):

- **emotify** (``emotify/labels.csv``): for each clip, the share of its listeners who chose
  each of the nine emotions of the Geneva Emotional Music Scale (:data:`EMOTIONS`), and the
  set chosen by at least 30% of them (``tags``);
- **FME-24** (``filmscore/emotions.csv``): listeners placed moments of film cues in
  valence-arousal space (each -1..1). A cue's rating is the mean over its listeners of each
  listener's mean over the moments they marked; annotations at exactly (0, 0) are dropped
  (a marker placed without moving it, the MANIFEST says).

Listeners disagree, so every model figure on these ratings is read against the listeners'
own agreement: :func:`split_half` correlates the mean ratings of two random halves of each
cue's listeners over the cues that have at least two.

The names of the moods live in :mod:`.moods`, which the search path reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .moods import EMOTIONS, DIMENSIONS, MOODS  # noqa: F401  (the names, read from here too)

def gems_table(labels_csv: str | os.PathLike[str]):
    """emotify's label table indexed by ``file``: the nine shares (0..1), ``n_listeners``,
    and ``<emotion>_tag`` (1 where at least 30% of listeners chose it, as ``tags`` says)."""
    import pandas as pd

    table = pd.read_csv(labels_csv)
    missing = [c for c in ("file", "tags", *EMOTIONS) if c not in table.columns]
    if missing:
        raise ValueError(f"{labels_csv}: not an emotify label table (no column(s) "
                         f"{', '.join(missing)})")  # fmt: skip
    out = table.set_index("file")[list(EMOTIONS)].astype(float)
    tags = table.set_index("file")["tags"].fillna("")
    for e in EMOTIONS:
        out[f"{e}_tag"] = tags.map(lambda t, e=e: int(e in {s.strip() for s in t.split(",")}))
    out["n_listeners"] = table.set_index("file").get("number_of_observations", np.nan)
    return out


def listener_ratings(emotions_csv: str | os.PathLike[str]):
    """One row per (cue path, listener): the listener's mean valence and arousal over the
    moments they marked, annotations at exactly (0, 0) dropped."""
    import pandas as pd

    table = pd.read_csv(emotions_csv)
    missing = [c for c in ("path", "listener", *DIMENSIONS) if c not in table.columns]
    if missing:
        raise ValueError(f"{emotions_csv}: not a valence-arousal annotation table (no "
                         f"column(s) {', '.join(missing)})")  # fmt: skip
    moved = ~((table["valence"] == 0) & (table["arousal"] == 0))
    return (table[moved].groupby(["path", "listener"])[list(DIMENSIONS)].mean()
            .reset_index())  # fmt: skip


def cue_ratings(emotions_csv: str | os.PathLike[str]):
    """One row per annotated cue (indexed by its path in the collection): mean valence and
    arousal over its listeners, and how many listeners rated it."""
    per = listener_ratings(emotions_csv)
    out = per.groupby("path")[list(DIMENSIONS)].mean()
    out["n_listeners"] = per.groupby("path").size()
    return out


def split_half(ratings, column: str, n_splits: int = 200, seed: int = 0,
               n_boot: int = 1000) -> dict:  # fmt: skip
    """The listeners' own agreement on ``column``: over the cues with at least two
    listeners, each cue's listeners are split at random into two halves and the halves'
    mean ratings correlated across cues (Pearson and Spearman), averaged over
    ``n_splits`` splits; a 95% interval from ``n_boot`` resamples of those cues (one split
    each). ``ratings``: :func:`listener_ratings`' table."""
    from scipy.stats import pearsonr, spearmanr

    groups = [g[column].to_numpy(float) for _, g in ratings.groupby("path") if len(g) >= 2]
    if len(groups) < 3:
        raise ValueError(f"split-half agreement needs at least 3 cues with two or more "
                         f"listeners; these ratings have {len(groups)}")  # fmt: skip
    rng = np.random.default_rng(seed)

    def halves(cues: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        a, b = [], []
        for values in cues:
            order = rng.permutation(len(values))
            half = len(values) // 2
            a.append(values[order[:half]].mean())
            b.append(values[order[half:]].mean())
        return np.asarray(a), np.asarray(b)

    pearson, spearman = [], []
    for _ in range(n_splits):
        a, b = halves(groups)
        pearson.append(pearsonr(a, b)[0])
        spearman.append(spearmanr(a, b)[0])
    boot = []
    for _ in range(n_boot):
        a, b = halves([groups[i] for i in rng.integers(len(groups), size=len(groups))])
        boot.append(spearmanr(a, b)[0])
    boot = np.asarray(boot)
    boot = boot[np.isfinite(boot)]
    return {"cues": len(groups), "pearson": float(np.mean(pearson)),
            "spearman": float(np.mean(spearman)),
            "spearman_95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
            "noise_free_ceiling": float(np.sqrt(max(np.mean(spearman), 0.0)))}  # fmt: skip


def collection_key(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str:
    """A file's path relative to its collection folder, as the label tables name it."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()
