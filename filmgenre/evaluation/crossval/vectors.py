"""Cue vectors and the families built on them: which parts make a cue's fixed-length
vector (MFCC statistics, musicnn layers, several joined) and which head sits on top."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data.dataset import Manifest
from ...data.features import load_summaries

#: cue-vector parts of the wheel's checkpoints: ``musicnn:<checkpoint>:<layer>``
MUSICNN_PARTS = (
    *(f"musicnn:{m}:{layer}" for m in ("MTT_musicnn", "MSD_musicnn")
      for layer in ("taggram", "penultimate", "pool")),
    *(f"musicnn:{m}:{layer}" for m in ("MTT_vgg", "MSD_vgg") for layer in ("taggram", "pool5")),
)  # fmt: skip


def cue_vectors(manifest: Manifest, parts: list[str] | tuple[str, ...],
                progress: bool | None = None) -> np.ndarray:  # fmt: skip
    """One row per cue of the manifest: the named parts side by side.

    ``mfcc_stats`` is the mean and spread of the MFCCs and their deltas (160-d);
    ``mir_stats`` tempo, pulse, key and mode, chroma, contrast, tonnetz, onset rate and
    loudness dynamics (64-d, :mod:`filmgenre.data.mir`, decoded from the cues' audio files);
    ``musicnn:<checkpoint>:<layer>`` the mean and spread over 3 s patches of a layer of a
    pretrained checkpoint of the musicnn wheel (musicnn or VGG; its input is extracted
    first where not cached).
    """
    from ...data import mir, musicnn_input
    from ...training import transfer

    if any(part.startswith("musicnn:") for part in parts):
        musicnn_input.extract_inputs(manifest, progress=progress)
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
    #: strongest regularisation, :class:`MeanDifference`), "pls" (partial least squares
    #: components shared by all genres, :func:`shared_components`) or "mlp"
    head: str = "logreg"
    #: candidates picked per training fold by grouped inner cross-validation: inverse L2
    #: strength (logreg), weight decay (mlp), number of shared components (pls) or the
    #: share of a genre's direction taken from correlated genres (meandiff, 0: its own)
    grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    description: str = ""
    #: "cue": the head learns from cues and scores each cue; "film": it learns from films,
    #: one row per film (the mean and spread of its cues' vectors), and scores a film from
    #: all of its cues (each cue of a film carries the film's scores); "segment": it learns
    #: from every 3 s segment of a cue (musicnn parts only, :func:`segment_vectors`), each
    #: labelled with its film's genres, and scores a cue by the mean of its segments' scores
    level: str = "cue"
    #: for a film- or segment-level family, the cue-level family it is compared with (same
    #: parts and head: the mean of its cue scores per film, or its cue scores)
    pooled_counterpart: str = ""


COMBINED = ("mfcc_stats", "musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate")
#: the wheel's two VGG checkpoints' ``pool5`` (256-d each, the layer under their tags)
VGG_POOL5 = ("musicnn:MTT_vgg:pool5", "musicnn:MSD_vgg:pool5")

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
    # multi-task heads: genres learned together rather than one at a time
    "combined_meandiff_shared": Family(
        COMBINED, head="meandiff", grid=(0.0, 0.5, 1.0),
        description="combined vector + genre mean difference, each genre's direction moved "
        "towards those of the genres its labels correlate with (share chosen inside)",
    ),  # fmt: skip
    "combined_pls": Family(
        COMBINED, head="pls", grid=(2.0, 4.0, 8.0),
        description="combined vector + partial least squares components shared by all "
        "genres (a multi-task linear head; number of components chosen inside)",
    ),  # fmt: skip
    # learned from 3 s segments: five rows per 15 s cue instead of its mean and spread
    "musicnn_both_segment_meandiff": Family(
        ("musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        head="meandiff", grid=(0.0,), level="segment",
        pooled_counterpart="musicnn_both_penultimate_meandiff",
        description="segment level: musicnn MTT + MSD penultimate embedding of every 3 s "
        "segment + genre mean difference; a cue scores the mean of its segments",
    ),  # fmt: skip
    "musicnn_both_segment_logreg": Family(
        ("musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        level="segment", pooled_counterpart="musicnn_both_penultimate_logreg",
        description="segment level: musicnn MTT + MSD penultimate embedding of every 3 s "
        "segment + logistic regression; a cue scores the mean of its segments",
    ),  # fmt: skip
    "musicnn_both_penultimate_meandiff": Family(
        ("musicnn:MTT_musicnn:penultimate", "musicnn:MSD_musicnn:penultimate"),
        head="meandiff", grid=(0.0,),
        description="musicnn MTT + MSD penultimate embeddings (mean and spread over a cue's "
        "segments) + genre mean difference",
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
    # the wheel's VGG checkpoints (Pons & Serra's baseline to musicnn), alone and joined
    **{
        f"vgg_{m[:3]}_{layer}_logreg": Family(
            (f"musicnn:{m}:{layer}",),
            description=f"VGG ({m[:3]}) {layer} embedding + logistic regression",
        )
        for m in ("MTT_vgg", "MSD_vgg")
        for layer in ("taggram", "pool5")
    },
    "vgg_both_pool5_meandiff": Family(
        VGG_POOL5, head="meandiff", grid=(0.0,),
        description="VGG MTT + MSD pool5 embeddings + genre mean difference (C -> 0)",
    ),  # fmt: skip
    "combined_vgg_logreg": Family(
        (*COMBINED, *VGG_POOL5),
        description="MFCC statistics + both musicnn penultimates + both VGG pool5 "
        "embeddings + logistic regression",
    ),  # fmt: skip
    "combined_vgg_meandiff": Family(
        (*COMBINED, *VGG_POOL5), head="meandiff", grid=(0.0,),
        description="MFCC statistics + both musicnn penultimates + both VGG pool5 "
        "embeddings + genre mean difference (C -> 0)",
    ),  # fmt: skip
    "mfcc_film_logreg": Family(
        ("mfcc_stats",), level="film", grid=(1e-3, 1e-2, 1e-1),
        pooled_counterpart="mfcc_logreg",
        description="film level: mean and spread over a film's cues of the MFCC statistics "
        "+ logistic regression over films",
    ),  # fmt: skip
}


@dataclass(frozen=True)
class SegmentVectors:
    """Rows of every cue's segments and the cue (index into the manifest's cues) of each
    row; indexing with a boolean mask over cues keeps those cues' rows, renumbered."""

    rows: np.ndarray
    cue: np.ndarray
    n_cues: int

    def __len__(self) -> int:
        return self.n_cues

    def __getitem__(self, keep: np.ndarray) -> SegmentVectors:
        keep = np.asarray(keep, bool)
        if keep.shape != (self.n_cues,):
            raise IndexError(f"a mask over the {self.n_cues} cues is needed, got {keep.shape}")
        renumber = np.cumsum(keep) - 1
        rows = keep[self.cue]
        return SegmentVectors(self.rows[rows], renumber[self.cue[rows]], int(keep.sum()))

    def per_cue(self, scores: np.ndarray) -> np.ndarray:
        """The mean of each cue's segment scores (rows of ``scores`` follow ``rows``)."""
        total = np.zeros((self.n_cues, scores.shape[1]))
        np.add.at(total, self.cue, scores)
        return total / np.bincount(self.cue, minlength=self.n_cues)[:, None]


