"""Training Keras models on a collection: their settings (``config``), what each model sees
(``inputs``), batches read from the feature caches (``streaming``), augmentation
(``augment``), the training loop (``loop``), tile scores to cue scores (``cue_scores``),
learned poolers over a cue's tiles (``pooling``), musicnn embeddings (``transfer``) and a
run's saved models (``artifacts``).

What notebooks call is re-exported here, imported on first use (``training.train_model``),
so importing one light module of the package (``training.config``) loads no Keras.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: names re-exported from the modules that define them (imported on first use)
_LAZY = {"TrainConfig": "config", "train_model": "loop", "fit": "loop", "TrainResult": "loop",
         "summary_table": "loop"}  # fmt: skip

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
