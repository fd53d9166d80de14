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
    ``musicnn:<checkpoint>:<layer>`` the mean and spread over 3 s patches of a
    pretrained musicnn layer (its musicnn input must be extracted first).
    """
    from .. import transfer

    blocks = []
    for part in parts:
        if part == "mfcc_stats":
            blocks.append(load_summaries(manifest, None)[0])
        elif part.startswith("musicnn:"):
            _, model, layer = part.split(":")
            blocks.append(transfer.load_embeddings(manifest, None, model, layer,
                                                   progress=progress)[0])  # fmt: skip
        else:
            raise ValueError(f"unknown cue-vector part {part!r}: mfcc_stats or {MUSICNN_PARTS}")
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
        ("mfcc_stats", "musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
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
        ("mfcc_stats", "musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        head="meandiff",
        grid=(0.0,),
        description="MFCC statistics + both musicnn penultimate embeddings + genre mean "
        "difference (logistic regression, C -> 0)",
    ),  # fmt: skip
}
