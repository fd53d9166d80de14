"""Tiles streamed from the per-cue feature caches, for collections larger than memory.

Training on arrays holds every tile of a split in memory (16 kB per MFCC tile, 51 kB per
log-mel tile). A :class:`TileIndex` holds only where each tile starts in which cached
matrix, and :class:`TileBatches` (a ``keras.utils.PyDataset``) reads the matrices a batch
needs, so memory depends on the batch and a bounded cache, not on the collection. Each
epoch shuffles the cues, and the tiles within blocks of as many cues as two blocks of
matrices fit the cache budget (the whole split when it fits): a batch mixes tiles of many
cues, and each cached file is read about once per epoch.
"""

from __future__ import annotations

import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import FeatureParams
from ..data.dataset import Manifest
from .augment import mix, variant_path


def matrix_frames(features_file: str | Path, kind: str) -> int:
    """Frames of a cached (bins x frames) matrix, read from the ``.npy`` header only."""
    with zipfile.ZipFile(features_file) as archive, archive.open(f"{kind}.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(member)
    return int(shape[1])


def evenly_spaced(n: int, limit: int | None) -> np.ndarray:
    """Evenly spread indices of at most ``limit`` out of ``n`` (all when no limit)."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def per_cue_subset(cue: np.ndarray, limit: int | None) -> np.ndarray:
    """Row indices keeping at most ``limit`` evenly spread examples of each cue."""
    if limit is None:
        return np.arange(len(cue))
    keep = [rows[evenly_spaced(len(rows), limit)] for rows in
            (np.flatnonzero(cue == c) for c in np.unique(cue))]  # fmt: skip
    return np.concatenate(keep) if keep else np.arange(0)


@dataclass(frozen=True)
class TileIndex:
    """Where every tile of a split lives: a source file (a cue's cached features or one of
    its augmented renderings), its first frame, and the cue it belongs to."""

    files: tuple[str, ...]  # one per source
    source_labels: np.ndarray  # (sources, genres)
    source_cue: np.ndarray  # (sources,) row of the split's cue table
    tile_source: np.ndarray  # (tiles,)
    tile_start: np.ndarray  # (tiles,) first frame
    kind: str
    tile_frames: int
    n_bins: int

    def __len__(self) -> int:
        return len(self.tile_source)

    @property
    def labels(self) -> np.ndarray:
        """Multi-hot genres of every tile (tiles x genres): 40 bytes a tile."""
        return self.source_labels[self.tile_source]

    @property
    def cue(self) -> np.ndarray:
        """The split-cue row of every tile, for pooling tile scores into cue scores."""
        return self.source_cue[self.tile_source]

    def subset(self, rows: np.ndarray) -> TileIndex:
        return replace(self, tile_source=self.tile_source[rows], tile_start=self.tile_start[rows])

    def source_bytes(self) -> np.ndarray:
        """Bytes (float32) of each source's matrix as far as its tiles reach: what reading it
        holds in memory."""
        reach = np.zeros(len(self.files), int)
        np.maximum.at(reach, self.tile_source, self.tile_start + self.tile_frames)
        return reach * self.n_bins * 4

    def stack(self) -> tuple[np.ndarray, np.ndarray]:
        """(tiles, labels) of the whole index in its order, each cached matrix read once:
        the arrays the in-memory path trains on, without reading the caches again."""
        x = np.empty((len(self), self.n_bins, self.tile_frames), np.float32)
        for source, rows in self.by_source():
            x[rows] = self.cut(self.read(source), rows)
        return x, self.labels.astype(np.float32)

    def by_source(self):
        """(source, rows of its tiles) for every source that has tiles, each once."""
        order = np.argsort(self.tile_source, kind="stable")
        sources, first = np.unique(self.tile_source[order], return_index=True)
        for source, rows in zip(sources, np.split(order, first[1:]), strict=True):
            yield int(source), rows

    def cut(self, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The tiles ``rows`` (all of one source) cut from that source's ``matrix``."""
        windows = np.lib.stride_tricks.sliding_window_view(matrix, self.tile_frames, axis=1)
        return windows[:, self.tile_start[rows]].transpose(1, 0, 2)

    def read(self, source: int) -> np.ndarray:
        """The whole cached matrix of one source."""
        with np.load(self.files[source]) as z:
            return z[self.kind]

    def standardisation(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-bin mean and variance over every frame of every tile (overlaps counted as
        often as tiles cover them): what ``Normalization(axis=1).adapt`` computes on the
        stacked tiles, one source at a time, in float64."""
        total = np.zeros(self.n_bins)
        squares = np.zeros(self.n_bins)
        count = 0
        for source, rows in self.by_source():
            matrix = self.read(source).astype(np.float64)
            coverage = np.zeros(matrix.shape[1])
            for start in self.tile_start[rows]:
                coverage[start : start + self.tile_frames] += 1
            total += matrix @ coverage
            squares += (matrix**2) @ coverage
            count += coverage.sum()
        mean = total / max(count, 1)
        return mean, np.maximum(squares / max(count, 1) - mean**2, 0.0)


def tile_index(
    manifest: Manifest,
    split: str | None,
    kind: str = "mfcc",
    params: FeatureParams = FeatureParams(),
    max_per_cue: int | None = None,
    crop_hop_frames: int | None = None,
    augment_variants: int = 0,
) -> TileIndex:
    """The tiles of one split (None: every cue) without loading them: cut every tile hop
    (or ``crop_hop_frames``), at most ``max_per_cue`` evenly spread per cue, plus the tiles
    of ``augment_variants`` cached augmented renderings of each cue (see
    :mod:`filmgenre.training.augment`)."""
    from ..data.features import FEATURE_KINDS, default_cache_dir

    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose one of {FEATURE_KINDS}")
    if "features" not in manifest.cues:
        raise ValueError("manifest has no features yet: call features.extract(manifest) first")
    cues = (manifest.cues if split is None else manifest.split(split)).reset_index(drop=True)
    cue_y = cues[list(manifest.genres)].to_numpy(dtype=np.float32)
    hop = crop_hop_frames or params.tile_hop_frames
    cache = default_cache_dir()
    files, source_cue, tile_source, tile_start = [], [], [], []
    for variant in range(-1, augment_variants):
        for i, features_file in enumerate(cues["features"]):
            file = features_file
            if variant >= 0:
                file = str(variant_path(features_file, variant, params, cache))
                if not Path(file).exists():
                    raise FileNotFoundError(
                        f"{file}: augmented variant missing; call "
                        "augment.extract_variants(manifest, ...) first"
                    )
            frames = matrix_frames(file, kind)
            starts = np.arange(0, max(frames - params.tile_frames + 1, 0), hop)
            tile_source.append(np.full(len(starts), len(files)))
            tile_start.append(starts)
            files.append(str(file))
            source_cue.append(i)
    tile_source_arr = np.concatenate(tile_source) if tile_source else np.empty(0, int)
    tile_start_arr = np.concatenate(tile_start) if tile_start else np.empty(0, int)
    source_cue_arr = np.asarray(source_cue, dtype=int)
    index = TileIndex(
        tuple(files),
        cue_y[source_cue_arr] if len(source_cue_arr) else np.empty((0, len(manifest.genres))),
        source_cue_arr,
        tile_source_arr,
        tile_start_arr,
        kind,
        params.tile_frames,
        params.n_mels if kind == "logmel" else params.n_mfcc,
    )
    if max_per_cue is None:
        return index
    # the limit applies per source: each rendering of a cue keeps its own evenly spread tiles
    return index.subset(per_cue_subset(index.tile_source, max_per_cue))


def divisible_order(order: np.ndarray, batch_size: int, multiple: int, pad: bool) -> np.ndarray:
    """``order`` made so its last batch also splits into ``multiple`` equal parts: by
    dropping its last few rows (training: shuffled anew each epoch) or, with ``pad``, by
    repeating its last row (validation and prediction: every tile is kept)."""
    extra = len(order) % batch_size % multiple
    if not extra:
        return order
    if pad:
        return np.concatenate([order, np.repeat(order[-1:], multiple - extra)])
    return order[:-extra]


#: the fewest cues a streamed shuffle block spans, however large their matrices
MIN_BLOCK_CUES = 32


def auto_block_cues(index: TileIndex, cache_bytes: int | None = None) -> int:
    """Cues per shuffle block such that two blocks of matrices of the index's mean size fit
    ``cache_bytes`` (default :data:`filmgenre.training.settings.STREAM_CACHE_BYTES`), at least
    :data:`MIN_BLOCK_CUES`: wide blocks mix a batch from many cues, which training needs
    (blocks of 32 cost the study CNN 0.05 macro ROC-AUC on emotify, see the README)."""
    from .settings import STREAM_CACHE_BYTES

    budget = STREAM_CACHE_BYTES if cache_bytes is None else cache_bytes
    sizes = index.source_bytes()
    mean = float(sizes.mean()) if len(sizes) else 1.0
    return max(MIN_BLOCK_CUES, int(budget // (2 * max(mean, 1.0))))


def tile_batches(
    index: TileIndex,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    mixup_alpha: float = 0.0,
    block_cues: int | None = None,
    cache_sources: int | None = None,
    workers: int = 2,
    with_labels: bool = True,
    multiple: int = 1,
    queue: int = 4,
):
    """A ``keras.utils.PyDataset`` of (tiles, labels) batches read from the caches, with
    ``workers`` threads prefetching. Shuffled: cues in a new order each epoch, tiles
    shuffled within blocks of ``block_cues`` cues (None: :func:`auto_block_cues` when
    shuffled, :data:`MIN_BLOCK_CUES` for the cache of an unshuffled pass); a cache
    of the ``cache_sources`` most recently read matrices (default: two blocks) and a
    prefetch queue of ``queue`` batches bound memory. ``multiple``: every batch
    holds a multiple of this many tiles, as JAX needs to split batches over that many
    devices (see :func:`divisible_order`)."""
    import keras

    if batch_size % multiple:
        raise ValueError(f"batch size {batch_size} does not split over {multiple} devices")

    # unshuffled (validation, prediction) reads each source in turn: a small cache serves
    block_cues = block_cues or (auto_block_cues(index) if shuffle else MIN_BLOCK_CUES)
    cache_limit = cache_sources or 2 * block_cues

    class TileBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=queue)
            self.index = index
            self.rng = np.random.default_rng(seed)
            self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
            self._lock = threading.Lock()
            self.order = self._epoch_order()

        def _epoch_order(self) -> np.ndarray:
            if not shuffle:
                return divisible_order(np.arange(len(index)), batch_size, multiple, pad=True)
            sources = self.rng.permutation(len(index.files))
            rank = np.empty(len(sources), int)
            rank[sources] = np.arange(len(sources))
            block = rank[index.tile_source] // block_cues
            noise = self.rng.random(len(index))
            order = np.lexsort((noise, block))  # blocks in order, tiles shuffled inside
            return divisible_order(order, batch_size, multiple, pad=False)

        def _matrix(self, source: int) -> np.ndarray:
            with self._lock:
                if source in self._cache:
                    self._cache.move_to_end(source)
                    return self._cache[source]
            matrix = index.read(source)
            with self._lock:
                self._cache[source] = matrix
                while len(self._cache) > cache_limit:
                    self._cache.popitem(last=False)
            return matrix

        def __len__(self) -> int:
            return int(np.ceil(len(self.order) / batch_size))

        def __getitem__(self, i: int):
            rows = self.order[i * batch_size : (i + 1) * batch_size]
            x = np.empty((len(rows), index.n_bins, index.tile_frames), np.float32)
            sources = index.tile_source[rows]
            for source in np.unique(sources):
                at = np.flatnonzero(sources == source)
                x[at] = index.cut(self._matrix(int(source)), rows[at])
            if not with_labels:
                return (x,)
            y = index.source_labels[index.tile_source[rows]].astype(np.float32)
            if mixup_alpha > 0:
                x, y = mix(x, y, mixup_alpha, np.random.default_rng((seed, i, self.epoch)))
            return x, y

        epoch = 0

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = self._epoch_order()

    return TileBatches()
