"""Cue vectors and the families built on them: which parts make a cue's fixed-length
vector (MFCC statistics, musicnn layers, several joined) and which head sits on top."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dataset import Manifest
from ..features import load_summaries

#: cue-vector parts: ``mfcc_stats`` or ``musicnn:<checkpoint>:<layer>``
MUSICNN_PARTS = tuple(
    f"musicnn:{m}:{layer}"
    for m in ("MTT_musicnn", "MSD_musicnn")
    for layer in ("taggram", "penultimate", "pool")
)


def cue_vectors(manifest: Manifest, parts: list[str] | tuple[str, ...],
                progress: bool | None = None) -> np.ndarray:  # fmt: skip
    """One row per cue of the manifest: the named parts side by side.

    ``mfcc_stats`` is the mean and spread of the MFCCs and their deltas (160-d);
    ``mir_stats`` tempo, pulse, key and mode, chroma, contrast, tonnetz, onset rate and
    loudness dynamics (64-d, :mod:`filmgenre.mir`, decoded from the cues' audio files);
    ``musicnn:<checkpoint>:<layer>`` the mean and spread over 3 s patches of a
    pretrained musicnn layer (its musicnn input must be extracted first).
    """
    from .. import mir, transfer

    blocks = []
    for part in parts:
        if part == "mfcc_stats":
            blocks.append(load_summaries(manifest, None)[0])
        elif part == "mir_stats":
            blocks.append(mir.load_mir(manifest, progress=progress))
        elif part.startswith("musicnn:"):
            _, model, layer = part.split(":")
            blocks.append(transfer.load_embeddings(manifest, None, model, layer,
                                                   progress=progress)[0])  # fmt: skip
        else:
            raise ValueError(f"unknown cue-vector part {part!r}: mfcc_stats, mir_stats or "
                             f"{MUSICNN_PARTS}")  # fmt: skip
    return np.hstack(blocks).astype(np.float32)


@dataclass(frozen=True)
class Family:
    """A cue-vector model: which parts make the vector, and the head on top."""

    parts: tuple[str, ...]
    #: "logreg" (one L2 logistic regression per genre), "meandiff" (its limit for the
    #: strongest regularisation, :class:`MeanDifference`) or "mlp"
    head: str = "logreg"
    #: regularisation candidates: inverse L2 strength (logreg) or weight decay (mlp),
    #: picked per training fold by grouped inner cross-validation
    grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    description: str = ""
    #: "cue": the head learns from cues and scores each cue; "film": it learns from films,
    #: one row per film (the mean and spread of its cues' vectors), and scores a film from
    #: all of its cues (each cue of a film carries the film's scores)
    level: str = "cue"
    #: for a film-level family, the cue-level family whose mean of cue scores it is
    #: compared with (same parts and head)
    pooled_counterpart: str = ""


COMBINED = ("mfcc_stats", "musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate")

#: the cue-vector families every real-data cross-validation can run, by name
FAMILIES: dict[str, Family] = {
    "mfcc_logreg": Family(
        ("mfcc_stats",),
        description="MFCC summary statistics + logistic regression (the classical anchor)",
    ),  # fmt: skip
    **{
        f"musicnn_{m[:3]}_{layer}_logreg": Family(
            (f"musicnn:{m}:{layer}",),
            # the 3012-d pooled mid-end: one fixed strength (an inner search costs minutes)
            grid=(1e-3,) if layer == "pool" else (1e-4, 1e-3, 1e-2),
            description=f"musicnn ({m[:3]}) {layer} embedding + logistic regression",
        )
        for m in ("MTT_musicnn", "MSD_musicnn")
        for layer in ("taggram", "penultimate", "pool")
    },
    "musicnn_MTT_penultimate_mlp": Family(
        ("musicnn:MTT_musicnn:penultimate",),
        head="mlp",
        grid=(1e-2, 1e-1, 1.0),
        description="musicnn (MTT) penultimate embedding + MLP (64 units)",
    ),
    "musicnn_both_penultimate_logreg": Family(
        ("musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        description="musicnn MTT + MSD penultimate embeddings + logistic regression",
    ),
    "combined_logreg": Family(
        COMBINED,
        description="MFCC statistics + both musicnn penultimate embeddings + logistic regression",
    ),
    # the inner search picked the grid's strongest regularisation in every fold; these are
    # the same features with the limit of ever stronger regularisation
    "mfcc_meandiff": Family(
        ("mfcc_stats",),
        head="meandiff",
        grid=(0.0,),
        description="MFCC summary statistics + genre mean difference (logistic regression, C -> 0)",
    ),  # fmt: skip
    "musicnn_MTT_penultimate_meandiff": Family(
        ("musicnn:MTT_musicnn:penultimate",),
        head="meandiff",
        grid=(0.0,),
        description="musicnn (MTT) penultimate embedding + genre mean difference (C -> 0)",
    ),  # fmt: skip
    "combined_meandiff": Family(
        COMBINED,
        head="meandiff",
        grid=(0.0,),
        description="MFCC statistics + both musicnn penultimate embeddings + genre mean "
        "difference (logistic regression, C -> 0)",
    ),  # fmt: skip
    # music-information features (Ma et al. 2021): alone and joined to the current vector
    "mir_logreg": Family(
        ("mir_stats",),
        description="MIR features (tempo, key and mode, chroma, contrast, tonnetz, onset "
        "rate, loudness dynamics) + logistic regression",
    ),  # fmt: skip
    "mir_meandiff": Family(
        ("mir_stats",), head="meandiff", grid=(0.0,),
        description="MIR features + genre mean difference (C -> 0)",
    ),  # fmt: skip
    "combined_mir_logreg": Family(
        (*COMBINED, "mir_stats"),
        description="MFCC statistics + both musicnn penultimate embeddings + MIR features "
        "+ logistic regression",
    ),  # fmt: skip
    "combined_mir_meandiff": Family(
        (*COMBINED, "mir_stats"), head="meandiff", grid=(0.0,),
        description="MFCC statistics + both musicnn penultimate embeddings + MIR features "
        "+ genre mean difference (C -> 0)",
    ),  # fmt: skip
    # learned at the film level: one row per film, its cues' mean and spread
    "combined_film_meandiff": Family(
        COMBINED, head="meandiff", grid=(0.0,), level="film",
        pooled_counterpart="combined_meandiff",
        description="film level: mean and spread over a film's cues of the combined vector "
        "+ genre mean difference over films",
    ),  # fmt: skip
    "combined_film_logreg": Family(
        COMBINED, level="film", grid=(1e-3, 1e-2, 1e-1),
        pooled_counterpart="combined_logreg",
        description="film level: mean and spread over a film's cues of the combined vector "
        "+ logistic regression over films",
    ),  # fmt: skip
    "mfcc_film_logreg": Family(
        ("mfcc_stats",), level="film", grid=(1e-3, 1e-2, 1e-1),
        pooled_counterpart="mfcc_logreg",
        description="film level: mean and spread over a film's cues of the MFCC statistics "
        "+ logistic regression over films",
    ),  # fmt: skip
}


def film_vectors(x: np.ndarray, film: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per film (sorted by name): the mean and the spread of its cues' vectors
    (spread 0 for a film of one cue), and the film of each cue as an index into the rows."""
    names, where = np.unique(film, return_inverse=True)
    count = np.bincount(where).astype(np.float64)[:, None]
    total = np.zeros((len(names), x.shape[1]))
    squares = np.zeros_like(total)
    np.add.at(total, where, x)
    np.add.at(squares, where, np.asarray(x, np.float64) ** 2)
    mean = total / count
    spread = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return np.hstack([mean, spread]).astype(np.float32), where
