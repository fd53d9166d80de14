"""The training configuration: a leaf every layer that trains or reads training data imports.

Kept apart from :mod:`filmgenre.training.loop` so that inputs, streaming and pooling can name it
without importing the training loop (the layers only point down).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields

from ..config import DEFAULTS

#: training tiles (float32) above this size stream from the caches when ``stream`` is None
STREAM_ABOVE_BYTES = 2 * 1024**3
#: streamed training: the feature matrices the reader may hold (two blocks of cues), which
#: sets how many cues a shuffle block spans when ``stream_block_cues`` is None
STREAM_CACHE_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and stopping settings (Adam; the study's SGD schedule is not the default).

    The learning rate halves after ``lr_patience`` epochs without a better validation
    ROC-AUC (0 turns that off); training stops after ``patience`` such epochs.
    """

    epochs: int = DEFAULTS["epochs"]
    batch_size: int = DEFAULTS["batch_size"]
    learning_rate: float = DEFAULTS["learning_rate"]
    patience: int = DEFAULTS["patience"]
    lr_patience: int = 4
    seed: int = DEFAULTS["seed"]
    verbose: int = 2
    #: "bce" (binary cross-entropy), "weighted_bce" (each genre's positives weighted by
    #: its negatives/positives ratio on training data, for rare genres) or "focal"
    loss: str = DEFAULTS["loss"]
    #: "float32", a mixed policy ("mixed_float16" on GPUs, "mixed_bfloat16" on CPUs/TPUs),
    #: or "auto": the mixed policy the hardware runs fast (see :func:`auto_precision`)
    precision: str = DEFAULTS["precision"]
    #: at most this many evenly spread tiles of each cue to train and monitor on (None: all)
    max_tiles_per_cue: int | None = None
    #: augmentation for tile models (see filmgenre.training.augment): audiomentations renderings of
    #: each training cue (gain, noise, pitch shift, time stretch) added to the training tiles
    augment_variants: int = 0
    #: random crops: training tiles cut every this many frames instead of the default hop
    crop_hop_frames: int | None = None
    #: mixup of training batches with weights ~ Beta(alpha, alpha); 0 turns it off
    mixup_alpha: float = 0.0
    #: tile models: True reads batches from the per-cue feature caches while training
    #: (filmgenre.training.streaming), so memory stays within a cache budget; False stacks
    #: the split's tiles in memory first; None (default) stacks them when the training tiles
    #: fit in :data:`STREAM_ABOVE_BYTES`, streams otherwise.
    stream: bool | None = None
    #: streamed training: tiles are shuffled within blocks of this many cues (a batch mixes
    #: tiles of that many cues; the reader caches two blocks of feature matrices). None: as
    #: many cues as fit :data:`STREAM_CACHE_BYTES` in two blocks (at least 32; the whole
    #: split when it fits). Blocks of 32 cues cost the study CNN 0.05 macro ROC-AUC
    #: cross-validated on emotify, shuffling the whole split 0.02, within seed-to-seed
    #: variation (README, "Mixed precision and streaming on real music").
    stream_block_cues: int | None = None
    #: data parallelism: "auto" splits every batch over all local GPUs when there are
    #: several (tf.distribute.MirroredStrategy under TensorFlow, keras.distribution
    #: DataParallel under JAX), "all" over every local device the backend lists (logical
    #: CPU devices included: how the tests exercise it), "none" trains on one device
    parallel: str = "auto"

    @classmethod
    def from_parameters(cls, parameters: dict, **changes) -> TrainConfig:
        """The config a notebook's parameters ask for: every field named in ``parameters``
        (a notebook passes ``globals()``), then ``changes``; the rest keep their defaults."""
        fields = {f.name for f in dataclass_fields(cls)}
        return cls(**{**{k: v for k, v in parameters.items() if k in fields}, **changes})