def segment_vectors(manifest: Manifest, parts: list[str] | tuple[str, ...],
                    progress: bool | None = None) -> SegmentVectors:  # fmt: skip
    """Every 3 s segment (musicnn patch, no overlap) of every cue as one row: the named
    musicnn layers side by side (cached per patch, :func:`transfer.patch_embeddings`).
    A cue shorter than one segment is an error naming its audio file."""
    from tqdm.auto import tqdm

    from ...data.features import default_cache_dir
    from ...training import transfer

    layers = []
    for part in parts:
        if not part.startswith("musicnn:"):
            raise ValueError(f"segment-level vectors come from musicnn layers only, not {part!r}")
        layers.append(part.split(":")[1:])
    cues = manifest.cues.reset_index(drop=True)
    cache = default_cache_dir()
    rows, owner = [], []
    disable = None if progress is None else not progress
    for i, cue in enumerate(tqdm(cues.itertuples(), total=len(cues), desc="segments",
                                 unit="cue", leave=False, disable=disable)):  # fmt: skip
        blocks = [transfer.patch_embeddings(cue.features, model, layer, cache)
                  for model, layer in layers]  # fmt: skip
        if not len(blocks[0]):
            raise ValueError(f"{cue.path}: shorter than one 3 s segment; segment-level "
                             f"families need at least one")  # fmt: skip
        rows.append(np.hstack(blocks))
        owner.append(np.full(len(blocks[0]), i))
    return SegmentVectors(np.vstack(rows).astype(np.float32), np.concatenate(owner), len(cues))


def film_vectors(x: np.ndarray, film: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One row per film (sorted by name): the mean and the spread of its cues' vectors
    (spread 0 for a film of one cue), the film of each cue as an index into the rows, and
    the films' names in the rows' order."""
    names, where = np.unique(film, return_inverse=True)
    count = np.bincount(where).astype(np.float64)[:, None]
    total = np.zeros((len(names), x.shape[1]))
    squares = np.zeros_like(total)
    np.add.at(total, where, x)
    np.add.at(squares, where, np.asarray(x, np.float64) ** 2)
    mean = total / count
    spread = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    return np.hstack([mean, spread]).astype(np.float32), where, names
