"""The space "more like this" searches in: a vector per track that carries how it sounds,
learned to put the tracks of one film together, and which genres it has.

Sound: the model's cue vector (MFCC statistics, musicnn embeddings), standardised, reduced
by PCA, then projected on film-discriminant directions: linear discriminant analysis with
each training film a class (between-film over within-film scatter, the within-film scatter
shrunk towards its mean variance), so excerpts of one score land near each other and what
varies inside a score counts less. Genre: the model's genre logits, standardised by their
spread over its training cues. The two parts are scaled to unit length and joined with
weights ``sqrt(1 - w)`` and ``sqrt(w)``: the cosine of two tracks is then
``(1 - w) cos(sound) + w cos(genre)``.

Learned on a model's training films (:func:`fit`; settings chosen by grouped inner
cross-validation, :func:`choose`), saved beside the model (``similarity.npz``) and applied
to any library unchanged, so a track's vector does not depend on the rest of its library.
NumPy and SciPy only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: the file beside ``model.keras`` that holds a model's similarity space
FILE = "similarity.npz"
#: settings tried by :func:`choose` (shrinkage of the within-film scatter, genre weight);
#: the sizes stay fixed (PCA to 64, 32 discriminant directions), so vectors placed by
#: spaces of different folds or settings compare
GRID = {"shrink": (0.6, 0.3, 0.8), "genre_weight": (0.35, 0.0, 0.2, 0.5)}


@dataclass
class SimilaritySpace:
    """What turns (cue vector, genre scores) into a similarity vector; see the module."""

    mean: np.ndarray  # (features,) standardisation of cue vectors
    scale: np.ndarray  # (features,)
    projection: np.ndarray  # (features, dims): PCA basis times discriminant directions
    genre_mean: np.ndarray  # (genres,) of the training cues' genre logits
    genre_scale: np.ndarray  # (genres,)
    genre_weight: float
    settings: dict = field(default_factory=dict)

    @property
    def dims(self) -> int:
        return int(self.projection.shape[1] + len(self.genre_mean))

    def vectors(self, x: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Unit-length similarity vectors of cues with vectors ``x`` and genre ``scores``."""
        sound = _unit(((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.projection)
        logits = _logit(np.asarray(scores, np.float64))
        genre = _unit((logits - self.genre_mean) / self.genre_scale)
        w = float(self.genre_weight)
        return np.hstack([np.sqrt(1 - w) * sound, np.sqrt(w) * genre]).astype(np.float32)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        path = Path(folder) / FILE
        np.savez(path, mean=self.mean, scale=self.scale, projection=self.projection,
                 genre_mean=self.genre_mean, genre_scale=self.genre_scale,
                 genre_weight=np.float64(self.genre_weight),
                 settings=np.array(repr(sorted(self.settings.items()))))  # fmt: skip
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> SimilaritySpace | None:
        """The space saved beside a model, or None where it has none (an older model)."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        import ast

        with np.load(path) as z:
            settings = dict(ast.literal_eval(str(z["settings"])))
            return cls(z["mean"], z["scale"], z["projection"], z["genre_mean"],
                       z["genre_scale"], float(z["genre_weight"]), settings)  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit(x: np.ndarray, film: np.ndarray, scores: np.ndarray, pca_dims: int = 64, dims: int = 32,
        shrink: float = 0.6, genre_weight: float = 0.35) -> SimilaritySpace:
    """The space learned on training cues: their vectors ``x``, their films, and the genre
    scores the model gives them."""
    from scipy.linalg import eigh

    x = np.asarray(x, np.float64)
    mean, scale = x.mean(0), x.std(0)
    scale = np.where(scale < 1e-6, 1.0, scale)
    z = (x - mean) / scale
    pca_dims = min(pca_dims, len(z) - 1, z.shape[1])
    _, _, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    basis = vt[:pca_dims].T
    q = z @ basis
    names, where = np.unique(np.asarray(film).astype(str), return_inverse=True)
    means = np.stack([q[where == i].mean(0) for i in range(len(names))])
    centred = q - means[where]
    within = centred.T @ centred / len(q)
    within = (1 - shrink) * within + shrink * np.trace(within) / pca_dims * np.eye(pca_dims)
    # a floor for collections where no film has two cues (every cue its own group: no
    # within-film scatter), so the problem stays definite; negligible anywhere else
    within += 1e-6 * max(float(np.mean(q**2)), 1e-12) * np.eye(pca_dims)
    between = np.cov(means.T, bias=True)
    values, vectors = eigh(between, within)
    directions = vectors[:, np.argsort(-values)[:dims]]
    if directions.shape[1] < dims:  # a small collection: zero columns keep the width fixed
        directions = np.hstack([directions, np.zeros((pca_dims, dims - directions.shape[1]))])
    logits = _logit(np.asarray(scores, np.float64))
    genre_scale = logits.std(0)
    genre_scale = np.where(genre_scale < 1e-6, 1.0, genre_scale)
    settings = {"pca_dims": int(pca_dims), "dims": int(dims), "shrink": float(shrink),
                "genre_weight": float(genre_weight), "films": int(len(names)),
                "cues": int(len(x))}  # fmt: skip
    return SimilaritySpace(mean, scale, basis @ directions, logits.mean(0), genre_scale,
                           float(genre_weight), settings)  # fmt: skip


def neighbour_quality(vectors: np.ndarray, film: np.ndarray, track: np.ndarray,
                      labels: np.ndarray, queries: np.ndarray | None = None, k: int = 10,
                      seed: int = 0) -> dict[str, np.ndarray]:  # fmt: skip
    """Per query cue (default: every cue), over its ``k`` nearest other cues by cosine (the
    cues of its own track, the same recording's other excerpts, left out): whether one is
    another track of the same film (NaN where its film has no other track) and the mean
    Jaccard agreement of their genre sets with its own; and both for ``k`` random allowed
    cues (the baselines)."""
    u = _unit(np.asarray(vectors, np.float64))
    film, track = np.asarray(film).astype(str), np.asarray(track).astype(str)
    labels = np.asarray(labels, bool)
    queries = np.arange(len(u)) if queries is None else np.asarray(queries)
    allowed = track[queries][:, None] != track[None, :]
    sims = np.where(allowed, u[queries] @ u.T, -np.inf)
    k = min(k, int(allowed.sum(1).min()))
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    rng = np.random.default_rng(seed)
    chance = np.stack([rng.choice(np.flatnonzero(row), k, replace=False) for row in allowed])
    others = (film[queries][:, None] == film[None, :]) & allowed
    has_other = others.any(1)

    def measures(chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        same = np.take_along_axis(others, chosen, 1).any(1).astype(float)
        own = labels[queries][:, None, :]
        inter = (labels[chosen] & own).sum(2)
        union = np.maximum((labels[chosen] | own).sum(2), 1)
        return np.where(has_other, same, np.nan), (inter / union).mean(1)

    same_film, agreement = measures(top)
    random_same, random_agreement = measures(chance)
    return {"same_film": same_film, "agreement": agreement, "random_same_film": random_same,
            "random_agreement": random_agreement}  # fmt: skip


def out_of_fold_vectors(x: np.ndarray, film: np.ndarray, scores: np.ndarray,
                        folds: np.ndarray, **settings) -> np.ndarray:  # fmt: skip
    """Every cue's vector in a space learned without its fold's films, as a library of films
    the space never saw gets them (``scores``: each cue's genre scores)."""
    out = np.zeros((len(x), 0), np.float32)
    for f in np.unique(folds):
        train = folds != f
        v = fit(x[train], film[train], scores[train], **settings).vectors(x[~train],
                                                                         scores[~train])
        if out.shape[1] == 0:
            out = np.zeros((len(x), v.shape[1]), np.float32)
        out[~train] = v
    return out


def choose(x: np.ndarray, film: np.ndarray, scores: np.ndarray, track: np.ndarray,
           labels: np.ndarray, folds: np.ndarray, grid: dict | None = None
           ) -> tuple[dict, list[dict]]:  # fmt: skip
    """The settings of :data:`GRID` that do best on these (training) films, by grouped
    cross-validation over ``folds``: every cue placed by a space learned on the other
    folds, then queried against all of them. Best = the share whose film's other track is
    in the top 10 plus the neighbours' genre agreement (equally weighted). Returns
    (settings, every setting's figures)."""
    grid = grid or GRID
    keys = list(grid)
    rows = []
    for values in _product(grid):
        settings = dict(zip(keys, values, strict=True))
        quality = neighbour_quality(out_of_fold_vectors(x, film, scores, folds, **settings),
                                    film, track, labels)  # fmt: skip
        same_rate = float(np.nanmean(quality["same_film"]))
        agreement = float(np.mean(quality["agreement"]))
        rows.append({**settings, "same_film": same_rate, "agreement": agreement,
                     "criterion": same_rate + agreement})  # fmt: skip
    best = max(rows, key=lambda r: r["criterion"])
    return {k: best[k] for k in keys}, rows


def _product(grid: dict) -> list[tuple]:
    import itertools

    return list(itertools.product(*grid.values()))
