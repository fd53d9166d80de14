"""Featurising and scoring tracks: a cue-vector model applied to a whole track and to its
segments from the project's feature cache, its tempo, and the similarity vectors (the
model's standardised input, projected) a "more like this" search compares.

Segments: a track is cut into segments of the length the model was trained on (15 s for
the shipped model, trained on 15 s film-score excerpts); each segment gets its own scores,
so a search can name where in a long track the feel is. The whole track's scores are the
model on the whole track's vector, as ``filmgenre tag`` gives them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..config import FeatureParams
from ..data import musicnn_input
from .similarity import SimilaritySpace

#: the pretrained taggers whose outputs are the index's tags (MTT's 50, then MSD's 50)
TAGGERS = ("MTT_musicnn", "MSD_musicnn")

#: a last segment shorter than this joins the one before it
MIN_SEGMENT_SECONDS = 5.0

#: musicnn patch length in seconds (187 frames, hop 256 at 16 kHz)
PATCH_SECONDS = 187 * 256 / 16000


def model_key(model_dir: Path) -> str:
    """A digest of the model's weights and config: a score stored with another key was
    made by another model and is recomputed."""
    from .similarity import FILE

    h = hashlib.sha1()
    for name in ("model.keras", "config.json", FILE):
        if name != FILE or (model_dir / name).is_file():
            h.update((model_dir / name).read_bytes())
    return h.hexdigest()[:16]


def patch_rows(n_patches: int, start: float, end: float) -> slice:
    """The 3 s musicnn patches inside a segment (at least one)."""
    first = int(np.floor(start / PATCH_SECONDS + 1e-6))
    last = max(first + 1, int(np.floor(end / PATCH_SECONDS + 1e-6)))
    return slice(min(first, n_patches - 1), min(last, n_patches))


def key_of(features_file: str) -> tuple[int | None, str | None]:
    """(tonic 0..11, "major"/"minor") of a track from its cached chroma; (None, None) where
    the cache predates the chroma or the chroma names no key."""
    from ..data.mir import estimate_key

    with np.load(features_file) as z:
        if "chroma" not in z.files:
            return None, None
        found = estimate_key(z["chroma"].mean(1))
    return (None, None) if found is None else (found[0], found[1])


def segment_bounds(duration: float, seconds: float) -> list[tuple[float, float]]:
    """Segments of ``seconds`` from the start; a short remainder joins the last one."""
    if duration <= seconds:
        return [(0.0, float(duration))]
    n = int(duration // seconds)
    bounds = [(i * seconds, (i + 1) * seconds) for i in range(n)]
    rest = duration - n * seconds
    if rest >= MIN_SEGMENT_SECONDS:
        bounds.append((n * seconds, float(duration)))
    elif rest > 0:
        bounds[-1] = (bounds[-1][0], float(duration))
    return bounds


class Scorer:
    """A cue-vector model (the shipped one, or a run's ``*_final`` model) and the mood model
    (the shipped one; ``moods=None`` for none) applied to whole tracks and their segments,
    from the project's feature cache. ``precision``: musicnn's (``training.transfer``), which
    the key records, so a build at another precision rescores every track."""

    def __init__(self, model_dir: Path, moods: str | os.PathLike[str] | None = "shipped",
                 precision: str = "float32"):  # fmt: skip
        from ..evaluation.moods.model import load_moods
        from ..predict import load_cue_vector_head
        from ..training.transfer import PRECISIONS

        if precision not in PRECISIONS:
            raise ValueError(f"unknown musicnn precision {precision!r}; choose one of "
                             f"{PRECISIONS}")  # fmt: skip
        self.model_dir = Path(model_dir)
        try:  # the genre head runs with NumPy: scoring starts no deep-learning framework
            self.model, self.info = load_cue_vector_head(self.model_dir)
        except ValueError as exc:
            raise ValueError(
                f"the index needs a cue-vector model (the shipped filmscore model, or a run's "
                f"*_final cue-vector model): {exc}") from None  # fmt: skip
        self.parts = list(self.info["parts"])
        self.genres = tuple(self.info["genres"])
        self.params = FeatureParams(**self.info["feature_params"])
        self.mean = self.model.mean
        self.std = np.sqrt(self.model.variance)
        self.std[self.std < 1e-6] = 1.0
        self.genre_key = model_key(self.model_dir)
        self.moods, self.mood_dir = load_moods(moods)
        if self.moods is not None and "mfcc_stats" in self.moods.parts and (
                self.moods.info.get("feature_params") != self.info["feature_params"]):
            raise ValueError(f"{self.mood_dir}: the mood model reads MFCC statistics of other "
                             f"feature settings than the genre model {self.model_dir}")
        #: what a track's scores were made by: the genre model, and the mood model if any
        self.key = self.genre_key + (f"+{self.moods.key}" if self.moods is not None else "")
        if precision != "float32":
            self.key += f"@{precision}"
        self.precision = precision
        self.space = SimilaritySpace.load(self.model_dir)
        from ..data.features import default_cache_dir

        #: the feature cache the embeddings are read from and written to (a Dask worker
        #: sets the one the building process names)
        self.cache = default_cache_dir()

    @property
    def needs_musicnn(self) -> bool:
        return any(p.startswith("musicnn") for p in self.all_parts)

    @property
    def all_parts(self) -> tuple[str, ...]:
        """The cue-vector parts the genre and the mood model read."""
        return tuple(dict.fromkeys([*self.parts, *(self.moods.parts if self.moods else ())]))

    @property
    def checkpoints(self) -> tuple[str, ...]:
        """The musicnn checkpoints a track's scoring runs: the models' parts and the taggers."""
        return tuple(dict.fromkeys([p.split(":")[1] for p in self.all_parts
                                    if p.startswith("musicnn")] + list(TAGGERS)))  # fmt: skip

    def blocks(self, features_file: str, bounds: list[tuple[float, float]],
               embeddings: dict | None = None,
               parts: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
        """Each cue-vector part (default: :attr:`all_parts`) of one track from its cached
        features: a row for the whole track, then one per segment (``embeddings``: its
        musicnn outputs by checkpoint, when they are at hand)."""
        from ..data.features import summary_statistics
        from ..training import transfer

        out = {}
        frames_per_s = self.params.sample_rate / self.params.hop_length
        for part in parts or self.all_parts:
            if part == "mfcc_stats":
                with np.load(features_file) as z:
                    mfcc = z["mfcc"]
                rows = [summary_statistics(mfcc)]
                for start, end in bounds:
                    a = int(start * frames_per_s)
                    b = max(a + 3, min(mfcc.shape[1], int(round(min(end, 1e7) * frames_per_s))))
                    rows.append(summary_statistics(mfcc[:, a:b]))
            else:
                _, model, layer = part.split(":")
                emb = (embeddings[model][layer] if embeddings and model in embeddings
                       else transfer.patch_embeddings(features_file, model, layer, self.cache,
                                                    self.precision))
                rows = [np.concatenate([emb.mean(0), emb.std(0)])]
                for start, end in bounds:
                    seg = emb[patch_rows(len(emb), start, end)]
                    rows.append(np.concatenate([seg.mean(0), seg.std(0)]))
            out[part] = np.stack(rows).astype(np.float32)
        return out

    def vectors(self, features_file: str, bounds: list[tuple[float, float]],
                embeddings: dict | None = None,
                blocks: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(whole-track vector, segment vectors) of the genre model from the cached features
        of one track (or from its :meth:`blocks`, when they are at hand)."""
        if blocks is None:
            blocks = self.blocks(features_file, bounds, embeddings, tuple(self.parts))
        joined = np.hstack([blocks[p] for p in self.parts])
        return joined[0], joined[1:]

    def mood_scores(self, blocks: dict[str, np.ndarray]) -> np.ndarray | None:
        """The mood model's outputs for rows of :meth:`blocks` (None without a mood model)."""
        return None if self.moods is None else self.moods.predict(blocks)

    def tags(self, features_file: str, bounds: list[tuple[float, float]],
             embeddings: dict | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(whole-track tags, segment tags): both musicnn taggers' outputs (MTT's 50, then
        MSD's 50), averaged over the 3 s patches of the track or segment. The patch pass that
        gives a model its embeddings caches these too, and no genre model changes them."""
        from ..training import transfer

        out = [embeddings[m]["taggram"] if embeddings and m in embeddings
               else transfer.patch_embeddings(features_file, m, "taggram", self.cache,
                                               self.precision)
               for m in TAGGERS]  # fmt: skip
        patches = np.hstack(out)
        segs = [patches[patch_rows(len(patches), start, end)].mean(0) for start, end in bounds]
        return patches.mean(0).astype(np.float32), np.stack(segs).astype(np.float32)

    def whole_vector(self, features_file: str) -> np.ndarray:
        """The whole track's cue vector, as ``filmgenre tag`` computes it."""
        return self.vectors(features_file, [(0.0, 1e9)])[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Genre scores of rows of cue vectors."""
        if not len(x):
            return np.empty((0, len(self.genres)), np.float32)
        return self.model.predict(x)

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def describe_moods(self) -> dict | None:
        """What the index records about the mood model that scored it (None: none)."""
        return None if self.moods is None else self.moods.describe(self.mood_dir)

    @classmethod
    def for_index(cls, model: dict) -> Scorer:
        """The scorer an index was built with, from its ``model`` meta (:meth:`describe`):
        the same model folder and musicnn precision, so a reference track is featurised as
        the indexed tracks were."""
        musicnn = model.get("musicnn") or {}
        return cls(Path(model["folder"]), precision=musicnn.get("precision", "float32"))

    def describe(self) -> dict:
        """What the index records about the model that scored it, and how musicnn ran
        (engine and precision of the building process)."""
        from ..predict import training_data
        from ..training.transfer import engine

        return {
            "folder": str(self.model_dir), "name": self.info.get("name", self.model_dir.name),
            "key": self.genre_key, "trained_on": self.info.get("trained_on"),
            "trained_on_line": training_data(self.info),
            "cross_validation": self.info.get("cross_validation"),
            "outputs": self.info.get("outputs", "scores"),
            "calibration": self.info.get("calibration"),
            "musicnn": {"engine": engine(), "precision": self.precision},
        }  # fmt: skip


def tempo(features_file: str, cache: Path | None = None) -> float | None:
    """Tempo (BPM) from the cached musicnn input (16 kHz mel, 62.5 frames a second)."""
    import librosa

    from ..data.features import default_cache_dir

    path = musicnn_input.input_path(features_file, cache or default_cache_dir())
    if not path.is_file():
        return None
    spec = np.load(path).astype(np.float32).T  # (mels, frames)
    if spec.shape[1] < 64:
        return None
    onset = librosa.onset.onset_strength(S=spec, sr=16000, hop_length=256)
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=16000, hop_length=256)
    return float(np.atleast_1d(tempo)[0])


def project(full: np.ndarray, mean: np.ndarray, components: np.ndarray | None) -> np.ndarray:
    """Similarity vectors from standardised cue vectors: centred on the library, then
    projected on the PCA components (none stored: every dimension kept)."""
    centred = np.asarray(full, np.float32) - mean
    return centred if components is None else centred @ components.T


def neighbour_agreement(full: np.ndarray, reduced: np.ndarray, k: int = 10,
                        sample: int = 2000, seed: int = 0) -> float:  # fmt: skip
    """Mean share of each track's ``k`` nearest neighbours (cosine) under the full vectors
    that the reduced vectors find too (recall@k of the projection)."""
    from .search import cosine

    n = len(full)
    if n <= k + 1:
        return 1.0
    rows = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    shares = []
    for i in rows:
        a, b = cosine(full, full[i]), cosine(reduced, reduced[i])
        a[i] = b[i] = -np.inf
        top_a = set(np.argpartition(-a, k)[:k])
        top_b = set(np.argpartition(-b, k)[:k])
        shares.append(len(top_a & top_b) / k)
    return float(np.mean(shares))

